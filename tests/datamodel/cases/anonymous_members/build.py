# Anonymous struct and union members are reachable as if they were direct fields.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    struct value {
        int tag;
        union { long i; double d; char s[8]; };
        struct { short lo, hi; };
    };
    void show(struct value *v);
""")
ffibuilder.set_source("dmcase", """
    struct value {
        int tag;
        union { long i; double d; char s[8]; };
        struct { short lo, hi; };
    };
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi

@ffi.def_extern()
def show(v):
    t = ffi.typeof(v).item
    print("fields", [name for name, f in t.fields], flush=True)
    print("offsets", [(n, f.offset) for n, f in t.fields], flush=True)
    if v.tag == 0:
        print("i", v.i, flush=True)
    elif v.tag == 1:
        print("d", v.d, flush=True)
    else:
        print("s", ffi.string(v.s), flush=True)
    print("lo hi", v.lo, v.hi, flush=True)
    v.lo, v.hi = v.hi, v.lo
    v.d = 0.5
""")
ffibuilder.compile(target="libcase.*", verbose=False)
