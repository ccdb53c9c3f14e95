# Unions by value in both directions, and a struct holding a union.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef union { int i; float f; char c[8]; } val_t;
    typedef struct { int kind; val_t v; } boxed_t;
    val_t twice(val_t v, int kind);
    boxed_t box(int kind);
""")
ffibuilder.set_source("dmcase", """
    typedef union { int i; float f; char c[8]; } val_t;
    typedef struct { int kind; val_t v; } boxed_t;
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi

@ffi.def_extern()
def twice(v, kind):
    r = ffi.new("val_t *")
    if kind == 0:
        print("int", v.i, flush=True)
        r.i = v.i * 2
    elif kind == 1:
        print("float", v.f, flush=True)
        r.f = v.f * 2
    else:
        print("chars", ffi.string(v.c), flush=True)
        r.c = ffi.string(v.c) * 2
    return r[0]

@ffi.def_extern()
def box(kind):
    if kind == 0:
        return {"kind": 0, "v": {"i": 77}}
    return {"kind": 1, "v": {"f": 0.25}}
""")
ffibuilder.compile(target="libcase.*", verbose=False)
