"""cembed on PyPy (docs/pypy.md): the same build scripts, run by pypy3 in a
pypy venv where cembed is installed, give libraries driven by PyPy's built-in
_cffi_backend. Each test builds with pypy3, compiles a C host with gcc and
runs it as its own process in a clean environment.

Where CFFI defines the behaviour, the reference is cffi on PyPy: PyPy ships
cffi built in (`import cffi` in pypy3), used here only as the reference. Its
libraries need what cembed's do not: Debian's PyPy has no `libpypy3-c.so`
(the name cffi links with), so the cffi runs get a directory with that link
on LIBRARY_PATH (build) and LD_LIBRARY_PATH (run).

The whole module is skipped when pypy3 is not installed (`./dev test`
installs it with apt-get and runs it).
"""

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from cembed_e2e import ROOT, clean_env

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "datamodel"))
import dm_harness  # noqa: E402

PYPY = shutil.which("pypy3")
pytestmark = [
    pytest.mark.pypy,
    pytest.mark.skipif(PYPY is None, reason="pypy3 is not installed "
                       "(apt-get install pypy3 pypy3-dev pypy3-venv; ./dev test does)"),
]

BUILD_TIMEOUT = 300
RUN_TIMEOUT = 60


class PyPyEnv:
    """A pypy venv with cembed installed from this checkout, and the
    directory of the libpypy link the cffi reference needs."""

    def __init__(self, root):
        self.root = str(root)
        self.venv = os.path.join(self.root, "venv")
        self.python = os.path.join(self.venv, "bin", "pypy3")
        self.shim = os.path.join(self.root, "shim")

    def setup(self):
        subprocess.run([PYPY, "-m", "venv", self.venv], check=True, timeout=300)
        # The PEP 517 backend writes a PyPy wheel (the package and the cembed
        # executable, no runtime extension, no maturin).
        r = subprocess.run(
            [self.python, "-m", "pip", "install", "-q", "--no-build-isolation",
             "--no-deps", ROOT],
            capture_output=True, text=True, timeout=1800,
            env=clean_env(CARGO_BUILD_JOBS=os.environ.get("CARGO_BUILD_JOBS", "2")))
        if r.returncode != 0:
            raise AssertionError("installing cembed into the pypy venv failed:\n"
                                 + r.stdout + r.stderr)
        libpypy = subprocess.run(
            [self.python, "-c", "import cembed; print(cembed._pypy_facts()['libpython'])"],
            capture_output=True, text=True, check=True).stdout.strip()
        os.makedirs(self.shim, exist_ok=True)
        os.symlink(libpypy, os.path.join(self.shim, "libpypy3-c.so"))
        self.libpypy = libpypy
        return self

    def env(self, flavor, **extra):
        if flavor == "cffi":
            return clean_env(LIBRARY_PATH=self.shim, LD_LIBRARY_PATH=self.shim, **extra)
        return clean_env(**extra)


@pytest.fixture(scope="session")
def pypy(tmp_path_factory):
    return PyPyEnv(tmp_path_factory.mktemp("pypy")).setup()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))
    return path


def build(pypy, workdir, script, flavor="cembed", check=True):
    """Runs a build script (written with `import cffi`) under the venv's pypy3;
    for cembed the import line becomes `import cembed as cffi`."""
    script = textwrap.dedent(script).lstrip("\n")
    if flavor == "cembed":
        script = re.sub(r"^import cffi$", "import cembed as cffi", script, flags=re.M)
    write(os.path.join(workdir, "build.py"), script)
    r = subprocess.run([pypy.python, "build.py"], cwd=workdir, env=pypy.env(flavor),
                       capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if check and r.returncode != 0:
        raise AssertionError("build.py failed under pypy3 (%s):\n%s\n%s"
                             % (flavor, r.stdout, r.stderr))
    return r


def gcc(workdir, source, libs=(), out="host", extra=(), env=None):
    src = write(os.path.join(workdir, out + ".c"), source)
    exe = os.path.join(workdir, out)
    cmd = ["gcc", "-std=gnu11", "-Wall", "-Werror", "-I", workdir, "-o", exe, src]
    cmd += [os.path.join(workdir, lib) for lib in libs]
    cmd += ["-Wl,-rpath,$ORIGIN", "-lpthread", "-ldl"] + list(extra)
    # The linker resolves the libraries' own DT_NEEDED (cffi's libpypy3-c.so)
    # through LD_LIBRARY_PATH.
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r.returncode == 0, "gcc failed:\n%s\n%s" % (" ".join(cmd), r.stderr)
    return exe


def run(pypy, exe, flavor="cembed", args=(), cwd="/", check=True):
    r = subprocess.run([exe] + list(args), cwd=cwd, env=pypy.env(flavor),
                       capture_output=True, text=True, timeout=RUN_TIMEOUT)
    if check:
        assert r.returncode == 0, "%s exited with %d\nstdout:\n%s\nstderr:\n%s" % (
            exe, r.returncode, r.stdout, r.stderr)
    return r


def both(pypy, tmp_path, script, host, libs, args=()):
    """The same script and host with cffi on PyPy and with cembed on PyPy:
    (returncode, stdout) must be equal."""
    out = {}
    for flavor in ("cffi", "cembed"):
        d = str(tmp_path / flavor)
        build(pypy, d, script, flavor)
        exe = gcc(d, host, libs, env=pypy.env(flavor))
        r = run(pypy, exe, flavor, args=args, check=False)
        out[flavor] = (r.returncode, r.stdout)
    assert out["cembed"] == out["cffi"]
    return out["cembed"]


def script(module, api, init, target, c_code="", cdef=None):
    parts = ["import cffi\n", "ffibuilder = cffi.FFI()\n"]
    if cdef is not None:
        parts.append("ffibuilder.cdef(%r)\n" % textwrap.dedent(cdef))
    parts.append("ffibuilder.embedding_api(%r)\n" % textwrap.dedent(api))
    parts.append("ffibuilder.set_source(%r, %r)\n" % (module, textwrap.dedent(c_code)))
    parts.append("ffibuilder.embedding_init_code(%r)\n" % textwrap.dedent(init))
    parts.append("print(ffibuilder.compile(target=%r))\n" % target)
    return "".join(parts)


ADDER = script("adder", "int add(int, int);", """
    from adder import ffi, lib
    import sys
    print("init adder", sys.implementation.name, flush=True)
    @ffi.def_extern()
    def add(a, b):
        return a + b
""", "libadder.*")

ADDER_HOST = r"""
#include <stdio.h>
int add(int, int);
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("%d %d %d\n", add(1, 2), add(-7, 7), add(2147483647, 0));
    return 0;
}
"""


def test_adder_like_cffi_on_pypy(pypy, tmp_path):
    rc, out = both(pypy, tmp_path, ADDER, ADDER_HOST, ["libadder.so"])
    assert (rc, out) == (0, "init adder pypy\n3 0 2147483647\n")


def test_library_needs_no_environment_and_uses_the_venv(pypy, tmp_path):
    """A package installed only in the pypy venv imports from the init code,
    with no environment variable (the cffi library would need PYTHONPATH)."""
    site = subprocess.run([pypy.python, "-c", "import site; print(site.getsitepackages()[0])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    write(os.path.join(site, "venv_only_pkg.py"), "VALUE = 41\n")
    d = str(tmp_path)
    build(pypy, d, script("venvlib", "int get(void);", """
        from venvlib import ffi
        import sys
        import venv_only_pkg
        print(sys.executable, sys.prefix, flush=True)
        @ffi.def_extern()
        def get():
            return venv_only_pkg.VALUE + 1
    """, "libvenvlib.*"))
    exe = gcc(d, r"""
        #include <stdio.h>
        #include "venvlib.h"
        int main(void) { printf("%d\n", get()); return 0; }
    """, ["libvenvlib.so"])
    r = run(pypy, exe)
    assert r.stdout == "%s %s\n42\n" % (pypy.python, pypy.venv)
    assert r.stderr == ""


def test_exceptions_error_and_onerror_like_cffi(pypy, tmp_path):
    init = """
        from exc import ffi
        @ffi.def_extern()
        def plain(x):
            raise ValueError(x)
        @ffi.def_extern(error=-3)
        def with_error(x):
            raise KeyError(x)
        def handler(exc, value, tb):
            print("handler", exc.__name__, flush=True)
            return 9
        @ffi.def_extern(onerror=handler, error=5)
        def with_onerror(x):
            raise RuntimeError(x)
        @ffi.def_extern(name="renamed")
        def python_name(x):
            return x * 3
    """
    api = "int plain(int); int with_error(int); int with_onerror(int); int renamed(int);"
    host = r"""
        #include <stdio.h>
        int plain(int); int with_error(int); int with_onerror(int); int renamed(int);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("%d\n", plain(1));
            printf("%d\n", with_error(2));
            printf("%d\n", with_onerror(3));
            printf("%d\n", renamed(4));
            return 0;
        }
    """
    rc, out = both(pypy, tmp_path, script("exc", api, init, "libexc.*"), host, ["libexc.so"])
    assert out == "0\n-3\nhandler RuntimeError\n9\n12\n"


THREADS_HOST = r"""
#include <pthread.h>
#include <stdio.h>
#include "adder.h"
#define N 8
static int results[N];
static void *work(void *arg) {
    long i = (long)arg;
    results[i] = add((int)i, 100);
    return NULL;
}
int main(void) {
    pthread_t t[N];
    for (long i = 0; i < N; i++) pthread_create(&t[i], NULL, work, (void *)i);
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    int ok = 1;
    for (int i = 0; i < N; i++) ok &= results[i] == i + 100;
    printf("%s\n", ok ? "all good" : "WRONG");
    return 0;
}
"""


def test_concurrent_first_calls_from_threads(pypy, tmp_path):
    """The first calls come from 8 threads at once, none of them the main
    thread: all wait for one init, none deadlocks; many runs."""
    d = str(tmp_path)
    build(pypy, d, ADDER)
    exe = gcc(d, THREADS_HOST, ["libadder.so"])
    for _ in range(10):
        r = run(pypy, exe)
        assert r.stdout == "init adder pypy\nall good\n"


def test_several_libraries_and_recursion_during_init(pypy, tmp_path):
    """Two libraries in one process share PyPy and run their own init code;
    the init code of the second calls (through C) a function of the same
    library and a function of the first, while it is still initializing."""
    d = str(tmp_path)
    build(pypy, d, script("one", "int one(int);", """
        from one import ffi
        print("init one", flush=True)
        @ffi.def_extern()
        def one(x):
            return x + 1
    """, "libone.*"))
    os.rename(os.path.join(d, "build.py"), os.path.join(d, "build_one.py"))
    build(pypy, d, script("two", "int two(int); int inner(int);", """
        from two import ffi, lib
        import os
        @ffi.def_extern()
        def inner(x):
            return x * 10
        @ffi.def_extern()
        def two(x):
            return x + 2
        # Recursion during init: C calls back into this library.
        print("init two, call_inner ->", lib.call_inner(4), flush=True)
    """, "libtwo.*", cdef="int call_inner(int);",
        c_code="int inner(int); static int call_inner(int x) { return inner(x) + 1; }"))
    exe = gcc(d, r"""
        #include <stdio.h>
        int one(int); int two(int);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("%d\n", two(1));
            printf("%d\n", one(1));
            printf("%d\n", two(5));
            return 0;
        }
    """, ["libone.so", "libtwo.so"])
    r = run(pypy, exe)
    assert r.stdout == "init two, call_inner -> 41\n3\ninit one\n2\n7\n"


def test_init_failure_returns_zero_and_is_readable_from_c(pypy, tmp_path):
    d = str(tmp_path)
    build(pypy, d, script("broken", "int f(int);", """
        from broken import ffi
        @ffi.def_extern()
        def f(x):
            return x
        raise RuntimeError("no config file")
    """, "libbroken.*", c_code="""
        CFFI_DLLEXPORT const char *why(void) {
            const char *e = cembed_init_error();
            return e ? e : "(none)";
        }
    """))
    exe = gcc(d, r"""
        #include <stdio.h>
        #include <string.h>
        #include "broken.h"
        const char *why(void);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("%d\n", f(7));
            printf("%d\n", f(8));
            const char *e = why();
            printf("readable: %d %d\n", strstr(e, "RuntimeError: no config file") != NULL,
                   strstr(e, "<init code for 'broken'>") != NULL);
            return 0;
        }
    """, ["libbroken.so"])
    r = run(pypy, exe)
    assert r.stdout == "0\n0\nreadable: 1 1\n"
    # One report with context, then one line per call.
    assert r.stderr.count("RuntimeError: no config file") == 1, r.stderr
    assert "sys.path" in r.stderr and "libpypy" in r.stderr
    assert r.stderr.count("function broken.f() called, but initialization code failed.  "
                          "Returning 0.") == 2, r.stderr


def test_cembed_start_python_and_cffi_start_python(pypy, tmp_path):
    d = str(tmp_path)
    build(pypy, d, script("starter", "int unused(void);", """
        from starter import ffi
        print("init starter", flush=True)
    """, "libstarter.*", c_code="""
        CFFI_DLLEXPORT int start(void) { return cembed_start_python(); }
        CFFI_DLLEXPORT int start2(void) { return cffi_start_python(); }
    """))
    exe = gcc(d, r"""
        #include <stdio.h>
        #include "starter.h"
        int start(void); int start2(void);
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("%d\n", start());
            printf("%d\n", start2());
            return 0;
        }
    """, ["libstarter.so"])
    assert run(pypy, exe).stdout == "init starter\n0\n0\n"


DLOPEN_HOST = r"""
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
    int (*f)(void) = (int (*)(void))dlsym(h, "uses_stdlib");
    printf("%d\n", f());
    dlclose(h);
    printf("%d\n", f());  /* the library pinned itself: still mapped */
    return 0;
}
"""


def test_rtld_local_host_imports_stdlib_extension_modules(pypy, tmp_path):
    d = str(tmp_path)
    build(pypy, d, script("stdl", "int uses_stdlib(void);", """
        from stdl import ffi
        import math, json, hashlib, _sqlite3, ssl, decimal
        @ffi.def_extern()
        def uses_stdlib():
            return int(math.sqrt(81)) + len(json.dumps([1])) + len(hashlib.sha1().hexdigest())
    """, "libstdl.*"))
    exe = gcc(d, DLOPEN_HOST)
    r = run(pypy, exe, args=[os.path.join(d, "libstdl.so")])
    assert r.stdout == "52\n52\n", r.stderr


def test_errno_is_preserved(pypy, tmp_path):
    d = str(tmp_path)
    build(pypy, d, script("errn", "int touch(void);", """
        from errn import ffi
        import os
        @ffi.def_extern()
        def touch():
            try:
                os.stat("/nonexistent/x")
            except OSError:
                pass
            return 1
    """, "liberrn.*"))
    exe = gcc(d, r"""
        #include <errno.h>
        #include <stdio.h>
        int touch(void);
        int main(void) {
            errno = 42; touch(); printf("%d\n", errno);
            errno = 7; touch(); printf("%d\n", errno);
            return 0;
        }
    """, ["liberrn.so"])
    assert run(pypy, exe).stdout == "42\n7\n"


EXIT_INIT = """
    from atx import ffi
    import atexit, sys
    atexit.register(lambda: print("atexit handler ran"))
    log = open(LOG_PATH, "w")
    @ffi.def_extern()
    def note(x):
        sys.stdout.write("buffered %d\\n" % x)
        log.write("line %d\\n" % x)
        return x
"""


def test_nothing_lost_at_exit(pypy, tmp_path):
    """atexit handlers run and buffered output reaches its file at process
    exit. cffi on PyPy runs neither (checked here too, so this test notices
    the day it does)."""
    host = r"""
        #include <stdio.h>
        int note(int);
        int main(void) { note(1); note(2); printf("host done\n"); return 0; }
    """
    results = {}
    for flavor in ("cffi", "cembed"):
        d = str(tmp_path / flavor)
        log = os.path.join(d, "out.log")
        init = EXIT_INIT.replace("LOG_PATH", repr(log))
        build(pypy, d, script("atx", "int note(int);", init, "libatx.*"), flavor)
        exe = gcc(d, host, ["libatx.so"], env=pypy.env(flavor))
        r = run(pypy, exe, flavor)
        with open(log) as f:
            results[flavor] = (r.stdout, f.read())
    # The library's exit runs from its destructor (glibc's _dl_fini), before
    # exit() flushes the host's block-buffered stdout: "host done" comes last.
    assert results["cembed"] == ("buffered 1\nbuffered 2\natexit handler ran\nhost done\n",
                                 "line 1\nline 2\n"), results
    assert results["cffi"] == ("buffered 1\nbuffered 2\nhost done\n", ""), results


def test_cli_build_for_pypy_and_pkg_config(pypy, tmp_path):
    d = str(tmp_path)
    write(os.path.join(d, "api.h"), "int add(int, int);\n")
    write(os.path.join(d, "init.py"), """
        from clilib import ffi
        @ffi.def_extern()
        def add(a, b):
            return a * 100 + b
    """)
    cembed = os.path.join(pypy.venv, "bin", "cembed")
    r = subprocess.run([cembed, "build", "--python", pypy.python, "--module", "clilib",
                        "--api", "api.h", "--init", "init.py", "-o", "libcli.so"],
                       cwd=d, capture_output=True, text=True, env=clean_env())
    assert r.returncode == 0, r.stderr
    flags = subprocess.run([cembed, "pkg-config", "--cflags", "--libs", "--rpath",
                            os.path.join(d, "libcli.so")],
                           capture_output=True, text=True, check=True).stdout.split()
    src = write(os.path.join(d, "host.c"), r"""
        #include <stdio.h>
        #include "cli.h"
        int main(void) { printf("%d\n", add(3, 4)); return 0; }
    """)
    subprocess.run(["gcc", "-Wall", "-Werror", "-o", os.path.join(d, "host"), src] + flags,
                   check=True)
    assert run(pypy, os.path.join(d, "host")).stdout == "304\n"
    r = subprocess.run([cembed, "config", "--python", pypy.python],
                       capture_output=True, text=True, check=True)
    assert "implementation=pypy" in r.stdout
    assert "libpython=" + pypy.libpypy in r.stdout
    assert "runtime=<none needed" in r.stdout
    # Bundles are CPython's: a PyPy library is refused with the reason.
    r = subprocess.run([cembed, "bundle", os.path.join(d, "libcli.so"), "-o", os.path.join(d, "b")],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "libcli.so was built for PyPy (%s): `cembed bundle` makes bundles of libraries " \
        "built for CPython only" % pypy.libpypy in r.stderr, r.stderr


def test_library_imports_from_running_pypy(pypy, tmp_path):
    """`import <module>` from a running pypy3 gives the module's lib (the
    table function is PyPy's extension-module entry point)."""
    d = str(tmp_path)
    build(pypy, d, ADDER)
    so = subprocess.run([pypy.python, "-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"],
                        capture_output=True, text=True, check=True).stdout.strip()
    shutil.copy(os.path.join(d, "libadder.so"), os.path.join(d, "adder" + so))
    r = subprocess.run([pypy.python, "-c", "import adder; print(sorted(dir(adder.lib)), adder.ffi.sizeof('int'))"],
                       cwd=d, capture_output=True, text=True, env=clean_env())
    assert r.stdout == "['add'] 4\n", r.stderr


# ---- the data-model differential suite on PyPy --------------------------

def _dm_params():
    # The whole set: about 2 minutes on 2 cores.
    return [pytest.param(case, id=case.name, marks=[pytest.mark.datamodel])
            for case in dm_harness.discover_cases()]


@pytest.mark.parametrize("case", _dm_params())
def test_datamodel_case_like_cffi_on_pypy(pypy, case, tmp_path):
    """Every data-model case built with cffi on PyPy and with cembed on PyPy:
    the same stdout (cffi on PyPy is the reference, not expected.txt, which
    is CPython's)."""
    out = {}
    for flavor in ("cffi", "cembed"):
        d = tmp_path / flavor
        shutil.copytree(str(case.path), str(d), ignore=shutil.ignore_patterns("expected.txt"))
        with open(d / "build.py") as f:
            text = f.read()
        build(pypy, str(d), text, flavor)
        libs = sorted(p.name for p in d.glob("*.so"))
        assert len(libs) == 1, libs
        cmd = ["gcc", "-std=gnu11", "-Wall", "-Werror", "-I.", "-o", "host", "host.c",
               "-L.", "-l:" + libs[0], "-Wl,-rpath,$ORIGIN", "-lm"]
        r = subprocess.run(cmd, cwd=str(d), capture_output=True, text=True,
                           env=pypy.env(flavor))
        assert r.returncode == 0, r.stderr
        r = subprocess.run([str(d / "host")], cwd="/", env=pypy.env(flavor),
                           capture_output=True, text=True, timeout=RUN_TIMEOUT)
        out[flavor] = (r.returncode, r.stdout)
        for name in case.stderr_contains:
            assert name in r.stderr, (flavor, name, r.stderr)
    assert out["cembed"] == out["cffi"]


def test_exit_called_inside_a_python_call(pypy, tmp_path):
    """exit() from C code that Python called (PyPy released its GIL around
    the C call): the atexit handlers still run, once, and exit is prompt."""
    d = str(tmp_path)
    build(pypy, d, script("ex", "int add(int, int); int die(int);", """
        from ex import ffi, lib
        import atexit
        atexit.register(lambda: print("atexit ran", flush=True))
        @ffi.def_extern()
        def add(a, b):
            return a + b
        @ffi.def_extern()
        def die(code):
            lib.do_exit(code)
            return 0
    """, "libex.*", cdef="void do_exit(int);",
        c_code="#include <stdlib.h>\nstatic void do_exit(int c) { exit(c); }\n"))
    exe = gcc(d, r"""
        #include <stdio.h>
        #include "ex.h"
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            printf("%d\n", add(1, 2));
            die(3);
            printf("not reached\n");
            return 0;
        }
    """, ["libex.so"])
    t0 = time.monotonic()
    r = run(pypy, exe, check=False)
    assert (r.returncode, r.stdout) == (3, "3\natexit ran\n"), r.stderr
    assert time.monotonic() - t0 < 10


def test_a_declaration_that_disagrees_with_the_c_definition_fails_the_build(pypy, tmp_path):
    """The layout checks of the CPython target run for PyPy too: the build
    stops with a message naming the record and the field (CFFI on PyPy only
    notices when the struct is first used)."""
    d = str(tmp_path)
    r = build(pypy, d, script("lay", "struct s { int a; int b; }; int f(struct s *);", """
        from lay import ffi
    """, "liblay.*", c_code="struct s { int a; long b; };\n"), check=False)
    assert r.returncode != 0
    assert "cembed: struct s: field b has a different size in the C definition than in " \
        "the cdef (int)" in r.stderr, r.stderr


def test_two_libraries_started_concurrently_from_threads(pypy, tmp_path):
    """Threads make the first calls of two libraries at once: PyPy starts
    once (pypy_carefully_make_gil is per process), each library runs its own
    init once; many runs."""
    d = str(tmp_path)
    for name in ("lib_a", "lib_b"):
        build(pypy, d, script(name, "int %s_twice(int);" % name, """
            from %s import ffi
            @ffi.def_extern()
            def %s_twice(x):
                return 2 * x
        """ % (name, name), "%s.*" % name.replace("lib_", "lib")))
    exe = gcc(d, r"""
        #include <pthread.h>
        #include <stdio.h>
        int lib_a_twice(int); int lib_b_twice(int);
        #define N 8
        static int ok[N];
        static void *work(void *arg) {
            long i = (long)arg;
            int r = (i % 2) ? lib_a_twice((int)i) + lib_b_twice((int)i)
                            : lib_b_twice((int)i) + lib_a_twice((int)i);
            ok[i] = r == 4 * (int)i;
            return NULL;
        }
        int main(void) {
            pthread_t t[N];
            for (long i = 0; i < N; i++) pthread_create(&t[i], NULL, work, (void *)i);
            for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
            int all = 1;
            for (int i = 0; i < N; i++) all &= ok[i];
            printf("%s\n", all ? "all good" : "WRONG");
            return 0;
        }
    """, ["liba.so", "libb.so"])
    for _ in range(10):
        r = run(pypy, exe)
        assert (r.stdout, r.stderr) == ("all good\n", "")


def test_host_signal_dispositions_are_left_alone(pypy, tmp_path):
    """Starting PyPy (and init code importing signal, subprocess, asyncio)
    leaves the host's signal handlers as they were."""
    d = str(tmp_path)
    build(pypy, d, script("sg", "int f(void);", """
        from sg import ffi
        import signal, subprocess, asyncio
        @ffi.def_extern()
        def f():
            return 1
    """, "libsg.*"))
    exe = gcc(d, r"""
        #include <signal.h>
        #include <stdio.h>
        #include <string.h>
        #include "sg.h"
        static void h(int s) { (void)s; }
        int main(void) {
            int sigs[] = {SIGINT, SIGPIPE, SIGXFSZ, SIGTERM, SIGCHLD, SIGUSR1};
            const char *names[] = {"INT", "PIPE", "XFSZ", "TERM", "CHLD", "USR1"};
            struct sigaction before[6], after[6], sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = h;
            sigaction(SIGINT, &sa, NULL);
            for (int i = 0; i < 6; i++) sigaction(sigs[i], NULL, &before[i]);
            printf("%d\n", f());
            for (int i = 0; i < 6; i++) {
                sigaction(sigs[i], NULL, &after[i]);
                if (before[i].sa_handler != after[i].sa_handler) printf("SIG%s changed\n", names[i]);
            }
            raise(SIGINT);
            printf("still alive\n");
            return 0;
        }
    """, ["libsg.so"])
    assert run(pypy, exe).stdout == "1\nstill alive\n"
