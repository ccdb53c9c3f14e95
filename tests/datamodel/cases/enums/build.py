# Enums: lib constants, passing and returning enum values, negative and large
# values, enum cdata repr, typeof().elements, out-of-range values.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    enum color { RED, GREEN, BLUE = 10, VIOLET };
    typedef enum { NEG = -5, ZERO = 0, BIG = 0x7fffffff } sign_t;
    enum color next_color(enum color c);
    sign_t classify(int v);
    int color_count(void);
""")
ffibuilder.set_source("dmcase", """
    enum color { RED, GREEN, BLUE = 10, VIOLET };
    typedef enum { NEG = -5, ZERO = 0, BIG = 0x7fffffff } sign_t;
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def next_color(c):
    out("got", type(c).__name__, c, c == lib.BLUE)
    order = [lib.RED, lib.GREEN, lib.BLUE, lib.VIOLET]
    if c not in order:
        return 99            # any int fits: not checked against the names
    return order[(order.index(c) + 1) % len(order)]

@ffi.def_extern()
def classify(v):
    return lib.NEG if v < 0 else (lib.ZERO if v == 0 else lib.BIG)

@ffi.def_extern()
def color_count():
    out("lib values", lib.RED, lib.GREEN, lib.BLUE, lib.VIOLET, lib.NEG, lib.BIG)
    out("repr", repr(ffi.cast("enum color", 10)), repr(ffi.cast("enum color", 3)),
        repr(ffi.cast("sign_t", -5)))
    out("int", int(ffi.cast("enum color", lib.VIOLET)))
    p = ffi.new("enum color *", lib.GREEN)
    out("new enum", p[0])
    p[0] = 11
    out("assign", p[0])
    t = ffi.typeof("enum color")
    out("elements", sorted(t.elements.items()))
    out("sizeof", ffi.sizeof("enum color"), ffi.sizeof("sign_t"))
    out("RED in dir(lib)", "RED" in dir(lib))
    try:
        lib.RED = 5
    except AttributeError:
        out("AttributeError: constant")
    return len(t.elements)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
