# ffi.getctype (with "*", "[N]", "(*)" replacements), ffi.list_types.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x, y; } point_t;
    struct tree { struct tree *kids[2]; };
    union un { int a; float b; };
    typedef unsigned int uint_t;
    typedef point_t *point_p;
    typedef int (*cb_t)(void *);
    void run(void);
""")
ffibuilder.set_source("dmcase", """
    typedef struct { int x, y; } point_t;
    struct tree { struct tree *kids[2]; };
    union un { int a; float b; };
    typedef unsigned int uint_t;
    typedef point_t *point_p;
    typedef int (*cb_t)(void *);
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def run():
    g = ffi.getctype
    out(g("int"), g("int", "*"), g("int", "[5]"), g("int", "*[5]"), g("int", "(*)[5]"))
    out(g("point_t"), g("point_t", "*"), g(ffi.typeof("point_t"), "&"))
    out(g("struct tree", "*"), g("union un"), g("uint_t", "[]"), g("char *", "*const"))
    out(g(ffi.typeof("int (*)(long, char *)")), g("cb_t"), g("cb_t", "[2]"))
    out(g("point_p"), ffi.typeof("point_p").cname)
    typedefs, structs, unions = ffi.list_types()
    out("typedefs", sorted(typedefs))
    out("structs", sorted(structs))
    out("unions", sorted(unions))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
