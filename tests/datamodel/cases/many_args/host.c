#include <stdio.h>
typedef struct { char c; double d; } cd_t;
extern double mixed(char, double, short, float, long long, unsigned char, double, int *, float,
                    cd_t, long, double, unsigned int, double);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int h = 41;
    cd_t j = { 'j', 0.125 };
    double r = mixed('a', 1.5, -3, 2.25f, -5000000000LL, 250, 3.75, &h, 0.5f, j, -7L, 9.5, 4000000000u, 1e-3);
    printf("result %.6g\n", r);
    return 0;
}
