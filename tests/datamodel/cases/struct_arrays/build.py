# Arrays inside structs: len, iteration, index, assignment of whole arrays,
# char arrays as strings, 2-D arrays, bounds errors.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    struct rec { char name[8]; int vals[4]; double m[2][3]; short n; };
    void touch(struct rec *r);
""")
ffibuilder.set_source("dmcase", "struct rec { char name[8]; int vals[4]; double m[2][3]; short n; };")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def touch(r):
    out("name", ffi.string(r.name), len(r.name), r.name[0])
    out("vals", len(r.vals), list(r.vals), r.vals[3], r.vals[-0])
    out("m", [list(row) for row in r.m], len(r.m), len(r.m[1]))
    try:
        r.vals[4]
    except IndexError:
        out("IndexError read")
    try:
        r.vals[-1] = 0
    except IndexError:
        out("IndexError negative")
    r.name = b"py"                  # writes "py\\0", the rest is left as it was
    r.vals = [10, 20]               # partial list
    r.vals[3] = 40
    r.m[1] = [7.5, 8.5, 9.5]
    r.m[0][0] = -1
    r.n = len(r.vals)
    try:
        r.vals = [1, 2, 3, 4, 5]
    except IndexError as e:
        out("IndexError too many")
    try:
        r.name = b"much too long"
    except IndexError:
        out("IndexError long string")
""")
ffibuilder.compile(target="libcase.*", verbose=False)
