#include <stdio.h>
struct edges {
    _Bool flag : 1; unsigned int a : 5; unsigned int : 0; unsigned int b : 31;
    unsigned long long full : 63; signed char tiny : 2; int : 3; long long cross : 35;
    unsigned short w : 16;
};
union ubits { unsigned int x : 7; unsigned char raw; };
extern void run(struct edges *, union ubits *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("C sizeof %zu %zu\n", sizeof(struct edges), sizeof(union ubits));
    struct edges e = { 1, 17, 123456789, 0x7EDCBA9876543210ULL, -1, -5000000000LL, 4242 };
    union ubits u;
    u.raw = 0xff;
    run(&e, &u);
    printf("C sees %d %u %u %llx %d %lld %u u.raw %#x\n", e.flag, e.a, e.b,
           (unsigned long long)e.full, e.tiny, (long long)e.cross, e.w, u.raw);
    return 0;
}
