# ffi.memmove between cdata, from bytes/bytearray, into bytearray, overlapping;
# ffi.unpack of char*, int*, wchar_t*, structs.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { short a, b; } pair_t;
    void run(int *ints, int n, const char *s, const wchar_t *w, pair_t *pairs);
""")
ffibuilder.set_source("dmcase", "#include <wchar.h>\ntypedef struct { short a, b; } pair_t;")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def run(ints, n, s, w, pairs):
    out("unpack ints", ffi.unpack(ints, n))
    out("unpack char", ffi.unpack(s, 5), "with 0 inside", ffi.unpack(s, 8))
    out("unpack wchar", repr(ffi.unpack(w, 3)))
    ps = ffi.unpack(pairs, 2)
    out("unpack structs", [(p.a, p.b) for p in ps], ffi.typeof(ps[0]).cname)
    out("unpack 0", ffi.unpack(ints, 0))
    tmp = ffi.new("int[]", n)
    ffi.memmove(tmp, ints, n * ffi.sizeof("int"))
    out("memmove cdata->cdata", list(tmp))
    ffi.memmove(ints, ints + 1, (n - 1) * ffi.sizeof("int"))    # overlapping
    out("overlapping", ffi.unpack(ints, n))
    ffi.memmove(ints, b"\\x07\\x00\\x00\\x00", 4)
    out("from bytes", ints[0])
    ba = bytearray(8)
    ffi.memmove(ba, ints, 8)
    out("into bytearray", bytes(ba))
    ffi.memmove(ffi.cast("char *", ints) + 4, bytearray(b"\\x09\\x00\\x00\\x00"), 4)
    out("from bytearray", ints[1])
    try:
        ffi.memmove(ints, "str", 3)
    except TypeError:
        out("TypeError for str")
""")
ffibuilder.compile(target="libcase.*", verbose=False)
