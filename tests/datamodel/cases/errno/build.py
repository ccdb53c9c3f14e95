# ffi.errno: the caller's errno is visible inside the callback, a value set in
# Python is what C sees after the call returns, and errno set by a C function
# called from Python is readable right after.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    int check_errno(int set_to);
""")
ffibuilder.cdef("int c_fail(int e);")
ffibuilder.set_source("dmcase", """
    #include <errno.h>
    static int c_fail(int e) { errno = e; return -1; }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib
import errno as E

@ffi.def_extern()
def check_errno(set_to):
    print("errno on entry", ffi.errno, flush=True)
    r = lib.c_fail(E.ENOENT)
    print("after c_fail", r, ffi.errno, ffi.errno == E.ENOENT, flush=True)
    if set_to >= 0:
        ffi.errno = set_to
    return 0
""")
ffibuilder.compile(target="libcase.*", verbose=False)
