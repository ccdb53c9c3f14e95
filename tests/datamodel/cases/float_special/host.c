#include <stdio.h>
#include <math.h>
#include <float.h>
extern void show_double(double);
extern void show_float(float);
extern double make_double(int);
extern float make_float(int);
extern float narrow(double);
static void pd(const char *what, double d)
{
    if (isnan(d)) printf("%s nan\n", what);
    else printf("%s %.17g signbit=%d\n", what, d, signbit(d) != 0);
}
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    show_double(NAN); show_double(-NAN); show_double(INFINITY); show_double(-INFINITY);
    show_double(-0.0); show_double(DBL_MAX); show_double(DBL_MIN); show_double(4.9e-324);
    show_double(0.1);
    show_float(NAN); show_float(INFINITY); show_float(-INFINITY); show_float(-0.0f);
    show_float(FLT_MAX); show_float(0.1f); show_float(1e-45f);
    for (int i = 0; i < 9; i++) {
        pd("make_double", make_double(i));
        pd("make_float", make_float(i));
    }
    pd("narrow 1e300", narrow(1e300));
    pd("narrow -1e300", narrow(-1e300));
    pd("narrow 0.1", narrow(0.1));
    return 0;
}
