#include <stdio.h>
#include <string.h>
typedef struct { int a; short b; char c[2]; } rec_t;
extern void work(unsigned char *, int, rec_t *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    unsigned char data[10];
    memcpy(data, "0123456789", 10);
    rec_t r = { 7, 8, {'p', 'q'} };
    work(data, 10, &r);
    printf("C data: %.10s r.a=%d\n", (char *)data, r.a);
    return 0;
}
