#include <stdio.h>
typedef struct { int x; int y; } point_t;
extern void run(const char *, point_t *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    point_t p = { 0x41424344, 0x45464748 };
    run("hello", &p);
    return 0;
}
