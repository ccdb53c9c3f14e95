# Structs with a flexible array member (C99 `T items[]`, also nested in
# another struct): ffi.new sizes the allocation from the initializer (a list,
# or a bare length), sizeof/repr/buffer show the allocated size, reading the
# member gives a T[] of the allocated length (owned memory) or a T * (memory
# from C); C sees what Python wrote. Also the CFFI names of typedef'd tagged
# structs/enums (the tag wins) and of `typedef int... T` (its real type).
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct flex { int n; double items[]; } flex_t;
    struct outer { long tag; struct flex f; };
    typedef enum color { RED, GREEN } color_t;
    typedef int... small_t;
    typedef float... real_t;
    double sum_flex(flex_t *p);
    void show(flex_t *from_c);
""")
ffibuilder.set_source("dmcase", """
    #include <stdint.h>
    typedef struct flex { int n; double items[]; } flex_t;
    struct outer { long tag; struct flex f; };
    typedef enum color { RED, GREEN } color_t;
    typedef int8_t small_t;
    typedef double real_t;
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def sum_flex(p):
    return sum(p.items[i] for i in range(p.n))

@ffi.def_extern()
def show(from_c):
    out("names", ffi.typeof("flex_t"), ffi.typeof("color_t"), ffi.typeof("small_t"),
        ffi.typeof("real_t"), ffi.typeof(from_c))
    t = ffi.typeof("struct flex")
    out("fields", [(n, f.type.cname, f.offset, f.bitshift, f.bitsize) for n, f in t.fields])
    out("from C", from_c.n, ffi.typeof(from_c.items), from_c.items[2], ffi.sizeof(from_c[0]))
    p = ffi.new("flex_t *", {"n": 2, "items": [1.5, 2.5]})
    out(repr(p), repr(p[0]), ffi.sizeof(p), ffi.sizeof(p[0]), len(ffi.buffer(p)))
    out(repr(p.items), len(p.items), list(p.items), len(p[0].items))
    out("C sum", lib.sum_flex(p))
    q = ffi.new("struct flex *", [3, 4])
    out(repr(q), ffi.sizeof(q[0]), len(q.items), list(q.items))
    r = ffi.new("struct flex *")
    out(repr(r), ffi.sizeof(r[0]), repr(r.items))
    s = ffi.new("struct flex *", {"items": 3})
    out(repr(s), list(s.items))
    c = ffi.cast("struct flex *", p)
    out("cast", ffi.typeof(c.items), ffi.sizeof(c[0]), c.items[1])
    o = ffi.new("struct outer *", {"tag": 7, "f": {"n": 3, "items": [5.0, 6.0, 7.0]}})
    out(repr(o), ffi.sizeof(o[0]), ffi.typeof(o.f.items), o.f.items[2])
    try:
        p.items[5]
    except IndexError as e:
        out("IndexError", e)
    p.items = [8.0, 9.0]
    out(list(p.items), "C sum", lib.sum_flex(p))
    try:
        ffi.new("struct flex *", {"items": "x"})
    except TypeError as e:
        out("TypeError", e)
    try:
        ffi.new("struct flex *", {"items": -1})
    except ValueError as e:
        out("ValueError", e)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
