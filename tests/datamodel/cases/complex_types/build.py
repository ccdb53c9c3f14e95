# float _Complex / double _Complex: exported functions (float _Complex
# arguments and result), lib C functions taking and returning both, struct
# fields, arrays, ffi.new/cast/complex()/bool(), and the TypeErrors of
# int()/float()/complex() on the wrong cdata. (An extern "Python" function
# with a double _Complex argument or result is left out: CFFI's generated C
# stores each argument in an 8-byte slot, so it breaks there; cembed's
# argument buffer has no such limit.)
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    float _Complex fscale(float _Complex z, float k);
    void run(void);
""")
ffibuilder.cdef("""
    typedef struct { float _Complex fc; double _Complex dc; int n; } cpx_t;
    double _Complex dmul(double _Complex a, double _Complex b);
    float _Complex fconj(float _Complex z);
    double dsum(cpx_t *p);
    extern "Python" float _Complex py_twice(float _Complex);
    float _Complex call_twice(float _Complex z);
""")
ffibuilder.set_source("dmcase", """
    #include <complex.h>
    typedef struct { float _Complex fc; double _Complex dc; int n; } cpx_t;
    static double _Complex dmul(double _Complex a, double _Complex b) { return a * b; }
    static float _Complex fconj(float _Complex z) { return conjf(z); }
    static double dsum(cpx_t *p) { return creal(p->dc) + cimag(p->dc) + crealf(p->fc) + p->n; }
    static float _Complex py_twice(float _Complex);
    static float _Complex call_twice(float _Complex z) { return py_twice(z) + 1.0f; }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

def attempt(what, f):
    try:
        out(what, "->", repr(f()))
    except Exception as e:
        out(what, "!!", type(e).__name__, e)

@ffi.def_extern()
def fscale(z, k):
    out("fscale got", type(z).__name__, z, k)
    return z * k

@ffi.def_extern()
def py_twice(z):
    out("py_twice got", type(z).__name__, z)
    return z * 2

@ffi.def_extern()
def run():
    for t in ["float _Complex", "double _Complex"]:
        ct = ffi.typeof(t)
        out(t, ct, ct.kind, ct.cname, ffi.sizeof(t), ffi.alignof(t))
    out(ffi.typeof("_cffi_double_complex_t") is ffi.typeof("double _Complex"))
    out(lib.dmul(1+2j, 3-1j), type(lib.dmul(1, 2)).__name__)
    out(lib.fconj(1.5+2.5j))
    out(lib.call_twice(0.25+1j))
    p = ffi.new("double _Complex *", 1+2j)
    out(p[0], type(p[0]).__name__)
    p[0] = 7
    out(p[0])
    a = ffi.new("float _Complex[3]", [1j, 2, 0.5+0.5j])
    out(list(a), len(a), ffi.sizeof(a))
    a[1] = -3j
    out(a[1])
    s = ffi.new("cpx_t *", {"fc": 1+1j, "dc": 2.5-4j, "n": 3})
    out(s.fc, s.dc, s.n, lib.dsum(s))
    s.dc = 10
    out(s.dc, lib.dsum(s))
    out(ffi.offsetof("cpx_t", "dc"), ffi.sizeof("cpx_t"))
    c = ffi.cast("double _Complex", 1.5)
    out(repr(c), complex(c), bool(c), bool(ffi.cast("float _Complex", 0)))
    out(repr(ffi.cast("float _Complex", 2+1j)))
    out(repr(ffi.cast("double _Complex", b"1")))
    out(repr(ffi.cast("double _Complex", ffi.cast("int", 3))))
    out(repr(ffi.cast("double _Complex", ffi.cast("float _Complex", 1-1j))))
    out(c == c, c == 1.5, hash(c) == hash(1.5+0j))
    attempt("float", lambda: float(c))
    attempt("int", lambda: int(c))
    attempt("cast int", lambda: ffi.cast("int", c))
    attempt("cast double", lambda: ffi.cast("double", c))
    attempt("complex of int", lambda: complex(ffi.cast("int", 1)))
    attempt("new str", lambda: ffi.new("double _Complex *", "x"))
    attempt("cast ptr", lambda: ffi.cast("double _Complex", ffi.new("int *")))
    attempt("cast bytes", lambda: ffi.cast("double _Complex", b"ab"))
    attempt("arg str", lambda: lib.dmul("x", 1))
    attempt("add", lambda: c + 1)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
