# Returning strings to C: char * from ffi.new kept alive on the Python side,
# a wchar_t string, and filling a caller-provided buffer.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    const char *greet(const char *name);
    char *shout(const char *s);
    int fill(char *buf, int size);
    const wchar_t *wide(void);
""")
ffibuilder.set_source("dmcase", "#include <wchar.h>")
ffibuilder.embedding_init_code("""
from dmcase import ffi

keep = {}   # the returned memory must outlive the call

@ffi.def_extern()
def greet(name):
    p = ffi.new("char[]", b"hello, " + ffi.string(name))
    keep["greet"] = p
    return p

@ffi.def_extern()
def shout(s):
    p = ffi.new("char[]", ffi.string(s).upper() + b"!")
    keep["shout"] = p
    return p

@ffi.def_extern()
def fill(buf, size):
    data = b"filled by python"[:size - 1] + b"\\0"
    ffi.memmove(buf, data, len(data))
    return len(data) - 1

@ffi.def_extern()
def wide():
    keep["w"] = p = ffi.new("wchar_t[]", "\\u00e9t\\u00e9")
    return p
""")
ffibuilder.compile(target="libcase.*", verbose=False)
