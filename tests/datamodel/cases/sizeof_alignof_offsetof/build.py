# ffi.sizeof / alignof / offsetof against the C compiler's values printed by
# the host; Python prints the same quantities in the same format.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    struct mixed { char c; double d; short s; int64_t q; char tail[3]; };
    typedef struct { char a; struct { short b; long long c; } inner; char arr[5]; float f; } nest_t;
    typedef union { char c; double d; int i[3]; } u_t;
    struct bits { unsigned a : 3; unsigned b : 7; int c; };
    struct flex { int n; double items[]; };
    void py_layout(void);
""")
ffibuilder.set_source("dmcase", '#include "layout.h"')
ffibuilder.embedding_init_code("""
from dmcase import ffi

TYPES = ["char", "short", "int", "long", "long long", "float", "double", "void *",
         "size_t", "wchar_t", "_Bool", "int[7]", "struct mixed", "nest_t", "u_t",
         "struct bits", "struct flex", "int (*)(int)"]
FIELDS = [("struct mixed", "c"), ("struct mixed", "d"), ("struct mixed", "s"),
          ("struct mixed", "q"), ("struct mixed", "tail"), ("nest_t", "inner"),
          ("nest_t", "arr"), ("nest_t", "f"), ("u_t", "i"), ("struct bits", "c"),
          ("struct flex", "items")]

@ffi.def_extern()
def py_layout():
    for t in TYPES:
        print("sizeof(%s)=%d alignof=%d" % (t, ffi.sizeof(t), ffi.alignof(t)), flush=True)
    for t, f in FIELDS:
        print("offsetof(%s, %s)=%d" % (t, f, ffi.offsetof(t, f)), flush=True)
    print("nested offsetof", ffi.offsetof("nest_t", "inner", "c"), ffi.offsetof("nest_t", "arr", 3),
          ffi.offsetof("int[10]", 4), flush=True)
    print("sizeof cdata", ffi.sizeof(ffi.new("struct mixed *")[0]), ffi.sizeof(ffi.new("int[5]")),
          ffi.sizeof(ffi.new("struct flex *", {"items": [1.0, 2.0]})[0]), flush=True)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
