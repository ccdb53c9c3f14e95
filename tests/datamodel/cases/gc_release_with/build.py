# ffi.gc destructors (C functions from set_source), ffi.release, the
# with-statement on ffi.new and ffi.gc objects, gc(ptr, None) to detach.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    void run(void);
""")
ffibuilder.cdef("""
    typedef struct res res_t;
    res_t *res_open(int id);
    void res_close(res_t *r);
    int res_id(res_t *r);
    int res_live(void);
    void *malloc(size_t);
    void free(void *);
""")
ffibuilder.set_source("dmcase", r"""
    #include <stdio.h>
    #include <stdlib.h>
    typedef struct res { int id; } res_t;
    static int live;
    static res_t *res_open(int id) { res_t *r = malloc(sizeof *r); r->id = id; live++; printf("C open %d\n", id); return r; }
    static void res_close(res_t *r) { printf("C close %d\n", r->id); live--; free(r); }
    static int res_id(res_t *r) { return r->id; }
    static int res_live(void) { return live; }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib
import gc

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def run():
    r = ffi.gc(lib.res_open(1), lib.res_close)
    out("id", lib.res_id(r), "live", lib.res_live())
    del r
    gc.collect()
    out("after del, live", lib.res_live())

    r2 = ffi.gc(lib.res_open(2), lib.res_close)
    ffi.release(r2)                  # destructor runs now
    out("after release, live", lib.res_live())
    ffi.release(r2)                  # a second release is a no-op
    out("second release ok")

    with ffi.gc(lib.res_open(3), lib.res_close) as r3:
        out("inside with", lib.res_id(r3))
    out("after with, live", lib.res_live())

    r4 = ffi.gc(lib.res_open(4), lib.res_close)
    raw = ffi.cast("res_t *", r4)    # a plain, non-owning copy of the pointer
    ffi.gc(r4, None)                 # detach: no destructor any more
    del r4
    gc.collect()
    out("after detach, live", lib.res_live())
    lib.res_close(raw)

    with ffi.new("int[4]", [1, 2, 3, 4]) as arr:
        out("with ffi.new", list(arr))
    p = ffi.new("char[]", 100)
    ffi.release(p)
    out("released new")

    m = ffi.gc(ffi.cast("int *", lib.malloc(16)), lib.free, size=16)
    m[3] = 7
    out("malloc + gc", m[3])
    del m
    gc.collect()
    out("end, live", lib.res_live())
""")
ffibuilder.compile(target="libcase.*", verbose=False)
