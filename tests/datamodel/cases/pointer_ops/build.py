# Pointer indexing, arithmetic, difference, comparison, bool(), int(), NULL.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x, y; } point_t;
    long walk(int *p, int n, int *end, point_t *pts);
""")
ffibuilder.set_source("dmcase", "typedef struct { int x, y; } point_t;")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def walk(p, n, end, pts):
    out("p[0..n]", [p[i] for i in range(n)])
    q = p + 2
    out("q[0] q[-1] q[1]", q[0], q[-1], q[1])
    out("end - p", end - p, "q - p", q - p, "p - q", p - q)
    out("p < q", p < q, "q > p", q > p, "p <= p", p <= p, "p == p + 0", p == p + 0, "p != q", p != q)
    out("(q - 2) == p", (q - 2) == p, "end - 1 == p + n - 1", end - 1 == p + n - 1)
    out("int diff", int(ffi.cast("intptr_t", q)) - int(ffi.cast("intptr_t", p)))
    out("bool", bool(p), bool(ffi.NULL), bool(ffi.cast("int *", 0)))
    out("NULL eq", ffi.NULL == ffi.cast("void *", 0), ffi.cast("int *", 0) == ffi.NULL, p == ffi.NULL)
    out("NULL type", ffi.typeof(ffi.NULL).cname)
    q[0] = 100
    (p + n - 1)[0] = -1
    pts[1].x = 42          # pointer-to-struct indexing gives the struct
    (pts + 1).y = 43       # field access through the pointer
    out("pts", pts[0].x, pts[0].y, pts.x, (pts + 1).x)
    out("void* compare", ffi.cast("void *", p) == p, ffi.cast("char *", p) + 4 == ffi.cast("char *", p + 1))
    return q - p

""")
ffibuilder.compile(target="libcase.*", verbose=False)
