# Python returns each integer type's min and max to C.
import cffi

TYPES = [("signed char", "schar", -128, 127), ("unsigned char", "uchar", 0, 255),
         ("short", "short", -2**15, 2**15 - 1), ("unsigned short", "ushort", 0, 2**16 - 1),
         ("int", "int", -2**31, 2**31 - 1), ("unsigned int", "uint", 0, 2**32 - 1),
         ("long", "long", -2**63, 2**63 - 1), ("unsigned long", "ulong", 0, 2**64 - 1),
         ("long long", "llong", -2**63, 2**63 - 1), ("unsigned long long", "ullong", 0, 2**64 - 1),
         ("int8_t", "i8", -128, 127), ("uint16_t", "u16", 0, 65535),
         ("int64_t", "i64", -2**63, 2**63 - 1), ("uint64_t", "u64", 0, 2**64 - 1),
         ("size_t", "size", 0, 2**64 - 1), ("intptr_t", "iptr", -2**63, 2**63 - 1)]

ffibuilder = cffi.FFI()
ffibuilder.embedding_api("\n".join(
    "%s get_%s(int which);" % (t, n) for t, n, lo, hi in TYPES))
ffibuilder.set_source("dmcase", "#include <stdint.h>\n#include <stddef.h>")
ffibuilder.embedding_init_code("from dmcase import ffi\n" + "".join('''
@ffi.def_extern(name="get_%s")
def _f(which):
    # a bool and an int subclass are accepted like ints
    return (%d, %d, True)[which]
''' % (n, lo, hi) for t, n, lo, hi in TYPES))
ffibuilder.compile(target="libcase.*", verbose=False)
