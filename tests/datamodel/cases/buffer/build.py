# ffi.buffer over C memory: len, read, write, slices, bytes(), memoryview,
# default size from the cdata type; C sees Python's writes.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int a; short b; char c[2]; } rec_t;
    void work(unsigned char *data, int n, rec_t *r);
""")
ffibuilder.set_source("dmcase", "typedef struct { int a; short b; char c[2]; } rec_t;")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def work(data, n, r):
    buf = ffi.buffer(data, n)
    out("len", len(buf), "bytes", bytes(buf), "[:]", buf[:] == bytes(buf))
    out("index", buf[0], buf[-1], "slice", buf[2:5])
    try:
        buf[::2]
    except TypeError:
        out("TypeError for a step")
    buf[0] = b"A"
    buf[1:3] = b"BC"
    buf[n - 2:] = b"yz"
    mv = memoryview(buf)
    out("memoryview", mv.nbytes, mv.readonly, mv[3])
    mv[3] = 0x44
    out("after writes", bytes(buf))
    try:
        buf[0:2] = b"too long"
    except ValueError:
        out("ValueError on size change")
    try:
        buf[n]
    except IndexError:
        out("IndexError")
    rb = ffi.buffer(r)                  # the whole struct
    out("struct buffer", len(rb), bytes(rb[6:8]))
    rb[0:4] = (1234).to_bytes(4, "little")
    out("r.a", r.a)
    arr = ffi.new("int[3]", [1, 2, 3])
    out("array buffer", len(ffi.buffer(arr)), bytes(ffi.buffer(arr))[:8])
    s = ffi.new("char[]", b"hello")
    out("char[] buffer", len(ffi.buffer(s)), ffi.buffer(s)[:])
    out("type", type(buf).__name__)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
