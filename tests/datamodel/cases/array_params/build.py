# Array parameters decay to pointers (int a[4], char s[], 2-D), and
# pointer-to-array types.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    int sum4(int a[4]);
    void upcase(char s[]);
    int trace(int m[3][3]);
    int first_of(int (*rows)[2], int n);
""")
ffibuilder.set_source("dmcase", "")
ffibuilder.embedding_init_code("""
from dmcase import ffi

@ffi.def_extern()
def sum4(a):
    print("sum4 arg", ffi.typeof(a).cname, flush=True)
    return sum(a[0:4])

@ffi.def_extern()
def upcase(s):
    print("upcase arg", ffi.typeof(s).cname, flush=True)
    i = 0
    while s[i] != b"\\0":
        s[i] = s[i].upper()
        i += 1

@ffi.def_extern()
def trace(m):
    print("trace arg", ffi.typeof(m).cname, ffi.typeof(m[0]).cname, flush=True)
    return m[0][0] + m[1][1] + m[2][2]

@ffi.def_extern()
def first_of(rows, n):
    print("rows arg", ffi.typeof(rows).cname, len(rows[0]), flush=True)
    return sum(rows[i][0] for i in range(n))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
