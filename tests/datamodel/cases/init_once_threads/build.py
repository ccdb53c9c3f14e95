# ffi.init_once from several C threads at once: the function runs once, the
# other threads wait for it (the GIL is released while the function sleeps,
# so they really do arrive while it runs) and all get its result. A failing
# function is run again by the next caller; tags are independent.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    int get_value(int i);
    int n_calls(void);
    int flaky(void);
""")
ffibuilder.set_source("dmcase", "")
ffibuilder.embedding_init_code("""
import time
from dmcase import ffi

calls = []

def slow_init():
    calls.append(1)
    time.sleep(0.3)
    return 42

@ffi.def_extern()
def get_value(i):
    return ffi.init_once(slow_init, "slow") + 0 * i

@ffi.def_extern()
def n_calls():
    return len(calls)

attempts = []

def fails_first():
    attempts.append(1)
    if len(attempts) == 1:
        raise ValueError("first attempt fails")
    return len(attempts)

@ffi.def_extern()
def flaky():
    try:
        return ffi.init_once(fails_first, "flaky")
    except ValueError as e:
        print("init_once raised:", e, flush=True)
        return -1
""")
ffibuilder.compile(target="libcase.*", verbose=False)
