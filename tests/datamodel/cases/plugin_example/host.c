#include <stdio.h>
#include "plugin.h"

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    point_t p = { 40, 2 };
    int r = do_stuff(&p);
    printf("do_stuff returned %d\n", r);
    point_t q = { -7, 1000000 };
    printf("do_stuff returned %d\n", do_stuff(&q));
    return 0;
}
