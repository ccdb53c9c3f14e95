# const char * / wchar_t * arguments: ffi.string with and without maxlen, NULL.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    int take(const char *s);
    void take_maxlen(const char *s, int n);
    void take_w(const wchar_t *w);
    void take_buf(const unsigned char *b, int n);
""")
ffibuilder.set_source("dmcase", "#include <wchar.h>")
ffibuilder.embedding_init_code("""
from dmcase import ffi

@ffi.def_extern()
def take(s):
    if s == ffi.NULL:
        print("NULL string", flush=True)
        return -1
    b = ffi.string(s)
    print(type(b).__name__, repr(b), len(b), repr(s[0]), flush=True)
    return len(b)

@ffi.def_extern()
def take_maxlen(s, n):
    print("maxlen", n, repr(ffi.string(s, n)), flush=True)

@ffi.def_extern()
def take_w(w):
    print("wide", repr(ffi.string(w)), repr(ffi.string(w, 2)), flush=True)

@ffi.def_extern()
def take_buf(b, n):
    # unsigned char * is not a string: ffi.string still stops at the first 0,
    # but indexing gives ints
    print("buf", [b[i] for i in range(n)], repr(ffi.unpack(ffi.cast("char *", b), n)), flush=True)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
