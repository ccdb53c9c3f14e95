# double _Complex where CFFI cannot: an extern "Python" function with double
# _Complex arguments before others and a double _Complex result (CFFI's
# generated C stores each argument in an 8-byte slot, so the 16-byte
# complex is overwritten by the next argument and the result overflows the
# buffer), ffi.callback() of a complex function type and a call through a
# function pointer taking and returning complex (CFFI goes through libffi,
# which has no complex: NotImplementedError). cembed's argument buffer
# gives every value its own size, and its callbacks and calls are C
# compiled per declared function type.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    double _Complex zmix(double _Complex a, int k, double _Complex b, float _Complex c);
    void run(void);
""")
ffibuilder.cdef("""
    typedef double _Complex (*zfn_t)(double _Complex, double);
    double _Complex apply(zfn_t f, double _Complex z, double s);
    zfn_t get_scale(void);
""")
ffibuilder.set_source("dmcase", """
    typedef double _Complex (*zfn_t)(double _Complex, double);
    static double _Complex apply(zfn_t f, double _Complex z, double s) { return f(z, s); }
    static double _Complex scale(double _Complex z, double s) { return z * s; }
    static zfn_t get_scale(void) { return scale; }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

@ffi.def_extern()
def zmix(a, k, b, c):
    print("zmix got", a, k, b, c, flush=True)
    return a * k + b + c

@ffi.def_extern()
def run():
    cb = ffi.callback("zfn_t", lambda z, s: z * s + 1j)
    print("apply callback", lib.apply(cb, 1 + 2j, 3.0), flush=True)
    print("call pointer", lib.get_scale()(2 - 1j, 0.5), flush=True)
    print("apply C", lib.apply(lib.get_scale(), -1j, 4.0), flush=True)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
