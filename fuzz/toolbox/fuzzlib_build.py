"""Builds `fuzzlib`, the library the toolbox driver exercises: structs,
unions, bitfields, a flexible array member, an opaque type, function
pointers, enums, partial declarations and globals of each kind. Written
against CFFI's API (`import cembed as cffi`), importable by a running Python
(`import fuzzlib`) once built.

Usage: python fuzzlib_build.py OUTDIR
"""
import os
import sys

import cembed as cffi

# Declared alike in the cdef and in C.
COMMON = r"""
typedef struct point { int x, y; } point_t;
struct rect { point_t tl, br; char label[8]; };
union num { int i; double d; unsigned char b[8]; };
struct bits { unsigned a : 3; int b : 5; unsigned char c : 1; long long d : 40; };
struct fam { int n; double items[]; };
struct fam0 { short len; char data[0]; };
"""

CDEF = COMMON + r"""
struct opaque;
typedef struct opaque opaque_t;
struct partial { int known; ...; };
enum color { RED, GREEN = 5, BLUE = -3 };
typedef enum { SMALL = 1, BIG = 1000000 } size_e;
typedef int (*binop_t)(int, int);
struct ops { binop_t op; const char *name; };
typedef double... real_t;
typedef int... whole_t;
#define LIMIT 42
#define SECRET ...
static const int CONST_INT = 7;

int add(int a, int b);
int mul(int a, int b);
int sum_points(point_t *pts, int n);
double fam_sum(struct fam *f);
int call_op(binop_t f, int a, int b);
size_t str_len(const char *s);
opaque_t *opaque_new(int v);
int opaque_get(opaque_t *o);
void opaque_free(opaque_t *o);
point_t swap(point_t p);

extern int counter;
extern point_t origin;
extern int table[10];
extern char name[16];
extern binop_t current_op;
extern struct fam *fam_ptr;
extern int sized[...];
"""

SOURCE = r"""
#include <stdlib.h>
#include <string.h>
""" + COMMON + r"""struct opaque { int v; };
typedef struct opaque opaque_t;
struct partial { long hidden; int known; char more[3]; };
enum color { RED, GREEN = 5, BLUE = -3 };
typedef enum { SMALL = 1, BIG = 1000000 } size_e;
typedef int (*binop_t)(int, int);
struct ops { binop_t op; const char *name; };
typedef float real_t;
typedef unsigned short whole_t;
#define LIMIT 42
#define SECRET 0x5ec
static const int CONST_INT = 7;

/* Every function accepts NULL and reads no more than one item: the driver
   passes whatever it has. */
int add(int a, int b) { return (int)((unsigned)a + (unsigned)b); }
int mul(int a, int b) { return (int)((unsigned)a * (unsigned)b); }
int sum_points(point_t *pts, int n) {
    int s = 0;
    if (!pts) return -1;
    if (n > 0) s = pts[0].x + pts[0].y;
    return s;
}
double fam_sum(struct fam *f) {
    double s = 0;
    if (!f) return -1;
    s = f->n;
    return s;
}
int call_op(binop_t f, int a, int b) {
    return (f == add || f == mul) ? f(a, b) : -1;
}
size_t str_len(const char *s) { return s ? strnlen(s, 64) : 0; }
opaque_t *opaque_new(int v) {
    opaque_t *o = malloc(sizeof *o);
    if (o) o->v = v;
    return o;
}
int opaque_get(opaque_t *o) { return o ? o->v : -1; }
void opaque_free(opaque_t *o) { free(o); }
point_t swap(point_t p) { point_t r = { p.y, p.x }; return r; }

int counter = 3;
point_t origin = { 1, 2 };
int table[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
char name[16] = "fuzz";
binop_t current_op = add;
struct fam *fam_ptr = NULL;
int sized[5] = { 5, 4, 3, 2, 1 };
"""


def main(outdir):
    ffibuilder = cffi.FFI()
    ffibuilder.cdef(CDEF)
    ffibuilder.embedding_api("int fuzz_entry(int);")
    ffibuilder.set_source("fuzzlib", SOURCE)
    ffibuilder.embedding_init_code(
        "from fuzzlib import ffi\n"
        "@ffi.def_extern()\n"
        "def fuzz_entry(x):\n"
        "    return x\n")
    os.makedirs(outdir, exist_ok=True)
    os.chdir(outdir)
    return ffibuilder.compile()


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "."))
