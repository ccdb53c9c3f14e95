# Out-of-range integer returns raise OverflowError inside the callback: the
# traceback goes to stderr and C gets the error value (0 or error=...).
# stderr-contains: OverflowError
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    unsigned char ret_uchar(int v);
    signed char ret_schar(int v);
    unsigned int ret_uint(long long v);
    int ret_int_err(long long v);
    unsigned long long ret_ull(int neg);
    short ret_short_onerror(int v);
""")
ffibuilder.set_source("dmcase", "")
ffibuilder.embedding_init_code("""
from dmcase import ffi

@ffi.def_extern()
def ret_uchar(v):
    return v

@ffi.def_extern()
def ret_schar(v):
    return v

@ffi.def_extern()
def ret_uint(v):
    return v

@ffi.def_extern(error=-77)
def ret_int_err(v):
    return v

@ffi.def_extern(error=5)
def ret_ull(neg):
    return -1 if neg else 2**64

def handler(exc, value, tb):
    print("onerror got", exc.__name__, flush=True)
    return 1234 if value is not None else None

@ffi.def_extern(onerror=handler)
def ret_short_onerror(v):
    return v * 1000
""")
ffibuilder.compile(target="libcase.*", verbose=False)
