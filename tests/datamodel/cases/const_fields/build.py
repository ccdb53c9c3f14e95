# const in declarations: CFFI keeps `const` only in pointer types
# ('const char *') and does not refuse writes to const fields or through
# const pointers from Python; C sees the written values.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    struct cs { const int x; int y; const char *name; };
    typedef struct { const double k; const int arr[2]; } ro_t;
    int read_x(struct cs *p);
    void run(struct cs *p, const int *cp);
""")
ffibuilder.set_source("dmcase", """
    struct cs { const int x; int y; const char *name; };
    typedef struct { const double k; const int arr[2]; } ro_t;
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

NAME = ffi.new("char[]", b"py")

@ffi.def_extern()
def read_x(p):
    return p.x

@ffi.def_extern()
def run(p, cp):
    out("from C", p.x, p.y, ffi.string(p.name), cp[0], ffi.typeof(cp))
    p.x = 11
    p.name = NAME
    cp[0] = 12
    out("after writes", p.x, lib.read_x(p), ffi.string(p.name), cp[0])
    for name, f in ffi.typeof("struct cs").fields:
        out("field", name, f.type.cname, f.flags)
    r = ffi.new("ro_t *", {"k": 1.5, "arr": [1, 2]})
    r.k = 2.5
    r.arr[1] = 5
    r.arr = [7, 8]
    out("ro_t", r.k, list(r.arr), [(n, f.type.cname) for n, f in ffi.typeof("ro_t").fields])
    out("typeof", ffi.typeof("const int *"), ffi.typeof("const char *const *"), ffi.typeof("int *const"))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
