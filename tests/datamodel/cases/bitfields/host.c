#include <stdio.h>
struct flags { unsigned int a : 1; unsigned int b : 3; int s : 4; int t : 5; unsigned char c : 2; long long big : 40; };
extern void flip(struct flags *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct flags f = { 0 };
    f.a = 1; f.b = 5; f.s = -3; f.t = -16; f.c = 2; f.big = 123456789012LL;
    flip(&f);
    printf("C sees %u %u %d %d %u %lld\n", f.a, f.b, f.s, f.t, f.c, (long long)f.big);
    return 0;
}
