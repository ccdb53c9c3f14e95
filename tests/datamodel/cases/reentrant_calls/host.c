#include <stdio.h>
extern int fact(int);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("fact(6) = %d\n", fact(6));
    printf("fact(1) = %d\n", fact(1));
    return 0;
}
