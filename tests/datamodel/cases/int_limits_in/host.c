#include <stdio.h>
#include <stdint.h>
#include <limits.h>
#include <sys/types.h>
#include <stddef.h>
#define CALL(name, T, lo, hi) extern void take_##name(T, T); take_##name(lo, hi)
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    CALL(signed_char, signed char, SCHAR_MIN, SCHAR_MAX);
    CALL(unsigned_char, unsigned char, 0, UCHAR_MAX);
    CALL(short, short, SHRT_MIN, SHRT_MAX);
    CALL(unsigned_short, unsigned short, 0, USHRT_MAX);
    CALL(int, int, INT_MIN, INT_MAX);
    CALL(unsigned_int, unsigned int, 0, UINT_MAX);
    CALL(long, long, LONG_MIN, LONG_MAX);
    CALL(unsigned_long, unsigned long, 0, ULONG_MAX);
    CALL(long_long, long long, LLONG_MIN, LLONG_MAX);
    CALL(unsigned_long_long, unsigned long long, 0, ULLONG_MAX);
    CALL(int8_t, int8_t, INT8_MIN, INT8_MAX);
    CALL(uint8_t, uint8_t, 0, UINT8_MAX);
    CALL(int16_t, int16_t, INT16_MIN, INT16_MAX);
    CALL(uint16_t, uint16_t, 0, UINT16_MAX);
    CALL(int32_t, int32_t, INT32_MIN, INT32_MAX);
    CALL(uint32_t, uint32_t, 0, UINT32_MAX);
    CALL(int64_t, int64_t, INT64_MIN, INT64_MAX);
    CALL(uint64_t, uint64_t, 0, UINT64_MAX);
    CALL(size_t, size_t, 0, SIZE_MAX);
    CALL(ssize_t, ssize_t, -SSIZE_MAX - 1, SSIZE_MAX);
    CALL(intptr_t, intptr_t, INTPTR_MIN, INTPTR_MAX);
    CALL(uintptr_t, uintptr_t, 0, UINTPTR_MAX);
    CALL(ptrdiff_t, ptrdiff_t, PTRDIFF_MIN, PTRDIFF_MAX);
    CALL(int_least8_t, int_least8_t, INT_LEAST8_MIN, INT_LEAST8_MAX);
    CALL(uint_fast16_t, uint_fast16_t, 0, UINT_FAST16_MAX);
    CALL(intmax_t, intmax_t, INTMAX_MIN, INTMAX_MAX);
    CALL(uintmax_t, uintmax_t, 0, UINTMAX_MAX);
    return 0;
}
