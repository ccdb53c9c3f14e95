# Partial declarations: enum with "...", array length "[...]" (global and
# struct field), "typedef int... T" (integer type of unknown size/sign).
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    enum mode { MODE_A, MODE_B, MODE_C, ... };
    typedef int... handle_t;
    typedef int... ticks_t;
    int lookup[...];
    struct withlen { int n; char data[...]; };
    handle_t next_handle(handle_t h);
    ticks_t add_ticks(ticks_t a);
    int describe(enum mode m, struct withlen *w);
""")
ffibuilder.set_source("dmcase", '#include "real.h"')
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def next_handle(h):
    out("handle_t", ffi.sizeof("handle_t"), ffi.typeof("handle_t").cname, h)
    return (h + 1) % 65536

@ffi.def_extern()
def add_ticks(a):
    out("ticks_t", ffi.sizeof("ticks_t"), a)
    return a + 2**40

@ffi.def_extern()
def describe(m, w):
    out("enum values", lib.MODE_A, lib.MODE_B, lib.MODE_C, "arg", m)
    out("lookup", len(lib.lookup), list(lib.lookup), ffi.typeof(lib.lookup).cname)
    out("withlen.data", len(w.data), ffi.typeof(w.data).cname, ffi.string(w.data))
    out("sizeof withlen", ffi.sizeof("struct withlen"))
    lib.lookup[6] = 21
    try:
        ffi.new("handle_t *", -1)
    except OverflowError:
        out("handle_t is unsigned: OverflowError")
    return len(lib.lookup)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
