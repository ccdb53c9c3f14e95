"""Isolated interpreters (issue 13): `ffibuilder.embedding_isolation(mode, size)`.

"shared" (the default) runs a library in the main interpreter, as CFFI
does; "isolated" runs its init code and calls in a subinterpreter of its
own, with its own GIL (PEP 684, CPython >= 3.12); "pool" gives it `size`
such interpreters, each running the init code once, each host thread bound
to one of them on its first call (balanced) and keeping it.

Every test builds libraries with cembed, compiles a C host with gcc and
runs it as a separate process under a timeout (a hang is an outcome, not a
stuck test run), with a clean environment (no PYTHONUNBUFFERED), and
compares its exact output. The Python side reports which interpreter runs
it through CPython's own low-level module (`_interpreters` on 3.13,
`_xxsubinterpreters` on 3.12; the main interpreter's id is 0).

On CPython < 3.12 only the first test runs: asking for isolation there is a
build error naming 3.12. The data-model differential cases
(tests/datamodel) also run here with every library isolated: same stdout
as the real cffi's expected.txt.
"""

import os
import subprocess
import sys
import sysconfig
import textwrap
import time

import pytest

from cembed_e2e import clean_env, lines
from test_torture import FORK_HOST, FORKER, Outcome

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "datamodel"))
import dm_harness  # noqa: E402

# The whole file is the smoke set (about 25 s on 3.12 or 3.13; on older
# Pythons only the build-error test runs): `./dev test` runs the smoke set on
# every CPython other than the default one, so all of it runs on 3.12 and
# 3.13 there.
pytestmark = pytest.mark.smoke

HAS_SUBINTERPRETERS = sys.version_info >= (3, 12)
needs_312 = pytest.mark.skipif(
    not HAS_SUBINTERPRETERS,
    reason="own-GIL subinterpreters need CPython >= 3.12 (PEP 684); this is %d.%d"
    % sys.version_info[:2])

# Prepended to every init code: which interpreter runs this code.
PROBE = """
import sys
if sys.version_info >= (3, 13):
    import _interpreters as _interp
    def interp_id():
        return int(_interp.get_current()[0])
else:
    import _xxsubinterpreters as _interp
    def interp_id():
        return int(_interp.get_current())
"""


def script(module, api, init, target, mode=None, size=None, cdef=None, c_code="",
           probe=True):
    """A build script (body after `import cembed as cffi`) asking for `mode`."""
    parts = ["ffibuilder = cffi.FFI()\n"]
    if cdef is not None:
        parts.append("ffibuilder.cdef(%r)\n" % textwrap.dedent(cdef))
    parts.append("ffibuilder.embedding_api(%r)\n" % textwrap.dedent(api))
    parts.append("ffibuilder.set_source(%r, %r)\n" % (module, textwrap.dedent(c_code)))
    code = (PROBE if probe else "") + textwrap.dedent(init)
    parts.append("ffibuilder.embedding_init_code(%r)\n" % code)
    if mode is not None:
        args = repr(mode) if size is None else "%r, %r" % (mode, size)
        parts.append("ffibuilder.embedding_isolation(%s)\n" % args)
    parts.append("print(ffibuilder.compile(target=%r))\n" % target)
    return "".join(parts)


def build(p, module, api, init, target, **kw):
    p.build(script(module, api, init, target, **kw), name="build_%s.py" % module)
    return target.replace(".*", ".so")


def run(exe, cwd, timeout=30, env=None, args=()):
    """test_torture's run(): a hang is an outcome (returncode 'timeout');
    undecodable output (a crash report with raw bytes) is kept, replaced."""
    t0 = time.monotonic()
    try:
        r = subprocess.run([exe] + [str(a) for a in args], cwd=cwd, env=env or clean_env(),
                           capture_output=True, text=True, errors="replace", timeout=timeout)
        return Outcome(r.returncode, r.stdout, r.stderr, time.monotonic() - t0)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return Outcome("timeout", out, err, time.monotonic() - t0)


def check(o, ok, what):
    assert ok(o), "%s\n%r" % (what, o)


# ---- CPython < 3.12: a build error -------------------------------------------------

@pytest.mark.skipif(HAS_SUBINTERPRETERS, reason="isolation is available on this Python")
@pytest.mark.parametrize("mode,size", [("isolated", None), ("pool", 2)])
def test_isolation_before_312_is_a_build_error(project, mode, size):
    r = project.build(script("iso", "int f(void);", """
        from iso import ffi
        @ffi.def_extern()
        def f():
            return 1
    """, "libiso.*", mode=mode, size=size, probe=False), check=False)
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert "3.12" in r.stderr, r.stderr
    assert not os.path.exists(project.file("libiso.so"))



# ---- a. where the code runs; what is per interpreter --------------------------------

def where_lib(name, mode):
    """A library whose init code bumps a counter on a module shared through
    sys.modules (the same object if two libraries shared an interpreter)
    and reports where it runs."""
    return dict(module="mod_" + name, api="int %s_where(void); int %s_seen(void);" % (name, name),
                init="""
        import types
        from mod_%(n)s import ffi
        probe = sys.modules.setdefault("iso_probe", types.ModuleType("iso_probe"))
        probe.count = getattr(probe, "count", 0) + 1
        probe.__dict__.setdefault("names", []).append(%(n)r)
        print("init %(n)s: count %%d, names %%s" %% (probe.count, probe.names), flush=True)
        calls = 0
        @ffi.def_extern()
        def %(n)s_where():
            global calls
            calls += 1
            return interp_id()
        @ffi.def_extern()
        def %(n)s_seen():
            return len(sys.modules["iso_probe"].names) * 100 + calls
        """ % {"n": name}, target="lib%s.*" % name, mode=mode)


WHERE_HOST = r"""
#include <stdio.h>
int a_where(void), b_where(void), s_where(void), t_where(void);
int a_seen(void), b_seen(void), s_seen(void), t_seen(void);
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int a = a_where(), b = b_where(), s = s_where(), t = t_where();
    printf("isolated a in a subinterpreter: %s\n", a != 0 ? "yes" : "no");
    printf("isolated b in a subinterpreter: %s\n", b != 0 ? "yes" : "no");
    printf("a and b in different interpreters: %s\n", a != b ? "yes" : "no");
    printf("shared s and t in the main interpreter: %s %s\n", s == 0 ? "yes" : "no",
           t == 0 ? "yes" : "no");
    printf("a again in the same interpreter: %s\n", a_where() == a ? "yes" : "no");
    printf("seen a=%d b=%d s=%d t=%d\n", a_seen(), b_seen(), s_seen(), t_seen());
    return 0;
}
"""


@needs_312
def test_isolated_libraries_get_their_own_interpreters(project):
    """Two isolated libraries and two shared ones in one process: each
    isolated one has its own interpreter (module globals, sys.modules);
    the shared ones share the main interpreter and its sys.modules, as
    CFFI's libraries do."""
    libs = [build(project, **where_lib(n, m)) for n, m in
            [("a", "isolated"), ("b", "isolated"), ("s", "shared"), ("t", None)]]
    exe = project.gcc(WHERE_HOST, libs=libs)
    o = run(exe, project.path)
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "init a: count 1, names ['a']",
        "init b: count 1, names ['b']",
        "init s: count 1, names ['s']",
        "init t: count 2, names ['s', 't']",
        "isolated a in a subinterpreter: yes",
        "isolated b in a subinterpreter: yes",
        "a and b in different interpreters: yes",
        "shared s and t in the main interpreter: yes yes",
        "a again in the same interpreter: yes",
        "seen a=102 b=101 s=201 t=201") and o.stderr == "",
          "isolated libraries each in their own interpreter")


@needs_312
def test_isolated_library_loaded_with_dlopen_after_a_shared_one(project):
    """A plug-in host: the shared library starts Python, then an isolated
    one is dlopen()ed and called; then the other way round."""
    build(project, **where_lib("a", "isolated"))
    build(project, **where_lib("s", "shared"))
    exe = project.gcc(r"""
        #include <dlfcn.h>
        #include <stdio.h>
        static int call(const char *lib, const char *fn) {
            void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
            if (!h) { printf("dlopen: %s\n", dlerror()); return -1; }
            return ((int (*)(void))dlsym(h, fn))();
        }
        int main(int argc, char **argv) {
            setvbuf(stdout, NULL, _IONBF, 0);
            (void)argc;
            int first_is_shared = argv[1][0] == 's';
            const char *l1 = first_is_shared ? "./libs.so" : "./liba.so";
            const char *l2 = first_is_shared ? "./liba.so" : "./libs.so";
            int w1 = call(l1, first_is_shared ? "s_where" : "a_where");
            int w2 = call(l2, first_is_shared ? "a_where" : "s_where");
            printf("%s %s\n", w1 == 0 ? "main" : "sub", w2 == 0 ? "main" : "sub");
            return 0;
        }
    """, out="dlhost")
    o = run(exe, project.path, args=["s"])
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "init s: count 1, names ['s']", "init a: count 1, names ['a']", "main sub"),
        "shared first, then isolated")
    o = run(exe, project.path, args=["a"])
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "init a: count 1, names ['a']", "init s: count 1, names ['s']", "sub main"),
        "isolated first, then shared")


@needs_312
def test_isolated_library_in_a_python_host(project):
    """Python itself as the host (ctypes loads the library): the library
    gets its own interpreter, the host's main interpreter is untouched, and
    the process exits cleanly (atexit of both, in the subinterpreter first)."""
    lib = build(project, module="inpy", api="int inpy_where(void);", mode="isolated", init="""
        import atexit
        from inpy import ffi
        HOST_MARK = getattr(sys.modules.get("__main__"), "HOST_MARK", None)
        atexit.register(lambda: print("library atexit", flush=True))
        @ffi.def_extern()
        def inpy_where():
            return interp_id() * 10 + (HOST_MARK is None)
    """, target="libinpy.*")
    script = project.write("host.py", """
        import atexit, ctypes, sys
        HOST_MARK = 1
        atexit.register(lambda: print("host atexit", flush=True))
        lib = ctypes.CDLL(sys.argv[1])
        r = lib.inpy_where()
        print("in a subinterpreter:", r // 10 != 0, "host's __main__ not seen:", r % 10 == 1,
              flush=True)
    """)
    o = run(sys.executable, project.path, args=[script, project.file(lib)])
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "in a subinterpreter: True host's __main__ not seen: True",
        "library atexit", "host atexit") and o.stderr == "", "a Python host")


# ---- b. a pool: binding, balance, init once per interpreter ---------------------

POOL_LIB = dict(module="pooled", api="int which(void); int bump(void);", init="""
    from pooled import ffi
    print("init in a subinterpreter:", interp_id() != 0, flush=True)
    counter = 0
    @ffi.def_extern()
    def which():
        return interp_id()
    @ffi.def_extern()
    def bump():
        global counter
        counter += 1
        return counter
""", target="libpooled.*")

POOL_HOST = r"""
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
int which(void); int bump(void);
#define N 100
#define CALLS 10
static pthread_barrier_t bound;
static int first[N], stable[N], bumps[N];
static void *worker(void *arg) {
    long i = (long)arg;
    first[i] = which();                 /* binds this thread */
    pthread_barrier_wait(&bound);       /* every thread bound before any ends */
    stable[i] = 1;
    for (int k = 0; k < CALLS; k++) {
        if (which() != first[i]) stable[i] = 0;
        bumps[i] = bump();
    }
    return NULL;
}
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_t t[N];
    pthread_barrier_init(&bound, NULL, N);
    for (long i = 0; i < N; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    int answered = 0, kept = 0, in_main = 0, ids[N], nid = 0, count[N] = {0};
    for (int i = 0; i < N; i++) {
        answered += bumps[i] > 0;
        kept += stable[i];
        in_main += first[i] == 0;
        int j = 0;
        while (j < nid && ids[j] != first[i]) j++;
        if (j == nid) ids[nid++] = first[i];
        count[j]++;
    }
    qsort(count, nid, sizeof(int), cmp);
    printf("answered %d, kept their interpreter %d, in the main interpreter %d\n",
           answered, kept, in_main);
    printf("interpreters used %d:", nid);
    for (int j = 0; j < nid; j++) printf(" %d", count[j]);
    printf("\n");
    /* Each interpreter's counter counts the calls of its threads only:
       the largest value a thread saw is at most 25 threads * 10 calls. */
    int max = 0;
    for (int i = 0; i < N; i++) if (bumps[i] > max) max = bumps[i];
    printf("module globals per interpreter: %s\n", max <= (N / 4 + 1) * CALLS ? "yes" : "no");
    return 0;
}
"""


@needs_312
def test_pool_of_4_with_100_threads(project):
    lib = build(project, mode="pool", size=4, **POOL_LIB)
    exe = project.gcc(POOL_HOST, libs=[lib])
    o = run(exe, project.path, timeout=120)
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        *["init in a subinterpreter: True"] * 4,
        "answered 100, kept their interpreter 100, in the main interpreter 0",
        "interpreters used 4: 25 25 25 25",
        "module globals per interpreter: yes") and o.stderr == "",
        "pool of 4: each interpreter initialised once, threads balanced and bound")


@needs_312
def test_pool_default_size_is_the_cpu_count(project):
    lib = build(project, mode="pool", **POOL_LIB)
    exe = project.gcc(POOL_HOST, libs=[lib])
    o = run(exe, project.path, timeout=120)
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    inits = o.stdout.count("init in a subinterpreter: True\n")
    used = [l for l in o.stdout.splitlines() if l.startswith("interpreters used")]
    check(o, lambda o: o.returncode == 0 and "answered 100, kept their interpreter 100, " \
          "in the main interpreter 0\n" in o.stdout, "every thread answered")
    # os.cpu_count() or the affinity mask: both are acceptable readings of
    # "the CPU count"; on this machine they agree.
    assert inits in {n, os.cpu_count()}, o
    assert used and used[0].startswith("interpreters used %d:" % inits), o


@needs_312
@pytest.mark.skipif(sys.version_info < (3, 13),
                    reason="counts thread states with ctypes, which 3.12 refuses in an "
                           "isolated interpreter (single-phase _ctypes)")
@pytest.mark.parametrize("mode", ["isolated", "pool"])
def test_thread_states_of_ended_host_threads_are_released(project, mode):
    """300 short-lived host threads, each calling once (half of them from a
    pthread TLS destructor, as test_torture's shared-library test does):
    no interpreter's thread states pile up."""
    lib = build(project, module="tsd", api="int add(int, int); int n_states(void);", mode=mode,
                size=2 if mode == "pool" else None, init="""
        import ctypes
        from tsd import ffi
        api = ctypes.pythonapi
        api.PyInterpreterState_Head.restype = ctypes.c_void_p
        api.PyInterpreterState_Next.restype = ctypes.c_void_p
        api.PyInterpreterState_Next.argtypes = [ctypes.c_void_p]
        api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
        api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
        api.PyThreadState_Next.restype = ctypes.c_void_p
        api.PyThreadState_Next.argtypes = [ctypes.c_void_p]
        @ffi.def_extern()
        def add(a, b):
            return a + b
        @ffi.def_extern()
        def n_states():
            # every interpreter's (the host is quiet when this runs)
            n, interp = 0, api.PyInterpreterState_Head()
            while interp:
                ts = api.PyInterpreterState_ThreadHead(interp)
                while ts:
                    n, ts = n + 1, api.PyThreadState_Next(ts)
                interp = api.PyInterpreterState_Next(interp)
            return n
    """, target="libtsd.*")
    exe = project.gcc(r"""
        #include <pthread.h>
        #include <stdio.h>
        int add(int, int); int n_states(void);
        static pthread_key_t key;
        static int sum;
        static void dtor(void *p) { (void)p; __sync_fetch_and_add(&sum, add(1, 0)); }
        static void *worker(void *a) {
            if (a) pthread_setspecific(key, (void *)1);
            else __sync_fetch_and_add(&sum, add(1, 0));
            return NULL;
        }
        static pthread_barrier_t both;
        static void *warm(void *a) { (void)a; add(0, 0); pthread_barrier_wait(&both); return NULL; }
        int main(void) {
            pthread_key_create(&key, dtor);
            /* every interpreter of the pool started (each keeps a thread
               state of its own) before counting */
            pthread_t w[2];
            pthread_barrier_init(&both, NULL, 2);
            for (int i = 0; i < 2; i++) pthread_create(&w[i], NULL, warm, NULL);
            for (int i = 0; i < 2; i++) pthread_join(w[i], NULL);
            int before = n_states();
            for (long i = 0; i < 300; i++) {
                pthread_t t; pthread_create(&t, NULL, worker, (void *)(i % 2)); pthread_join(t, NULL);
            }
            printf("calls %d, thread states added %d\n", sum, n_states() - before);
            return 0;
        }
    """, libs=[lib])
    o = run(exe, project.path, timeout=60)
    check(o, lambda o: o.returncode == 0 and o.stdout == "calls 300, thread states added 0\n",
          "no thread state leaks in a subinterpreter")


# ---- c. first calls at the same instant ----------------------------------------------

@needs_312
def test_simultaneous_first_calls(project):
    pool = build(project, mode="pool", size=4, **POOL_LIB)
    iso = build(project, module="single", api="int single_which(void);", init="""
        from single import ffi
        print("init single", flush=True)
        @ffi.def_extern()
        def single_which():
            return interp_id()
    """, target="libsingle.*", mode="isolated")
    exe = project.gcc(r"""
        #include <pthread.h>
        #include <stdio.h>
        int which(void); int single_which(void);
        #define N 32
        static pthread_barrier_t go;
        static int got[N], got1[N];
        static void *worker(void *arg) {
            long i = (long)arg;
            pthread_barrier_wait(&go);
            if (i % 2) { got[i] = which(); got1[i] = single_which(); }
            else { got1[i] = single_which(); got[i] = which(); }
            return NULL;
        }
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            pthread_t t[N];
            pthread_barrier_init(&go, NULL, N);
            for (long i = 0; i < N; i++) pthread_create(&t[i], NULL, worker, (void *)i);
            for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
            int ok = 0;
            for (int i = 0; i < N; i++) ok += got[i] > 0 && got1[i] > 0 && got1[i] == got1[0];
            printf("threads answered from subinterpreters: %d\n", ok);
            return 0;
        }
    """, libs=[pool, iso])
    expected = sorted(["init in a subinterpreter: True"] * 4 + ["init single"]) + [
        "threads answered from subinterpreters: 32"]
    for i in range(3):
        o = run(exe, project.path, timeout=60)
        out = o.stdout.splitlines()
        check(o, lambda o: o.returncode == 0 and sorted(out[:-1]) + out[-1:] == expected
              and o.stderr == "", "run %d: 32 simultaneous first calls" % i)


@needs_312
@pytest.mark.parametrize("pymalloc", [None, "debug"])
@pytest.mark.parametrize("modes", [("shared", "shared"), ("isolated", "shared"),
                                   ("isolated", "pool")])
def test_simultaneous_first_calls_into_two_libraries_many_runs(project, modes, pymalloc):
    """Two libraries whose first calls (8 threads each) come at the same
    instant, 40 runs (20 with PYTHONMALLOC=debug, whose hooks make an
    allocation without the right GIL, or a corrupted block, fatal): whichever
    library starts Python, the other one joins it (a race here made the
    second library refuse "the Python of this process", its version read as
    empty)."""
    if pymalloc == "debug" and sys.version_info >= (3, 13):
        pytest.skip("on 3.13 exit finalizes with the main thread state borrowed from its "
                    "thread (docs/architecture.md), which the debug allocator's GIL check "
                    "rejects: PYTHONMALLOC=debug runs on 3.12 and older")
    libs = []
    for name, mode in zip(("one", "two"), modes):
        libs.append(build(project, module=name, mode=mode, size=2 if mode == "pool" else None,
                          api="int %s_f(void);" % name, init="""
            from %(n)s import ffi
            @ffi.def_extern()
            def %(n)s_f():
                return 1
        """ % {"n": name}, target="lib%s.*" % name))
    exe = project.gcc(r"""
        #include <pthread.h>
        #include <stdio.h>
        int one_f(void), two_f(void);
        #define N 16
        static pthread_barrier_t go;
        static int got[N];
        static void *worker(void *arg) {
            long i = (long)arg;
            pthread_barrier_wait(&go);
            got[i] = i % 2 ? one_f() : two_f();
            return NULL;
        }
        int main(void) {
            pthread_t t[N];
            pthread_barrier_init(&go, NULL, N);
            for (long i = 0; i < N; i++) pthread_create(&t[i], NULL, worker, (void *)i);
            int ok = 0;
            for (int i = 0; i < N; i++) { pthread_join(t[i], NULL); ok += got[i]; }
            printf("%d\n", ok);
            return 0;
        }
    """, libs=libs)
    env = clean_env(PYTHONMALLOC=pymalloc) if pymalloc else clean_env()
    for i in range(20 if pymalloc else 40):
        o = run(exe, project.path, timeout=30, env=env)
        check(o, lambda o: o.returncode == 0 and o.stdout == "16\n" and o.stderr == "",
              "run %d: simultaneous first calls into %s and %s libraries, PYTHONMALLOC=%s"
              % ((i,) + modes + (pymalloc,)))


# ---- d. recursion stays in the caller's interpreter ------------------------------

@needs_312
@pytest.mark.parametrize("mode", ["isolated", "pool"])
def test_recursion_stays_in_the_callers_interpreter(project, mode):
    shared = build(project, module="main_side", api="int s_where(void); int s_calls_rec(void);",
                   init="""
        from main_side import ffi, lib
        @ffi.def_extern()
        def s_where():
            return interp_id()
        @ffi.def_extern()
        def s_calls_rec():
            # shared Python -> C -> the isolated library's exported function
            return lib.c_rec_where()
    """, target="libmainside.*", cdef="int c_rec_where(void);", c_code="""
        #include <dlfcn.h>
        static int c_rec_where(void) {
            return ((int (*)(void))dlsym(RTLD_DEFAULT, "rec_where"))();
        }
    """)
    rec = build(project, module="rec", mode=mode, size=2 if mode == "pool" else None,
                api="int rec_where(void); int rec_depth(int); int rec_via_shared(void);",
                cdef="""
        int c_back(int);
        int c_shared_where(void);
        extern "Python" int py_inner(int);
    """, c_code="""
        #include <dlfcn.h>
        static int py_inner(int);
        static int c_back(int n) { return py_inner(n); }
        static int c_shared_where(void) {
            return ((int (*)(void))dlsym(RTLD_DEFAULT, "s_where"))();
        }
    """, init="""
        from rec import ffi, lib
        @ffi.def_extern()
        def rec_where():
            return interp_id()
        @ffi.def_extern()
        def py_inner(n):
            # Python -> C -> Python of the same library, n levels deep: every
            # level in this interpreter (-1 otherwise).
            if n == 0:
                return interp_id()
            inner = lib.c_back(n - 1)
            return inner if inner == interp_id() else -1
        @ffi.def_extern()
        def rec_depth(n):
            return int(lib.c_back(n) == interp_id())
        @ffi.def_extern()
        def rec_via_shared():
            # isolated Python -> C -> a shared library's function: the main
            # interpreter runs it, and we are back here afterwards.
            there = lib.c_shared_where()
            return int(there == 0 and interp_id() != 0)
    """, target="librec.*")
    exe = project.gcc(r"""
        #include <stdio.h>
        int rec_where(void), rec_depth(int), rec_via_shared(void), s_calls_rec(void), s_where(void);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            int me = rec_where();
            printf("isolated: %s\n", me != 0 ? "yes" : "no");
            printf("1 level in the same interpreter: %d\n", rec_depth(1));
            printf("20 levels in the same interpreter: %d\n", rec_depth(20));
            printf("isolated -> C -> shared runs in the main interpreter: %d\n", rec_via_shared());
            printf("shared -> C -> isolated runs in the isolated one: %s\n",
                   s_calls_rec() == me ? "yes" : "no");
            printf("shared itself in main: %s\n", s_where() == 0 ? "yes" : "no");
            return 0;
        }
    """, libs=[shared, rec])
    o = run(exe, project.path)
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "isolated: yes",
        "1 level in the same interpreter: 1",
        "20 levels in the same interpreter: 1",
        "isolated -> C -> shared runs in the main interpreter: 1",
        "shared -> C -> isolated runs in the isolated one: yes",
        "shared itself in main: yes") and o.stderr == "", "recursion across interpreters")


def pingpong_lib(me, other, mode):
    return dict(module="pp_" + me, mode=mode, size=2 if mode == "pool" else None,
                target="libpp%s.*" % me,
                api="int %(m)s_bounce(int); int %(m)s_where(void);" % {"m": me},
                cdef="int c_other(int);", c_code="""
        #include <dlfcn.h>
        static int c_other(int n) {
            return ((int (*)(int))dlsym(RTLD_DEFAULT, "%(o)s_bounce"))(n);
        }
    """ % {"o": other}, init="""
        from pp_%(m)s import ffi, lib
        @ffi.def_extern()
        def %(m)s_where():
            return interp_id()
        @ffi.def_extern()
        def %(m)s_bounce(n):
            # %(m)s -> C -> %(o)s -> C -> %(m)s ...: each level in its own
            # library's interpreter, still there after the inner calls.
            here = interp_id()
            inner = 0 if n == 0 else lib.c_other(n - 1)
            if inner < 0 or interp_id() != here:
                return -1
            return inner + 1
    """ % {"m": me, "o": other})


@needs_312
@pytest.mark.parametrize("modes", [("isolated", "isolated"), ("isolated", "shared"),
                                   ("pool", "isolated")])
def test_ping_pong_between_interpreters(project, modes):
    libs = [build(project, **pingpong_lib("a", "b", modes[0])),
            build(project, **pingpong_lib("b", "a", modes[1]))]
    exe = project.gcc(r"""
        #include <pthread.h>
        #include <stdio.h>
        int a_bounce(int), b_bounce(int), a_where(void), b_where(void);
        static int res[4];
        static void *worker(void *arg) {
            long i = (long)arg;
            res[i] = i % 2 ? a_bounce(30) : b_bounce(30);
            return NULL;
        }
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("different interpreters: %s\n", a_where() != b_where() ? "yes" : "no");
            printf("a -> b -> a ... 31 levels: %d\n", a_bounce(30));
            printf("b -> a -> b ... 31 levels: %d\n", b_bounce(30));
            pthread_t t[4];
            for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, (void *)i);
            for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
            printf("4 threads: %d %d %d %d\n", res[0], res[1], res[2], res[3]);
            return 0;
        }
    """, libs=libs)
    o = run(exe, project.path)
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "different interpreters: yes", "a -> b -> a ... 31 levels: 31",
        "b -> a -> b ... 31 levels: 31", "4 threads: 31 31 31 31") and o.stderr == "",
        "ping-pong between interpreters")


# ---- e. handles and cdata memory between interpreters -------------------------------

REC_T = "typedef struct { int x; double y; char name[8]; } rec_t;\n"


def handle_lib(name, mode):
    return dict(module="h_" + name, mode=mode, target="libh%s.*" % name, api=REC_T + """
        void *%(n)s_make(void);
        int %(n)s_use(void *);
        rec_t *%(n)s_fill(void);
        int %(n)s_read(rec_t *);
    """ % {"n": name}, cdef="void *malloc(size_t); void free(void *);",
        c_code="#include <stdlib.h>\n" + REC_T, init="""
        from h_%(n)s import ffi, lib
        class Thing:
            def __init__(self, v):
                self.v = v
        keep = []
        @ffi.def_extern()
        def %(n)s_make():
            h = ffi.new_handle(Thing(%(v)d))
            keep.append(h)
            return h
        @ffi.def_extern(error=-1)
        def %(n)s_use(p):
            return ffi.from_handle(p).v
        @ffi.def_extern()
        def %(n)s_fill():
            p = ffi.cast("rec_t *", lib.malloc(ffi.sizeof("rec_t")))
            p.x, p.y, p.name = 7, 2.5, b"abc"
            return p
        @ffi.def_extern()
        def %(n)s_read(p):
            print("%(n)s reads", p.x, p.y, ffi.string(p.name), flush=True)
            lib.free(p)
            return 1
    """ % {"n": name, "v": {"a": 11, "b": 22, "s": 33}[name]})


@needs_312
def test_handles_are_refused_in_another_interpreter_cdata_memory_is_not(project):
    libs = [build(project, **handle_lib(n, m))
            for n, m in [("a", "isolated"), ("b", "isolated"), ("s", "shared")]]
    exe = project.gcc(r"""
        #include <stdio.h>
        #include "rec.h"
        void *a_make(void), *b_make(void), *s_make(void);
        int a_use(void *), b_use(void *), s_use(void *);
        rec_t *a_fill(void), *s_fill(void);
        int b_read(rec_t *), s_read(rec_t *);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            void *ha = a_make(), *hb = b_make();
            printf("a's handle in a: %d\n", a_use(ha));
            printf("b's handle in b: %d\n", b_use(hb));
            printf("a's handle in b: %d\n", b_use(ha));
            printf("a's handle in the main interpreter: %d\n", s_use(ha));
            printf("b still works: %d\n", b_use(hb));
            printf("read %d\n", b_read(a_fill()));
            printf("read %d\n", s_read(a_fill()));
            printf("read %d\n", b_read(s_fill()));
            return 0;
        }
    """.replace('#include "rec.h"', REC_T), libs=libs)
    o = run(exe, project.path)
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "a's handle in a: 11",
        "b's handle in b: 22",
        "a's handle in b: -1",
        "a's handle in the main interpreter: -1",
        "b still works: 22",
        "b reads 7 2.5 b'abc'", "read 1",
        "s reads 7 2.5 b'abc'", "read 1",
        "b reads 7 2.5 b'abc'", "read 1"), "handles refused, memory shared")
    # Reported like any exception in a def_extern function, twice (b, s),
    # with a message that says what happened.
    # (CFFI's "From cffi callback <function ...>:", "Exception ignored from
    # cffi callback ..." on 3.12+.)
    assert o.stderr.lower().count("from cffi callback") == 2, o
    assert o.stderr.count("Traceback (most recent call last)") == 2, o
    errors = [l for l in o.stderr.splitlines() if l and not l.startswith((" ", "Traceback"))
              and "from cffi callback" not in l.lower()]
    assert len(errors) == 2 and all("interpreter" in e for e in errors), o


@needs_312
def test_handle_from_another_pool_interpreter_is_refused(project):
    """The pure case: one library, a pool of 2; the handle is made by the
    main thread's interpreter and used by a thread bound to the other one."""
    lib = build(project, module="ph", mode="pool", size=2,
                api="void *make(void); int use(void *); int where(void);", init="""
        from ph import ffi
        keep = []
        @ffi.def_extern()
        def make():
            h = ffi.new_handle([42])
            keep.append(h)
            return h
        @ffi.def_extern(error=-1)
        def use(p):
            return ffi.from_handle(p)[0]
        @ffi.def_extern()
        def where():
            return interp_id()
    """, target="libph.*")
    exe = project.gcc(r"""
        #include <pthread.h>
        #include <stdio.h>
        void *make(void); int use(void *); int where(void);
        static void *h;
        static void *other(void *a) {
            (void)a;
            printf("other thread, other interpreter: %s\n", where() != where_main ? "yes" : "no");
            printf("other thread uses the handle: %d\n", use(h));
            return NULL;
        }
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            h = make();
            printf("main thread uses the handle: %d\n", use(h));
            pthread_t t; pthread_create(&t, NULL, other, NULL); pthread_join(t, NULL);
            printf("main thread again: %d\n", use(h));
            return 0;
        }
    """.replace("static void *h;", "static void *h; static int where_main;")
       .replace("h = make();", "h = make(); where_main = where();"), libs=[lib])
    o = run(exe, project.path)
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "main thread uses the handle: 42", "other thread, other interpreter: yes",
        "other thread uses the handle: -1", "main thread again: 42"), "handle refused")
    assert o.stderr.lower().count("from cffi callback") == 1, o
    last = o.stderr.strip().splitlines()[-1]
    assert "interpreter" in last, o


# ---- f. a failing init stays with its interpreter ---------------------------------

@needs_312
def test_failing_init_affects_only_its_interpreter(project):
    bad = build(project, module="bad", api="int bad(void);", mode="isolated", init="""
        from bad import ffi
        @ffi.def_extern()
        def bad():
            return 1
        raise RuntimeError("bad init")
    """, target="libbad.*")
    # The first pool interpreter to start fails, the second does not.
    flaky = build(project, module="flaky", api="int flaky(void);", mode="pool", size=2, init="""
        import os
        from flaky import ffi
        @ffi.def_extern()
        def flaky():
            return 42
        try:
            os.close(os.open(os.path.join(os.environ["MARKER_DIR"], "first"),
                             os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            raise RuntimeError("first pool interpreter fails")
    """, target="libflaky.*")
    good = build(project, module="good", api="int good(void);", mode="isolated", init="""
        from good import ffi
        @ffi.def_extern()
        def good():
            return 7
    """, target="libgood.*")
    exe = project.gcc(r"""
        #include <pthread.h>
        #include <stdio.h>
        int bad(void), flaky(void), good(void);
        static void *other(void *a) {
            (void)a;
            printf("thread 2: flaky %d\n", flaky());
            printf("thread 2: flaky %d\n", flaky());
            return NULL;
        }
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("bad %d\n", bad());
            printf("good %d\n", good());
            printf("bad %d\n", bad());
            printf("main: flaky %d\n", flaky());
            pthread_t t; pthread_create(&t, NULL, other, NULL); pthread_join(t, NULL);
            printf("main: flaky %d\n", flaky());
            printf("good %d\n", good());
            return 0;
        }
    """, libs=[bad, flaky, good])
    o = run(exe, project.path, env=clean_env(MARKER_DIR=project.path))
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "bad 0", "good 7", "bad 0", "main: flaky 0", "thread 2: flaky 42",
        "thread 2: flaky 42", "main: flaky 0", "good 7"), "failures stay local")
    # Reported as today: CFFI's message naming the module, the traceback.
    assert "RuntimeError: bad init" in o.stderr, o
    assert "RuntimeError: first pool interpreter fails" in o.stderr, o
    assert "bad" in o.stderr and "flaky" in o.stderr, o


@needs_312
@pytest.mark.parametrize("mode", ["isolated", "pool"])
def test_cembed_start_python_and_init_error_in_isolated_libraries(project, mode):
    """cembed_start_python() (and CFFI's cffi_start_python()) called from
    set_source() code start the calling thread's interpreter and run its
    init code; a failing init gives -1 and cembed_init_error()'s text."""
    libs = []
    for name, fail in [("startok", False), ("startbad", True)]:
        libs.append(build(project, module=name, mode=mode, size=2 if mode == "pool" else None,
                          api="int %s_f(void);" % name, c_code="""
            CFFI_DLLEXPORT int %(n)s_start(void) { return cembed_start_python(); }
            CFFI_DLLEXPORT const char *%(n)s_error(void) { return cembed_init_error(); }
        """ % {"n": name}, init="""
            from %(n)s import ffi
            print("init %(n)s in a subinterpreter:", interp_id() != 0, flush=True)
            @ffi.def_extern()
            def %(n)s_f():
                return 7
            %(fail)s
        """ % {"n": name, "fail": "raise ValueError('init fails')" if fail else ""},
            target="lib%s.*" % name))
    exe = project.gcc(r"""
        #include <stdio.h>
        #include <string.h>
        int startok_start(void), startbad_start(void), startok_f(void), startbad_f(void);
        const char *startok_error(void), *startbad_error(void);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("start ok: %d\n", startok_start());
            printf("again: %d\n", startok_start());
            printf("f: %d\n", startok_f());
            printf("no error: %s\n", startok_error() == NULL ? "yes" : "no");
            printf("start bad: %d\n", startbad_start());
            const char *e = startbad_error();
            printf("error text names it: %s\n", e && strstr(e, "init fails") ? "yes" : "no");
            printf("f: %d\n", startbad_f());
            return 0;
        }
    """, libs=libs)
    o = run(exe, project.path)
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "init startok in a subinterpreter: True", "start ok: 0", "again: 0", "f: 7",
        "no error: yes", "init startbad in a subinterpreter: True", "start bad: -1",
        "error text names it: yes", "f: 0"), "cembed_start_python in isolated libraries")


# ---- g. exit -------------------------------------------------------------------------

EXIT_INIT = """
    import atexit
    from %(m)s import ffi
    atexit.register(lambda: print("%(m)s atexit in", "main" if interp_id() == 0 else "sub"))
    @ffi.def_extern()
    def %(m)s_call():
        print("%(m)s buffered")          # no flush: stdout is a pipe
        return interp_id()
"""

EXIT_HOST = r"""
#include <pthread.h>
#include <stdio.h>
int ex_iso_call(void), ex_pool_call(void), ex_main_call(void);
static pthread_barrier_t both;
static void *worker(void *a) {
    (void)a;
    ex_pool_call();
    pthread_barrier_wait(&both);   /* both pool interpreters bound */
    return NULL;
}
int main(void) {
    pthread_t t[2];
    pthread_barrier_init(&both, NULL, 2);
    ex_main_call();
    ex_iso_call();
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    return 0;
}
"""


def exit_libs(project):
    return [build(project, module=m, api="int %s_call(void);" % m, init=EXIT_INIT % {"m": m},
                  target="lib%s.*" % m, mode=mode, size=size)
            for m, mode, size in [("ex_iso", "isolated", None), ("ex_pool", "pool", 2),
                                  ("ex_main", "shared", None)]]


@needs_312
def test_exit_runs_atexit_and_flushes_in_every_interpreter(project):
    exe = project.gcc(EXIT_HOST, libs=exit_libs(project))
    o = run(exe, project.path, timeout=30)
    out = o.stdout.splitlines()
    expected = sorted(["ex_iso buffered", "ex_iso atexit in sub"]
                      + ["ex_pool buffered", "ex_pool atexit in sub"] * 2
                      + ["ex_main buffered", "ex_main atexit in main"])
    check(o, lambda o: o.returncode == 0 and sorted(out) == expected and o.stderr == "",
          "every interpreter's atexit handlers ran and its buffered output appeared")
    # Per interpreter, in program order: the call's line, then the handler's.
    assert out.index("ex_iso buffered") < out.index("ex_iso atexit in sub"), o
    assert out.index("ex_main buffered") < out.index("ex_main atexit in main"), o


@needs_312
def test_exit_ends_subinterpreters_before_the_main_one(project):
    """"Subinterpreters are ended before the main one": every line a
    subinterpreter wrote (its buffered output, its atexit handlers) comes
    before the main interpreter's atexit handler."""
    exe = project.gcc(EXIT_HOST, libs=exit_libs(project))
    o = run(exe, project.path, timeout=30)
    out = o.stdout.splitlines()
    check(o, lambda o: o.returncode == 0 and len(out) == 8 and
          out[-1] == "ex_main atexit in main" and
          all(not l.startswith("ex_main") for l in out[:-2]),
          "subinterpreters' lines first, then the main interpreter's")


@needs_312
def test_atexit_handlers_calling_across_interpreters(project):
    """An isolated library's atexit handler calls (through C) a shared
    library: the main interpreter is still there, the call works. The
    shared library's atexit handler, which runs after the isolated one's,
    calls the isolated library: its interpreter has run its exit work but
    still serves calls (it is ended after the main interpreter's exit work),
    without running the init code again."""
    shared = build(project, module="xs", api="int xs_double(int); int xs_arm(void);",
                   cdef="int c_iso_triple(int);", c_code="""
        #include <dlfcn.h>
        static int c_iso_triple(int x) {
            return ((int (*)(int))dlsym(RTLD_DEFAULT, "xi_triple"))(x);
        }
    """, init="""
        import atexit
        from xs import ffi, lib
        @ffi.def_extern()
        def xs_double(x):
            return 2 * x
        @ffi.def_extern()
        def xs_arm():
            atexit.register(lambda: print("main atexit: isolated gives",
                                          lib.c_iso_triple(5), flush=True))
            return 1
    """, target="libxs.*")
    iso = build(project, module="xi", api="int xi_triple(int); int xi_arm(void);",
                mode="isolated", cdef="int c_shared_double(int);", c_code="""
        #include <dlfcn.h>
        static int c_shared_double(int x) {
            return ((int (*)(int))dlsym(RTLD_DEFAULT, "xs_double"))(x);
        }
    """, init="""
        import atexit
        from xi import ffi, lib
        print("isolated init", flush=True)
        @ffi.def_extern()
        def xi_triple(x):
            return 3 * x
        @ffi.def_extern()
        def xi_arm():
            atexit.register(lambda: print("isolated atexit: shared gives",
                                          lib.c_shared_double(20), flush=True))
            return 1
    """, target="libxi.*")
    exe = project.gcc(r"""
        #include <stdio.h>
        int xs_arm(void), xi_arm(void);
        int main(void) { return xs_arm() + xi_arm() == 2 ? 0 : 1; }
    """, libs=[shared, iso])
    o = run(exe, project.path, timeout=40)
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "isolated init", "isolated atexit: shared gives 40", "main atexit: isolated gives 15")
        and o.stderr == "" and o.seconds < 15,
        "atexit handlers calling into the other interpreter")


@needs_312
@pytest.mark.parametrize("mode", ["isolated", "pool"])
def test_exit_with_threads_still_calling_does_not_hang(project, mode):
    lib = build(project, module="busy", api="int spin(void); int nap(void);", mode=mode,
                size=2 if mode == "pool" else None, init="""
        import time
        from busy import ffi
        @ffi.def_extern()
        def spin():
            return sum(range(1000))
        @ffi.def_extern()
        def nap():
            time.sleep(60)            # still inside this call at exit
            return 1
    """, target="libbusy.*")
    exe = project.gcc(r"""
        #include <pthread.h>
        #include <stdio.h>
        #include <unistd.h>
        int spin(void), nap(void);
        static void *looper(void *a) { (void)a; for (;;) spin(); return NULL; }
        static void *napper(void *a) { (void)a; nap(); return NULL; }
        int main(void) {
            pthread_t t;
            printf("first %d\n", spin());
            for (int i = 0; i < 3; i++) pthread_create(&t, NULL, looper, NULL);
            pthread_create(&t, NULL, napper, NULL);
            usleep(300000);
            printf("exiting\n");
            return 3;
        }
    """, libs=[lib])
    for i in range(2):
        o = run(exe, project.path, timeout=40)
        check(o, lambda o: o.returncode == 3 and o.stdout == "first 499500\nexiting\n"
              and o.seconds < 15, "run %d: exit with threads inside the library" % i)


@needs_312
@pytest.mark.parametrize("mode", ["isolated", "pool"])
def test_exit_with_a_thread_spinning_in_python(project, mode):
    """A host thread spins in pure Python (holding its interpreter's own GIL,
    with no other thread there to ask for it) when the host returns."""
    lib = build(project, module="spinner", api="int spin_forever(void); int one(void);",
                mode=mode, size=2 if mode == "pool" else None, init="""
        from spinner import ffi
        @ffi.def_extern()
        def one():
            return 1
        @ffi.def_extern()
        def spin_forever():
            while True:
                pass
    """, target="libspinner.*")
    exe = project.gcc(r"""
        #include <pthread.h>
        #include <stdio.h>
        #include <unistd.h>
        int spin_forever(void), one(void);
        static void *spinner(void *a) { (void)a; spin_forever(); return NULL; }
        int main(void) {
            pthread_t t;
            printf("one %d\n", one());
            pthread_create(&t, NULL, spinner, NULL);
            usleep(300000);
            printf("exiting\n");
            return 3;
        }
    """, libs=[lib])
    o = run(exe, project.path, timeout=40)
    check(o, lambda o: o.returncode == 3 and o.stdout == "one 1\nexiting\n"
          and o.seconds < 15, "exit with a thread spinning in a subinterpreter")


@needs_312
def test_exit_with_python_threads_inside_a_subinterpreter(project):
    """Threads the init code started inside the isolated interpreter (only
    non-daemon ones: an isolated interpreter refuses daemon threads, as
    CPython's isolated configuration does). One that ends is joined before
    that interpreter's atexit handlers, as in the main interpreter; one
    that never ends does not keep the host alive and does not crash it
    (CPython's Py_EndInterpreter aborts with threads left:
    python/cpython#128639)."""
    lib = build(project, module="pythreads", api="int start(int);", mode="isolated", init="""
        import atexit, threading, time
        from pythreads import ffi
        def worker():
            time.sleep(0.3)
            print("non-daemon thread done", flush=True)
        def forever():
            while True:
                time.sleep(0.01)
        atexit.register(lambda: print("isolated atexit", flush=True))
        @ffi.def_extern()
        def start(endless):
            threading.Thread(target=forever if endless else worker).start()
            try:
                threading.Thread(target=forever, daemon=True).start()
            except RuntimeError as e:
                print("daemon thread:", e, flush=True)
            return 1
    """, target="libpythreads.*")
    exe = project.gcc(r"""
        #include <stdio.h>
        int start(int);
        int main(int argc, char **argv) {
            (void)argv;
            setvbuf(stdout, NULL, _IONBF, 0);
            return start(argc > 1) == 1 ? 0 : 1;
        }
    """, libs=[lib])
    refused = "daemon thread: daemon threads are disabled in this (sub)interpreter"
    for i in range(2):
        o = run(exe, project.path, timeout=40)
        check(o, lambda o: o.returncode == 0 and o.stdout == lines(
            refused, "non-daemon thread done", "isolated atexit") and o.stderr == ""
            and o.seconds < 15, "run %d: a non-daemon thread in the subinterpreter" % i)
    o = run(exe, project.path, args=["endless"], timeout=40)
    check(o, lambda o: o.returncode == 0 and o.stdout.startswith(refused + "\n")
          and "Fatal Python error" not in o.stderr and o.seconds < 15,
          "a never-ending non-daemon thread in the subinterpreter")


# ---- h. fork -------------------------------------------------------------------------

@needs_312
@pytest.mark.parametrize("mode", ["isolated", "pool"])
def test_fork_child_gets_a_fresh_interpreter(project, mode):
    lib = build(project, module="forky", api="int work(int);", mode=mode,
                size=2 if mode == "pool" else None, init="""
        import os
        from forky import ffi
        print("init in", "main" if interp_id() == 0 else "sub", flush=True)
        calls = 0
        @ffi.def_extern()
        def work(x):
            global calls
            calls += 1
            return x * 100 + calls
    """, target="libforky.*")
    exe = project.gcc(r"""
        #include <stdio.h>
        #include <stdlib.h>
        #include <sys/wait.h>
        #include <unistd.h>
        int work(int);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("parent %d\n", work(1));
            pid_t pid = fork();
            if (pid == 0) {
                printf("child %d\n", work(2));
                printf("child %d\n", work(3));
                exit(0);
            }
            int st; waitpid(pid, &st, 0);
            printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
            printf("parent %d\n", work(4));
            return 0;
        }
    """, libs=[lib])
    o = run(exe, project.path)
    # The child's interpreter is fresh: init ran again, its counter restarts.
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "init in sub", "parent 101", "init in sub", "child 201", "child 302",
        "child exit 0", "parent 402"), "fork child with an isolated library")


@needs_312
@pytest.mark.parametrize("parent_first", ["shared", "isolated"])
@pytest.mark.parametrize("child_first", ["shared", "isolated"])
def test_fork_child_uses_shared_and_isolated_libraries(project, parent_first, child_first):
    libs = [build(project, **where_lib("a", "isolated")), build(project, **where_lib("s", "shared"))]
    exe = project.gcc(r"""
        #include <stdio.h>
        #include <stdlib.h>
        #include <sys/wait.h>
        #include <unistd.h>
        int a_where(void), s_where(void), a_seen(void), s_seen(void);
        static void both(const char *who, char first) {
            /* one call per statement: C leaves the order of arguments open */
            if (first == 's') printf("%s: s in main %d\n", who, s_where() == 0);
            printf("%s: a in sub %d\n", who, a_where() != 0);
            if (first != 's') printf("%s: s in main %d\n", who, s_where() == 0);
        }
        int main(int argc, char **argv) {
            (void)argc;
            setvbuf(stdout, NULL, _IONBF, 0);
            both("parent", argv[1][0]);
            pid_t pid = fork();
            if (pid == 0) {
                both("child", argv[2][0]);
                printf("child: seen s=%d\n", s_seen());
                printf("child: seen a=%d\n", a_seen());
                exit(0);
            }
            int st; waitpid(pid, &st, 0);
            printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
            printf("parent: seen s=%d\n", s_seen());
            printf("parent: seen a=%d\n", a_seen());
            return 0;
        }
    """, libs=libs)
    o = run(exe, project.path, args=[parent_first, child_first])
    init_a, init_s = "init a: count 1, names ['a']", "init s: count 1, names ['s']"

    def calls(who, first, inits):
        a = ([init_a] if inits else []) + ["%s: a in sub 1" % who]
        s = ([init_s] if inits else []) + ["%s: s in main 1" % who]
        return s + a if first == "shared" else a + s
    # The child's isolated interpreter is new (init again, calls from 1);
    # the main interpreter is the parent's copy, as fork gives it.
    child = calls("child", child_first, False)
    child.insert(child.index("child: a in sub 1"), init_a)
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        *calls("parent", parent_first, True), *child,
        "child: seen s=102", "child: seen a=101", "child exit 0",
        "parent: seen s=101", "parent: seen a=101") and o.stderr == "",
        "fork with shared and isolated: %s first in the parent, %s first in the child"
        % (parent_first, child_first))


@needs_312
def test_fork_from_a_python_host(project):
    """Python itself is the host and forks (os.fork() in its main
    interpreter) after using an isolated library: the child uses it again."""
    lib = build(project, **where_lib("a", "isolated"))
    script = project.write("host.py", """
        import ctypes, os, sys
        lib = ctypes.CDLL(sys.argv[1])
        print("parent: sub", lib.a_where() != 0, flush=True)
        pid = os.fork()
        if pid == 0:
            print("child: sub", lib.a_where() != 0, "seen", lib.a_seen(), flush=True)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print("child exit", os.waitstatus_to_exitcode(status), flush=True)
        print("parent: seen", lib.a_seen(), flush=True)
    """)
    o = run(sys.executable, project.path, args=[script, project.file(lib)])
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "init a: count 1, names ['a']", "parent: sub True",
        "init a: count 1, names ['a']", "child: sub True seen 101", "child exit 0",
        "parent: seen 101") and o.stderr == "", "fork in a Python host")


@needs_312
@pytest.mark.parametrize("mode", ["isolated", "pool"])
@pytest.mark.parametrize("scenario", ["busy", "quiet"])
def test_torture_fork_scenarios_isolated(project, mode, scenario):
    """tests/test_torture.py's fork scenarios (fork while three threads are
    busy in the library; 20 children that never call it) with the library
    isolated. (The third, os.fork() from Python code, does not apply: an
    isolated subinterpreter refuses os.fork(), as CPython does.)"""
    module, api, init, target, kw = FORKER
    lib = build(project, module, api, init, target, mode=mode,
                size=2 if mode == "pool" else None, probe=False, **kw)
    exe = project.gcc(FORK_HOST, libs=[lib])
    if scenario == "busy":
        expected = "".join("child %d: 42\nchild %d exit 0\n" % (k, k) for k in range(5))
    else:
        expected = "20 children: fast\n"
    o = run(exe, project.path, args=[scenario], timeout=60)
    check(o, lambda o: o.returncode == 0 and o.stdout == expected, "fork scenario " + scenario)


# ---- i. single-phase-init extension modules ---------------------------------------

SINGLE_PHASE_EXT = r"""
#include <Python.h>
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "spext", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_spext(void) {
    PyObject *m = PyModule_Create(&def);
    if (m && PyModule_AddIntConstant(m, "VALUE", 7) < 0) { Py_DECREF(m); return NULL; }
    return m;
}
"""


@needs_312
def test_single_phase_extension_import_says_how_to_switch_to_shared(project):
    extdir = os.path.join(project.path, "ext")
    os.makedirs(extdir)
    src = project.write("spext.c", SINGLE_PHASE_EXT)
    so = os.path.join(extdir, "spext" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", so, src,
                    "-I", sysconfig.get_paths()["include"]], check=True)
    init = """
        import os
        sys.path.insert(0, os.environ["EXT_DIR"])
        from %(m)s import ffi
        %(top)s
        @ffi.def_extern(error=-1)
        def %(m)s_value():
            import spext
            return spext.VALUE
    """
    libs = [build(project, module=m, api="int %s_value(void);" % m, mode=mode,
                  init=init % {"m": m, "top": top}, target="lib%s.*" % m)
            for m, mode, top in [("sp_iso_init", "isolated", "import spext"),
                                 ("sp_iso_call", "isolated", ""),
                                 ("sp_shared", "shared", "import spext")]]
    exe = project.gcc(r"""
        #include <stdio.h>
        int sp_shared_value(void), sp_iso_init_value(void), sp_iso_call_value(void);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("isolated, import in the init code %d\n", sp_iso_init_value());
            printf("isolated, import in a call %d\n", sp_iso_call_value());
            printf("shared %d\n", sp_shared_value());
            return 0;
        }
    """, libs=libs)
    o = run(exe, project.path, env=clean_env(EXT_DIR=extdir))
    check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "isolated, import in the init code 0", "isolated, import in a call -1", "shared 7"),
        "the shared library imports it, the isolated ones cannot")
    # Both failures: an ImportError that names the module, says the library
    # is isolated and how to make it shared.
    reports = o.stderr.split("ImportError")[1:]
    assert len(reports) >= 2, o
    for r in reports[:2]:
        assert "spext" in r and "isolated" in r, o
        assert 'embedding_isolation("shared")' in r, o
    assert "sp_iso_init" in o.stderr, o


# ---- j. the data-model differential cases, isolated --------------------------------

def _dm_params():
    out = []
    for case in dm_harness.discover_cases():
        out.append(pytest.param(case, id=case.name, marks=[pytest.mark.datamodel]))
    return out


@needs_312
@pytest.mark.parametrize("case", _dm_params())
def test_datamodel_case_isolated(case, tmp_path):
    """The case's library built with embedding_isolation("isolated"): the
    same stdout as the real cffi's (expected.txt)."""
    res = dm_harness.build_and_run(case, "cembed", tmp_path / "iso", isolation="isolated")
    # The generated C says where the library runs: make sure the request
    # reached it (a harness that silently built shared libraries would pass).
    generated = [p.read_text() for p in (tmp_path / "iso").glob("*.c") if p.name != "host.c"]
    assert any(".isolation = CEMBED_ISOLATION_ISOLATED" in c for c in generated), \
        "%s: no generated C asks for an isolated interpreter" % case.name
    dm_harness.check_result(case, "cembed isolated", res, case.expected_path.read_text())
