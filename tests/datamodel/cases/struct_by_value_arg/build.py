# C calls Python passing structs by value (small, large, nested, with arrays):
# Python gets a copy; changing it does not affect the caller.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x, y; } point_t;
    typedef struct { double m[4]; char tag[3]; point_t origin; long long id; } big_t;
    typedef struct { char c; } tiny_t;
    int sum_point(point_t p);
    double sum_big(big_t b, int scale, tiny_t t);
    void mutate(point_t p);
""")
ffibuilder.set_source("dmcase", """
    typedef struct { int x, y; } point_t;
    typedef struct { double m[4]; char tag[3]; point_t origin; long long id; } big_t;
    typedef struct { char c; } tiny_t;
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi

@ffi.def_extern()
def sum_point(p):
    print("point", ffi.typeof(p).cname, ffi.typeof(p).kind, p.x, p.y, flush=True)
    return p.x + p.y

@ffi.def_extern()
def sum_big(b, scale, t):
    print("big", list(b.m), ffi.string(b.tag), b.origin.x, b.origin.y, b.id, t.c, flush=True)
    return sum(b.m) * scale

@ffi.def_extern()
def mutate(p):
    p.x = 999
    print("mutated copy", p.x, flush=True)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
