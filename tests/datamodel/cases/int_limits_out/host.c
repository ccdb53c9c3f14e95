#include <stdio.h>
#include <stdint.h>
#include <stddef.h>
#define G(T, n, fmt) extern T get_##n(int); \
    printf(#n " %" fmt " %" fmt " %" fmt "\n", get_##n(0), get_##n(1), get_##n(2))
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    G(signed char, schar, "hhd");
    G(unsigned char, uchar, "hhu");
    G(short, short, "hd");
    G(unsigned short, ushort, "hu");
    G(int, int, "d");
    G(unsigned int, uint, "u");
    G(long, long, "ld");
    G(unsigned long, ulong, "lu");
    G(long long, llong, "lld");
    G(unsigned long long, ullong, "llu");
    G(int8_t, i8, "hhd");
    G(uint16_t, u16, "hu");
    G(int64_t, i64, "ld");
    G(uint64_t, u64, "lu");
    G(size_t, size, "zu");
    G(intptr_t, iptr, "ld");
    return 0;
}
