# Assigning Python values to struct fields: type and range checks, pointer
# compatibility, const members, and that a failed assignment leaves the old
# value.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct {
        unsigned short us; signed char sc; float f; char c; _Bool b;
        int *ip; void *vp; const int ci; const char *name; double arr[2];
    } rec_t;
    void run(rec_t *r);
""")
ffibuilder.set_source("dmcase", """
    typedef struct {
        unsigned short us; signed char sc; float f; char c; _Bool b;
        int *ip; void *vp; const int ci; const char *name; double arr[2];
    } rec_t;
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

TRIES = [("us", 65535), ("us", 65536), ("us", -1), ("us", 2.0), ("sc", -128), ("sc", 128),
         ("f", 1e39), ("f", "1"), ("f", 7), ("c", b"x"), ("c", 120), ("c", "x"),
         ("b", True), ("b", 0), ("b", 2), ("b", None),
         ("ip", "ptr"), ("ip", 0), ("vp", "ptr"), ("vp", "char"),
         ("ci", 5), ("name", b"bytes"), ("arr", [1.5]), ("arr", [1, 2, 3]), ("arr", 3.0)]

@ffi.def_extern()
def run(r):
    other = {"ptr": ffi.new("int *", 9), "char": ffi.new("char *")}
    for field, value in TRIES:
        if isinstance(value, str) and value in other:     # "ptr"/"char" name a cdata
            value = other[value]
        before = getattr(r, field)
        before = list(before) if field == "arr" else before
        try:
            setattr(r, field, value)
            after = getattr(r, field)
            after = list(after) if field == "arr" else after
            out(field, "=", repr(value)[:20] if not isinstance(value, ffi.CData) else ffi.typeof(value).cname,
                "->", after if not isinstance(after, ffi.CData) else ffi.typeof(after).cname)
        except Exception as e:
            now = getattr(r, field)
            now = list(now) if field == "arr" else now
            out(field, "=", repr(value)[:20] if not isinstance(value, ffi.CData) else ffi.typeof(value).cname,
                "->", type(e).__name__, "unchanged" if now == before else "CHANGED")
    out("ci", r.ci)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
