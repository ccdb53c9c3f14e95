# Where CFFI is memory-unsafe or deadlocks, cembed raises instead (cembed
# only, no cffi run: see test_dm_beyond_cffi.py).
# - assigning too many items to a flexible array member of a struct that
#   ffi.new allocated (CFFI writes past the allocation);
# - ffi.init_once called again for the same tag from inside its own
#   function (CFFI waits for itself forever);
# - reading a field through a NULL struct pointer, also after the same
#   field was read through a valid one (CFFI reads address 0).
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    struct flex { int n; double items[]; };
    void run(void);
""")
ffibuilder.set_source("dmcase", "struct flex { int n; double items[]; };")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

def recursive():
    return ffi.init_once(recursive, "tag")

@ffi.def_extern()
def run():
    p = ffi.new("struct flex *", {"n": 2, "items": [1.0, 2.0]})
    try:
        p.items = [1.0, 2.0, 3.0]
    except IndexError as e:
        out("IndexError", e)
    p.items = [5.0]
    out(list(p.items))
    try:
        ffi.init_once(recursive, "tag")
    except RuntimeError as e:
        out("RuntimeError", e)
    out("init_once afterwards", ffi.init_once(lambda: 7, "tag"))
    q = ffi.new("struct flex *", {"n": 3})
    null = ffi.cast("struct flex *", 0)
    for i in range(3):
        out("n", q.n)
        try:
            null.n
        except RuntimeError as e:
            out("RuntimeError", e)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
