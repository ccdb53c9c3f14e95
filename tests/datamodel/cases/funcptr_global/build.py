# A function-pointer global: lib.my_callback(400) calls whatever C stored in
# it; Python can store a C function (or an extern "Python" one) into it and C
# then calls through it.
# marks: smoke
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    int (*my_callback)(int);
    void (*notify)(const char *msg, double v);
    int run(void);
""")
ffibuilder.cdef("""
    int c_triple(int);
    extern "Python" int py_negate(int);
""")
ffibuilder.set_source("dmcase", """
    CFFI_DLLEXPORT int (*my_callback)(int);
    CFFI_DLLEXPORT void (*notify)(const char *msg, double v);
    static int c_triple(int v) { return 3 * v; }
    static int py_negate(int);
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def py_negate(v):
    return -v

@ffi.def_extern()
def run():
    out("typeof", ffi.typeof(lib.my_callback).cname, bool(lib.my_callback))
    out("lib.my_callback(400) =", lib.my_callback(400))
    lib.notify(b"from python", 2.5)
    saved = lib.my_callback
    lib.my_callback = lib.c_triple
    out("now c_triple:", lib.my_callback(7))
    lib.my_callback = lib.py_negate
    out("now py_negate:", lib.my_callback(7))
    lib.my_callback = ffi.NULL
    out("NULL:", lib.my_callback == ffi.NULL, bool(lib.my_callback))
    try:
        lib.my_callback(1)
    except RuntimeError:
        out("RuntimeError calling NULL")
    try:
        lib.my_callback = lib.notify
    except TypeError:
        out("TypeError: wrong function type")
    lib.my_callback = saved
    return lib.my_callback(1)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
