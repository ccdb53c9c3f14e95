# cdef(packed=True): the layout matches the C compiler's #pragma pack(1)
# (cffi's API mode supports only pack 0 or 1); fields read and written.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.cdef("""
    struct p1 { char c; int i; short s; double d; };
    struct p2 { char c; int i; char c2; long long q; };
""", packed=True)
ffibuilder.embedding_api("""
    void run(struct p1 *a, struct p2 *b);
""")
ffibuilder.set_source("dmcase", """
    #pragma pack(push, 1)
    struct p1 { char c; int i; short s; double d; };
    struct p2 { char c; int i; char c2; long long q; };
    #pragma pack(pop)
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def run(a, b):
    for t in ["struct p1", "struct p2"]:
        out(t, "sizeof", ffi.sizeof(t), "alignof", ffi.alignof(t),
            [(n, f.offset) for n, f in ffi.typeof(t).fields])
    out("a", a.c, a.i, a.s, a.d)
    out("b", b.c, b.i, b.c2, b.q)
    a.i, a.d = -a.i, a.d * 2
    b.q += 1
    arr = ffi.new("struct p1[2]", [[b"x", 1, 2, 3.0], [b"y", 4, 5, 6.0]])
    out("array stride", ffi.sizeof(arr), int(ffi.cast("intptr_t", ffi.addressof(arr, 1))) - int(ffi.cast("intptr_t", arr)))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
