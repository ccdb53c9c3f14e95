# stderr-contains: TypeError, OverflowError
# What an exported function (extern "Python") may return, for each C result
# type (char, _Bool, enum, struct, union, const char *, void *, float,
# wchar_t, function pointer): accepted values (incl. char cdata, lib
# functions and ffi.cast of them) and the wrong ones (traceback, result 0).
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { char tag[3]; short v; } rec_t;
    typedef union { int i; float f; } num_t;
    enum e { E1 = 1, E2 = 2 };
    char r_char(int k);
    _Bool r_bool(int k);
    enum e r_enum(int k);
    rec_t r_rec(int k);
    num_t r_num(int k);
    const char *r_str(int k);
    void *r_ptr(int k);
    float r_float(int k);
    wchar_t r_wchar(int k);
    int (*r_fn(int k))(int);
    int take(rec_t r, num_t n, enum e x, char c, _Bool b, const char *s, int (*fn)(int));
""")
ffibuilder.cdef("int sq(int);")
ffibuilder.set_source("dmcase", """
    #include <wchar.h>
    typedef struct { char tag[3]; short v; } rec_t;
    typedef union { int i; float f; } num_t;
    enum e { E1 = 1, E2 = 2 };
    static int sq(int x) { return x * x; }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

KEEP = ffi.new("char[]", b"kept")

def pick(k, vals):
    v = vals[k]
    if isinstance(v, Exception):
        raise v
    return v

@ffi.def_extern()
def r_char(k): return pick(k, [b"a", "b", 66, b"xy", ffi.cast("char", b"z")])
@ffi.def_extern()
def r_bool(k): return pick(k, [True, 0, 2, 1.0, None])
@ffi.def_extern()
def r_enum(k): return pick(k, [2, "E1", 7, -1, 2**40])
@ffi.def_extern()
def r_rec(k): return pick(k, [[b"ab", 5], {"tag": b"", "v": -3}, (b"abc", 1), 5, [b"abcd"]])
@ffi.def_extern()
def r_num(k): return pick(k, [{"f": 1.5}, [3], {"i": 1, "f": 2.0}, ffi.new("num_t *", {"i": 9})[0], "x"])
@ffi.def_extern()
def r_str(k): return pick(k, [KEEP, ffi.NULL, b"bytes", None, ffi.cast("char *", KEEP)])
@ffi.def_extern()
def r_ptr(k): return pick(k, [KEEP, ffi.NULL, None, 5, ffi.new_handle])
@ffi.def_extern()
def r_float(k): return pick(k, [1.25, 3, "x", ffi.cast("double", 2.5), 10**400])
@ffi.def_extern()
def r_wchar(k): return pick(k, ["w", "xy", 65, b"a", "\\u20ac"])
@ffi.def_extern()
def r_fn(k): return pick(k, [lib.sq, ffi.NULL, None, 5, ffi.cast("int(*)(int)", lib.sq)])

@ffi.def_extern()
def take(r, n, x, c, b, s, fn):
    out("take", repr(r).split(" 0x")[0], ffi.string(r.tag), r.v, n.i, x, c, b, ffi.string(s), fn(7), ffi.typeof(fn))
    return 0
""")
ffibuilder.compile(target="libcase.*", verbose=False)
