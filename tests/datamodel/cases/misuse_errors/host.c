#include <stdio.h>
typedef struct { int x, y; } point_t;
extern void run(point_t *, void *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    point_t p = { 7, 8 };
    run(&p, &p);
    printf("C done\n");
    return 0;
}
