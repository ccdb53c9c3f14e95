#include <stdio.h>
#include <stddef.h>
#pragma pack(push, 1)
struct p1 { char c; int i; short s; double d; };
struct p2 { char c; int i; char c2; long long q; };
#pragma pack(pop)
extern void run(struct p1 *, struct p2 *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("C p1 %zu %zu [%zu %zu %zu %zu]\n", sizeof(struct p1), _Alignof(struct p1),
           offsetof(struct p1, c), offsetof(struct p1, i), offsetof(struct p1, s), offsetof(struct p1, d));
    printf("C p2 %zu %zu [%zu %zu %zu %zu]\n", sizeof(struct p2), _Alignof(struct p2),
           offsetof(struct p2, c), offsetof(struct p2, i), offsetof(struct p2, c2), offsetof(struct p2, q));
    struct p1 a = { 'a', 123456, -7, 1.5 };
    struct p2 b = { 'b', -1, 'z', 1LL << 40 };
    run(&a, &b);
    printf("C after: a.i %d a.d %g b.q %lld\n", a.i, a.d, b.q);
    return 0;
}
