"""`lib` of a compiled library: C functions, globals, constants, errors.

Each test builds the same script with the real cffi and with cembed, runs the
same C host against both, and compares their stdout, which is also checked
against the exact expected text. The one intended difference: cembed's
unknown-name message says "cembed library" where CFFI's says "cffi library".
"""

import pytest

from cembed_e2e import UNBUFFERED_MAIN, Project, cffi_env, library_script, lines

HOST = """
#include <stdio.h>
void run(void);
int main(void) {
    %s
    run();
    return 0;
}
""" % UNBUFFERED_MAIN

LIB_API = """
    int counter;
    double ratio;
    void run(void);
"""

LIB_CDEF = """
    int c_add(int a, int b);
    int c_noargs(void);
    int c_one(int);
    double c_scale(double v, float f);
    unsigned char c_uchar(unsigned char c);
    char c_next(char c);
    _Bool c_not(_Bool b);
    long long c_s64(unsigned long long);
    void c_nothing(void);
    size_t c_len(const char *s);
    long c_sum(int *p, int n);
    #define VERSION 42
    #define NEG_ONE -1
    #define BIG_U ...
    static const int MAX_ITEMS;
    static const double PI_ISH;
    enum color { RED, GREEN, BLUE = 10 };
    const int limit;
    extern "Python" int py_cb(int);
    int c_call_py_cb(int);
"""

LIB_SOURCE = """
    #include <string.h>
    #define VERSION 42
    #define NEG_ONE -1
    #define BIG_U 18446744073709551615ULL
    static const int MAX_ITEMS = 128;
    static const double PI_ISH = 3.25;
    enum color { RED, GREEN, BLUE = 10 };
    static const int limit = 99;
    CFFI_DLLEXPORT int counter = 5;
    CFFI_DLLEXPORT double ratio = 0.25;
    static int c_add(int a, int b) { return a + b; }
    static int c_noargs(void) { return 7; }
    static int c_one(int a) { return 2 * a; }
    static double c_scale(double v, float f) { return v * f; }
    static unsigned char c_uchar(unsigned char c) { return c + 1; }
    static char c_next(char c) { return c + 1; }
    static _Bool c_not(_Bool b) { return !b; }
    static long long c_s64(unsigned long long x) { return (long long)x; }
    static void c_nothing(void) {}
    static size_t c_len(const char *s) { return strlen(s); }
    static long c_sum(int *p, int n) { long s = 0; while (n--) s += *p++; return s; }
    static int py_cb(int);
    static int c_call_py_cb(int x) { return py_cb(x) + 1; }
"""

LIB_INIT = r'''
from dmlib import ffi, lib

def out(*a):
    print(*a, flush=True)

def show(expr):
    try:
        r = eval(expr)
        out(expr, "->", repr(r))
    except Exception as e:
        out(expr, "!!", type(e).__name__ + ":", str(e).replace("cffi library", "cembed library"))

def do(stmt):
    try:
        exec(stmt)
        out(stmt, "ok")
    except Exception as e:
        out(stmt, "!!", type(e).__name__ + ":", str(e).replace("cffi library", "cembed library"))

@ffi.def_extern()
def py_cb(x):
    return x * 100

@ffi.def_extern()
def run():
    for e in [
        "lib.c_add(1, 2)", "lib.c_add(1)", "lib.c_add(1, 2, 3)", "lib.c_add('a', 2)",
        "lib.c_add(1.5, 2)", "lib.c_add(2**40, 1)", "lib.c_add(True, 1)", "lib.c_add(a=1)",
        "lib.c_noargs()", "lib.c_noargs(1)", "lib.c_one()", "lib.c_one(4)",
        "lib.c_scale(2, 1.5)", "lib.c_scale('x', 1)",
        "lib.c_uchar(255)", "lib.c_uchar(256)", "lib.c_uchar(-1)",
        "lib.c_next(b'a')", "lib.c_next('a')", "lib.c_next(97)",
        "lib.c_not(0)", "lib.c_not(7)", "lib.c_s64(2**64 - 1)", "lib.c_s64(-1)",
        "lib.c_nothing()",
        "lib.c_len(b'hello')", "lib.c_len(None)", "lib.c_sum([1, 2, 3], 3)",
        "lib.c_sum((1, 2, 3, 4), 4)", "lib.c_sum([1, 'a'], 2)",
        "lib.counter", "lib.ratio", "lib.VERSION", "lib.NEG_ONE", "lib.BIG_U",
        "lib.MAX_ITEMS", "lib.PI_ISH", "lib.RED", "lib.BLUE", "lib.limit",
        "lib.c_call_py_cb(3)", "lib.nope",
        "sorted(dir(lib))", "sorted(lib.__all__)", "lib.__name__",
        "lib.c_add.__name__", "lib.c_add.__module__", "type(lib.c_add).__name__",
        "lib.c_add is lib.c_add",
    ]:
        show(e)
    for s in [
        "lib.counter = 7; out(lib.counter)", "lib.counter += 1; out(lib.counter)",
        "lib.counter = 'x'", "lib.counter = 2**40", "lib.ratio = 2; out(lib.ratio)",
        "lib.VERSION = 1", "lib.RED = 1", "lib.c_add = 1", "lib.PI_ISH = 1.0",
        "lib.limit = 3", "del lib.counter", "del lib.VERSION", "lib.nope = 1", "del lib.nope",
        "from dmlib.lib import c_add; out(c_add(1, 1))",
        "from dmlib.lib import counter; out(counter)",
        "from dmlib.lib import VERSION, RED; out(VERSION, RED)",
        "from dmlib.lib import nope",
    ]:
        do(s)
'''

LIB_EXPECTED = [
    "lib.c_add(1, 2) -> 3",
    "lib.c_add(1) !! TypeError: c_add expected 2 arguments, got 1",
    "lib.c_add(1, 2, 3) !! TypeError: c_add expected 2 arguments, got 3",
    "lib.c_add('a', 2) !! TypeError: an integer is required",
    "lib.c_add(1.5, 2) !! TypeError: an integer is required",
    "lib.c_add(2**40, 1) !! OverflowError: integer 1099511627776 does not fit '32-bit int'",
    "lib.c_add(True, 1) -> 2",
    "lib.c_add(a=1) !! TypeError: c_add() takes no keyword arguments",
    "lib.c_noargs() -> 7",
    None,  # METH_NOARGS message: CPython's own, differs between versions
    None,  # METH_O message: likewise
    "lib.c_one(4) -> 8",
    "lib.c_scale(2, 1.5) -> 3.0",
    "lib.c_scale('x', 1) !! TypeError: must be real number, not str",
    "lib.c_uchar(255) -> 0",
    "lib.c_uchar(256) !! OverflowError: integer 256 does not fit '8-bit unsigned int'",
    "lib.c_uchar(-1) !! OverflowError: can't convert negative number to unsigned",
    "lib.c_next(b'a') -> b'b'",
    "lib.c_next('a') !! TypeError: initializer for ctype 'char' must be a bytes of length 1, not str",
    "lib.c_next(97) !! TypeError: initializer for ctype 'char' must be a bytes of length 1, not int",
    "lib.c_not(0) -> True",
    "lib.c_not(7) !! OverflowError: integer 7 does not fit '_Bool'",
    "lib.c_s64(2**64 - 1) -> -1",
    "lib.c_s64(-1) !! OverflowError: can't convert negative number to unsigned",
    "lib.c_nothing() -> None",
    "lib.c_len(b'hello') -> 5",
    None,  # None for a pointer: TypeError naming the pointer type (CFFI drops the const)
    "lib.c_sum([1, 2, 3], 3) -> 6",
    "lib.c_sum((1, 2, 3, 4), 4) -> 10",
    "lib.c_sum([1, 'a'], 2) !! TypeError: an integer is required",
    "lib.counter -> 5",
    "lib.ratio -> 0.25",
    "lib.VERSION -> 42",
    "lib.NEG_ONE -> -1",
    "lib.BIG_U -> 18446744073709551615",
    "lib.MAX_ITEMS -> 128",
    "lib.PI_ISH -> 3.25",
    "lib.RED -> 0",
    "lib.BLUE -> 10",
    "lib.limit -> 99",
    "lib.c_call_py_cb(3) -> 301",
    "lib.nope !! AttributeError: cembed library 'dmlib' has no function, constant or global variable named 'nope'",
    "sorted(dir(lib)) -> ['BIG_U', 'BLUE', 'GREEN', 'MAX_ITEMS', 'NEG_ONE', 'PI_ISH', 'RED', "
    "'VERSION', 'c_add', 'c_call_py_cb', 'c_len', 'c_next', 'c_noargs', 'c_not', 'c_nothing', "
    "'c_one', 'c_s64', 'c_scale', 'c_sum', 'c_uchar', 'counter', 'limit', 'py_cb', 'ratio', 'run']",
    "sorted(lib.__all__) -> ['BIG_U', 'BLUE', 'GREEN', 'MAX_ITEMS', 'NEG_ONE', 'PI_ISH', 'RED', "
    "'VERSION', 'c_add', 'c_call_py_cb', 'c_len', 'c_next', 'c_noargs', 'c_not', 'c_nothing', "
    "'c_one', 'c_s64', 'c_scale', 'c_sum', 'c_uchar', 'limit', 'py_cb', 'run']",
    "lib.__name__ -> 'dmlib.lib'",
    "lib.c_add.__name__ -> 'c_add'",
    "lib.c_add.__module__ -> 'dmlib'",
    "type(lib.c_add).__name__ -> 'builtin_function_or_method'",
    "lib.c_add is lib.c_add -> True",
    "7",
    "lib.counter = 7; out(lib.counter) ok",
    "8",
    "lib.counter += 1; out(lib.counter) ok",
    "lib.counter = 'x' !! TypeError: an integer is required",
    "lib.counter = 2**40 !! OverflowError: integer 1099511627776 does not fit 'int'",
    "2.0",
    "lib.ratio = 2; out(lib.ratio) ok",
    "lib.VERSION = 1 !! AttributeError: cannot write to function or constant 'VERSION'",
    "lib.RED = 1 !! AttributeError: cannot write to function or constant 'RED'",
    "lib.c_add = 1 !! AttributeError: cannot write to function or constant 'c_add'",
    "lib.PI_ISH = 1.0 !! AttributeError: cannot write to function or constant 'PI_ISH'",
    "lib.limit = 3 !! AttributeError: cannot write to function or constant 'limit'",
    "del lib.counter !! AttributeError: C attribute cannot be deleted",
    "del lib.VERSION !! AttributeError: C attribute cannot be deleted",
    "lib.nope = 1 !! AttributeError: cembed library 'dmlib' has no function, constant or global variable named 'nope'",
    "del lib.nope !! AttributeError: cembed library 'dmlib' has no function, constant or global variable named 'nope'",
    "2",
    "from dmlib.lib import c_add; out(c_add(1, 1)) ok",
    "8",
    "from dmlib.lib import counter; out(counter) ok",
    "42 0",
    "from dmlib.lib import VERSION, RED; out(VERSION, RED) ok",
    "from dmlib.lib import nope !! ImportError: cannot import name 'nope' from 'dmlib.lib' (unknown location)",
]
# The line of `lib.c_len(None)`: the pointer type's spelling (CFFI drops the
# const of `const char *`) is the type model's business, not lib's.
POINTER_LINE = 26


def build_and_run(project, flavor, api, cdef, source, init, host=HOST):
    p = Project(project.file(flavor))
    p.build(library_script("dmlib", api, init, "libdmlib.*", c_code=source, cdef=cdef),
            flavor=flavor)
    exe = p.gcc(host, libs=["libdmlib.so"])
    return p.run(exe, env=cffi_env() if flavor == "cffi" else None)


def check_lines(out, expected):
    """`expected` lines; None stands for a line whose text is CPython's own
    (argument-count errors: it differs between Python versions)."""
    got = out.splitlines()
    assert len(got) == len(expected), out
    for i, (g, w) in enumerate(zip(got, expected)):
        if w is not None:
            assert g == w, (i, g, w)


@pytest.mark.smoke
def test_lib_functions_globals_constants(project):
    r = build_and_run(project, "cembed", LIB_API, LIB_CDEF, LIB_SOURCE, LIB_INIT)
    check_lines(r.stdout, LIB_EXPECTED)
    assert "c_noargs() takes no arguments (1 given)" in r.stdout
    assert "c_one() takes exactly one argument (0 given)" in r.stdout
    assert r.stderr == ""


@pytest.mark.cffi
def test_lib_same_as_cffi(project):
    pytest.importorskip("cffi")
    ours = build_and_run(project, "cembed", LIB_API, LIB_CDEF, LIB_SOURCE, LIB_INIT)
    ref = build_and_run(project, "cffi", LIB_API, LIB_CDEF, LIB_SOURCE, LIB_INIT)
    check_lines(ref.stdout, LIB_EXPECTED)
    a, b = ours.stdout.splitlines(), ref.stdout.splitlines()
    del a[POINTER_LINE], b[POINTER_LINE]
    assert a == b

THREADS_CDEF = """
    void c_sleep_ms(int ms);
    int c_callback_from_thread(int v);
    extern "Python" int py_in_thread(int);
"""

THREADS_SOURCE = """
    #include <pthread.h>
    #include <time.h>
    static void c_sleep_ms(int ms) {
        struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&t, NULL);
    }
    static int py_in_thread(int);
    struct job { int in, out; };
    static void *worker(void *arg) {
        struct job *j = arg;
        j->out = py_in_thread(j->in);
        return NULL;
    }
    /* Calls Python from ANOTHER thread and waits for it: deadlocks unless the
       GIL is released while this C function runs. */
    static int c_callback_from_thread(int v) {
        pthread_t t;
        struct job j = { v, 0 };
        pthread_create(&t, NULL, worker, &j);
        pthread_join(t, NULL);
        return j.out;
    }
"""

THREADS_INIT = r'''
from dmlib import ffi, lib
import threading

@ffi.def_extern()
def py_in_thread(v):
    return v + 1000

@ffi.def_extern()
def run():
    ticks = []
    stop = threading.Event()
    def spin():
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.005)
    t = threading.Thread(target=spin)
    t.start()
    lib.c_sleep_ms(300)
    stop.set()
    t.join()
    print("other thread ran during the C call:", len(ticks) > 5, flush=True)
    print("callback from a C thread:", lib.c_callback_from_thread(7), flush=True)
'''


@pytest.mark.smoke
def test_c_calls_release_the_gil(project):
    r = build_and_run(project, "cembed", "void run(void);", THREADS_CDEF, THREADS_SOURCE,
                      THREADS_INIT)
    assert r.stdout == lines("other thread ran during the C call: True",
                             "callback from a C thread: 1007")
    assert r.stderr == ""
