#include <stdio.h>
#include <wchar.h>
#include <uchar.h>
#include <stdbool.h>
extern void show(char, wchar_t, char16_t, char32_t, _Bool);
extern char next_char(char);
extern wchar_t upper(wchar_t);
extern char32_t emoji(int);
extern _Bool negate(_Bool);
extern _Bool truthy(int);
extern char bad_char(void);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    show('A', L'\xe9', u'\x263a', U'\x1F600', true);
    show('\0', L'z', u'a', U'b', false);
    show('\xff', 0x10FFFF, 0xFFFF, 0x10FFFF, true);
    printf("next_char %d\n", next_char('a'));
    printf("next_char %d\n", next_char('\x7f'));
    printf("upper %x\n", (unsigned)upper(L'\xe9'));
    printf("emoji %x %x %x\n", (unsigned)emoji(0), (unsigned)emoji(1), (unsigned)emoji(2));
    printf("negate %d %d\n", negate(true), negate(false));
    printf("truthy %d %d %d %d\n", truthy(0), truthy(1), truthy(2), truthy(3));
    printf("bad_char %d\n", bad_char());
    return 0;
}
