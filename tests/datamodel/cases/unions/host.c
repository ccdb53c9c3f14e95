#include <stdio.h>
typedef union { unsigned int u; float f; unsigned char b[4]; struct { unsigned short lo, hi; } h; } word_t;
extern void pun(word_t *);
extern int usize(void);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    word_t w;
    w.u = 0x40490fdbu;
    pun(&w);
    printf("C u %#x\n", w.u);
    printf("size %d %zu\n", usize(), sizeof(word_t));
    return 0;
}
