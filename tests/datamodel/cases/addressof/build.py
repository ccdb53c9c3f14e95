# ffi.addressof: of a struct cdata, of a field, of nested fields, of an array
# item, of lib globals and lib functions; the pointers are used from C.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int a; struct { double d; int arr[3]; } in; } outer_t;
    int g_value;
    void run(outer_t *o);
""")
ffibuilder.cdef("""
    int c_read_int(int *p);
    double c_read_double(double *p);
    int c_call(int (*fn)(int *), int *arg);
""")
ffibuilder.set_source("dmcase", """
    typedef struct { int a; struct { double d; int arr[3]; } in; } outer_t;
    CFFI_DLLEXPORT int g_value = 31;
    static int c_read_int(int *p) { return *p; }
    static double c_read_double(double *p) { return *p; }
    static int c_call(int (*fn)(int *), int *arg) { return fn(arg) + 1; }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def run(o):
    s = o[0]                                   # 'outer_t &'
    p = ffi.addressof(s)
    out("addressof(struct)", ffi.typeof(p).cname, p == o)
    pa = ffi.addressof(s, "a")
    out("field", ffi.typeof(pa).cname, lib.c_read_int(pa))
    pd = ffi.addressof(s, "in", "d")
    out("nested field", ffi.typeof(pd).cname, lib.c_read_double(pd))
    parr = ffi.addressof(getattr(s, "in").arr, 2)   # "in" is a Python keyword
    out("array item", ffi.typeof(parr).cname, parr[0])
    pi = ffi.addressof(ffi.new("int[4]", [1, 2, 3, 4]), 3)
    out("new array item", pi[0])
    pg = ffi.addressof(lib, "g_value")
    pg[0] += 1
    out("global", ffi.typeof(pg).cname, lib.g_value)
    pf = ffi.addressof(lib, "c_read_int")
    out("function", ffi.typeof(pf).cname, lib.c_call(pf, pa))
    try:
        ffi.addressof(s, "nope")
    except KeyError:
        out("KeyError for unknown field")
""")
ffibuilder.compile(target="libcase.*", verbose=False)
