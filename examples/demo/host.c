/* A plain C program using libdemo.so. It knows nothing about Python: the
 * first call starts the interpreter inside the library. demo.h is the
 * consumer header cembed wrote next to the library from the declarations. */
#include <stdio.h>

#include "demo.h"

int main(void)
{
    printf("[c] fib(30) = %d\n", fib(30));
    printf("[c] 37.5 C = %.2f F\n", fahrenheit(37.5));
    printf("[c] words = %lld\n", count_words(1000));
    return 0;
}
