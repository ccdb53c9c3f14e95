# The same field, string and ffi-method accesses repeated many times (the
# runtime remembers field reads and bound methods by the name object):
# every repeat gives the first one's answer, whatever came in between.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    enum color { RED, GREEN = 5 };
    struct a { int x; double y; unsigned char c; _Bool b; enum color col; int bits : 3; };
    struct b { double x; char y; union { int i; float f; } u; };
    int run(struct a *pa, struct b *pb, const char *s, const signed char *ss,
            const unsigned char *us);
""")
ffibuilder.set_source("dmcase", """
    enum color { RED, GREEN = 5 };
    struct a { int x; double y; unsigned char c; _Bool b; enum color col; int bits : 3; };
    struct b { double x; char y; union { int i; float f; } u; };
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi


class Name(str):
    pass


def fields(pa, pb):
    return (pa.x, pa.y, pa.c, pa.b, pa.col, pa.bits, pb.x, pb.y, pb.u.i,
            pa[0].x, pb[0].x, getattr(pa, "".join(["x"])), getattr(pb, Name("y")))


@ffi.def_extern()
def run(pa, pb, s, ss, us):
    first = fields(pa, pb)
    print("fields", first, flush=True)
    for i in range(300):
        if fields(pa, pb) != first:
            print("changed at", i, fields(pa, pb), flush=True)
            break
    pa.x = 41
    pb.x = 2.5
    pb.u.f = 1.5
    print("after writes", fields(pa, pb)[:9], flush=True)
    try:
        pa.nope
    except AttributeError as e:
        print("AttributeError", e, flush=True)
    val = pa[0]
    for i in range(3):
        print("by value", val.x, val.col, flush=True)
    strings = []
    for i in range(200):
        strings = [ffi.string(s), ffi.string(ss), ffi.string(us), ffi.string(s, 3),
                   ffi.string(cdata=s), ffi.string(s, maxlen=-1), ffi.string(ffi.cast("char", 65)),
                   ffi.string(ffi.cast("enum color", 5))]
    print("strings", strings, flush=True)
    for p in (ffi.cast("char *", 0), ffi.cast("unsigned char *", 0), pa):
        for i in range(2):
            try:
                ffi.string(p)
            except (RuntimeError, TypeError) as e:
                print(type(e).__name__, e, flush=True)
    other = type(ffi)()
    for i in range(3):
        print("bound", ffi.string.__self__ is ffi, other.string.__self__ is other,
              getattr(ffi, "str" + "ing").__self__ is ffi, ffi.string == ffi.string, flush=True)
    return len(strings)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
