# float/double: nan, inf, -inf, -0.0, denormals and rounding, both directions.
# marks: smoke
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    void show_double(double d);
    void show_float(float f);
    double make_double(int which);
    float make_float(int which);
    float narrow(double d);
""")
ffibuilder.set_source("dmcase", "")
ffibuilder.embedding_init_code("""
from dmcase import ffi
import math

def describe(x):
    if math.isnan(x):
        return "nan"
    return "%r sign=%d" % (x, math.copysign(1.0, x) < 0)

@ffi.def_extern()
def show_double(d):
    print("double", type(d).__name__, describe(d), flush=True)

@ffi.def_extern()
def show_float(f):
    print("float", type(f).__name__, describe(f), flush=True)

VALUES = [float("nan"), float("inf"), float("-inf"), -0.0, 0.1, 5e-324, 1e308, 3, True]

@ffi.def_extern()
def make_double(which):
    return VALUES[which]

@ffi.def_extern()
def make_float(which):
    return VALUES[which]

@ffi.def_extern()
def narrow(d):
    return d
""")
ffibuilder.compile(target="libcase.*", verbose=False)
