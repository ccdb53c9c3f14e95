# cdef(..., override=True): a later cdef() may redeclare a function, a
# global variable and a typedef with another type; the later declaration is
# the one compiled and used (without override=True the second cdef() is an
# error). Also packed=True for a struct that is packed in the real header.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    void run(void);
""")
ffibuilder.cdef("""
    typedef int count_t;
    int scale(int x);
    extern int level;
""")
try:
    ffibuilder.cdef("long scale(long x);")
except Exception as e:
    print("without override:", type(e).__name__)
ffibuilder.cdef("""
    typedef long long count_t;
    long scale(long x);
    extern long long level;
""", override=True)
ffibuilder.cdef("""
    struct wire { char tag; int value; short extra; };
""", packed=True)
ffibuilder.set_source("dmcase", """
    typedef long long count_t;
    static long scale(long x) { return x * 3; }
    long long level = 5000000000LL;
    struct __attribute__((packed)) wire { char tag; int value; short extra; };
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def run():
    out("scale", lib.scale(2**40), ffi.typeof(lib.scale).cname)
    out("level", lib.level, "count_t", ffi.sizeof("count_t"), ffi.typeof("count_t").cname)
    out("wire", ffi.sizeof("struct wire"), ffi.alignof("struct wire"),
        [(n, f.offset) for n, f in ffi.typeof("struct wire").fields])
    w = ffi.new("struct wire *", {"tag": b"w", "value": 7, "extra": -2})
    out("bytes", bytes(ffi.buffer(w)).hex())
""")
ffibuilder.compile(target="libcase.*", verbose=False)
