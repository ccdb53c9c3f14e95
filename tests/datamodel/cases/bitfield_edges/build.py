# Bitfield corner cases: _Bool bitfields, zero-width separators, a 63-bit
# field (cffi mishandles a full 64-bit one), a field crossing storage units,
# unnamed padding, bitfields in a union, and ffi.new initializers for them.
import cffi
DECL = """
    struct edges {
        _Bool flag : 1;
        unsigned int a : 5;
        unsigned int : 0;
        unsigned int b : 31;
        unsigned long long full : 63;
        signed char tiny : 2;
        int : 3;
        long long cross : 35;
        unsigned short w : 16;
    };
    union ubits { unsigned int x : 7; unsigned char raw; };
"""
ffibuilder = cffi.FFI()
ffibuilder.embedding_api(DECL + "void run(struct edges *e, union ubits *u);")
ffibuilder.set_source("dmcase", DECL)
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def run(e, u):
    out("sizeof", ffi.sizeof("struct edges"), ffi.sizeof("union ubits"))
    out("fields", [(n, f.offset, f.bitshift, f.bitsize) for n, f in ffi.typeof("struct edges").fields])
    out("read", e.flag, e.a, e.b, e.full, e.tiny, e.cross, e.w, "u.x", u.x, u.raw)
    e.flag = False
    e.a = 31
    e.b = 2**31 - 1
    e.full = 2**63 - 1
    e.tiny = -2
    e.cross = -(2**34)
    e.w = 65535
    u.x = 127
    for f, v in [("flag", 2), ("tiny", 2), ("tiny", -3), ("cross", 2**34), ("w", 65536), ("full", -1)]:
        try:
            setattr(e, f, v)
            out("accepted", f, v)
        except OverflowError:
            out("OverflowError", f, v)
    n = ffi.new("struct edges *", {"flag": True, "a": 3, "tiny": 1, "cross": -1})
    out("new", n.flag, n.a, n.tiny, n.cross, n.b)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
