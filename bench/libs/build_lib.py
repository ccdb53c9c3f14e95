"""One CFFI embedding build script, run unchanged with `cembed` or the real `cffi`.

    python build_lib.py IMPL CASE OUTDIR

IMPL is `cembed` or `cffi`: the only difference between the two builds is the
import below, which is exactly the port cembed promises (`import cembed as
cffi`). CASE picks the library:

    add        int add(int, int)
    struct     int point_sum(point_t *)        Python reads p.x, p.y, p.z
    string     int str_len(const char *)       len(ffi.string(s))
    buffer     double buf_sum(double *, int)   sum over ffi.buffer(p, n * 8)
    many200    200 functions int fN(int)       (build time and size only)

The Python bodies match the hand-written floor (bench/c/floor.c). The library
is written to OUTDIR/lib<CASE>.so, the intermediate files go to OUTDIR too.
"""

import os
import sys


def declarations(case):
    """(embedding_api source, init code) for one case."""
    if case == "add":
        api = "int add(int, int);"
        body = "@ffi.def_extern()\ndef add(a, b):\n    return a + b\n"
    elif case == "struct":
        api = "typedef struct { int x; int y; int z; } point_t;\nint point_sum(point_t *);"
        body = "@ffi.def_extern()\ndef point_sum(p):\n    return p.x + p.y + p.z\n"
    elif case == "string":
        api = "int str_len(const char *);"
        body = "@ffi.def_extern()\ndef str_len(s):\n    return len(ffi.string(s))\n"
    elif case == "buffer":
        api = "double buf_sum(double *, int);"
        body = (
            "@ffi.def_extern()\n"
            "def buf_sum(p, n):\n"
            "    return sum(memoryview(ffi.buffer(p, n * 8)).cast('d'))\n"
        )
    elif case == "many200":
        api = "\n".join("int f%d(int);" % i for i in range(200))
        body = "".join(
            "@ffi.def_extern()\ndef f%d(x):\n    return x + %d\n" % (i, i) for i in range(200)
        )
    else:
        raise SystemExit("build_lib.py: unknown case %r" % case)
    return api, "from bench_%s import ffi\n\n%s" % (case, body)


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    impl, case, outdir = sys.argv[1:]
    if impl == "cembed":
        import cembed as cffi
    elif impl == "cffi":
        import cffi
    else:
        raise SystemExit("build_lib.py: IMPL must be cembed or cffi, not %r" % impl)

    api, init_code = declarations(case)
    ffibuilder = cffi.FFI()
    ffibuilder.embedding_api(api)
    # The struct is declared in embedding_api; the C code must define it too.
    c_code = "typedef struct { int x; int y; int z; } point_t;\n" if case == "struct" else ""
    ffibuilder.set_source("bench_%s" % case, c_code)
    ffibuilder.embedding_init_code(init_code)
    os.makedirs(outdir, exist_ok=True)
    path = ffibuilder.compile(tmpdir=outdir, target="lib%s.*" % case, verbose=False)
    print(os.path.abspath(os.path.join(outdir, path)))


if __name__ == "__main__":
    main()
