# Structs declared with "...": the compiler gives the real size, alignment and
# field offsets; Python reads/writes the declared fields where C has them.
# marks: smoke
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    struct config { int level; double scale; const char *name; ...; };
    typedef struct { int used; ...; } opaque_ish_t;
    void tweak(struct config *c, opaque_ish_t *o);
""")
ffibuilder.set_source("dmcase", '#include "real.h"')
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def tweak(c, o):
    out("sizeof", ffi.sizeof("struct config"), ffi.sizeof("opaque_ish_t"),
        "alignof", ffi.alignof("struct config"))
    out("offsets", ffi.offsetof("struct config", "level"), ffi.offsetof("struct config", "scale"),
        ffi.offsetof("struct config", "name"))
    out("fields", [(n, f.offset) for n, f in ffi.typeof("struct config").fields])
    out("read", c.level, c.scale, ffi.string(c.name), o.used)
    c.level = 9
    c.scale *= 2
    o.used += 1
    n = ffi.new("struct config *", {"level": 1})
    out("new partial", n.level, n.scale, ffi.sizeof(n[0]))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
