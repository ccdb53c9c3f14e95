# Keyword and positional arguments of the ffi methods (cembed's are
# METH_FASTCALL with their own parser; CFFI's use PyArg_ParseTupleAndKeywords):
# every method called with its arguments by keyword, mixed, and positional,
# and the exception types of the usual mistakes (missing, too many, twice,
# unknown keyword).
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x; int y; } point_t;
    void run(const char *s, point_t *p);
""")
ffibuilder.set_source("dmcase", "typedef struct { int x; int y; } point_t;")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

def attempt(label, f):
    try:
        out(label, f())
    except Exception as e:
        out(label, type(e).__name__)

@ffi.def_extern()
def run(s, p):
    out("string maxlen=", ffi.string(s, maxlen=3))
    out("string cdata=", ffi.string(cdata=s))
    out("string both kw", ffi.string(maxlen=2, cdata=s))
    out("string positional", ffi.string(s, 4))
    a = ffi.new("int[]", 5)
    out("new int[] 5", len(a), list(a))
    out("new kw", list(ffi.new(cdecl="int[]", init=[1, 2, 3])))
    out("new init=", ffi.new("point_t *", init={"y": 9}).y)
    out("buffer size=", ffi.buffer(p, size=8)[:])
    out("buffer kw", ffi.buffer(cdata=p, size=4)[:])
    out("buffer positional", len(ffi.buffer(p, 4)))
    out("cast kw", int(ffi.cast(cdecl="int", source=7.9)))
    out("sizeof kw", ffi.sizeof(cdecl="point_t"))
    out("alignof kw", ffi.alignof(cdecl="double"))
    out("typeof kw", ffi.typeof(cdecl="int *"))
    out("unpack length=", ffi.unpack(s, length=2))
    out("unpack kw", ffi.unpack(cdata=s, length=3))
    out("getctype replace_with=", ffi.getctype("int", replace_with="*x"))
    out("offsetof", ffi.offsetof("point_t", "y"))
    out("addressof", ffi.addressof(p, "y") == ffi.cast("int *", p) + 1)
    out("from_buffer kw", len(ffi.from_buffer(python_buffer=b"abcd")))
    out("from_buffer cdecl", len(ffi.from_buffer("char[]", b"abc", require_writable=False)))
    h = ffi.new_handle(x=run)
    out("handles", ffi.from_handle(x=h) is run)
    q = ffi.new("int *", 4)
    out("memmove kw", ffi.memmove(dest=q, src=b"\\1\\0\\0\\0", n=4), q[0])
    g = ffi.gc(ffi.new("int *"), destructor=lambda c: None, size=4)
    out("gc kw", ffi.typeof(g))
    out("init_once kw", ffi.init_once(func=lambda: 42, tag="t"))
    attempt("string no argument", lambda: ffi.string())
    attempt("string too many", lambda: ffi.string(s, 1, 2))
    attempt("string twice", lambda: ffi.string(s, cdata=s))
    attempt("string unknown keyword", lambda: ffi.string(s, max=3))
    attempt("new no argument", lambda: ffi.new())
    attempt("cast one argument", lambda: ffi.cast("int"))
    attempt("buffer unknown keyword", lambda: ffi.buffer(p, length=8))
    attempt("sizeof too many", lambda: ffi.sizeof("int", "int"))
    attempt("unpack no length", lambda: ffi.unpack(s))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
