# repr() of every kind of cdata and ctype, with addresses masked to ADDR.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x, y; } point_t;
    typedef union { int i; float f; } u_t;
    enum e { E0, E1 };
    void show(point_t *p, point_t byval, int (*fn)(int), const char *s);
""")
ffibuilder.set_source("dmcase", """
    typedef struct { int x, y; } point_t;
    typedef union { int i; float f; } u_t;
    enum e { E0, E1 };
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib
import re

def r(x):
    return re.sub(r"0x[0-9a-fA-F]+", "ADDR", repr(x))

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def show(p, byval, fn, s):
    out(r(p))
    out(r(p[0]))
    out(r(byval))
    out(r(fn))
    out(r(s))
    out(r(ffi.NULL))
    out(r(ffi.cast("int *", 0)))
    out(r(ffi.new("int *", 5)))
    out(r(ffi.new("int[10]")))
    out(r(ffi.new("point_t *")))
    out(r(ffi.new("point_t[]", 3)))
    out(r(ffi.new("u_t *")))
    out(r(ffi.new("char[]", b"abc")))
    out(r(ffi.new("int[2][3]")[1]))
    out(r(ffi.cast("int", 7)), r(ffi.cast("double", 1.5)), r(ffi.cast("char", 65)),
        r(ffi.cast("_Bool", 1)), r(ffi.cast("enum e", 1)), r(ffi.cast("enum e", 9)))
    out(r(ffi.cast("float", 0.1)), r(ffi.cast("unsigned long long", -1)))
    out(r(ffi.new("int[4]")[1:3]))
    out(r(ffi.new_handle(object())))
    out(r(ffi.typeof("point_t *")), r(ffi.typeof("int(*)(int)")), r(ffi.typeof("enum e")))
    out("buffer is an ffi.buffer:", isinstance(ffi.buffer(p), ffi.buffer))   # its repr is not part of the API
    out(r(ffi.gc(ffi.new("int *"), lambda x: None)))
    out(isinstance(p, ffi.CData), isinstance(ffi.typeof("int"), ffi.CType), isinstance(5, ffi.CData))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
