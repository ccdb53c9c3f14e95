# Python returns structs by value: a struct cdata, a dereferenced pointer,
# a list, a tuple, a dict; a wrong shape is an error (zeroed struct returned).
# marks: smoke
# stderr-contains: TypeError, ValueError
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x, y; } point_t;
    typedef struct { point_t a, b; float w; } seg_t;
    point_t make_point(int how);
    seg_t make_seg(int how);
""")
ffibuilder.set_source("dmcase", """
    typedef struct { int x, y; } point_t;
    typedef struct { point_t a, b; float w; } seg_t;
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi

@ffi.def_extern()
def make_point(how):
    if how == 0:
        return ffi.new("point_t *", {"x": 1, "y": 2})[0]
    if how == 1:
        return [3, 4]
    if how == 2:
        return (5, 6)
    if how == 3:
        return {"y": 8, "x": 7}
    if how == 4:
        p = ffi.new("point_t[2]", [[9, 10], [11, 12]])
        return p[1]
    if how == 5:
        return [1, 2, 3]        # ValueError: too many initializers
    return "nope"                # TypeError

@ffi.def_extern()
def make_seg(how):
    if how == 0:
        return {"a": [1, 2], "b": {"x": 3, "y": 4}, "w": 0.5}
    return ffi.new("seg_t *", [[5, 6], [7, 8], 1.25])[0]
""")
ffibuilder.compile(target="libcase.*", verbose=False)
