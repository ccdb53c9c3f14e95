#include <stdio.h>
extern int sum_squares(int);
extern double mean3(double, double, double);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("sum_squares(4) = %d\n", sum_squares(4));
    printf("mean3 = %g\n", mean3(1, 2, 4.5));
    return 0;
}
