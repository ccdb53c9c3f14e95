#include <stdint.h>
#include <stdio.h>
extern void run(const uint8_t *, int8_t *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    uint8_t u[] = { 'h', 'i', 0xff, 0 };
    int8_t s[] = { 'o', 'k', 0 };
    run(u, s);
    return 0;
}
