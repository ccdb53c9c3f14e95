# Runs once, on the library's first call.
from greet import ffi


@ffi.def_extern()
def manhattan(p):
    return abs(p.x) + abs(p.y)


@ffi.def_extern()
def is_origin(p):
    return p.x == 0 and p.y == 0
