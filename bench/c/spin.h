/* spin.h -- the Python body of the isolation table's CPU-bound case, shared
 * by the floors (floor.c, floor_iso.c); bench/libs/build_lib.py has the same
 * text for cembed and cffi. spin(n) is about 10 µs of pure-Python work at the
 * n the harness passes (bench.py, SPIN_N); iso_host.c checks the result. */
#ifndef BENCH_SPIN_H
#define BENCH_SPIN_H
#define SPIN_CODE                      \
    "def spin(n):\n"                   \
    "    s = 0\n"                      \
    "    for i in range(n):\n"         \
    "        s += i * i\n"             \
    "    return s % 1000003\n"
#endif
