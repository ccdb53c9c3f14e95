# Every integer type's min and max, passed from C into Python.
# marks: smoke
import cffi

TYPES = ["char", "signed char", "unsigned char", "short", "unsigned short", "int",
         "unsigned int", "long", "unsigned long", "long long", "unsigned long long",
         "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t",
         "int64_t", "uint64_t", "size_t", "ssize_t", "intptr_t", "uintptr_t",
         "ptrdiff_t", "int_least8_t", "uint_fast16_t", "intmax_t", "uintmax_t"]

def fname(t):
    return "take_" + t.replace(" ", "_")

ffibuilder = cffi.FFI()
ffibuilder.embedding_api("\n".join(
    "void %s(%s lo, %s hi);" % (fname(t), t, t) for t in TYPES if t != "char"))
ffibuilder.set_source("dmcase", "#include <stdint.h>\n#include <sys/types.h>\n#include <stddef.h>")
ffibuilder.embedding_init_code("from dmcase import ffi\n" + "".join('''
@ffi.def_extern(name=%r)
def _f(lo, hi):
    print(%r, type(lo).__name__, lo, type(hi).__name__, hi, flush=True)
''' % (fname(t), t) for t in TYPES if t != "char"))
ffibuilder.compile(target="libcase.*", verbose=False)
