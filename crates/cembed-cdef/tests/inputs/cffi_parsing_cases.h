// Cases from CFFI's own parser tests (testing/cffi0/test_parsing.py).
typedef unsigned int UInt;
typedef UInt UIntReally;
UInt foo(void);
typedef struct { int a, b; } foo_t, *foo_p;
int takes_foo_p(foo_p[]);
typedef int (*fn_t)(int[5]);
double /*comment here*/ sin   // blah blah
/* multi-
   line-
   //comment */  (
// foo
double // bar      /* <- ignored, because it's in a comment itself
x, double/*several*//*comment*/y) /*on the same line*/
;
#define ABC\
    42
#define BCD   \
    43
typedef struct { int y; } *bar_p;
typedef void void_t1;
typedef void_t1 void_t;
typedef int (*func_t)(void_t);
restrict int ra;
int(*different)(int *a, int const *b, int * const c, int const d[]);
char * * (* const cpp3);
enum Enum {
    POS = +1,
    TWO = 2,
    NIL = 0,
    NEG = -1,
    ADDSUB = (POS+TWO)-1,
    DIVMULINT = (3 * 3) / 2,
    SHIFT = (1 << 3) >> 1,
    BINOPS = (0x7 & 0x1) | 0x8,
    XOR = 0xf ^ 0xa
};
int(*stdcalls)(int __stdcall x(int), long (__cdecl*y)(void), short(WINAPI *z)(short));
int bok(int, int);
extern "Python" int foobar(int, int);
extern "Python" {int foobar2(int, int);int bzrrr(int);}
enum e {
    bin_0=0b10, bin_1=0b10u, bin_5=0b10ll,
    oct_0=010, oct_1=010u, oct_6=010LL,
    dec_0=10, dec_3=10l, dec_6=10LL,
    hex_0=0x10, hex_2=0x10U, hex_6=0x10LL,};
#pragma foobar
#line 7 "foo//bar.c"
# 8 "baz.c"
typedef char FILE;
typedef int bool, *int32_t;
bool b;
int32_t p32;
typedef bool (*bool_fn_t)(bool, bool);
