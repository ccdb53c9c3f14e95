# Initializer shapes for nested structs, unions and arrays (lists, tuples,
# dicts, cdata), assignments of whole structs and pointers, and CType
# attribute/dir/getctype details, compared with cffi.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { int x, y; } pt_t;
    union u { int i; char c[4]; pt_t p; };
    struct s { pt_t a[2]; union u un; pt_t *pp; double d; };
    void run(void);
""")
ffibuilder.set_source("dmcase", """
    typedef struct { int x, y; } pt_t;
    union u { int i; char c[4]; pt_t p; };
    struct s { pt_t a[2]; union u un; pt_t *pp; double d; };
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
    attempt("list init", lambda: (lambda s: (s.a[1].y, s.un.i, s.d))(ffi.new("struct s *", [[[1, 2], [3, 4]], [5], ffi.NULL, 1.5])))
    attempt("tuple init", lambda: (lambda s: s.a[0].x)(ffi.new("struct s *", ([(7, 8)],))))
    attempt("dict nested", lambda: (lambda s: (s.a[1].x, s.un.p.y))(ffi.new("struct s *", {"a": [{}, {"x": 9}], "un": {"p": {"y": 3}}})))
    attempt("union two", lambda: ffi.new("union u *", [1, b"ab"]))
    attempt("union dict two", lambda: ffi.new("union u *", {"i": 1, "c": b"ab"}).c[0])
    attempt("too many", lambda: ffi.new("pt_t *", [1, 2, 3]))
    attempt("bad key", lambda: ffi.new("pt_t *", {"z": 1}))
    attempt("bad type", lambda: ffi.new("pt_t *", 5))
    attempt("bad nested", lambda: ffi.new("struct s *", {"a": [1]}))
    attempt("array from struct", lambda: ffi.new("pt_t[2]", [ffi.new("pt_t *", [1, 2])[0]])[0].y)
    attempt("struct assign", lambda: (lambda s: (setattr(s, "un", {"i": 42}), s.un.i)[1])(ffi.new("struct s *")))
    attempt("struct assign cdata", lambda: (lambda s, p: (setattr(s.a, "__class__", None) if False else s.a.__setitem__(0, p[0]), s.a[0].x)[1])(ffi.new("struct s *"), ffi.new("pt_t *", [5, 6])))
    attempt("struct assign wrong", lambda: ffi.new("struct s *").a.__setitem__(0, ffi.new("union u *")[0]))
    attempt("ptr assign array", lambda: (lambda s: (setattr(s, "pp", s.a), s.pp[1].x)[1])(ffi.new("struct s *", {"a": [[1, 2], [3, 4]]})))
    attempt("ptr from int", lambda: setattr(ffi.new("struct s *"), "pp", 0))
    attempt("ptr from None", lambda: setattr(ffi.new("struct s *"), "pp", None))
    attempt("double from int", lambda: (lambda s: (setattr(s, "d", 3), s.d)[1])(ffi.new("struct s *")))
    attempt("double from str", lambda: setattr(ffi.new("struct s *"), "d", "1"))
    attempt("fields u", lambda: [(n, f.type.cname, f.offset, f.flags) for n, f in ffi.typeof("union u").fields])
    attempt("ctype attrs", lambda: [getattr(ffi.typeof("struct s"), a) for a in ("kind", "cname", "length") if a != "length"])
    attempt("ctype missing attr", lambda: ffi.typeof("struct s").length)
    attempt("ctype dir", lambda: dir(ffi.typeof("struct s")))
    attempt("ctype dir ptr", lambda: dir(ffi.typeof("int *")))
    attempt("ctype dir fn", lambda: dir(ffi.typeof("int(*)(int)")))
    attempt("abi", lambda: isinstance(ffi.typeof("int(*)(int)").abi, int))
    attempt("repr ctype arr", lambda: (ffi.typeof("pt_t *[3]"), ffi.typeof("int(*[2])(void)"), ffi.typeof("int(**)(void)")))
    attempt("getctype arr", lambda: (ffi.getctype("int", "[3]"), ffi.getctype("int[3]", "*"), ffi.getctype("int *", "*x"), ffi.getctype("int(*)(int)", "a[2]")))
    attempt("sizeof types", lambda: [ffi.sizeof(t) for t in ("pt_t *[3]", "union u", "struct s", "int(*)(int)")])
""")
ffibuilder.compile(target="libcase.*", verbose=False)
