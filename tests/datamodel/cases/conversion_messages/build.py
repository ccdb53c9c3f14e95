# Assorted conversions and their exact errors, compared with cffi: enum fields
# take integers only (no enumerator names), char[] initializers (bytes only,
# too long), owning pointers only indexed by 0, arrays of function pointers
# filled with lib functions, NULL dereference and calls through NULL.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef enum { LOW = -1, HIGH = 1 } level_t;
    typedef struct foo *foo_p;
    struct foo { int (*ops[2])(int); level_t lv; char name[8]; };
    typedef unsigned char byte;
    void run(void);
""")
ffibuilder.cdef("int neg(int); int dbl(int);")
ffibuilder.set_source("dmcase", """
    typedef enum { LOW = -1, HIGH = 1 } level_t;
    typedef struct foo *foo_p;
    struct foo { int (*ops[2])(int); level_t lv; char name[8]; };
    typedef unsigned char byte;
    static int neg(int x) { return -x; }
    static int dbl(int x) { return 2 * x; }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

def attempt(label, f):
    try:
        out(label, f())
    except Exception as e:
        out(label, type(e).__name__, e)

@ffi.def_extern()
def run():
    f = ffi.new("foo_p", {"ops": [lib.neg, lib.dbl], "name": b"abc"})
    attempt("ops", lambda: (f.ops[0](3), f.ops[1](3), ffi.typeof(f.ops).cname, ffi.typeof(f.ops[0]).cname))
    attempt("lv", lambda: (f.lv, ffi.typeof("level_t").cname, repr(ffi.cast("level_t", -1))))
    attempt("lv set", lambda: (setattr(f, "lv", 1), f.lv)[1])
    attempt("lv bad", lambda: setattr(f, "lv", "NOPE"))
    attempt("lv int", lambda: (setattr(f, "lv", 7), f.lv)[1])
    attempt("name", lambda: (ffi.string(f.name), len(f.name)))
    attempt("name set", lambda: (setattr(f, "name", b"xyzxyzxy"), ffi.string(f.name))[1])
    attempt("name too long", lambda: setattr(f, "name", b"123456789"))
    attempt("name str", lambda: setattr(f, "name", "abc"))
    attempt("byte", lambda: (ffi.typeof("byte").cname, ffi.new("byte[]", b"ab")[0], ffi.new("byte *", 255)[0]))
    attempt("byte over", lambda: ffi.new("byte *", 256))
    attempt("char*[]", lambda: [ffi.string(x) for x in ffi.new("char *[]", [ffi.new("char[]", b"a"), ffi.NULL])[:1]])
    attempt("char* from bytes", lambda: ffi.new("char *[1]", [b"x"]))
    attempt("iter struct", lambda: list(f[0]))
    attempt("len struct", lambda: len(f[0]))
    attempt("bool struct", lambda: bool(f[0]))
    attempt("int struct", lambda: int(f[0]))
    attempt("struct index", lambda: f[0][0])
    attempt("ptr index", lambda: repr(f[1]).split(" 0x")[0])
    attempt("cast ptr types", lambda: ffi.typeof(ffi.cast("struct foo *", ffi.cast("void *", f))))
    attempt("cast int to enum", lambda: ffi.cast("level_t", 1) == 1)
    attempt("enum from float", lambda: ffi.cast("level_t", 1.7))
    attempt("getattr missing", lambda: f.nope)
    attempt("setattr missing", lambda: setattr(f, "nope", 1))
    attempt("del field", lambda: delattr(f, "lv"))
    attempt("null index", lambda: ffi.cast("int *", 0)[0])
    attempt("null set", lambda: ffi.cast("int *", 0).__setitem__(0, 1))
    attempt("fnptr null call", lambda: ffi.cast("int(*)(int)", 0)(1))
    attempt("fnptr wrong args", lambda: f.ops[0]())
    attempt("fnptr wrong type", lambda: f.ops[0]("x"))
    attempt("ffi.CData", lambda: (isinstance(f, ffi.CData), isinstance(ffi.typeof(f), ffi.CType)))
    attempt("ffi.NULL", lambda: (repr(ffi.NULL), ffi.NULL == ffi.cast("void *", 0)))
    attempt("void ptr arith", lambda: ffi.cast("void *", 8) + 1)
    attempt("ptr cmp", lambda: (ffi.cast("char *", 8) < ffi.cast("char *", 9), ffi.cast("int *", 8) == ffi.cast("char *", 8)))
    attempt("typeof cdata fn", lambda: ffi.typeof(lib.neg))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
