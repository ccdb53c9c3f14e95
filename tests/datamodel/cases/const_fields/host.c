#include <stdio.h>
struct cs { const int x; int y; const char *name; };
extern void run(struct cs *, const int *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct cs s = { 1, 2, "c" };
    int v = 3;
    run(&s, &v);
    printf("C sees x=%d name=%s v=%d\n", s.x, s.name, v);
    return 0;
}
