# Exceptions inside def_extern functions: wrong return types (TypeError),
# explicit raises, wrong struct/pointer returns; the traceback goes to stderr,
# C gets 0 / error=, onerror sees the exception; the library keeps working.
# marks: smoke
# stderr-contains: TypeError, ZeroDivisionError, void function raised
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x, y; } point_t;
    int ret_str(void);
    double ret_none(void);
    int* ret_wrong_ptr(void);
    point_t ret_bad_struct(void);
    int divide(int a, int b);
    long lookup(int k);
    int ok(int v);
    void void_raises(void);
""")
ffibuilder.set_source("dmcase", "typedef struct { int x, y; } point_t;")
ffibuilder.embedding_init_code("""
from dmcase import ffi

@ffi.def_extern()
def ret_str():
    return "not an int"

@ffi.def_extern(error=-1.5)
def ret_none():
    return None

@ffi.def_extern()
def ret_wrong_ptr():
    return ffi.new("char *")         # char * is not int *

@ffi.def_extern()
def ret_bad_struct():
    return 42

@ffi.def_extern(error=-1)
def divide(a, b):
    return a // b

def on_lookup_error(exc_type, exc_value, tb):
    print("onerror:", exc_type.__name__, exc_value, flush=True)
    return -999

@ffi.def_extern(onerror=on_lookup_error)
def lookup(k):
    return {1: 100}[k]

@ffi.def_extern()
def ok(v):
    return v + 1

@ffi.def_extern()
def void_raises():
    raise TypeError("void function raised")
""")
ffibuilder.compile(target="libcase.*", verbose=False)
