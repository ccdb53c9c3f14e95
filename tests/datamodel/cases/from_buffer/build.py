# ffi.from_buffer: zero-copy views of bytearray/bytes/array.array/memoryview,
# typed ("int[]"), require_writable; C reads and writes through the pointer.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    void run(void);
""")
ffibuilder.cdef("""
    int c_sum(const unsigned char *p, int n);
    void c_fill(unsigned char *p, int n, int v);
    long c_sum_ints(const int *p, int n);
""")
ffibuilder.set_source("dmcase", """
    static int c_sum(const unsigned char *p, int n) { int s = 0; while (n--) s += *p++; return s; }
    static void c_fill(unsigned char *p, int n, int v) { while (n--) *p++ = (unsigned char)v; }
    static long c_sum_ints(const int *p, int n) { long s = 0; while (n--) s += *p++; return s; }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib
import array

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def run():
    ba = bytearray(b"\\x01\\x02\\x03\\x04")
    p = ffi.from_buffer(ba)
    out("typeof", ffi.typeof(p).cname, "len", len(p), "p[1]", p[1])
    out("c_sum", lib.c_sum(p, len(p)))
    lib.c_fill(p, 2, 9)
    out("bytearray after C wrote", ba)
    p[3] = b"Z"
    out("bytearray after Python wrote", ba)
    ro = ffi.from_buffer(b"abc")
    out("bytes view", ffi.typeof(ro).cname, len(ro), ffi.string(ro))
    try:
        ffi.from_buffer(b"abc", require_writable=True)
    except Exception as e:
        out(type(e).__name__, "for bytes with require_writable=True")
    w = ffi.from_buffer(ba, require_writable=True)
    out("writable ok", len(w))
    ints = array.array("i", [10, 20, 30])
    pi = ffi.from_buffer("int[]", ints)
    out("typed", ffi.typeof(pi).cname, len(pi), list(pi), lib.c_sum_ints(pi, len(pi)))
    pi[0] = -1
    out("array.array after write", list(ints))
    mv = memoryview(ba)[1:3]
    pm = ffi.from_buffer(mv)
    out("memoryview slice", len(pm), list(ffi.unpack(ffi.cast("unsigned char *", pm), 2)))
    try:
        ffi.from_buffer(42)
    except TypeError:
        out("TypeError: not a buffer")
    out("int[] over 5 bytes: len", len(ffi.from_buffer("int[]", bytearray(5))))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
