"""Builds libdemo.so: a C library whose functions are written in Python.

Usage: python build_demo.py [OUTDIR]     (run by `./dev demo`)

This is a CFFI embedding build script; only the import differs.
"""
import sys

import cembed as cffi

ffibuilder = cffi.FFI()

# The C API of the library: each function is exported and implemented in Python.
ffibuilder.embedding_api("""
    int fib(int n);
    double fahrenheit(double celsius);
    long long count_words(int nwords_hint);
""")

ffibuilder.set_source("demo_lib", "")

ffibuilder.embedding_init_code("""
    import sys
    from demo_lib import ffi

    print("[python] init code running in Python %d.%d" % sys.version_info[:2])

    @ffi.def_extern()
    def fib(n):
        a, b = 0, 1
        for _ in range(n):
            a, b = b, a + b
        return a

    @ffi.def_extern()
    def fahrenheit(celsius):
        return celsius * 9.0 / 5.0 + 32.0

    @ffi.def_extern()
    def count_words(hint):
        text = "the quick brown fox jumps over the lazy dog " * hint
        return len(text.split())
""")

if __name__ == "__main__":
    outdir = sys.argv[1] if len(sys.argv) > 1 else "."
    print(ffibuilder.compile(tmpdir=outdir, target="libdemo.*"))
