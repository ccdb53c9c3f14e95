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
        out(label, type(e).__name__, e)

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
    out("cast", int(ffi.cast("int", 7.9)))
    out("sizeof", ffi.sizeof("point_t"))
    out("unpack length=", ffi.unpack(s, length=2))
    out("unpack kw", ffi.unpack(cdata=s, length=3))
    out("getctype replace_with=", ffi.getctype("int", replace_with="*x"))
    out("offsetof", ffi.offsetof("point_t", "y"))
    out("addressof", ffi.addressof(p, "y") == ffi.cast("int *", p) + 1)
    out("from_buffer kw", len(ffi.from_buffer(cdecl="char[]", python_buffer=b"abcd")))
    out("from_buffer cdecl", len(ffi.from_buffer("char[]", b"abc", require_writable=False)))
    h = ffi.new_handle(run)
    out("handles", ffi.from_handle(h) is run)
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
    attempt("string keyword only too many", lambda: ffi.string(cdata=s, maxlen=1, x=2))
    attempt("string too many mixed", lambda: ffi.string(s, 1, maxlen=2))
    attempt("gc missing destructor", lambda: ffi.gc(ffi.new("int *")))
    attempt("new init only", lambda: ffi.new(init=1))
    attempt("from_buffer python_buffer only", lambda: ffi.from_buffer(python_buffer=b"ab"))
    attempt("getctype unknown keyword", lambda: ffi.getctype("int", replace="x"))
    attempt("init_once twice", lambda: ffi.init_once(lambda: 1, "t", func=None))
    attempt("memmove too few", lambda: ffi.memmove(q, q))
    attempt("buffer missing", lambda: ffi.buffer())
    attempt("buffer too many", lambda: ffi.buffer(p, 1, 2))
    attempt("buffer twice", lambda: ffi.buffer(p, cdata=p))
    attempt("cast keyword", lambda: ffi.cast(cdecl="int", source=1))
    attempt("cast one", lambda: ffi.cast("int"))
    attempt("cast three", lambda: ffi.cast("int", 1, 2))
    attempt("sizeof keyword", lambda: ffi.sizeof(cdecl="int"))
    attempt("sizeof none", lambda: ffi.sizeof())
    attempt("typeof two", lambda: ffi.typeof("int", "int"))
    attempt("alignof keyword", lambda: ffi.alignof(cdecl="int"))
    attempt("new_handle keyword", lambda: ffi.new_handle(x=1))
    attempt("from_handle none", lambda: ffi.from_handle())
    attempt("release two", lambda: ffi.release(q, q))
    attempt("list_types argument", lambda: ffi.list_types(1))
    attempt("offsetof none", lambda: ffi.offsetof())
    attempt("offsetof one", lambda: ffi.offsetof("point_t"))
    attempt("offsetof keyword", lambda: ffi.offsetof("point_t", field="x"))
    attempt("addressof none", lambda: ffi.addressof())
    attempt("addressof keyword", lambda: ffi.addressof(cdata=p))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
