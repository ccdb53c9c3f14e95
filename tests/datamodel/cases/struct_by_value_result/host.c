#include <stdio.h>
typedef struct { int x, y; } point_t;
typedef struct { point_t a, b; float w; } seg_t;
extern point_t make_point(int);
extern seg_t make_seg(int);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int i = 0; i < 7; i++) {
        point_t p = make_point(i);
        printf("point %d: %d %d\n", i, p.x, p.y);
    }
    for (int i = 0; i < 2; i++) {
        seg_t s = make_seg(i);
        printf("seg %d: %d %d %d %d %g\n", i, s.a.x, s.a.y, s.b.x, s.b.y, s.w);
    }
    return 0;
}
