#include <stdio.h>
extern void run(int *, int *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int a = 1, b = 2;
    run(&a, &b);
    return 0;
}
