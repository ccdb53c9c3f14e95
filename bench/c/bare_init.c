/* bare_init.c -- the first-call baseline: a C program that only starts Python.
 *
 * It prints CLOCK_MONOTONIC (the clock the harness read just before spawning
 * this process) right after the interpreter is up, so the harness measures
 * "process start to Python ready", the lower bound for the first call into any
 * embedding library. Nothing is finalized: the measurement ends before exit.
 */
#include "pyinit.h"
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    bench_py_init();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    printf("{\"t_ns\": %lld}\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    fflush(stdout);
    _exit(0);
}
