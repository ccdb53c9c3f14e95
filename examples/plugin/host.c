/* A C program using plugin-1.5.so, as a user of CFFI's example would write it.
 * Build: gcc -o host host.c ./plugin-1.5.so -Wl,-rpath,'$ORIGIN' */
#include <stdio.h>
#include "plugin.h"

int main(void)
{
    point_t p = { 40, 2 };
    int r = do_stuff(&p);
    printf("do_stuff returned %d\n", r);
    p.x = -5;
    p.y = 5;
    printf("do_stuff returned %d\n", do_stuff(&p));
    return 0;
}
