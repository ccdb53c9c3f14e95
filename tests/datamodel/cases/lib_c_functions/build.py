# C functions from set_source called from Python with CFFI's argument
# conversions: ints, floats, lists/bytes for pointers (not None), structs by value,
# struct results, wrong argument types and counts.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    void run(void);
""")
ffibuilder.cdef("""
    typedef struct { int x, y; } point_t;
    int c_add(int a, int b);
    double c_scale(double v, float f);
    long c_sum(const int *p, int n);
    size_t c_len(const char *s);
    int c_is_null(void *p);
    point_t c_make_point(int x, int y);
    int c_dot(point_t a, point_t b);
    void c_twice(int *inout);
    unsigned char c_uchar(unsigned char c);
    char c_first(const char *s);
    _Bool c_not(_Bool b);
""")
ffibuilder.set_source("dmcase", """
    #include <string.h>
    typedef struct { int x, y; } point_t;
    static int c_add(int a, int b) { return a + b; }
    static double c_scale(double v, float f) { return v * f; }
    static long c_sum(const int *p, int n) { long s = 0; while (n--) s += *p++; return s; }
    static size_t c_len(const char *s) { return strlen(s); }
    static int c_is_null(void *p) { return p == NULL; }
    static point_t c_make_point(int x, int y) { point_t p = { x, y }; return p; }
    static int c_dot(point_t a, point_t b) { return a.x * b.x + a.y * b.y; }
    static void c_twice(int *inout) { *inout *= 2; }
    static unsigned char c_uchar(unsigned char c) { return c + 1; }
    static char c_first(const char *s) { return s[0]; }
    static _Bool c_not(_Bool b) { return !b; }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

def err(f):
    try:
        f()
        out("  no error")
    except Exception as e:
        out("  ", type(e).__name__)

@ffi.def_extern()
def run():
    out("c_add", lib.c_add(1, 2), lib.c_add(-2**31, 0), lib.c_add(True, 1))
    out("c_scale", lib.c_scale(2, 0.5), lib.c_scale(1.5, 3))
    out("c_sum list", lib.c_sum([1, 2, 3, 4], 4))
    out("c_sum cdata", lib.c_sum(ffi.new("int[]", [5, 6]), 2))
    out("c_len bytes", lib.c_len(b"hello"), "c_len char[]", lib.c_len(ffi.new("char[]", b"abc")))
    out("c_is_null", lib.c_is_null(ffi.NULL), lib.c_is_null(ffi.new("int *")))
    p = lib.c_make_point(3, 4)
    out("c_make_point", ffi.typeof(p).cname, p.x, p.y)
    out("c_dot", lib.c_dot(p, [1, 10]), lib.c_dot({"x": 2, "y": 2}, p))
    box = ffi.new("int *", 21)
    lib.c_twice(box)
    out("c_twice", box[0])
    out("c_uchar", lib.c_uchar(255), "c_first", lib.c_first(b"xyz"), "c_not", lib.c_not(0), lib.c_not(True))
    out("typeof c_add", ffi.typeof(lib.c_add).cname, "repr has name", "c_add" in repr(lib.c_add))
    out("addressof", ffi.typeof(ffi.addressof(lib, "c_add")).cname)
    out("errors:")
    err(lambda: lib.c_add(1))
    err(lambda: lib.c_add(1, 2, 3))
    err(lambda: lib.c_add("1", 2))
    err(lambda: lib.c_add(2**31, 0))
    err(lambda: lib.c_add(1.5, 0))
    err(lambda: lib.c_len("str"))
    err(lambda: lib.c_len(ffi.new("int *")))
    err(lambda: lib.c_uchar(256))
    err(lambda: lib.c_dot(p, [1, 2, 3]))
    err(lambda: lib.c_is_null(None))
    err(lambda: lib.c_not(7))
    err(lambda: lib.no_such_function)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
