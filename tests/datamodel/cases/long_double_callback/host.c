#include <stdio.h>
extern long double twice(long double);
extern void run(void);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("twice %.3Lf\n", twice(1.25L));
    run();
    return 0;
}
