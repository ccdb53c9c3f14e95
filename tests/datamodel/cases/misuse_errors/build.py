# Misuse of cdata raises the exception cffi raises and never crashes the host:
# wrong struct type assigned, iterating a pointer, len() of a struct, calling
# data, unknown fields, arithmetic on void *, struct comparisons, deleting items.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x, y; } point_t;
    typedef struct { int x, y; } other_t;
    void run(point_t *p, void *v);
""")
ffibuilder.set_source("dmcase", """
    typedef struct { int x, y; } point_t;
    typedef struct { int x, y; } other_t;
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

def t(name, f):
    try:
        r = f()
        out(name, "->", "ok", repr(ffi.typeof(r)) if isinstance(r, ffi.CData) else r)
    except Exception as e:
        out(name, "->", "ffi.error" if isinstance(e, ffi.error) else type(e).__name__)

@ffi.def_extern()
def run(p, v):
    o = ffi.new("other_t *", [1, 2])
    arr = ffi.new("point_t[2]")
    t("assign other_t to point_t", lambda: arr.__setitem__(0, o[0]))
    t("assign point_t", lambda: arr.__setitem__(0, p[0]) or arr[0].x)
    t("iter pointer", lambda: list(p))
    t("len struct", lambda: len(p[0]))
    t("len pointer", lambda: len(p))
    t("call struct", lambda: p[0]())
    t("call pointer", lambda: p())
    t("unknown field", lambda: p.z)
    t("set unknown field", lambda: setattr(p, "z", 1))
    t("void * + 1", lambda: v + 1)
    t("void *[0]", lambda: v[0])
    t("struct == itself", lambda: p[0] == p[0])
    t("struct < struct", lambda: p[0] < p[0])
    t("del item", lambda: arr.__delitem__(0))
    t("pointer - other type", lambda: p - ffi.cast("int *", p))
    t("int + pointer", lambda: 1 + p is not None)
    t("pointer * 2", lambda: p * 2)
    t("int(struct)", lambda: int(p[0]))
    t("bool(struct)", lambda: bool(p[0]))
    t("string(struct *)", lambda: ffi.string(p))
    t("buffer(int)", lambda: ffi.buffer(5))
    t("sizeof(void)", lambda: ffi.sizeof("void"))
    t("offsetof missing", lambda: ffi.offsetof("point_t", "q"))
    out("host still alive")
""")
ffibuilder.compile(target="libcase.*", verbose=False)
