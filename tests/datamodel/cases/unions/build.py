# Unions: all members at offset 0, type punning, sizeof, writing one member and
# reading another from C.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef union { unsigned int u; float f; unsigned char b[4]; struct { unsigned short lo, hi; } h; } word_t;
    void pun(word_t *w);
    int usize(void);
""")
ffibuilder.set_source("dmcase", """
    typedef union { unsigned int u; float f; unsigned char b[4]; struct { unsigned short lo, hi; } h; } word_t;
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi

@ffi.def_extern()
def pun(w):
    print("u", hex(w.u), "f", w.f, "b", list(w.b), "h", w.h.lo, w.h.hi, flush=True)
    print("kind", ffi.typeof(w).item.kind, [(n, f.offset) for n, f in ffi.typeof(w).item.fields], flush=True)
    w.f = 1.0

@ffi.def_extern()
def usize():
    u = ffi.new("word_t *", [0x01020304])   # initializes the first member
    print("new", hex(u.u), list(u.b), flush=True)
    v = ffi.new("word_t *", {"b": [1, 1, 1, 1]})
    print("new dict", hex(v.u), flush=True)
    return ffi.sizeof("word_t")
""")
ffibuilder.compile(target="libcase.*", verbose=False)
