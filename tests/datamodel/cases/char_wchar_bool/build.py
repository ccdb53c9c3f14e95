# char <-> bytes of length 1, wchar_t/char16_t/char32_t <-> str, _Bool <-> bool.
# stderr-contains: TypeError
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    void show(char c, wchar_t w, char16_t c16, char32_t c32, _Bool b);
    char next_char(char c);
    wchar_t upper(wchar_t w);
    char32_t emoji(int which);
    _Bool negate(_Bool b);
    _Bool truthy(int which);
    char bad_char(void);
""")
ffibuilder.set_source("dmcase", "#include <wchar.h>\n#include <uchar.h>")
ffibuilder.embedding_init_code("""
from dmcase import ffi

@ffi.def_extern()
def show(c, w, c16, c32, b):
    print(repr(c), repr(w), repr(c16), repr(c32), repr(b), flush=True)

@ffi.def_extern()
def next_char(c):
    return bytes([c[0] + 1])

@ffi.def_extern()
def upper(w):
    return w.upper()

@ffi.def_extern()
def emoji(which):
    return ["\\U0001F600", "\\u00e9", "A"][which]

@ffi.def_extern()
def negate(b):
    return not b

@ffi.def_extern()
def truthy(which):
    return [True, False, 1, 0][which]

@ffi.def_extern()
def bad_char():
    return b"ab"   # TypeError: needs a bytes of length 1
""")
ffibuilder.compile(target="libcase.*", verbose=False)
