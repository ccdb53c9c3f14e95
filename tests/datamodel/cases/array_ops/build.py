# Arrays: len, iteration, slicing, slice assignment, bounds (IndexError),
# negative indexes, list(), arrays of structs.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x; } item_t;
    int run(void);
""")
ffibuilder.set_source("dmcase", "typedef struct { int x; } item_t;")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

def err(f):
    try:
        f()
        out("  no error")
    except Exception as e:
        out("  ", type(e).__name__)

@ffi.def_extern()
def run():
    a = ffi.new("int[6]", [0, 1, 2, 3, 4, 5])
    out("len", len(a), "list", list(a), "iter", [x * 2 for x in a])
    out("a[5]", a[5], "typeof a", ffi.typeof(a).cname)
    s = a[1:4]
    out("slice", ffi.typeof(s).cname, len(s), list(s))
    s[0] = 100                           # a slice is a view, not a copy
    out("after view write", list(a))
    a[2:5] = [20, 30, 40]
    out("slice assign", list(a))
    a[0:2] = a[4:6]                      # from another cdata slice
    out("slice assign cdata", list(a))
    out("index errors:")
    err(lambda: a[6])
    err(lambda: a[-1])
    err(lambda: a.__setitem__(6, 0))
    err(lambda: a[4:7])
    err(lambda: a[:3])                   # start is required
    err(lambda: a[0:2:1])                # no step
    err(lambda: ffi.new("int[3]").__setitem__(slice(0, 2), [1, 2, 3]))
    p = ffi.new("int[]", 4)
    out("open array", ffi.typeof(p).cname, len(p), list(p))
    ptr = ffi.cast("int *", a)
    out("pointer slice", list(ptr[0:3]))
    err(lambda: len(ptr))
    pts = ffi.new("item_t[3]")
    for i, pt in enumerate(pts):
        pt.x = i * 11
    out("structs", [pt.x for pt in pts])
    m = ffi.new("int[2][3]", [[1, 2, 3], [4, 5, 6]])
    out("2d", len(m), len(m[0]), [list(r) for r in m], ffi.typeof(m[1]).cname)
    return sum(a)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
