"""extern "Python" functions taking and returning every kind of type.

Structs, unions, enums, pointers, function pointers (a C function of `lib`
included), arrays as pointers, `void *` user data, and every wrong return
value: the same build script and C host under cffi and cembed print the same
stdout, and the same "Exception ignored from cffi callback" reports (with the
traceback or the conversion TypeError) on stderr.
"""

import re

import pytest

from cembed_e2e import Project, cffi_env

BUILD = r'''
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x, y; } point_t;
    typedef union { int i; float f; } num_t;
    typedef enum { RED, GREEN = 5 } color_t;
    typedef int (*unop_t)(int);
    point_t mk(int x, int y);
    point_t mk_bad(int kind);
    num_t mknum(int i);
    int *ptr_ret(int kind);
    unop_t pick(int kind);
    color_t color(int v);
    int sum3(int a[3]);
    int with_user(void *ud, int v);
    double dbl_err(int v);
    int int_err(int v);
    point_t pt_err(int v);
    char *str_ret(int kind);
    int take_all(point_t p, num_t n, color_t c, unop_t f, const char *s, void *ud);
    int run(void);
""")
ffibuilder.cdef("int c_twice(int);")
ffibuilder.set_source("extmod", """
    #include <stdio.h>
    #include <string.h>
    typedef struct { int x, y; } point_t;
    typedef union { int i; float f; } num_t;
    typedef enum { RED, GREEN = 5 } color_t;
    typedef int (*unop_t)(int);
    static int c_twice(int v) { return 2 * v; }
""")
ffibuilder.embedding_init_code(r"""
from extmod import ffi, lib
KEEP = ffi.new("int *", 77)
S = ffi.new("char[]", b"from python")

@ffi.def_extern()
def mk(x, y):
    return (x, y)

@ffi.def_extern()
def mk_bad(kind):
    if kind == 0: return {"x": 1, "y": 2}
    if kind == 1: return ffi.new("point_t *", (3, 4))[0]
    if kind == 2: return 5
    if kind == 3: return (1, 2, 3)
    return None

@ffi.def_extern()
def mknum(i):
    return {"i": i}

@ffi.def_extern()
def ptr_ret(kind):
    if kind == 0: return KEEP
    if kind == 1: return ffi.NULL
    return None

@ffi.def_extern()
def pick(kind):
    if kind == 0: return lib.c_twice
    if kind == 1: return ffi.NULL
    return 42

@ffi.def_extern()
def color(v):
    return v

@ffi.def_extern()
def sum3(a):
    print("sum3 got", ffi.typeof(a).cname, flush=True)
    return a[0] + a[1] + a[2]

@ffi.def_extern()
def with_user(ud, v):
    return ffi.from_handle(ud)(v)

@ffi.def_extern(error=-1.5)
def dbl_err(v):
    return "nope"

@ffi.def_extern(error=-7)
def int_err(v):
    return 1 / v

@ffi.def_extern()
def pt_err(v):
    raise ValueError("boom")

@ffi.def_extern()
def str_ret(kind):
    if kind == 0: return S
    return b"bytes not allowed"

@ffi.def_extern()
def take_all(p, n, c, f, s, ud):
    print("take_all", ffi.typeof(p).cname, p.x, p.y, ffi.typeof(n).cname, n.i, type(c).__name__, c, ffi.typeof(f).cname, f(10), ffi.string(s), ud == ffi.NULL, flush=True)
    return 1

@ffi.def_extern()
def run():
    h = ffi.new_handle(lambda v: v + 1000)
    print("with_user", lib.with_user(h, 5) if hasattr(lib, "with_user") else None, flush=True)
    return 0
""")
ffibuilder.compile(target="libext.*", verbose=False)
'''

HOST = r'''
#include <stdio.h>
#include <string.h>
typedef struct { int x, y; } point_t;
typedef union { int i; float f; } num_t;
typedef enum { RED, GREEN = 5 } color_t;
typedef int (*unop_t)(int);
point_t mk(int x, int y); point_t mk_bad(int kind); num_t mknum(int i); int *ptr_ret(int kind);
unop_t pick(int kind); color_t color(int v); int sum3(int a[3]); int with_user(void *ud, int v);
double dbl_err(int v); int int_err(int v); point_t pt_err(int v); char *str_ret(int kind);
int take_all(point_t p, num_t n, color_t c, unop_t f, const char *s, void *ud); int run(void);
static int plus1(int v) { return v + 1; }
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    point_t p = mk(1, 2); printf("mk %d %d\n", p.x, p.y);
    for (int k = 0; k < 5; k++) { p = mk_bad(k); printf("mk_bad(%d) %d %d\n", k, p.x, p.y); }
    num_t n = mknum(9); printf("mknum %d\n", n.i);
    for (int k = 0; k < 3; k++) { int *q = ptr_ret(k); printf("ptr_ret(%d) %s %d\n", k, q ? "ptr" : "NULL", q ? *q : 0); }
    for (int k = 0; k < 3; k++) { unop_t f = pick(k); printf("pick(%d) %s %d\n", k, f ? "fn" : "NULL", f ? f(21) : 0); }
    printf("color %d %d\n", color(5), color(123456));
    int a[3] = {1, 2, 3}; printf("sum3 %d\n", sum3(a));
    printf("dbl_err %g\n", dbl_err(1));
    printf("int_err %d %d\n", int_err(0), int_err(2));
    p = pt_err(1); printf("pt_err %d %d\n", p.x, p.y);
    for (int k = 0; k < 2; k++) { char *s = str_ret(k); printf("str_ret(%d) %s\n", k, s ? s : "NULL"); }
    num_t nn; nn.i = 4;
    point_t pp = {7, 8};
    printf("take_all %d\n", take_all(pp, nn, GREEN, plus1, "cstr", NULL));
    run();
    return 0;
}
'''

EXPECTED = """\
mk 1 2
mk_bad(0) 1 2
mk_bad(1) 3 4
mk_bad(2) 0 0
mk_bad(3) 0 0
mk_bad(4) 0 0
mknum 9
ptr_ret(0) ptr 77
ptr_ret(1) NULL 0
ptr_ret(2) NULL 0
pick(0) fn 42
pick(1) NULL 0
pick(2) NULL 0
color 5 123456
sum3 got int *
sum3 6
dbl_err -1.5
int_err -7 -7
pt_err 0 0
str_ret(0) from python
str_ret(1) NULL
take_all point_t 7 8 num_t 4 int 5 int(*)(int) 11 b'cstr' True
take_all 1
with_user 1005
"""

STDERR_EXPECTED = """\
Exception ignored from cffi callback <function mk_bad at ADDR>, trying to convert the result back to C:
TypeError: initializer for ctype 'point_t' must be a list or tuple or dict or struct-cdata, not int
Exception ignored from cffi callback <function mk_bad at ADDR>, trying to convert the result back to C:
ValueError: too many initializers for 'point_t' (got 3)
Exception ignored from cffi callback <function mk_bad at ADDR>, trying to convert the result back to C:
TypeError: initializer for ctype 'point_t' must be a list or tuple or dict or struct-cdata, not NoneType
Exception ignored from cffi callback <function ptr_ret at ADDR>, trying to convert the result back to C:
TypeError: initializer for ctype 'int *' must be a cdata pointer, not NoneType
Exception ignored from cffi callback <function pick at ADDR>, trying to convert the result back to C:
TypeError: initializer for ctype 'int(*)(int)' must be a cdata pointer, not int
Exception ignored from cffi callback <function dbl_err at ADDR>, trying to convert the result back to C:
TypeError: must be real number, not str
Exception ignored from cffi callback <function int_err at ADDR>, trying to convert the result back to C:
TypeError: an integer is required
Exception ignored from cffi callback <function int_err at ADDR>:
Traceback (most recent call last):
  File "<init code for 'extmod'>", line 52, in int_err
ZeroDivisionError: division by zero
Exception ignored from cffi callback <function pt_err at ADDR>:
Traceback (most recent call last):
  File "<init code for 'extmod'>", line 56, in pt_err
ValueError: boom
Exception ignored from cffi callback <function str_ret at ADDR>, trying to convert the result back to C:
TypeError: initializer for ctype 'char *' must be a cdata pointer, not bytes
"""


def key_lines(stderr):
    """The report headers and the exception lines: the traceback's layout
    between them is CPython's and varies between versions."""
    return [l for l in stderr.splitlines()
            if l.startswith("Exception ignored") or re.match(r"^[A-Za-z]+Error: ", l)]


def run(project, flavor):
    p = Project(project.file(flavor))
    p.build(BUILD, flavor=flavor)
    exe = p.gcc(HOST, libs=["libext.so"])
    r = p.run(exe, env=cffi_env() if flavor == "cffi" else None)
    return r.stdout, key_lines(re.sub(r"0x[0-9a-f]+", "ADDR", r.stderr))


@pytest.mark.smoke
def test_extern_python_every_type(project):
    out, err = run(project, "cembed")
    assert out == EXPECTED
    assert err == key_lines(STDERR_EXPECTED)


@pytest.mark.cffi
def test_extern_python_every_type_same_as_cffi(project):
    pytest.importorskip("cffi")
    out, err = run(project, "cffi")
    assert out == EXPECTED
    assert err == key_lines(STDERR_EXPECTED)
