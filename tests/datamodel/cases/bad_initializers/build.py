# Initializers of the wrong shape or type raise the exception cffi raises;
# the exception type names are printed (messages may differ in wording).
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int a; char c; int *p; } s_t;
    void run(void);
""")
ffibuilder.set_source("dmcase", "typedef struct { int a; char c; int *p; } s_t;")
ffibuilder.embedding_init_code("""
from dmcase import ffi

CASES = [
    ("int[2] too many", lambda: ffi.new("int[2]", [1, 2, 3])),
    ("int[] from str", lambda: ffi.new("int[]", "abc")),
    ("int * from float", lambda: ffi.new("int *", 1.5)),
    ("int * from str", lambda: ffi.new("int *", "1")),
    ("int * too big", lambda: ffi.new("int *", 2**31)),
    ("unsigned * negative", lambda: ffi.new("unsigned *", -1)),
    ("char * from int", lambda: ffi.new("char *", 65)),
    ("char * from 2 bytes", lambda: ffi.new("char *", b"ab")),
    ("char[2] from 3 bytes", lambda: ffi.new("char[2]", b"abc")),
    ("struct unknown field", lambda: ffi.new("s_t *", {"zz": 1})),
    ("struct too many", lambda: ffi.new("s_t *", [1, b"x", ffi.NULL, 4])),
    ("struct field type", lambda: ffi.new("s_t *", {"c": 1})),
    ("struct ptr field", lambda: ffi.new("s_t *", {"p": 5})),
    ("struct ptr wrong type", lambda: ffi.new("s_t *", {"p": ffi.new("char *")})),
    ("struct from int", lambda: ffi.new("s_t *", 5)),
    ("negative length", lambda: ffi.new("int[]", -1)),
    ("new non-pointer", lambda: ffi.new("int", 5)),
    ("unknown type", lambda: ffi.new("nope_t *")),
    ("parse error", lambda: ffi.new("int **[")),
    ("wchar_t from bytes", lambda: ffi.new("wchar_t[]", b"abc")),
    ("float from str", lambda: ffi.new("double *", "1.0")),
    ("bool from 2", lambda: ffi.new("_Bool *", 2)),
    ("void *", lambda: ffi.new("void *")),
]

@ffi.def_extern()
def run():
    for name, f in CASES:
        try:
            r = f()
            print(name, "-> no error", flush=True)
        except Exception as e:
            # ffi.error is printed by role: its class name is not part of the API
            kind = "ffi.error" if isinstance(e, ffi.error) else type(e).__name__
            print(name, "->", kind, flush=True)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
