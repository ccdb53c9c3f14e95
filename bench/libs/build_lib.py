"""One CFFI embedding build script, run unchanged with `cembed` or the real `cffi`.

    python build_lib.py IMPL CASE OUTDIR [--isolation MODE[:SIZE]] [--name NAME]

IMPL is `cembed` or `cffi`: the only difference between the two builds is the
import below, which is exactly the port cembed promises (`import cembed as
cffi`). CASE picks the library:

    add        int add(int, int)
    struct     int point_sum(point_t *)        Python reads p.x, p.y, p.z
    string     int str_len(const char *)       len(ffi.string(s))
    buffer     double buf_sum(double *, int)   sum over ffi.buffer(p, n * 8)
    callback   int cb_call(int)                C calls a function pointer made by
                                               ffi.callback (Python returns x + 1)
    many200    200 functions int fN(int)       (build time and size only)
    iso        int add(int, int) and int spin(int n)  (the isolation table:
                                               spin is about 10 µs of Python)

The Python bodies match the hand-written floor (bench/c/floor.c). The library
is written to OUTDIR/lib<CASE>.so, the intermediate files go to OUTDIR too.

--isolation MODE[:SIZE] (cembed only) calls
`ffibuilder.embedding_isolation(MODE, SIZE)`: shared, isolated, pool, pool:4.
--name NAME sets the module name (default bench_<CASE>): several "isolated"
libraries in one process are distinct modules.
"""

import os
import sys


def declarations(case, name=None):
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
    elif case == "callback":
        # cb_call is C (set_source): it calls the function pointer the init
        # code made with ffi.callback and handed over with cb_set.
        api = "int cb_ready(void);"
        body = (
            "@ffi.def_extern()\n"
            "def cb_ready():\n"
            "    return 1\n"
            "callback = ffi.callback('cb_t', lambda x: x + 1)\n"
            "lib.cb_set(callback)\n"
        )
    elif case == "iso":
        api = "int add(int, int);\nint spin(int);"
        # The same text as bench/c/spin.h (the floors' spin).
        body = (
            "@ffi.def_extern()\ndef add(a, b):\n    return a + b\n"
            "@ffi.def_extern()\n"
            "def spin(n):\n"
            "    s = 0\n"
            "    for i in range(n):\n"
            "        s += i * i\n"
            "    return s % 1000003\n"
        )
    elif case == "many200":
        api = "\n".join("int f%d(int);" % i for i in range(200))
        body = "".join(
            "@ffi.def_extern()\ndef f%d(x):\n    return x + %d\n" % (i, i) for i in range(200)
        )
    else:
        raise SystemExit("build_lib.py: unknown case %r" % case)
    return api, "from %s import ffi, lib\n\n%s" % (name or "bench_" + case, body)


# The C side of the callback case (set_source code and cdef).
CALLBACK_CDEF = "typedef int (*cb_t)(int);\nvoid cb_set(cb_t);\n"
CALLBACK_C = """
typedef int (*cb_t)(int);
static cb_t g_cb;
void cb_set(cb_t f) { g_cb = f; }
CFFI_DLLEXPORT int cb_call(int x)
{
    if (g_cb == NULL && cffi_start_python() != 0)
        return 0;
    return g_cb(x);
}
"""


def main():
    argv = sys.argv[1:]
    opts = {}
    while len(argv) > 3 and argv[-2] in ("--isolation", "--name"):
        opts[argv[-2]] = argv[-1]
        argv = argv[:-2]
    if len(argv) != 3:
        raise SystemExit(__doc__)
    impl, case, outdir = argv
    name = opts.get("--name", "bench_%s" % case)
    if impl == "cembed":
        import cembed as cffi
    elif impl == "cffi":
        import cffi
    else:
        raise SystemExit("build_lib.py: IMPL must be cembed or cffi, not %r" % impl)

    api, init_code = declarations(case, name)
    ffibuilder = cffi.FFI()
    ffibuilder.embedding_api(api)
    # The struct is declared in embedding_api; the C code must define it too.
    c_code = "typedef struct { int x; int y; int z; } point_t;\n" if case == "struct" else ""
    if case == "callback":
        ffibuilder.cdef(CALLBACK_CDEF)
        c_code = CALLBACK_C
    ffibuilder.set_source(name, c_code)
    if "--isolation" in opts:
        mode, _, size = opts["--isolation"].partition(":")
        ffibuilder.embedding_isolation(mode, int(size) if size else None)
    ffibuilder.embedding_init_code(init_code)
    os.makedirs(outdir, exist_ok=True)
    path = ffibuilder.compile(tmpdir=outdir, target="lib%s.*" % case, verbose=False)
    print(os.path.abspath(os.path.join(outdir, path)))


if __name__ == "__main__":
    main()
