# ffi.buffer item/slice assignment, from_buffer (typed, pointer, read-only,
# str), memmove, unpack, and new() of char/wchar_t/char16_t/char32_t/_Bool/
# int8_t arrays from bytes and str, with CFFI's exact messages.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    struct buf { int len; unsigned char data[16]; };
    void run(void);
""")
ffibuilder.set_source("dmcase", """
    struct buf { int len; unsigned char data[16]; };
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

def attempt(label, f):
    try:
        out(label, f())
    except Exception as e:
        out(label, type(e).__name__, e)

@ffi.def_extern()
def run():
    b = ffi.new("struct buf *")
    attempt("data bytes", lambda: (setattr(b, "data", b"\\x01\\x02"), list(b.data)[:3])[1])
    attempt("data list", lambda: (setattr(b, "data", [255, 0, 7]), list(b.data)[:3])[1])
    attempt("data over", lambda: setattr(b, "data", [256]))
    attempt("buffer struct ptr", lambda: len(ffi.buffer(b)))
    attempt("buffer field", lambda: bytes(ffi.buffer(b.data))[:3])
    attempt("buffer slice", lambda: ffi.buffer(b.data)[1:3])
    attempt("buffer setslice", lambda: (ffi.buffer(b.data).__setitem__(slice(0, 2), b"zz"), b.data[0])[1])
    attempt("buffer setslice bad", lambda: ffi.buffer(b.data).__setitem__(slice(0, 2), b"zzz"))
    attempt("buffer index", lambda: ffi.buffer(b.data)[0])
    attempt("buffer setindex", lambda: (ffi.buffer(b.data).__setitem__(1, b"q"), b.data[1])[1])
    attempt("buffer setindex int", lambda: ffi.buffer(b.data).__setitem__(1, 5))
    attempt("memoryview", lambda: memoryview(ffi.buffer(b.data)).nbytes)
    attempt("from_buffer bytearray", lambda: (lambda ba: (ffi.from_buffer(ba)[0], len(ffi.from_buffer(ba))))(bytearray(b"hey")))
    attempt("from_buffer typed", lambda: (lambda ba: list(ffi.from_buffer("int[]", ba)))(bytearray(8)))
    attempt("from_buffer typed ptr", lambda: ffi.typeof(ffi.from_buffer("struct buf *", bytearray(20))))
    attempt("from_buffer too small", lambda: ffi.from_buffer("struct buf *", bytearray(4)))
    attempt("from_buffer bytes ro", lambda: ffi.from_buffer(b"abc", require_writable=True))
    attempt("from_buffer str", lambda: ffi.from_buffer("abc"))
    attempt("memmove", lambda: (ffi.memmove(b.data, b"hello", 5), ffi.string(ffi.cast("char *", b.data)))[1])
    attempt("memmove overlap", lambda: (ffi.memmove(b.data + 1, b.data, 4), bytes(b.data[0:6]))[1])
    attempt("memmove bad", lambda: ffi.memmove(b.data, 5, 1))
    attempt("unpack uchar", lambda: ffi.unpack(b.data, 3))
    attempt("unpack ptr", lambda: ffi.unpack(ffi.cast("unsigned char *", b.data), 2))
    attempt("unpack void", lambda: ffi.unpack(ffi.cast("void *", b.data), 2))
    attempt("unpack neg", lambda: ffi.unpack(b.data, -1))
    attempt("string uchar", lambda: ffi.string(b.data))
    attempt("wchar new", lambda: (lambda w: (len(w), ffi.string(w), w[1]))(ffi.new("wchar_t[]", "h\\u00e9")))
    attempt("char16 new", lambda: (lambda w: (len(w), ffi.string(w)))(ffi.new("char16_t[]", "\\U0001f600")))
    attempt("char32 new", lambda: (lambda w: (len(w), ffi.string(w)))(ffi.new("char32_t[]", "\\U0001f600")))
    attempt("wchar from bytes", lambda: ffi.new("wchar_t[]", b"x"))
    attempt("char from str", lambda: ffi.new("char[]", "x"))
    attempt("bool array bytes", lambda: list(ffi.new("_Bool[]", b"\\x01\\x00")))
    attempt("bool array bad bytes", lambda: ffi.new("_Bool[]", b"\\x02"))
    attempt("int8 array bytes", lambda: list(ffi.new("int8_t[]", b"\\xff\\x01")))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
