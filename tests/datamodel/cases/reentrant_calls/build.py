# Nested calls: C -> Python -> C -> Python (another exported function and an
# extern "Python" callback) -> ..., recursion several levels deep.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    int fact(int n);
""")
ffibuilder.cdef("""
    int c_mul_then(int n, int (*next)(int));
    extern "Python" int py_step(int n);
""")
ffibuilder.set_source("dmcase", """
    int fact(int n);
    static int c_mul_then(int n, int (*next)(int)) { return n * next(n - 1); }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

depth = [0]

@ffi.def_extern()
def py_step(n):
    depth[0] += 1
    print("  " * depth[0] + "py_step(%d)" % n, flush=True)
    try:
        return lib.fact(n)           # back into C, through the exported function
    finally:
        depth[0] -= 1

@ffi.def_extern()
def fact(n):
    if n <= 1:
        return 1
    return lib.c_mul_then(n, lib.py_step)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
