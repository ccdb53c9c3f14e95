# C passes function pointers to Python, which calls them (several distinct
# function types, struct by value through the pointer, void result) and
# returns one back to C.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x, y; } point_t;
    typedef int (*unary_t)(int);
    typedef point_t (*mkpt_t)(int, int);
    typedef void (*logger_t)(const char *);
    int apply_twice(unary_t f, int v);
    int use_all(mkpt_t mk, logger_t log, double (*mix)(double, long));
    unary_t pick(int which, unary_t a, unary_t b);
""")
ffibuilder.set_source("dmcase", """
    typedef struct { int x, y; } point_t;
    typedef int (*unary_t)(int);
    typedef point_t (*mkpt_t)(int, int);
    typedef void (*logger_t)(const char *);
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def apply_twice(f, v):
    out("f is", ffi.typeof(f).cname, "callable", callable(f))
    return f(f(v))

@ffi.def_extern()
def use_all(mk, log, mix):
    p = mk(3, 4)
    out("mk ->", ffi.typeof(p).cname, p.x, p.y)
    r = log(b"hello from python")
    out("log returned", r)
    out("mix ->", mix(0.5, 10))
    try:
        mk(1)
    except TypeError:
        out("TypeError: wrong arg count")
    return p.x * p.y

@ffi.def_extern()
def pick(which, a, b):
    return a if which == 0 else b
""")
ffibuilder.compile(target="libcase.*", verbose=False)
