# ffi.cast between integers (truncation, sign), floats, chars, pointers and
# integers; int()/float() of primitive cdata.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    void run(void *p, long addr);
""")
ffibuilder.set_source("dmcase", "")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def run(p, addr):
    c = ffi.cast
    out("ints", int(c("unsigned char", 300)), int(c("signed char", 200)), int(c("short", -1)),
        int(c("unsigned short", -1)), int(c("unsigned int", -1)), int(c("int", 2**32 + 5)),
        int(c("unsigned long long", -2)), int(c("int8_t", 128)))
    out("float->int", int(c("int", 3.9)), int(c("int", -3.9)), int(c("unsigned char", 257.5)))
    out("int->float", float(c("double", 7)), float(c("float", 0.1)), float(c("float", 2**24 + 1)))
    out("bool", int(c("_Bool", 0)), int(c("_Bool", 5)), int(c("_Bool", 0.5)))
    out("char", repr(c("char", 65)), repr(c("wchar_t", 0x263a)), int(c("char", b"A")),
        int(c("wchar_t", "\\u00e9")), int(c("int", "x")))
    out("int(char) via cast", int(c("int", c("char", b"\\xff"))), int(c("int", c("signed char", -1))))
    out("addr roundtrip", int(c("intptr_t", p)) == addr, int(c("uintptr_t", p)) == addr)
    q = c("int *", addr)
    out("int->pointer", ffi.typeof(q).cname, q[0], q == p)
    out("pointer->pointer", c("char *", p)[0], c("unsigned char *", p)[1])
    out("void* NULL", c("void *", 0) == ffi.NULL, int(c("long", ffi.NULL)))
    out("cast type object", int(c(ffi.typeof("short"), 70000)))
    out("enum-like", int(c("long", c("unsigned char", 255))))
    for bad in [lambda: c("int", "xy"), lambda: c("struct nope", 0), lambda: c("int *", 1.5),
                lambda: c("double", ffi.NULL)]:
        try:
            bad()
            out("no error")
        except Exception as e:
            out("error", "ffi.error" if isinstance(e, ffi.error) else type(e).__name__)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
