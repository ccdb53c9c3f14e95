#include <stdio.h>
#include <uchar.h>
extern void take16(const char16_t *, int);
extern void take32(const char32_t *);
extern const char16_t *give16(void);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    take16(u"h\u00e9\U0001F600!", 5);
    take32(U"h\u00e9\U0001F600!");
    const char16_t *p = give16();
    printf("C units:");
    for (int i = 0; p[i]; i++) printf(" %x", (unsigned)p[i]);
    printf("\n");
    return 0;
}
