# A vtable-like struct of function pointers: C fills it, Python calls through
# the fields; Python fills another one with extern "Python" functions and C
# calls through it.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct ops {
        int (*add)(int, int);
        const char *(*name)(void);
        void (*store)(struct ops *self, int v);
        int last;
    } ops_t;
    void use_c_ops(ops_t *ops);
    ops_t *python_ops(void);
""")
ffibuilder.cdef("""
    extern "Python" int py_add(int, int);
    extern "Python" const char *py_name(void);
    extern "Python" void py_store(ops_t *, int);
""")
ffibuilder.set_source("dmcase", """
    typedef struct ops {
        int (*add)(int, int);
        const char *(*name)(void);
        void (*store)(struct ops *self, int v);
        int last;
    } ops_t;
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

NAME = ffi.new("char[]", b"python ops")
OPS = ffi.new("ops_t *")

@ffi.def_extern()
def py_add(a, b):
    return a + b + 1000

@ffi.def_extern()
def py_name():
    return NAME

@ffi.def_extern()
def py_store(self, v):
    self.last = -v

@ffi.def_extern()
def use_c_ops(ops):
    out("add", ops.add(2, 3), "name", ffi.string(ops.name()))
    ops.store(ops, 77)
    out("last", ops.last, "field type", ffi.typeof(ops.store).cname)

@ffi.def_extern()
def python_ops():
    OPS.add = lib.py_add
    OPS.name = lib.py_name
    OPS.store = lib.py_store
    return OPS
""")
ffibuilder.compile(target="libcase.*", verbose=False)
