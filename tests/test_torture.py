"""Reliability inside someone else's process: one host program per scenario
of exit, fork, thread end, signals and module lifetime, each run as a
separate process under a timeout, its exact output compared.

Where CFFI defines the behaviour, the same build script and host also run
with the real `cffi` (`reference_with_cffi`): its outcome is printed with
the test (pytest -rA shows it) so that the comparison is visible, and the
test requires cembed to do at least as well. Several scenarios are exactly
where CFFI crashes, hangs or loses data; cembed must not.

A failure names the scenario and shows the host's exit status, stdout and
stderr.
"""

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import textwrap
import time

import pytest

from cembed_e2e import UNBUFFERED_MAIN, clean_env, cffi_env, library_script, lines

PYVER = "%d.%d" % sys.version_info[:2]


class Outcome:
    def __init__(self, returncode, stdout, stderr, seconds):
        self.returncode, self.stdout, self.stderr, self.seconds = \
            returncode, stdout, stderr, seconds

    def __repr__(self):
        return "exit %s after %.2fs\n--- stdout ---\n%s--- stderr ---\n%s" % (
            self.returncode, self.seconds, self.stdout, self.stderr)


def run(exe, cwd, timeout=30, env=None, args=()):
    """Runs a host; a hang is an outcome (returncode 'timeout'), not an error."""
    t0 = time.monotonic()
    try:
        r = subprocess.run([exe] + list(args), cwd=cwd, env=env or clean_env(),
                           capture_output=True, text=True, timeout=timeout)
        return Outcome(r.returncode, r.stdout, r.stderr, time.monotonic() - t0)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        return Outcome("timeout", out, err, time.monotonic() - t0)


def build(project, module, api, init, target, flavor="cembed", **kw):
    script = library_script(module, api, init, target, **kw)
    r = project.build(script, name="build_%s_%s.py" % (module, flavor), flavor=flavor)
    return r.stdout.strip().splitlines()[-1]


def host(project, source, libs, out="host", cxx=False, extra=()):
    src = project.write(out + (".cc" if cxx else ".c"), source)
    exe = project.file(out)
    cmd = ["g++" if cxx else "gcc", "-Wall", "-Werror", "-o", exe, src]
    cmd += [project.file(lib) for lib in libs]
    cmd += ["-Wl,-rpath,$ORIGIN", "-lpthread", "-ldl"] + list(extra)
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, "compiler failed:\n%s\n%s" % (" ".join(cmd), r.stderr)
    return exe


class Scenario:
    """One scenario in two flavours (cembed, cffi), each in its own folder."""

    def __init__(self, tmp_path, name):
        from cembed_e2e import Project
        self.name = name
        self.p = {f: Project(tmp_path / f) for f in ("cembed", "cffi")}
        for p in self.p.values():
            os.makedirs(p.path, exist_ok=True)

    def make(self, flavor, libs, host_src, cxx=False, extra=()):
        p = self.p[flavor]
        for (module, api, init, target, kw) in libs:
            build(p, module, api, init, target, flavor=flavor, **kw)
        names = [target.replace(".*", ".so") for (_, _, _, target, _) in libs]
        return host(p, host_src, names, cxx=cxx, extra=extra)

    def check(self, outcome, ok, what):
        assert ok(outcome), "scenario %r: %s\n%r" % (self.name, what, outcome)


def reference_with_cffi(scenario, libs, host_src, ok, runs=1, timeout=30, cxx=False):
    """Runs the scenario with the real cffi; returns how many runs were ok.
    Only on the default Python: the reference is the same everywhere."""
    if os.environ.get("CEMBED_SKIP_CFFI_REFERENCE"):
        return None
    exe = scenario.make("cffi", libs, host_src, cxx=cxx)
    good = 0
    for _ in range(runs):
        o = run(exe, scenario.p["cffi"].path, timeout=timeout, env=cffi_env())
        good += bool(ok(o))
    print("[cffi reference] %s: %d/%d runs as expected" % (scenario.name, good, runs))
    return good


def lib(module, api, init, target, **kw):
    return (module, api, textwrap.dedent(init), target, kw)


# ---- 1. forced unwinds --------------------------------------------------------

SLEEPER = lib("sleeper", "int start(int);", """
    from sleeper import ffi, lib
    import threading
    def loop():
        while True:
            lib.c_sleep_ms(1)
    @ffi.def_extern()
    def start(n):
        for i in range(n):
            threading.Thread(target=loop, daemon=True).start()
        return n
""", "libsleeper.*", cdef="void c_sleep_ms(int);",
    c_code="#include <unistd.h>\nstatic void c_sleep_ms(int ms) { usleep(ms * 1000); }\n")

SLEEPER_HOST = r"""
#include <stdio.h>
int start(int);
int main(void) { printf("%d\n", start(4)); return 0; }
"""


@pytest.mark.smoke
def test_daemon_threads_in_c_calls_at_exit(tmp_path):
    """CPython ends daemon threads with pthread_exit() when they take the GIL
    back after finalization began: the forced unwind passes our frames."""
    sc = Scenario(tmp_path, "daemon threads looping on a C call through lib, host returns")
    exe = sc.make("cembed", [SLEEPER], SLEEPER_HOST)
    ok = lambda o: o.returncode == 0 and o.stdout == "4\n" and o.stderr == ""
    runs = 10 if PYVER == "3.11" else 3
    for i in range(runs):
        sc.check(run(exe, sc.p["cembed"].path), ok, "run %d" % i)
    if PYVER == "3.11":
        reference_with_cffi(sc, [SLEEPER], SLEEPER_HOST, ok, runs=5)


def test_daemon_threads_in_c_calls_python_host(tmp_path, project):
    """The same with Python itself as the host (ctypes loads the library)."""
    build(project, *SLEEPER[:4], **SLEEPER[4])
    script = project.write("host.py", """
        import ctypes, sys
        lib = ctypes.CDLL(sys.argv[1])
        print(lib.start(4), flush=True)
    """)
    for i in range(5):
        o = run(sys.executable, project.path, args=[script, project.file("libsleeper.so")])
        assert o.returncode == 0 and o.stdout == "4\n", (i, o)


FORCED = lib("forced", "int enter(int); int again(int);", """
    from forced import ffi, lib
    @ffi.def_extern()
    def enter(how):
        if how == 0:
            lib.c_exit_thread()
        else:
            lib.c_block()
        return 1
    @ffi.def_extern()
    def again(x):
        return x + 1
""", "libforced.*", cdef="void c_exit_thread(void); void c_block(void);", c_code="""
    #include <pthread.h>
    #include <unistd.h>
    static void c_exit_thread(void) { pthread_exit(NULL); }
    static void c_block(void) { for (;;) pause(); }
""")

FORCED_HOST = r"""
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
int enter(int); int again(int);
static void *worker(void *arg) { enter((int)(long)arg); return (void *)7; }
int main(void) {
    pthread_t t; void *ret;
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("again %d\n", again(1));
    pthread_create(&t, NULL, worker, (void *)0);
    pthread_join(t, &ret);
    printf("pthread_exit in C called from Python: %s\n", ret == NULL ? "thread ended" : "?");
    pthread_create(&t, NULL, worker, (void *)1);
    usleep(200000);
    pthread_cancel(t);
    pthread_join(t, &ret);
    printf("pthread_cancel while blocked in C: %s\n",
           ret == PTHREAD_CANCELED ? "canceled" : "?");
    printf("again %d\n", again(41));
    return 0;
}
"""


@pytest.mark.smoke
def test_pthread_exit_and_cancel_inside_c_called_from_python(tmp_path):
    sc = Scenario(tmp_path, "pthread_exit()/pthread_cancel() in C called from Python")
    exe = sc.make("cembed", [FORCED], FORCED_HOST)
    expected = lines("again 2", "pthread_exit in C called from Python: thread ended",
                     "pthread_cancel while blocked in C: canceled", "again 42")
    ok = lambda o: o.returncode == 0 and o.stdout == expected
    for i in range(3):
        sc.check(run(exe, sc.p["cembed"].path), ok, "run %d" % i)
    if PYVER == "3.11":
        reference_with_cffi(sc, [FORCED], FORCED_HOST, ok)


# ---- 2. exit ---------------------------------------------------------------------

ADDER = lib("adder", "int add(int, int);", """
    from adder import ffi
    @ffi.def_extern()
    def add(a, b):
        return a + b
""", "libadder.*")

EXIT_HOOKS_HOST = r"""
#include <cstdio>
#include <cstdlib>
extern "C" int add(int, int);
static void early(void) { std::printf("atexit registered before the first call: %d\n", add(1, 2)); }
static void late(void) { std::printf("atexit registered after the first call: %d\n", add(3, 4)); }
struct Static { ~Static() { std::printf("C++ static destructor: %d\n", add(5, 6)); } };
__attribute__((destructor)) static void elf_destructor(void) {
    std::printf("the program's ELF destructor: %d\n", add(8, 9));
}
static Static s;
int main() {
    std::setvbuf(stdout, NULL, _IONBF, 0);
    std::atexit(early);
    std::printf("main: %d\n", add(20, 22));
    std::atexit(late);
    return 0;
}
"""


@pytest.mark.smoke
def test_host_exit_hooks_and_static_destructors_reach_python(tmp_path):
    sc = Scenario(tmp_path, "calls from the host's atexit hooks and C++ static destructors")
    exe = sc.make("cembed", [ADDER], EXIT_HOOKS_HOST, cxx=True)
    expected = lines("main: 42", "atexit registered after the first call: 7",
                     "atexit registered before the first call: 3",
                     "C++ static destructor: 11", "the program's ELF destructor: 17")
    ok = lambda o: o.returncode == 0 and o.stdout == expected
    sc.check(run(exe, sc.p["cembed"].path), ok, "every exit hook gets its result")
    if PYVER == "3.11":
        reference_with_cffi(sc, [ADDER], EXIT_HOOKS_HOST, ok, cxx=True)


@pytest.mark.smoke
def test_a_call_after_finalization_is_refused_with_a_message(tmp_path):
    """Destructors of shared objects loaded after the runtime run after its
    own (glibc runs them in reverse load order), so after Python was
    finalized: such a call is refused, and says so. The host's own exit
    hooks and destructors all run before (the test above)."""
    sc = Scenario(tmp_path, "a call from a destructor that runs after finalization")
    p = sc.p["cembed"]
    late = p.write("late.c", r"""
        #include <dlfcn.h>
        #include <stdio.h>
        __attribute__((destructor)) static void late(void) {
            int (*add)(int, int) = (int (*)(int, int))dlsym(RTLD_DEFAULT, "add");
            printf("destructor after finalization: %d\n", add(7, 8));
        }
    """)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", p.file("liblate.so"), late], check=True)
    exe = sc.make("cembed", [ADDER], r"""
        #include <dlfcn.h>
        #include <stdio.h>
        int add(int, int);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("main: %d\n", add(1, 1));
            if (!dlopen("./liblate.so", RTLD_NOW)) return 9;  /* after the runtime */
            return 0;
        }
    """)
    sc.check(run(exe, p.path),
             lambda o: o.returncode == 0
             and o.stdout == lines("main: 2", "destructor after finalization: 0")
             and o.stderr == "cembed: function adder.add() called after Python was "
                            "finalized at process exit.  Returning 0.\n",
             "refused, and said so")


CALLBACK_AT_EXIT = lib("cbexit", "int setup(void); int twice(int);", """
    import atexit, threading, time
    from cbexit import ffi, lib
    @ffi.def_extern()
    def twice(x):
        return 2 * x
    def at_exit():
        print("python atexit handler: C -> Python gives", lib.c_calls_twice(21), flush=True)
    def worker():
        time.sleep(0.2)          # still running when the host's main returns
        print("non-daemon thread at exit: C -> Python gives", lib.c_calls_twice(50), flush=True)
    @ffi.def_extern()
    def setup():
        atexit.register(at_exit)
        threading.Thread(target=worker).start()
        return 1
""", "libcbexit.*", cdef="int c_calls_twice(int);", c_code="""
    int twice(int);
    static int c_calls_twice(int x) { return twice(x); }
""")


@pytest.mark.smoke
def test_python_atexit_and_joined_thread_call_back_through_c(tmp_path):
    sc = Scenario(tmp_path, "Python atexit handler / joined thread -> C -> Python")
    src = "int setup(void);\nint main(void) { return setup() == 1 ? 0 : 1; }\n"
    exe = sc.make("cembed", [CALLBACK_AT_EXIT], src)
    expected = lines("non-daemon thread at exit: C -> Python gives 100",
                     "python atexit handler: C -> Python gives 42")
    ok = lambda o: o.returncode == 0 and o.stdout == expected
    sc.check(run(exe, sc.p["cembed"].path), ok, "both get their result")
    if PYVER == "3.11":
        reference_with_cffi(sc, [CALLBACK_AT_EXIT], src, ok)


FOREVER = lib("forever", "int spin(void); int hold_gil(void);", """
    import threading, time, ctypes
    from forever import ffi
    def never_ends():
        while True:
            time.sleep(0.01)
    @ffi.def_extern()
    def spin():
        threading.Thread(target=never_ends).start()      # non-daemon
        return 1
    @ffi.def_extern()
    def hold_gil():
        # A C call that keeps the GIL (PyDLL does not release it).
        ctypes.PyDLL(None).usleep(20000000)
        return 1
""", "libforever.*")


def test_exit_never_waits_without_bound(tmp_path):
    sc = Scenario(tmp_path, "never-ending non-daemon thread / GIL held in a long C call")
    exe = sc.make("cembed", [FOREVER], r"""
        #include <pthread.h>
        #include <stdio.h>
        #include <string.h>
        #include <unistd.h>
        int spin(void); int hold_gil(void);
        static void *holder(void *a) { (void)a; hold_gil(); return NULL; }
        int main(int argc, char **argv) {
            (void)argc;
            if (strcmp(argv[1], "thread") == 0) { printf("spin %d\n", spin()); return 3; }
            spin(); spin();  /* Python started, two threads running */
            pthread_t t; pthread_create(&t, NULL, holder, NULL);
            usleep(300000);  /* the holder is inside its 20 s GIL-holding call */
            printf("exiting\n");
            return 4;
        }
    """)
    cwd = sc.p["cembed"].path
    o = run(exe, cwd, args=["thread"])
    sc.check(o, lambda o: o.returncode == 3 and o.stdout == "spin 1\n" and o.seconds < 5,
             "a never-ending non-daemon thread does not keep the host alive")
    o = run(exe, cwd, args=["gil"])
    sc.check(o, lambda o: o.returncode == 4 and o.stdout == "exiting\n" and o.seconds < 6
             and "the GIL stayed busy" in o.stderr,
             "a thread holding the GIL does not keep the host alive")


SYSEXIT = lib("sysexit", "int arm(void);", """
    import atexit, sys
    from sysexit import ffi
    def bye():
        print("handler raises SystemExit(9)", flush=True)
        sys.exit(9)
    @ffi.def_extern()
    def arm():
        atexit.register(bye)
        return 1
""", "libsysexit.*")


@pytest.mark.smoke
def test_system_exit_in_atexit_keeps_the_host_status(tmp_path):
    sc = Scenario(tmp_path, "SystemExit in a Python atexit handler")
    exe = sc.make("cembed", [SYSEXIT], "int arm(void);\nint main(void) { arm(); return 3; }\n")
    sc.check(run(exe, sc.p["cembed"].path),
             lambda o: o.returncode == 3 and o.stdout == "handler raises SystemExit(9)\n",
             "the host's exit status stays 3")


# ---- 3. fork ---------------------------------------------------------------------

FORKER = lib("forker", "int work(int); int pyfork(void);", """
    import os
    from forker import ffi
    @ffi.def_extern()
    def work(x):
        s = 0
        for i in range(2000):
            s += i
        return x + 1
    @ffi.def_extern()
    def pyfork():
        pid = os.fork()
        if pid == 0:
            print("child of os.fork: python works", work(1), flush=True)
            return 0
        _, status = os.waitpid(pid, 0)
        return 100 + os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else 100
""", "libforker.*")

FORK_HOST = r"""
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int work(int); int pyfork(void);
static volatile int stop;
static void *busy(void *a) { (void)a; while (!stop) work(1); return NULL; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void *starter(void *a) { (void)a; work(0); return NULL; }
int main(int argc, char **argv) {
    (void)argc;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (strcmp(argv[1], "busy") == 0) {
        pthread_t t[3];
        work(0);
        for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, busy, NULL);
        usleep(50000);
        for (int k = 0; k < 5; k++) {
            pid_t pid = fork();
            if (pid == 0) { printf("child %d: %d\n", k, work(41)); exit(0); }
            int st; waitpid(pid, &st, 0);
            printf("child %d exit %d\n", k, WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
        }
        stop = 1;
        for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
        return 0;
    }
    if (strcmp(argv[1], "quiet") == 0) {
        pthread_t t[2];
        work(0);
        for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, busy, NULL);
        usleep(50000);
        double t0 = now();
        for (int k = 0; k < 20; k++) {
            pid_t pid = fork();
            if (pid == 0) exit(0);        /* never touches Python */
            int st; waitpid(pid, &st, 0);
        }
        double dt = now() - t0;
        stop = 1;
        for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
        /* Each child still runs Python's exit (tens of ms, with two busy
           threads competing for the cores); before, each waited 0.5 s for
           the parent's threads. 20 children in under 5 s leaves room for a
           loaded machine and still catches that wait (10 s). */
        printf("20 children: %s\n", dt < 5.0 ? "fast" : "slow");
        if (dt >= 5.0) fprintf(stderr, "%.2f s\n", dt);
        return 0;
    }
    /* os.fork() in Python code when Python was started by a worker thread */
    pthread_t t; pthread_create(&t, NULL, starter, NULL); pthread_join(t, NULL);
    int r = pyfork();
    if (r == 0) return 5;                  /* the child, back in C */
    printf("parent: child exited %d\n", r - 100);
    return 0;
}
"""


@pytest.mark.smoke
def test_fork_with_busy_threads(tmp_path):
    sc = Scenario(tmp_path, "fork() while other threads are busy in Python")
    exe = sc.make("cembed", [FORKER], FORK_HOST)
    expected = "".join("child %d: 42\nchild %d exit 0\n" % (k, k) for k in range(5))
    for i in range(3):
        sc.check(run(exe, sc.p["cembed"].path, args=["busy"], timeout=60),
                 lambda o: o.returncode == 0 and o.stdout == expected, "run %d" % i)


def test_fork_children_that_never_use_python_exit_fast(tmp_path):
    sc = Scenario(tmp_path, "children that never call Python, parent threads busy in Python")
    exe = sc.make("cembed", [FORKER], FORK_HOST)
    sc.check(run(exe, sc.p["cembed"].path, args=["quiet"]),
             lambda o: o.returncode == 0 and o.stdout == "20 children: fast\n", "timing")


@pytest.mark.smoke
def test_os_fork_when_a_worker_thread_started_python(tmp_path):
    sc = Scenario(tmp_path, "os.fork() in Python, Python started by a worker thread")
    exe = sc.make("cembed", [FORKER], FORK_HOST)
    sc.check(run(exe, sc.p["cembed"].path, args=["pyfork"]),
             lambda o: o.returncode == 0 and o.stdout == lines(
                 "child of os.fork: python works 2", "parent: child exited 5"),
             "both processes exit normally")


# ---- 4. signals ------------------------------------------------------------------

SIGNALS = lib("sigs", "int setup(void);", """
    import subprocess, asyncio, signal
    from sigs import ffi
    @ffi.def_extern()
    def setup():
        return 1
""", "libsigs.*")


@pytest.mark.smoke
def test_host_keeps_its_sigint(tmp_path):
    sc = Scenario(tmp_path, "init code imports subprocess/asyncio/signal")
    src = r"""
        #include <signal.h>
        #include <stdio.h>
        int setup(void);
        int main(void) {
            struct sigaction sa;
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("setup %d\n", setup());
            sigaction(SIGINT, NULL, &sa);
            printf("SIGINT %s\n", sa.sa_handler == SIG_DFL ? "default" : "changed");
            raise(SIGINT);
            printf("still alive\n");
            return 0;
        }
    """
    exe = sc.make("cembed", [SIGNALS], src)
    ok = lambda o: o.returncode == -signal.SIGINT and o.stdout == lines("setup 1", "SIGINT default")
    sc.check(run(exe, sc.p["cembed"].path), ok, "the host dies of SIGINT")
    if PYVER == "3.11":
        reference_with_cffi(sc, [SIGNALS], src, ok)


# ---- 5. module lifetime ---------------------------------------------------------

@pytest.mark.smoke
def test_functions_outlive_the_module_in_sys_modules(tmp_path):
    # Nothing but sys.modules refers to the module: the functions' globals
    # do not hold `ffi` (whose type would keep the module alive).
    forget = lib("forget", "int f(int); int drop_module(void);", """
        import gc, sys
        def setup():
            from forget import ffi
            @ffi.def_extern()
            def f(x):
                return x * 3
            @ffi.def_extern()
            def drop_module():
                for name in ("forget", "forget.lib"):
                    sys.modules.pop(name, None)
                gc.collect()
                return 1
        setup()
        del setup
    """, "libforget.*")
    same = lib("forget", "int g(int);", """
        from forget import ffi
        @ffi.def_extern()
        def g(x):
            return x * 5
    """, "libsame.*")
    src = r"""
        #include <stdio.h>
        int f(int); int g(int); int drop_module(void);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("f %d\n", f(1));
            printf("drop %d\n", drop_module());
            printf("f %d\n", f(2));
            printf("g %d\n", g(3));
            printf("f %d\n", f(4));
            return 0;
        }
    """
    sc = Scenario(tmp_path, "module removed from sys.modules; a second library of the same name")
    exe = sc.make("cembed", [forget, same], src)
    ok = lambda o: o.returncode == 0 and o.stdout == lines("f 3", "drop 1", "f 6", "g 15", "f 12")
    sc.check(run(exe, sc.p["cembed"].path), ok, "every function stays attached")
    if PYVER == "3.11":
        reference_with_cffi(sc, [forget, same], src, ok)


def test_ffi_string_gives_one_answer_whichever_path_takes_the_call(tmp_path):
    # `ffi.string(p)` with one positional argument has a fast path (a non-NULL
    # `char *` of the same module); `ffi.string(p, -1)` always takes the
    # general one. Both must answer alike for every kind of argument,
    # including a cdata of another library's module, and on that other
    # library's `ffi`.
    first = lib("fsa", "int a_len(const char *s);", """
        from fsa import ffi
        @ffi.def_extern()
        def a_len(s):
            return len(ffi.string(s))
    """, "libfsa.*")
    second = lib("fsb", "int b_check(const char *s);", """
        import sys
        from fsb import ffi
        def outcome(f):
            try:
                return repr(f())
            except Exception as e:
                return type(e).__name__ + ": " + str(e)
        @ffi.def_extern()
        def b_check(s):
            other = sys.modules["fsa"].ffi
            objs = [s, ffi.cast("char *", s), ffi.cast("char *", 0),
                    ffi.cast("unsigned char *", s), ffi.cast("int *", s),
                    ffi.new("char[]", b"hi"), ffi.new("char *", b"x")[0:1], 42, b"x"]
            bad = 0
            for f in (ffi, other):
                for o in objs:
                    fast = outcome(lambda: f.string(o))
                    general = outcome(lambda: f.string(o, -1))
                    if fast != general:
                        bad += 1
                        print("mismatch", f is ffi, fast, general, flush=True)
            return bad
    """, "libfsb.*")
    src = r"""
        #include <stdio.h>
        int a_len(const char *); int b_check(const char *);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("a %d\n", a_len("abc"));
            printf("b %d\n", b_check("hello"));
            return 0;
        }
    """
    sc = Scenario(tmp_path, "ffi.string on the fast and the general path")
    exe = sc.make("cembed", [first, second], src)
    ok = lambda o: o.returncode == 0 and o.stdout == lines("a 3", "b 0")
    sc.check(run(exe, sc.p["cembed"].path), ok, "the same answer on both paths")
    if PYVER == "3.11":
        reference_with_cffi(sc, [first, second], src, ok)


# ---- 6. a host that manages Python itself -------------------------------------------

@pytest.mark.smoke
def test_host_that_finalizes_python_itself(tmp_path):
    sc = Scenario(tmp_path, "host calls Py_Initialize/PyGILState_Ensure/Py_FinalizeEx")
    inc = sysconfig.get_paths()["include"]
    libdir = sysconfig.get_config_var("LIBDIR")
    ldlib = sysconfig.get_config_var("LDLIBRARY")
    if not ldlib or not ldlib.endswith(".so") and ".so." not in ldlib:
        pytest.skip("no shared libpython to link the host with")
    exe = sc.make("cembed", [ADDER], r"""
        #include <Python.h>
        #include <stdio.h>
        int add(int, int);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("add %d\n", add(1, 2));
            Py_Initialize();
            PyGILState_STATE g = PyGILState_Ensure();
            PyRun_SimpleString("print('host runs python', flush=True)");
            PyGILState_Release(g);
            g = PyGILState_Ensure();
            printf("Py_FinalizeEx %d\n", Py_FinalizeEx());
            printf("add after finalize %d\n", add(3, 4));
            return 0;
        }
    """, extra=["-I", inc, "-L", libdir, "-lpython" + PYVER, "-Wl,-rpath," + libdir])
    o = run(exe, sc.p["cembed"].path)
    sc.check(o, lambda o: o.returncode == 0 and o.stdout == lines(
        "add 3", "host runs python", "Py_FinalizeEx 0", "add after finalize 0")
        and "called after the host finalized Python" in o.stderr, "no crash, refusal said")


# ---- 7. threads and stack ---------------------------------------------------------

@pytest.mark.smoke
def test_first_call_from_a_tls_destructor_releases_its_thread_state(tmp_path):
    counter = lib("tlsd", "int add(int, int); int n_states(void);", """
        import ctypes
        from tlsd import ffi
        api = ctypes.pythonapi
        api.PyInterpreterState_Get.restype = ctypes.c_void_p
        api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
        api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
        api.PyThreadState_Next.restype = ctypes.c_void_p
        api.PyThreadState_Next.argtypes = [ctypes.c_void_p]
        @ffi.def_extern()
        def add(a, b):
            return a + b
        @ffi.def_extern()
        def n_states():
            n, ts = 0, api.PyInterpreterState_ThreadHead(api.PyInterpreterState_Get())
            while ts:
                n, ts = n + 1, api.PyThreadState_Next(ts)
            return n
    """, "libtlsd.*")
    sc = Scenario(tmp_path, "first call from a pthread TLS destructor")
    exe = sc.make("cembed", [counter], r"""
        #include <pthread.h>
        #include <stdio.h>
        int add(int, int); int n_states(void);
        static pthread_key_t key;
        static int sum;
        static void dtor(void *p) { (void)p; __sync_fetch_and_add(&sum, add(1, 0)); }
        static void *worker(void *a) { (void)a; pthread_setspecific(key, (void *)1); return NULL; }
        int main(void) {
            pthread_key_create(&key, dtor);
            int before = n_states();
            for (int i = 0; i < 300; i++) {
                pthread_t t; pthread_create(&t, NULL, worker, NULL); pthread_join(t, NULL);
            }
            printf("calls %d, thread states added %d\n", sum, n_states() - before);
            return 0;
        }
    """)
    sc.check(run(exe, sc.p["cembed"].path, timeout=60),
             lambda o: o.returncode == 0 and o.stdout == "calls 300, thread states added 0\n",
             "no thread state leaks")


REC = lib("rec", "int down(int); long span(void);", """
    from rec import ffi, lib
    @ffi.def_extern()
    def down(n):
        return 0 if n == 0 else 1 + lib.c_down(n - 1)
    @ffi.def_extern()
    def span():
        return lib.stack_span()
""", "librec.*", cdef="int c_down(int); long stack_span(void);", c_code="""
    int down(int);
    static char *top, *bottom;
    static int c_down(int n) {
        char here;
        if (n == 199) top = &here;      /* the first level of a 200-deep run */
        if (n == 0) bottom = &here;
        return down(n);
    }
    static long stack_span(void) { return (long)(top - bottom); }
""")

REC_HOST = r"""
#include <pthread.h>
#include <stdio.h>
int down(int); long span(void);
static int result;
static void *worker(void *a) { result = down((int)(long)a); return NULL; }
int main(void) {
    pthread_attr_t at; pthread_t t;
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("warm %d\n", down(1));
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 256 * 1024);
    pthread_create(&t, &at, worker, (void *)200L);
    pthread_join(t, NULL);
    printf("depth %d\n", result);
    fprintf(stderr, "bytes per level %ld\n", span() / 199);
    return 0;
}
"""


@pytest.mark.smoke
def test_deep_recursion_on_a_small_thread_stack(tmp_path):
    sc = Scenario(tmp_path, "Python -> C -> Python recursion, 200 levels, 256 KiB stack")
    exe = sc.make("cembed", [REC], REC_HOST)
    ok = lambda o: o.returncode == 0 and o.stdout == lines("warm 1", "depth 200")
    o = run(exe, sc.p["cembed"].path)
    sc.check(o, ok, "200 levels fit")
    per_level = int(o.stderr.split("bytes per level ")[1])
    print("[cembed] C stack per Python -> C -> Python level: %d bytes" % per_level)
    if PYVER == "3.11" and not os.environ.get("CEMBED_SKIP_CFFI_REFERENCE"):
        reference_with_cffi(sc, [REC], REC_HOST, ok)
        ref = run(sc.make("cffi", [REC], REC_HOST), sc.p["cffi"].path, env=cffi_env())
        cffi_level = int(ref.stderr.split("bytes per level ")[1])
        print("[cffi reference] C stack per level: %d bytes" % cffi_level)
        assert per_level <= cffi_level, (per_level, cffi_level)


# ---- 8. two plug-ins from two virtualenvs -------------------------------------------

def test_second_library_from_another_venv(tmp_path, project):
    """Library B is built in a second venv (which sees cembed through a .pth
    file) that alone has the package `only_in_b`; A starts Python in this
    venv, then B's init code imports `only_in_b`."""
    venv_b = tmp_path / "venv_b"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv_b)], check=True)
    site_b = venv_b / "lib" / ("python" + PYVER) / "site-packages"
    (site_b / "cembed_test.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (site_b / "only_in_b.py").write_text("VALUE = 99\n")
    build(project, *ADDER[:4], **ADDER[4])
    script = library_script("modb", "int b(void);", textwrap.dedent("""
        import only_in_b, sys
        from modb import ffi
        @ffi.def_extern()
        def b():
            return only_in_b.VALUE
    """), "libmodb.*")
    project.write("build_b.py", "import cembed as cffi\n" + script)
    r = subprocess.run([str(venv_b / "bin" / "python"), "build_b.py"], cwd=project.path,
                       env=clean_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    exe = host(project, r"""
        #include <stdio.h>
        int add(int, int); int b(void);
        int main(void) { printf("a %d\n", add(1, 1)); printf("b %d\n", b()); return 0; }
    """, ["libadder.so", "libmodb.so"])
    o = run(exe, project.path)
    assert o.returncode == 0 and o.stdout == lines("a 2", "b 99"), o
    # A failing init names the interpreter that runs and the one B was built with.
    script = script.replace("import only_in_b", "import nowhere_to_be_found")
    project.write("build_b.py", "import cembed as cffi\n" + script)
    r = subprocess.run([str(venv_b / "bin" / "python"), "build_b.py"], cwd=project.path,
                       env=clean_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    o = run(exe, project.path)
    assert o.returncode == 0 and o.stdout == lines("a 2", "b 0"), o
    assert "sys.executable: %r\n" % sys.executable in o.stderr, o
    assert "this library was built with: %s " % (venv_b / "bin" / "python") in o.stderr, o
