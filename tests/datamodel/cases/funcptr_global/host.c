#include <stdio.h>
extern int (*my_callback)(int);
extern void (*notify)(const char *, double);
extern int run(void);
static int plus_one(int v) { return v + 1; }
static void c_notify(const char *msg, double v) { printf("C notify: %s %g\n", msg, v); }
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    my_callback = plus_one;
    notify = c_notify;
    printf("run -> %d\n", run());
    printf("C still has plus_one: %d\n", my_callback == plus_one);
    return 0;
}
