#include <stdio.h>
#include <complex.h>
extern double _Complex zmix(double _Complex a, int k, double _Complex b, float _Complex c);
extern void run(void);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    double _Complex r = zmix(1.0 + 2.0 * I, 3, 0.5 - 0.25 * I, 1.0f + 1.0f * I);
    printf("host zmix %g %g\n", creal(r), cimag(r));
    run();
    return 0;
}
