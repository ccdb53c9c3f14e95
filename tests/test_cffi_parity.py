"""Data-model corners where the peer suite (test_cffi_peer.py) has no test
of its own: the same declarations and C code built as an importable module
by the real cffi and by cembed, the same Python code run against each in its
own process; the outputs must be identical."""

import os
import subprocess
import sys
import textwrap

import pytest

from cembed_e2e import clean_env

CDEF = """
    extern int counter;
    extern int gmacro;
    int *get_slot(void);
    extern int open_g[];
    struct var0 { int len; short data[0]; };
    typedef long int16_t;
"""
SOURCE = """
    int counter;
    static int slots[4];
    static int next_slot;
    int *get_slot(void) { return &slots[next_slot++ % 4]; }
    #define gmacro (*get_slot())
    int open_g[6] = {1, 2, 3, 4, 5, 6};
    struct var0 { int len; short data[0]; };
"""
# Every check prints its result or its exception.
SHOW = """
def show(f):
    try:
        print(repr(f()))
    except Exception as e:
        print(type(e).__name__, e)
"""
CHECKS = """
    # bytes/bytearray slice assignment into chars (length checked)
    b = ffi.new("char[]", 8)
    b[0:3] = b"abc"; show(lambda: ffi.string(b))
    q = ffi.cast("char *", b); q[3:5] = bytearray(b"de"); show(lambda: ffi.string(b))
    def bad(): b[0:2] = b"xyz"
    show(bad)
    # a global that is a macro: its address is computed on every access
    lib.gmacro = 7; lib.gmacro = 8
    show(lambda: [lib.get_slot()[0] for _ in range(4)])
    # an open-length global is a pointer to its first item
    show(lambda: (ffi.typeof(lib.open_g), lib.open_g[5]))
    # a `T x[0]` field reads as a pointer
    p = ffi.new("char[]", ffi.sizeof("struct var0") + 8)
    s = ffi.cast("struct var0 *", p)
    show(lambda: ffi.typeof(s.data))
    # casts: wchar_t is signed on Linux x86; a float from an int cdata
    show(lambda: int(ffi.cast("long long", ffi.cast("wchar_t", -1))))
    show(lambda: float(ffi.cast("double", ffi.cast("int", 5))))
    show(lambda: float(ffi.cast("int", 5)))
    # a typedef of the declarations overrides a built-in name
    show(lambda: ffi.sizeof("int16_t"))
"""


CB_CDEF = """
    typedef int (*binop_t)(int, int);
    int apply(binop_t, int, int);
"""
CB_SOURCE = """
    typedef int (*binop_t)(int, int);
    int apply(binop_t f, int a, int b) { return f(a, b); }
"""
CB_CHECKS = """
    import sys
    mul = ffi.callback("int(*)(int, int)", lambda a, b: a * b)
    show(lambda: (ffi.typeof(mul), lib.apply(mul, 6, 7), mul(2, 3)))

    def report(exc, val, tb):
        print("onerror:", exc.__name__, val, flush=True)
        return 99 if val.args[0] == "replace" else None

    @ffi.callback("binop_t", error=-1, onerror=report)
    def sub(a, b):
        if a < 0:
            raise ValueError("replace" if a == -1 else "keep")
        return a - b
    show(lambda: [lib.apply(sub, 10, 3), lib.apply(sub, -1, 0), lib.apply(sub, -2, 0)])
    @ffi.callback("binop_t")
    def fails(a, b):
        raise KeyError(a)
    sys.stdout.flush()
    show(lambda: lib.apply(fails, 5, 0))
    sys.stderr.flush()
    show(lambda: ffi.callback("binop_t", 42))
    show(lambda: ffi.callback("binop_t", lambda a, b: 0, onerror=42))
    show(lambda: ffi.callback("int", lambda: 0))
    show(lambda: ffi.callback("binop_t", lambda a, b: 2 ** 40)(1, 2))
    # callbacks die and their slots are reused
    show(lambda: sum(lib.apply(ffi.callback("binop_t", lambda a, b, i=i: i), 0, 0)
                     for i in range(100)))
"""


def _run(tmp_path, backend, cdef=CDEF, source=SOURCE, checks=CHECKS, stderr=False):
    d = tmp_path / backend
    d.mkdir()
    (d / "build.py").write_text(textwrap.dedent("""
        import %s as cffi
        ffi = cffi.FFI()
        ffi.cdef(%r)
        ffi.set_source("pmod", %r)
        ffi.compile(verbose=False)
    """) % (backend, cdef, source))
    r = subprocess.run([sys.executable, "build.py"], cwd=str(d), env=clean_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (d / "run.py").write_text("from pmod import ffi, lib\n" + SHOW + textwrap.dedent(checks))
    r = subprocess.run([sys.executable, "run.py"], cwd=str(d), env=clean_env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    if stderr:
        # Tracebacks name run.py's directory and functions' addresses: keep
        # the rest.
        import re
        return r.stdout, re.sub(r"0x[0-9a-f]+", "0x?", r.stderr.replace(str(d), "DIR"))
    return r.stdout


@pytest.mark.cffi
def test_same_output_as_cffi(tmp_path):
    pytest.importorskip("cffi")
    pytest.importorskip("cembed._runtime")
    expected = _run(tmp_path, "cffi")
    got = _run(tmp_path, "cembed")
    assert got == expected
    # Not vacuous: the macro global wrote two different slots (7 then 8),
    # the slice assignments wrote.
    assert "[0, 0, 7, 8]" in got and "b'abcde'" in got, got


@pytest.mark.cffi
def test_callback_same_as_cffi(tmp_path):
    # ffi.callback: types, error=, onerror=, the error report on stderr,
    # argument errors, slots reused after the callbacks die.
    pytest.importorskip("cffi")
    pytest.importorskip("cembed._runtime")
    expected = _run(tmp_path, "cffi", CB_CDEF, CB_SOURCE, CB_CHECKS, stderr=True)
    got = _run(tmp_path, "cembed", CB_CDEF, CB_SOURCE, CB_CHECKS, stderr=True)
    assert got == expected
    assert "(<ctype 'int(*)(int, int)'>, 42, 6)" in got[0] and "[7, 99, -1]" in got[0]
    assert "KeyError: 5" in got[1], got[1]


def test_callback_pool_limits(tmp_path):
    # cembed only: the pool of a declared type runs out (MemoryError) and is
    # free again once the callbacks die; an undeclared type has no pool.
    pytest.importorskip("cembed._runtime")
    checks = """
    import gc
    live = [ffi.callback("binop_t", lambda a, b: 1) for i in range(16)]
    show(lambda: ffi.callback("binop_t", lambda a, b: 2))
    del live
    gc.collect()
    show(lambda: lib.apply(ffi.callback("binop_t", lambda a, b: a + b), 1, 2))
    show(lambda: ffi.callback("int(*)(long)", lambda x: 0))
"""
    out = _run(tmp_path, "cembed", CB_CDEF, CB_SOURCE, checks).splitlines()
    assert out[0].startswith("MemoryError ffi.callback(): all 16 callbacks of type "
                             "'int(*)(int, int)' are in use"), out
    assert out[1] == "3", out
    assert out[2].startswith("NotImplementedError ffi.callback(): cembed makes callbacks "
                             "only for the function-pointer types named in the declarations"), out
