# const globals are read-only on lib; CType objects are usable wherever a type
# string is (new, cast, sizeof, typeof, getctype), hashable and comparable.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x, y; } point_t;
    const int answer;
    const point_t corner;
    void run(void);
""")
ffibuilder.set_source("dmcase", """
    typedef struct { int x, y; } point_t;
    CFFI_DLLEXPORT const int answer = 42;
    CFFI_DLLEXPORT const point_t corner = { 3, 4 };
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def run():
    out("answer", lib.answer, "corner", lib.corner.x, lib.corner.y, ffi.typeof(lib.corner).cname)
    try:
        lib.answer = 1
        out("answer writable?!")
    except AttributeError:
        out("AttributeError writing a const global")
    T = ffi.typeof("point_t")
    P = ffi.typeof("point_t *")
    p = ffi.new(P, [1, 2])
    out("new(CType)", p.x, p.y, ffi.sizeof(T), ffi.alignof(T), ffi.offsetof(T, "y"))
    out("cast(CType)", int(ffi.cast(ffi.typeof("unsigned char"), 257)))
    out("getctype(CType)", ffi.getctype(T, "[3]"), ffi.typeof(ffi.getctype(T, "*")) is P)
    out("hashable", len({T: 1, P: 2, ffi.typeof("point_t"): 3}), T == ffi.typeof("point_t"), T != P)
    out("item", P.item is T, ffi.typeof("point_t[4]").item is T)
    a = ffi.new(ffi.typeof("int[]"), 3)
    out("int[] from CType", len(a))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
