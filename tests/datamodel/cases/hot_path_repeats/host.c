#include <stdio.h>

enum color { RED, GREEN = 5 };
struct a { int x; double y; unsigned char c; _Bool b; enum color col; int bits : 3; };
struct b { double x; char y; union { int i; float f; } u; };
extern int run(struct a *, struct b *, const char *, const signed char *, const unsigned char *);

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct a a = { 7, 0.25, 200, 1, GREEN, -2 };
    struct b b = { -1.5, 'q', { 0 } };
    b.u.i = 123;
    static const char s[] = "hello, world";
    static const signed char ss[] = { 'a', 'b', 0 };
    static const unsigned char us[] = { 0xff, 'z', 0 };
    printf("run %d\n", run(&a, &b, s, ss, us));
    printf("a.x %d b.x %g b.u.f %g\n", a.x, b.x, b.u.f);
    return 0;
}
