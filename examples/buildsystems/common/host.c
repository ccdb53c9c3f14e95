/* A C program using the library (also compiled as C++ by the CMake example). */
#include <stdio.h>
#include "greet.h"

int main(void)
{
    point_t p = { 3, -4 };
    point_t o = { 0, 0 };
    printf("manhattan = %d\n", manhattan(&p));
    printf("is_origin = %d %d\n", (int)is_origin(p), (int)is_origin(o));
    return 0;
}
