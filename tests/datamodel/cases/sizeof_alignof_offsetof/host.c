#include <stdio.h>
#include <wchar.h>
#include <stdbool.h>
#include "layout.h"
extern void py_layout(void);
#define T(name, ...) printf("sizeof(%s)=%zu alignof=%zu\n", name, sizeof(__VA_ARGS__), _Alignof(__VA_ARGS__))
#define O(name, f, ...) printf("offsetof(%s, %s)=%zu\n", name, #f, offsetof(__VA_ARGS__, f))
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("--- C ---\n");
    T("char", char); T("short", short); T("int", int); T("long", long);
    T("long long", long long); T("float", float); T("double", double); T("void *", void *);
    T("size_t", size_t); T("wchar_t", wchar_t); T("_Bool", _Bool); T("int[7]", int[7]);
    T("struct mixed", struct mixed); T("nest_t", nest_t); T("u_t", u_t);
    T("struct bits", struct bits); T("struct flex", struct flex); T("int (*)(int)", int (*)(int));
    O("struct mixed", c, struct mixed); O("struct mixed", d, struct mixed);
    O("struct mixed", s, struct mixed); O("struct mixed", q, struct mixed);
    O("struct mixed", tail, struct mixed); O("nest_t", inner, nest_t); O("nest_t", arr, nest_t);
    O("nest_t", f, nest_t); O("u_t", i, u_t); O("struct bits", c, struct bits);
    O("struct flex", items, struct flex);
    printf("nested offsetof %zu %zu %zu\n", offsetof(nest_t, inner.c), offsetof(nest_t, arr[3]), sizeof(int) * 4);
    printf("sizeof cdata %zu %zu %zu\n", sizeof(struct mixed), 5 * sizeof(int), sizeof(struct flex) + 2 * sizeof(double));
    printf("--- Python ---\n");
    py_layout();
    return 0;
}
