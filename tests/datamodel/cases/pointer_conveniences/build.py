# CFFI's argument conveniences when Python calls C: a list/tuple for T* is an
# array initializer (also for a struct T, so a single struct is [[x, y]]), bytes for char*, array cdata for T*, a struct
# cdata by value, and large struct results (returned in memory).
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("void run(void);")
ffibuilder.cdef("""
    typedef struct { int x, y; } point_t;
    typedef struct { double m[6]; char name[12]; long id; } big_t;
    int c_norm1(const point_t *p);
    int c_sum_points(const point_t *p, int n);
    big_t c_make_big(long id, const char *name);
    double c_big_total(big_t b);
    void c_shift(point_t *p, int dx);
""")
ffibuilder.set_source("dmcase", r"""
    #include <string.h>
    typedef struct { int x, y; } point_t;
    typedef struct { double m[6]; char name[12]; long id; } big_t;
    static int c_norm1(const point_t *p) { return (p->x < 0 ? -p->x : p->x) + (p->y < 0 ? -p->y : p->y); }
    static int c_sum_points(const point_t *p, int n) { int s = 0; for (int i = 0; i < n; i++) s += p[i].x + p[i].y; return s; }
    static big_t c_make_big(long id, const char *name) {
        big_t b; memset(&b, 0, sizeof b);
        for (int i = 0; i < 6; i++) b.m[i] = id * 0.5 + i;
        strncpy(b.name, name, sizeof b.name - 1); b.id = id; return b;
    }
    static double c_big_total(big_t b) { double t = 0; for (int i = 0; i < 6; i++) t += b.m[i]; return t + b.id; }
    static void c_shift(point_t *p, int dx) { p->x += dx; }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

def t(f):
    try:
        return repr(f())
    except Exception as e:
        return type(e).__name__

@ffi.def_extern()
def run():
    out("struct* from [[x, y]]", lib.c_norm1([[3, -4]]), "from [dict]", lib.c_norm1([{"x": -1, "y": 1}]),
        "from ((x, y),)", lib.c_norm1(((5, 5),)))
    out("struct* from [x, y]", t(lambda: lib.c_norm1([3, -4])), "from dict", t(lambda: lib.c_norm1({"x": 1})))
    pts = ffi.new("point_t[3]", [[1, 2], [3, 4], [5, 6]])
    out("array for T*", lib.c_sum_points(pts, 3), "slice", lib.c_sum_points(pts + 1, 2))
    out("list of lists for T*", lib.c_sum_points([[1, 1], [2, 2]], 2))
    b = lib.c_make_big(7, b"seven")
    out("big result", ffi.typeof(b).cname, list(b.m), ffi.string(b.name), b.id)
    out("big by value", lib.c_big_total(b), lib.c_big_total({"m": [1, 2, 0, 0, 0, 0], "id": 10}))  # cffi does not zero what a dict leaves out
    p = ffi.new("point_t *", [1, 1])
    lib.c_shift(p, 10)
    out("shifted", p.x)
    tmp = [[0, 0]]
    lib.c_shift(tmp, 5)              # a temporary copy: the list is not changed
    out("list unchanged", tmp)
    try:
        lib.c_norm1(ffi.new("int *"))
    except TypeError:
        out("TypeError: int * for point_t *")
""")
ffibuilder.compile(target="libcase.*", verbose=False)
