#include <uchar.h>
#include <sys/types.h>
typedef unsigned short opaque_int_t;
typedef double opaque_float_t;
