# extern "Python+C": implemented in Python, callable from another C file of
# the library (sources=["other.c"]) and from the set_source code.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    int sum_squares(int n);
    double mean3(double a, double b, double c);
""")
ffibuilder.cdef("""
    extern "Python+C" int py_square(int v);
    extern "Python+C" double py_mean(const double *v, int n);
    int other_sum_squares(int n);
    double other_mean3(double a, double b, double c);
""")
ffibuilder.set_source("dmcase", """
    int other_sum_squares(int n);
    double other_mean3(double a, double b, double c);
""", sources=["other.c"])
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

@ffi.def_extern()
def py_square(v):
    return v * v

@ffi.def_extern()
def py_mean(v, n):
    return sum(v[i] for i in range(n)) / n

@ffi.def_extern()
def sum_squares(n):
    print("python sum_squares(%d) via other.c" % n, flush=True)
    return lib.other_sum_squares(n)

@ffi.def_extern()
def mean3(a, b, c):
    print("direct from Python:", lib.py_square(9), flush=True)
    return lib.other_mean3(a, b, c)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
