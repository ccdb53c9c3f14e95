# ffi.string() on arrays of and pointers to one-byte integers (int8_t,
# uint8_t, signed/unsigned char: bytes up to the first zero or the array's
# end or maxlen), on one-byte integer cdata (one byte), and the TypeError for
# wider integers and _Bool.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    void run(const uint8_t *from_c, int8_t *signed_from_c);
""")
ffibuilder.set_source("dmcase", "#include <stdint.h>")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

def attempt(label, f):
    try:
        out(label, f())
    except Exception as e:
        out(label, type(e).__name__, e)

@ffi.def_extern()
def run(from_c, signed_from_c):
    attempt("from C", lambda: ffi.string(from_c))
    attempt("from C maxlen", lambda: ffi.string(from_c, 2))
    attempt("signed from C", lambda: ffi.string(signed_from_c))
    for t in ["int8_t[]", "uint8_t[]", "signed char[]", "unsigned char[]"]:
        a = ffi.new(t, [65, 66, 0, 67])
        attempt(t, lambda: ffi.string(a))
        attempt(t + " maxlen", lambda: ffi.string(a, 1))
        attempt(t + " ptr", lambda: ffi.string(ffi.cast(t.replace("[]", " *"), a)))
    attempt("negative", lambda: ffi.string(ffi.new("int8_t[]", [-1, 66, 0])))
    attempt("no terminator", lambda: ffi.string(ffi.new("uint8_t[3]", [200, 201, 202])))
    attempt("scalar int8", lambda: ffi.string(ffi.cast("int8_t", 65)))
    attempt("scalar uint8", lambda: ffi.string(ffi.cast("uint8_t", 200)))
    attempt("scalar int16", lambda: ffi.string(ffi.cast("int16_t", 65)))
    attempt("int16 array", lambda: ffi.string(ffi.new("int16_t[]", [65, 0])))
    attempt("bool array", lambda: ffi.string(ffi.new("_Bool[]", [1, 0])))
    attempt("bool", lambda: ffi.string(ffi.cast("_Bool", 1)))
    attempt("null", lambda: ffi.string(ffi.cast("uint8_t *", 0)))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
