# ffi.new with every kind of initializer; the memory is handed to C to read.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int id; char name[6]; double w[2]; } item_t;
    void report(void);
""")
ffibuilder.cdef("""
    void c_dump_ints(int *p, int n);
    void c_dump_item(item_t *it);
    void c_dump_str(const char *s, int n);
    void c_dump_wstr(const wchar_t *s);
""")
ffibuilder.set_source("dmcase", r"""
    #include <stdio.h>
    #include <wchar.h>
    typedef struct { int id; char name[6]; double w[2]; } item_t;
    static void c_dump_ints(int *p, int n) {
        printf("C ints:");
        for (int i = 0; i < n; i++) printf(" %d", p[i]);
        printf("\n");
    }
    static void c_dump_item(item_t *it) {
        printf("C item: %d '%s' %g %g\n", it->id, it->name, it->w[0], it->w[1]);
    }
    static void c_dump_str(const char *s, int n) {
        printf("C str:");
        for (int i = 0; i < n; i++) printf(" %02x", (unsigned char)s[i]);
        printf("\n");
    }
    static void c_dump_wstr(const wchar_t *s) {
        printf("C wstr: %zu chars, last %x\n", wcslen(s), (unsigned)s[wcslen(s) - 1]);
    }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def report():
    out("new int *", ffi.new("int *")[0], ffi.new("int *", 42)[0])
    a = ffi.new("int[5]", [1, 2, 3])           # the rest is zeroed
    lib.c_dump_ints(a, 5)
    b = ffi.new("int[]", [7, 8, 9])            # length from the list
    out("int[] from list", len(b))
    lib.c_dump_ints(b, len(b))
    c = ffi.new("int[]", 4)                    # length from an int
    out("int[] from count", len(c), list(c))
    try:
        ffi.new("int[]", range(3))             # only list/tuple, not any iterable
    except TypeError:
        out("range: TypeError")
    it = ffi.new("item_t *", {"id": 5, "name": b"abc", "w": [0.5]})
    lib.c_dump_item(it)
    it2 = ffi.new("item_t *", [6, b"xyz", [1.5, 2.5]])
    lib.c_dump_item(it2)
    items = ffi.new("item_t[]", [{"id": 1}, [2, b"q"]])
    out("items", len(items), items[0].id, items[1].id, ffi.string(items[1].name))
    s = ffi.new("char[]", b"hi\\x00there")     # bytes: + a terminating 0
    out("char[] from bytes", len(s), ffi.string(s))
    lib.c_dump_str(s, len(s))
    s2 = ffi.new("char[4]", b"abcd")           # exactly fits without the 0
    out("char[4] no terminator", list(s2))
    u = ffi.new("unsigned char[]", b"\\x01\\xff")
    out("unsigned char[]", list(u))
    w = ffi.new("wchar_t[]", "h\\u00e9\\U0001F600")
    out("wchar_t[] from str", len(w), ffi.string(w))
    lib.c_dump_wstr(w)
    ch = ffi.new("char *", b"Z")
    out("char *", ch[0])
    f = ffi.new("double[3]", (1, 2.5, True))
    out("double[] from tuple", list(f))
    pp = ffi.new("int *[2]", [a, ffi.NULL])
    out("ptr array", pp[0][1], pp[1] == ffi.NULL)
    nested = ffi.new("int[2][2]", [[1, 2], [3]])
    out("nested", [list(r) for r in nested])
""")
ffibuilder.compile(target="libcase.*", verbose=False)
