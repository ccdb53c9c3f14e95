# Nested structs through pointers: read, write, assign whole sub-structs.
# marks: smoke
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x, y; } point_t;
    typedef struct { point_t tl, br; unsigned char color; } rect_t;
    struct scene { int n; rect_t rects[3]; struct scene *parent; };
    int area(const rect_t *r);
    void edit(struct scene *s);
""")
ffibuilder.set_source("dmcase", '#include "shapes.h"')
ffibuilder.embedding_init_code("""
from dmcase import ffi

@ffi.def_extern()
def area(r):
    print("rect", r.tl.x, r.tl.y, r.br.x, r.br.y, r.color, flush=True)
    return (r.br.x - r.tl.x) * (r.br.y - r.tl.y)

@ffi.def_extern()
def edit(s):
    print("scene n", s.n, "parent null", s.parent == ffi.NULL, flush=True)
    print("typeof", ffi.typeof(s).cname, ffi.typeof(s.rects).cname,
          ffi.typeof(s.rects[0].tl).cname, flush=True)
    s.rects[0].tl.x = -5
    s.rects[1].br = s.rects[0].br             # struct assignment copies
    s.rects[2].tl = {"x": 7, "y": 8}          # dict initializer
    s.rects[2].br = [9, 10]                   # list initializer
    s.rects[2].color = 255
    s.n = 3
    if s.parent != ffi.NULL:
        s.parent.n += 100
    try:
        s.rects[0].color = 256
    except OverflowError as e:
        print("OverflowError", flush=True)
    try:
        s.rects[0].nope = 1
    except AttributeError:
        print("AttributeError", flush=True)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
