#include <stdio.h>
#include <string.h>
struct value { int tag; union { long i; double d; char s[8]; }; struct { short lo, hi; }; };
extern void show(struct value *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct value v = { 0 };
    v.i = -42; v.lo = 1; v.hi = 2;
    show(&v);
    printf("after: lo %d hi %d d %g\n", v.lo, v.hi, v.d);
    v.tag = 1; v.d = 2.25;
    show(&v);
    v.tag = 2; strcpy(v.s, "anon");
    show(&v);
    return 0;
}
