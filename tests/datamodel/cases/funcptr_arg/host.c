#include <stdio.h>
typedef struct { int x, y; } point_t;
typedef int (*unary_t)(int);
typedef point_t (*mkpt_t)(int, int);
typedef void (*logger_t)(const char *);
extern int apply_twice(unary_t, int);
extern int use_all(mkpt_t, logger_t, double (*)(double, long));
extern unary_t pick(int, unary_t, unary_t);
static int inc(int v) { return v + 1; }
static int sq(int v) { return v * v; }
static point_t mk(int x, int y) { point_t p = { x * 10, y * 10 }; return p; }
static void log_it(const char *s) { printf("C log: %s\n", s); }
static double mix(double a, long b) { return a * b + 0.25; }
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("apply_twice(inc, 5) = %d\n", apply_twice(inc, 5));
    printf("apply_twice(sq, 3) = %d\n", apply_twice(sq, 3));
    printf("use_all = %d\n", use_all(mk, log_it, mix));
    printf("pick: %d %d\n", pick(0, inc, sq)(7), pick(1, inc, sq)(7));
    return 0;
}
