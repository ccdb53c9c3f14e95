# int(), float(), bool(), hash(), ==, < on primitive and pointer cdata;
# pointer cdata as dict keys; ffi.string on primitives and enums.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    enum lvl { LOW, HIGH };
    void run(int *a, int *b);
""")
ffibuilder.set_source("dmcase", "enum lvl { LOW, HIGH };")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

def t(f):
    try:
        return repr(f())
    except Exception as e:
        return type(e).__name__

@ffi.def_extern()
def run(a, b):
    c = ffi.cast
    out("int()", int(c("int", -5)), int(c("unsigned char", 200)), int(c("double", 2.9)), int(c("char", b"a")))
    out("float()", t(lambda: float(c("int", 3))), float(c("float", 1.5)), float(c("double", -0.0)))
    out("bool()", bool(c("int", 0)), bool(c("int", 3)), bool(c("double", 0.0)), t(lambda: bool(c("char", b"\\0"))))
    out("== on primitives", c("int", 3) == c("int", 3), c("int", 3) == 3, c("int", 3) == c("long", 3))
    a2 = ffi.cast("int *", a)
    out("pointer ==", a == a2, a != b, hash(a) == hash(a2))
    d = {a: "A", b: "B"}
    out("dict lookup", d[a2], d[ffi.cast("int *", b)], len(d))
    out("pointer vs void*", a == ffi.cast("void *", a), hash(a) == hash(ffi.cast("void *", a)))
    out("ordering", (a < b) == (int(c("intptr_t", a)) < int(c("intptr_t", b))))
    out("string()", t(lambda: ffi.string(c("int", 42))), ffi.string(c("enum lvl", 1)), ffi.string(c("enum lvl", 5)),
        ffi.string(c("char", b"q")), ffi.string(c("wchar_t", "\\u00e9")))
    out("float(pointer)", t(lambda: float(a)), "int(pointer)", t(lambda: int(a) == int(c("intptr_t", a))))
    out("hash(array)", t(lambda: hash(ffi.new("int[2]")) is not None), "len(int)", t(lambda: len(c("int", 1))))
    x = ffi.new("int *", 7)
    out("x[0] + 1", x[0] + 1, "type", type(x[0]).__name__)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
