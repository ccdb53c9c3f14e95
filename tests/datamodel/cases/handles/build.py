# ffi.new_handle / from_handle through a C API with void* user data: Python
# registers a callback plus a handle, C calls back later with that pointer.
# marks: smoke
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    void setup(void);
""")
ffibuilder.cdef("""
    typedef void (*listener_t)(void *userdata, int event);
    void c_register(listener_t fn, void *userdata);
    extern "Python" void on_event(void *userdata, int event);
""")
ffibuilder.set_source("dmcase", """
    typedef void (*listener_t)(void *userdata, int event);
    static listener_t the_fn; static void *the_data[4]; static int n_data;
    static void c_register(listener_t fn, void *userdata) { the_fn = fn; the_data[n_data++] = userdata; }
    CFFI_DLLEXPORT void c_fire_all(int event) { for (int i = 0; i < n_data; i++) the_fn(the_data[i], event); }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

class Counter:
    def __init__(self, name):
        self.name, self.events = name, []
    def handle(self, event):
        self.events.append(event)
        print(self.name, "got", event, "total", self.events, flush=True)

alive = []

@ffi.def_extern()
def on_event(userdata, event):
    obj = ffi.from_handle(userdata)
    if isinstance(obj, Counter):
        obj.handle(event)
    else:
        print("plain object", repr(obj), event, flush=True)

@ffi.def_extern()
def setup():
    for obj in [Counter("first"), Counter("second"), ("a", "tuple")]:
        h = ffi.new_handle(obj)
        alive.append(h)           # the handle must stay alive while C holds it
        lib.c_register(lib.on_event, h)
    h = alive[0]
    print("handle type", ffi.typeof(h).cname, "same object back", ffi.from_handle(h) is ffi.from_handle(h), flush=True)
    print("handles differ", alive[0] != alive[1], flush=True)
    try:
        ffi.from_handle(ffi.NULL)
    except RuntimeError:
        print("RuntimeError for from_handle(NULL)", flush=True)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
