#include <stdio.h>
typedef struct { int x, y; } point_t;
typedef struct { double m[4]; char tag[3]; point_t origin; long long id; } big_t;
typedef struct { char c; } tiny_t;
extern int sum_point(point_t);
extern double sum_big(big_t, int, tiny_t);
extern void mutate(point_t);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    point_t p = { 3, -4 };
    printf("sum_point %d\n", sum_point(p));
    big_t b = { {1.5, 2.5, 3.5, 4.5}, "ab", {7, 8}, -1234567890123LL };
    tiny_t t = { 'z' };
    printf("sum_big %g\n", sum_big(b, 2, t));
    mutate(p);
    printf("caller still %d %d\n", p.x, p.y);
    return 0;
}
