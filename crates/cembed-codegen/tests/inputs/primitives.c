#include <uchar.h>
#include <sys/types.h>
typedef unsigned short opaque_int_t;
typedef double opaque_float_t;
static long double through_thunk(long double a, float b, unsigned char c, _Bool d, wchar_t e,
                                 int64_t f, opaque_int_t g)
{
    return a * 1000000 + b * 100000 + c * 10000 + d * 1000 + e * 100 + f * 10 + g;
}
