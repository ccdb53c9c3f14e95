#include <stdio.h>
extern unsigned char ret_uchar(int);
extern signed char ret_schar(int);
extern unsigned int ret_uint(long long);
extern int ret_int_err(long long);
extern unsigned long long ret_ull(int);
extern short ret_short_onerror(int);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("uchar 255 -> %d\n", ret_uchar(255));
    printf("uchar 256 -> %d\n", ret_uchar(256));
    printf("uchar -1 -> %d\n", ret_uchar(-1));
    printf("schar -128 -> %d\n", ret_schar(-128));
    printf("schar 128 -> %d\n", ret_schar(128));
    printf("uint 4294967295 -> %u\n", ret_uint(4294967295LL));
    printf("uint 4294967296 -> %u\n", ret_uint(4294967296LL));
    printf("int_err 2147483647 -> %d\n", ret_int_err(2147483647LL));
    printf("int_err 2147483648 -> %d\n", ret_int_err(2147483648LL));
    printf("int_err -2147483649 -> %d\n", ret_int_err(-2147483649LL));
    printf("ull -1 -> %llu\n", ret_ull(1));
    printf("ull 2**64 -> %llu\n", ret_ull(0));
    printf("short 32 -> %d\n", ret_short_onerror(32));
    printf("short 33 -> %d\n", ret_short_onerror(33));
    return 0;
}
