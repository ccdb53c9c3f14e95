#include <stdio.h>
typedef struct { int x, y; } point_t;
extern void show(point_t *, point_t, int (*)(int), const char *);
static int id(int v) { return v; }
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    point_t p = { 1, 2 };
    show(&p, p, id, "str");
    return 0;
}
