# char16_t / char32_t strings: surrogate pairs in char16_t[], ffi.string and
# ffi.unpack on both, strings passed from C.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    void take16(const char16_t *s, int n);
    void take32(const char32_t *s);
    const char16_t *give16(void);
""")
ffibuilder.set_source("dmcase", "#include <uchar.h>")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

keep = []

@ffi.def_extern()
def take16(s, n):
    out("string", ascii(ffi.string(s)), "unpack", ascii(ffi.unpack(s, n)), "units", [hex(ord(s[i])) for i in range(n)])

@ffi.def_extern()
def take32(s):
    out("string32", ascii(ffi.string(s)), len(ffi.string(s)))

@ffi.def_extern()
def give16():
    p = ffi.new("char16_t[]", "a\\U0001F600b")
    keep.append(p)
    out("char16_t[] len", len(p), "string", ascii(ffi.string(p)), "p[1]", ascii(p[1]))
    try:
        p[0] = "\\U0001F600"
    except TypeError:
        out("TypeError: a non-BMP char does not fit one char16_t")
    c32 = ffi.new("char32_t[]", "a\\U0001F600b")
    out("char32_t[] len", len(c32))
    return p
""")
ffibuilder.compile(target="libcase.*", verbose=False)
