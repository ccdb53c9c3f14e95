#include <stdio.h>
typedef struct {
    unsigned short us; signed char sc; float f; char c; _Bool b;
    int *ip; void *vp; const int ci; const char *name; double arr[2];
} rec_t;
extern void run(rec_t *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    rec_t r = { 1, 2, 3.0f, 'a', 0, 0, 0, 11, 0, {0, 0} };
    run(&r);
    printf("C: us %u sc %d f %g c %c b %d ci %d arr %g %g\n", r.us, r.sc, r.f, r.c, r.b, r.ci, r.arr[0], r.arr[1]);
    return 0;
}
