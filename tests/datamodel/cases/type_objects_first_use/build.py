# The module's type objects (ffi.CData, ffi.CType, ffi.buffer, ffi.error and
# the type of CType.fields' objects) behave the same whichever comes first in
# a fresh process: the type read from `ffi` before any instance exists, or an
# instance made (an error raised) before the type was ever read. cembed
# creates them on first use, to keep them off the first call's latency.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int a; double b; } pair_t;
    int first_use(int which);
""")
ffibuilder.set_source("dmcase", """
    typedef struct { int a; double b; } pair_t;
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def first_use(which):
    if which == 0:
        # Each type met for the first time in this process, in both orders:
        # CData and buffer read from ffi before any instance exists; CType,
        # the field objects and ffi.error made (raised) before being read.
        cdata_t, buffer_t = ffi.CData, ffi.buffer
        p = ffi.new("pair_t *", [1, 2.5])
        out("cdata", isinstance(p, cdata_t), isinstance(p[0], ffi.CData), p.a, p.b)
        b = ffi.buffer(p)
        out("buffer", type(b) is buffer_t, len(b) == ffi.sizeof("pair_t"))
        t = ffi.typeof("pair_t")
        f = t.fields
        out("ctype", type(t) is ffi.CType, isinstance(ffi.typeof(p), ffi.CType))
        out("fields", [(n, type(x) is type(f[0][1]), x.offset) for n, x in f])
        try:
            ffi.sizeof("int[]")
        except Exception as e:
            out("error", type(e) is ffi.error, issubclass(ffi.error, Exception), e)
    else:
        # Later calls see the very same objects.
        out("same", isinstance(ffi.new("int *"), ffi.CData), ffi.CType is type(ffi.typeof("int")),
            ffi.buffer is type(ffi.buffer(ffi.new("char[2]"))), ffi.error is ffi.error)
    return which
""")
ffibuilder.compile(target="libcase.*", verbose=False)
