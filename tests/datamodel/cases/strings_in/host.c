#include <stdio.h>
#include <wchar.h>
extern int take(const char *);
extern void take_maxlen(const char *, int);
extern void take_w(const wchar_t *);
extern void take_buf(const unsigned char *, int);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("-> %d\n", take("hello"));
    printf("-> %d\n", take(""));
    printf("-> %d\n", take("caf\xc3\xa9 \x01\xff"));
    printf("-> %d\n", take(NULL));
    take_maxlen("hello", 3);
    take_maxlen("hi", 10);
    take_maxlen("abc", 0);
    take_w(L"w\xe9ide \x1F600");
    unsigned char buf[5] = {1, 0, 255, 7, 0};
    take_buf(buf, 5);
    return 0;
}
