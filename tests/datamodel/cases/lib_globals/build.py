# Global variables through lib: read and write scalars (C sees the writes),
# arrays, structs, pointers, and const globals.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x, y; } point_t;
    int counter;
    double ratio;
    int table[4];
    point_t origin;
    point_t path[2];
    const char *label;
    char name[8];
    void run(void);
""")
ffibuilder.set_source("dmcase", """
    typedef struct { int x, y; } point_t;
    CFFI_DLLEXPORT int counter = 5;
    CFFI_DLLEXPORT double ratio = 0.25;
    CFFI_DLLEXPORT int table[4] = { 1, 2, 3, 4 };
    CFFI_DLLEXPORT point_t origin = { -1, -2 };
    CFFI_DLLEXPORT point_t path[2] = { {1, 1}, {2, 2} };
    CFFI_DLLEXPORT const char *label = "initial";
    CFFI_DLLEXPORT char name[8] = "abc";
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

keep = []

@ffi.def_extern()
def run():
    out("read", lib.counter, lib.ratio, list(lib.table), lib.origin.x, lib.origin.y,
        ffi.string(lib.label), ffi.string(lib.name))
    out("types", ffi.typeof(lib.table).cname, ffi.typeof(lib.origin).cname, ffi.typeof(lib.path).cname)
    lib.counter += 10
    lib.ratio = 1.5
    lib.table[1] = 20
    lib.origin.x = 100
    lib.path[1].y = 22
    lib.origin = {"x": 7, "y": 8} if lib.counter < 0 else lib.origin
    s = ffi.new("char[]", b"from python")
    keep.append(s)
    lib.label = s
    lib.name = b"xyz"
    p = ffi.addressof(lib, "counter")
    p[0] += 1
    out("via addressof", lib.counter, ffi.typeof(p).cname)
    try:
        lib.table = [1]
        out("array assign allowed", list(lib.table))
    except Exception as e:
        out("array assign", type(e).__name__)
    try:
        lib.counter = "x"
    except TypeError:
        out("TypeError assigning str to int")
    try:
        lib.nope = 1
    except AttributeError:
        out("AttributeError for unknown global")
""")
ffibuilder.compile(target="libcase.*", verbose=False)
