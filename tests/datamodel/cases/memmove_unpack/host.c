#include <stdio.h>
#include <wchar.h>
typedef struct { short a, b; } pair_t;
extern void run(int *, int, const char *, const wchar_t *, pair_t *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int ints[5] = { 1, 2, 3, 4, 5 };
    pair_t pairs[2] = { {1, 2}, {3, 4} };
    run(ints, 5, "abc\0de\0fg", L"x\xe9z!", pairs);
    printf("C ints: %d %d %d %d %d\n", ints[0], ints[1], ints[2], ints[3], ints[4]);
    return 0;
}
