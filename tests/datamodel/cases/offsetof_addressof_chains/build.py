# ffi.offsetof / ffi.addressof chains as CFFI's direct_typeoffsetof walks them:
# a pointer first (offsetof("T *", "f")), nested fields and indexes, no bounds
# check on indexes, and every TypeError/KeyError message.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    struct in { int a[4]; int *p; };
    typedef struct node { int v; struct node *next; struct in in; unsigned bf : 3; } node_t;
    struct opq;
    void run(void);
""")
ffibuilder.set_source("dmcase", """
    struct in { int a[4]; int *p; };
    typedef struct node { int v; struct node *next; struct in in; unsigned bf : 3; } node_t;
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
    for args in [("node_t", "next"), ("node_t *", "next"), ("node_t", "in", "a", 2), ("node_t", "in", "a", 9),
                 ("node_t", "in", "p", 3), ("node_t", "in", "p", "x"), ("node_t **", "v"), ("int", "x"),
                 ("struct opq *", "x"), ("node_t", "bf"), ("node_t", "nope"), ("int[5]", 3), ("int[5]", -1),
                 ("int *", 2), ("node_t", "in", 1), ("node_t", 1.5), ("void *", 1), ("struct opq *", 1),
                 ("int[5]",), ("node_t", "next", "v")]:
        attempt("offsetof %r" % (args,), lambda: ffi.offsetof(*args))
    n = ffi.new("node_t *")
    arr = ffi.new("int[3]")
    for label, f in [("struct", lambda: ffi.addressof(n[0])), ("ptr", lambda: ffi.addressof(n)),
                     ("ptr field", lambda: ffi.addressof(n, "in")), ("ptr index", lambda: ffi.addressof(n, 0)),
                     ("arr", lambda: ffi.addressof(arr)), ("arr idx", lambda: ffi.addressof(arr, 2)),
                     ("int", lambda: ffi.addressof(ffi.cast("int", 1))), ("int field", lambda: ffi.addressof(ffi.cast("int", 1), "x")),
                     ("nested", lambda: ffi.addressof(n[0], "in", "a", 3)), ("bf", lambda: ffi.addressof(n, "bf"))]:
        attempt("addressof " + label, lambda: repr(f()).split(" 0x")[0])
    attempt("addressof diff", lambda: ffi.addressof(n, "in", "a", 3) - ffi.addressof(n, "in", "a", 0))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
