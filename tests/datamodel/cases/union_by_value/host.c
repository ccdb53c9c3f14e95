#include <stdio.h>
#include <string.h>
typedef union { int i; float f; char c[8]; } val_t;
typedef struct { int kind; val_t v; } boxed_t;
extern val_t twice(val_t, int);
extern boxed_t box(int);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    val_t v;
    memset(&v, 0, sizeof v);
    v.i = 21;
    printf("-> %d\n", twice(v, 0).i);
    v.f = 1.75f;
    printf("-> %g\n", twice(v, 1).f);
    memset(&v, 0, sizeof v);
    strcpy(v.c, "abc");
    printf("-> %s\n", twice(v, 2).c);
    boxed_t b0 = box(0), b1 = box(1);
    printf("box %d %d / %d %g\n", b0.kind, b0.v.i, b1.kind, b1.v.f);
    return 0;
}
