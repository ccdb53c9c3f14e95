# long double through every path: exported function arguments and results,
# extern "Python" callbacks called from C, lib C functions, struct fields,
# ffi.new/cast: Python sees a 'long double' cdata (not a float, which would
# lose precision), and accepts floats, ints and long double cdata back.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    struct ld { long double v; int tag; };
    long double twice(long double x);
    void run(void);
""")
ffibuilder.cdef("""
    extern "Python" long double py_cb(long double, double);
    long double call_cb(long double x);
    long double sum_ld(struct ld *p);
""")
ffibuilder.set_source("dmcase", """
    struct ld { long double v; int tag; };
    static long double py_cb(long double, double);
    static long double call_cb(long double x) { return py_cb(x, 0.5) + 1.0L; }
    static long double sum_ld(struct ld *p) { return p->v + p->tag; }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def twice(x):
    out("twice got", repr(x), float(x))
    return x * 2 if not isinstance(x, ffi.CData) else float(x) * 2

@ffi.def_extern()
def py_cb(x, d):
    out("py_cb got", repr(x), type(x) is type(ffi.cast("int", 0)), repr(d))
    return x

@ffi.def_extern()
def run():
    r = lib.call_cb(2.25)
    out("call_cb", repr(r), float(r))
    s = ffi.new("struct ld *", {"v": 1.5, "tag": 2})
    out("field", repr(s.v), "sum_ld", repr(lib.sum_ld(s)))
    s.v = ffi.cast("long double", 7.75)
    out("field from cdata", float(s.v), float(lib.sum_ld(s)))
    s.v = 3
    out("field from int", float(s.v))
    out("cast", repr(ffi.cast("long double", 1e300)), float(ffi.cast("long double", 0.1)))
    try:
        ffi.cast("long double", 2.0) == 2.0
    except NotImplementedError as e:
        out("NotImplementedError", e)
    out("int", int(ffi.cast("long double", 9.9)), bool(ffi.cast("long double", 0.0)))
    try:
        s.v = "x"
    except TypeError as e:
        out("TypeError", e)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
