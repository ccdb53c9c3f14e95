# Signed and unsigned bitfields: values set by C read in Python, values written
# by Python read in C, range errors on assignment.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    struct flags { unsigned int a : 1; unsigned int b : 3; int s : 4; int t : 5; unsigned char c : 2; long long big : 40; };
    void flip(struct flags *f);
""")
ffibuilder.set_source("dmcase", "struct flags { unsigned int a : 1; unsigned int b : 3; int s : 4; int t : 5; unsigned char c : 2; long long big : 40; };")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def flip(f):
    out("read", f.a, f.b, f.s, f.t, f.c, f.big)
    out("bitsize", [(n, fld.bitsize, fld.bitshift) for n, fld in ffi.typeof(f).item.fields])
    f.a = 1 - f.a
    f.b = 7
    f.s = -8
    f.t = 15
    f.c = 3
    f.big = -(2**39)
    for field, value in [("b", 8), ("s", 8), ("s", -9), ("a", -1), ("c", 4), ("big", 2**39)]:
        try:
            setattr(f, field, value)
            out("accepted", field, value, getattr(f, field))
        except OverflowError:
            out("OverflowError", field, value)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
