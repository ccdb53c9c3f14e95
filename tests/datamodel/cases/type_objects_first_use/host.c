#include <stdio.h>
extern int first_use(int which);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    /* 0: every type met for the first time; 1: the same objects later. */
    printf("first_use(0) = %d\n", first_use(0));
    printf("first_use(1) = %d\n", first_use(1));
    return 0;
}
