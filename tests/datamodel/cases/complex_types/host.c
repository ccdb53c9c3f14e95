#include <stdio.h>
#include <complex.h>
extern float _Complex fscale(float _Complex z, float k);
extern void run(void);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    float _Complex r = fscale(1.5f + 2.0f * I, 2.0f);
    printf("host fscale %g %g\n", (double)crealf(r), (double)cimagf(r));
    run();
    return 0;
}
