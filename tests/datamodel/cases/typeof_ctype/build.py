# ffi.typeof on strings and cdata, and the CType attributes: kind, cname,
# item, length, fields (name, type, offset, bitshift, bitsize, flags), args,
# result, ellipsis, elements/relements (abi is libffi's, not compared); CType equality and identity.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct node { int val; struct node *next; char tag[4]; unsigned bf : 3; } node_t;
    typedef union { int i; double d; } num_t;
    enum color { RED, GREEN = 5, BLUE };
    typedef int (*binop_t)(int, int);
    void run(node_t *n, binop_t op);
""")
ffibuilder.cdef("int vsum(int n, ...);")
ffibuilder.set_source("dmcase", """
    #include <stdarg.h>
    typedef struct node { int val; struct node *next; char tag[4]; unsigned bf : 3; } node_t;
    typedef union { int i; double d; } num_t;
    enum color { RED, GREEN = 5, BLUE };
    typedef int (*binop_t)(int, int);
    static int vsum(int n, ...) { va_list ap; int s = 0; va_start(ap, n);
        while (n--) s += va_arg(ap, int); va_end(ap); return s; }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

def show(t):
    out(repr(t), "kind=%s cname=%r" % (t.kind, t.cname))

@ffi.def_extern()
def run(n, op):
    for name in ["int", "unsigned long long", "double", "char *", "void", "void *", "node_t",
                 "struct node", "node_t *", "num_t", "enum color", "binop_t", "int[3]",
                 "int[]", "node_t[2][3]", "int(*)(char, ...)", "_Bool", "wchar_t", "size_t"]:
        show(ffi.typeof(name))
    t = ffi.typeof(n)
    show(t)
    show(t.item)
    out("fields:")
    for fname, f in t.item.fields:
        out("  ", fname, f.type.cname, f.offset, f.bitshift, f.bitsize, f.flags)
    a = ffi.typeof("int[3]")
    out("array", a.item.cname, a.length, ffi.typeof("int[]").length)
    f = ffi.typeof(op)
    out("fnptr", f.kind, f.cname, [x.cname for x in f.args], f.result.cname, f.ellipsis)
    v = ffi.typeof(lib.vsum)
    out("variadic", v.kind, v.cname, [x.cname for x in v.args], v.ellipsis)
    e = ffi.typeof("enum color")
    out("enum", sorted(e.elements.items()), sorted(e.relements.items()))
    out("same object", ffi.typeof("node_t") is ffi.typeof("struct node"), ffi.typeof("int *") is ffi.typeof("int*"))
    out("eq", ffi.typeof("node_t *") == ffi.typeof(n), ffi.typeof("int") != ffi.typeof("long"))
    out("typeof field", ffi.typeof(n.tag).cname, ffi.typeof(n.next).cname, ffi.typeof(n[0]).cname)
    out("num fields", [x for x, _ in ffi.typeof("num_t").fields])
    try:
        ffi.typeof("int").item
    except AttributeError:
        out("AttributeError for int.item")
    try:
        ffi.typeof(5)
    except TypeError:
        out("TypeError for typeof(5)")
    try:
        ffi.typeof("struct undeclared_xyz")
    except ffi.error:
        out("ffi.error for an undeclared struct")
""")
ffibuilder.compile(target="libcase.*", verbose=False)
