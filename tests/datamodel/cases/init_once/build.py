# ffi.init_once runs the function once per tag and caches the result, also
# across calls coming from C.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    int get_config(int key);
""")
ffibuilder.set_source("dmcase", "")
ffibuilder.embedding_init_code("""
from dmcase import ffi

calls = []

def load():
    calls.append(1)
    print("loading config (call %d)" % len(calls), flush=True)
    return {1: 10, 2: 20}

def other():
    print("other init", flush=True)
    return "x"

@ffi.def_extern()
def get_config(key):
    cfg = ffi.init_once(load, "config")
    assert ffi.init_once(other, "other") == "x"
    return cfg.get(key, -1)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
