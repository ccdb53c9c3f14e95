#include <stdio.h>
#include "shapes.h"
extern int area(const rect_t *);
extern void edit(struct scene *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    rect_t r = { {1, 2}, {11, 7}, 200 };
    printf("area %d\n", area(&r));
    struct scene parent = { 1 };
    struct scene s = { 1, { { {0, 0}, {3, 4}, 1 } }, &parent };
    edit(&s);
    printf("n %d parent.n %d\n", s.n, parent.n);
    for (int i = 0; i < 3; i++)
        printf("rect %d: %d %d %d %d color %d\n", i, s.rects[i].tl.x, s.rects[i].tl.y,
               s.rects[i].br.x, s.rects[i].br.y, s.rects[i].color);
    return 0;
}
