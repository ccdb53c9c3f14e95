# NULL from C and ffi.NULL from Python; dereferencing NULL from Python raises
# instead of crashing; returning None for a pointer.
# stderr-contains: RuntimeError
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x; } box_t;
    int check(int *p, box_t *b, void *v, const char *s);
    void *give_null(int how);
    int deref_struct(box_t *b);
""")
ffibuilder.set_source("dmcase", "typedef struct { int x; } box_t;")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def check(p, b, v, s):
    out("null?", p == ffi.NULL, b == ffi.NULL, v == ffi.NULL, s == ffi.NULL)
    out("bool", bool(p), bool(b), bool(v), bool(s))
    if b == ffi.NULL:
        # (cffi does not check "b.x" on NULL: that crashes, so it is not tested)
        for what, f in [("b[0]", lambda: b[0]), ("p[0]", lambda: p[0]), ("p[3]", lambda: p[3]),
                        ("string", lambda: ffi.string(s)), ("unpack", lambda: ffi.unpack(s, 2)),
                        ("from_handle", lambda: ffi.from_handle(v))]:
            try:
                f()
                out(what, "no error")
            except RuntimeError:
                out(what, "RuntimeError")
    return 0 if p == ffi.NULL else p[0]

@ffi.def_extern()
def give_null(how):
    return [ffi.NULL, None, ffi.cast("void *", 0), ffi.cast("char *", 16)][how]

@ffi.def_extern(error=-1)
def deref_struct(b):
    return b[0].x   # raises RuntimeError when b is NULL -> error value
""")
ffibuilder.compile(target="libcase.*", verbose=False)
