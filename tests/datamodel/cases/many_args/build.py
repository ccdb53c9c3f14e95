# Many arguments of mixed integer/float/pointer/struct types in one call, in
# both directions (register and stack passing).
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef struct { char c; double d; } cd_t;
    double mixed(char a, double b, short c, float d, long long e, unsigned char f,
                 double g, int *h, float i, cd_t j, long k, double l, unsigned int m, double n);
""")
ffibuilder.cdef("""
    double c_mixed(char a, double b, short c, float d, long long e, unsigned char f,
                   double g, int *h, float i, cd_t j, long k, double l, unsigned int m, double n);
""")
ffibuilder.set_source("dmcase", r"""
    #include <stdio.h>
    typedef struct { char c; double d; } cd_t;
    static double c_mixed(char a, double b, short c, float d, long long e, unsigned char f,
                          double g, int *h, float i, cd_t j, long k, double l, unsigned int m, double n) {
        printf("C got %c %g %d %g %lld %u %g %d %g %c/%g %ld %g %u %g\n", a, b, c, d, e, f, g, *h, i, j.c, j.d, k, l, m, n);
        return b + d + g + i + j.d + l + n;
    }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

@ffi.def_extern()
def mixed(a, b, c, d, e, f, g, h, i, j, k, l, m, n):
    print("Py got", a, b, c, d, e, f, g, h[0], i, j.c, j.d, k, l, m, n, flush=True)
    x = ffi.new("int *", h[0] + 1)
    return lib.c_mixed(a, b + 1, c - 1, d, e * 2, f, g, x, i, j, k, l, m, n) * 2
""")
ffibuilder.compile(target="libcase.*", verbose=False)
