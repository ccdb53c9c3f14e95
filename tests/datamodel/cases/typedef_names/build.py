# CFFI's names for typedef'd types: a tagged struct/union/enum keeps its tag
# (a_t is 'struct a_s'), an anonymous one takes the first typedef name
# (b_t), pointer typedefs, nested anonymous members ('struct $1'), list_types,
# getctype, and the repr of a first field (a view, not the owner).
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct a_s { int x; } a_t, *a_p;
    typedef struct { int y; } b_t, *b_p;
    typedef union u_s { int i; } u_t;
    typedef enum { Q1, Q2 } q_t;
    typedef enum en_s { W1 } en_t;
    struct outer { struct { int z; } inner; union { int m; } um; };
    typedef a_t arr_a[2];
    void run(void);
""")
ffibuilder.set_source("dmcase", """
    typedef struct a_s { int x; } a_t, *a_p;
    typedef struct { int y; } b_t, *b_p;
    typedef union u_s { int i; } u_t;
    typedef enum { Q1, Q2 } q_t;
    typedef enum en_s { W1 } en_t;
    struct outer { struct { int z; } inner; union { int m; } um; };
    typedef a_t arr_a[2];
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
    attempt("list_types", lambda: ffi.list_types())
    for n in ["a_t", "a_p", "b_t", "b_p", "u_t", "q_t", "en_t", "arr_a", "struct a_s", "union u_s", "enum en_s", "struct outer"]:
        attempt(n, lambda: (ffi.typeof(n), ffi.typeof(n).kind))
    attempt("inner", lambda: [(k, f.type) for k, f in ffi.typeof("struct outer").fields])
    attempt("repr new", lambda: repr(ffi.new("a_p")).split(" owning")[0])
    attempt("repr b", lambda: repr(ffi.new("b_t *")).split(" owning")[0])
    attempt("getctype", lambda: (ffi.getctype("a_t"), ffi.getctype("b_p"), ffi.getctype("q_t", "*")))
    attempt("enum repr", lambda: (repr(ffi.cast("q_t", 1)), repr(ffi.cast("en_t", 0))))
    attempt("outer inner", lambda: repr(ffi.new("struct outer *").inner).split(" 0x")[0])
""")
ffibuilder.compile(target="libcase.*", verbose=False)
