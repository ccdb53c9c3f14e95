#include <stdio.h>
typedef struct { int x, y; } point_t;
extern long walk(int *, int, int *, point_t *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int a[5] = { 10, 20, 30, 40, 50 };
    point_t pts[2] = { {1, 2}, {3, 4} };
    long r = walk(a, 5, a + 5, pts);
    printf("ret %ld a = %d %d %d %d %d\n", r, a[0], a[1], a[2], a[3], a[4]);
    printf("pts[1] = %d %d\n", pts[1].x, pts[1].y);
    return 0;
}
