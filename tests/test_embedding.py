"""End-to-end behaviour of cembed libraries: build from a Python build
script, compile a real C host with gcc, run it as a separate process with a
clean environment, and check its exact output."""

import os
import shutil
import subprocess
import sys

import pytest

from cembed_e2e import UNBUFFERED_MAIN, clean_env, library_script, lines


def build_lib(project, module, api, init, target, **kw):
    script = library_script(module, api, init, target, **kw)
    name = "build_%s.py" % module
    r = project.build(script, name=name)
    path = r.stdout.strip().splitlines()[-1]
    assert os.path.isabs(path), r.stdout
    assert os.path.exists(path), path
    return path


ADDER_API = "int add(int, int);"
ADDER_INIT = """
    from adder import ffi
    print("init adder", flush=True)

    @ffi.def_extern()
    def add(a, b):
        return a + b
"""


@pytest.mark.smoke
def test_basic_library_and_returned_path(project):
    path = build_lib(project, "adder", ADDER_API, ADDER_INIT, "libadder.*")
    assert path == project.file("libadder.so")
    exe = project.gcc("""
        #include <stdio.h>
        int add(int, int);
        int main(void) {
            %s
            printf("%%d\\n", add(40, 2));
            printf("%%d\\n", add(-1, 1));
            return 0;
        }
    """ % UNBUFFERED_MAIN, libs=["libadder.so"])
    r = project.run(exe)
    assert r.stdout == lines("init adder", "42", "0")
    assert r.stderr == ""


@pytest.mark.smoke
def test_host_runs_from_another_directory(project, tmp_path_factory):
    build_lib(project, "adder", ADDER_API, ADDER_INIT, "libadder.*")
    exe = project.gcc("""
        #include <stdio.h>
        int add(int, int);
        int main(void) { %s printf("%%d\\n", add(1, 2)); return 0; }
    """ % UNBUFFERED_MAIN, libs=["libadder.so"])
    # Run from / and from an unrelated empty directory: no env vars, no cwd.
    for cwd in ("/", str(tmp_path_factory.mktemp("elsewhere"))):
        r = project.run(exe, cwd=cwd)
        assert r.stdout == lines("init adder", "3")


@pytest.mark.smoke
def test_two_libraries_in_one_host(project):
    build_lib(project, "mod_a", "int a_value(int);", """
        from mod_a import ffi
        print("init a", flush=True)
        @ffi.def_extern()
        def a_value(x):
            return x + 1
    """, "liba.*")
    build_lib(project, "mod_b", "int b_value(int);", """
        from mod_b import ffi
        print("init b", flush=True)
        @ffi.def_extern()
        def b_value(x):
            return x * 2
    """, "libb.*")
    exe = project.gcc("""
        #include <stdio.h>
        int a_value(int); int b_value(int);
        int main(void) {
            %s
            printf("a %%d\\n", a_value(1));
            printf("b %%d\\n", b_value(21));
            printf("a %%d\\n", a_value(2));
            return 0;
        }
    """ % UNBUFFERED_MAIN, libs=["liba.so", "libb.so"])
    r = project.run(exe)
    assert r.stdout == lines("init a", "a 2", "init b", "b 42", "a 3")


THREADS_HOST = r"""
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
int a_value(int); int b_value(int);
#define N %(n)d
static pthread_barrier_t barrier;
static int results[N];
static void *worker(void *arg) {
    long i = (long)arg;
    pthread_barrier_wait(&barrier);          /* every thread calls at once */
    results[i] = (%(two)d && (i %% 2)) ? b_value((int)i) : a_value((int)i);
    return NULL;
}
int main(void) {
    pthread_t t[N];
    long sum = 0;
    %(unbuf)s
    pthread_barrier_init(&barrier, NULL, N);
    for (long i = 0; i < N; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++) sum += results[i];
    printf("sum %%ld\n", sum);
    return 0;
}
"""

SLOW_INIT_A = """
    import time
    from mod_a import ffi
    time.sleep(0.05)     # widen the window in which the other threads wait
    print("init a", flush=True)
    @ffi.def_extern()
    def a_value(x):
        return x * 10
"""
SLOW_INIT_B = SLOW_INIT_A.replace("mod_a", "mod_b").replace("init a", "init b") \
    .replace("a_value", "b_value").replace("x * 10", "x * 100")


@pytest.mark.smoke
def test_ten_threads_make_the_first_call_at_once(project):
    build_lib(project, "mod_a", "int a_value(int);", SLOW_INIT_A, "liba.*")
    # b_value is never called here; a stub keeps one host source.
    project.write("stub_b.c", "int b_value(int x) { return x; }\n")
    exe = project.gcc(THREADS_HOST % {"n": 10, "two": 0, "unbuf": UNBUFFERED_MAIN},
                      libs=["liba.so", "stub_b.c"])
    expected = lines("init a", "sum %d" % (10 * sum(range(10))))
    for run in range(20):
        r = project.run(exe, timeout=60)
        assert (run, r.stdout) == (run, expected)
        assert r.stderr == ""


def test_twenty_threads_across_two_libraries(project):
    build_lib(project, "mod_a", "int a_value(int);", SLOW_INIT_A, "liba.*")
    build_lib(project, "mod_b", "int b_value(int);", SLOW_INIT_B, "libb.*")
    exe = project.gcc(THREADS_HOST % {"n": 20, "two": 1, "unbuf": UNBUFFERED_MAIN},
                      libs=["liba.so", "libb.so"])
    total = sum(i * 10 for i in range(0, 20, 2)) + sum(i * 100 for i in range(1, 20, 2))
    for run in range(10):
        r = project.run(exe, timeout=60)
        # The two inits may run in either order; each exactly once.
        out = r.stdout.splitlines()
        assert sorted(out[:2]) == ["init a", "init b"], (run, r.stdout, r.stderr)
        assert out[2:] == ["sum %d" % total], (run, r.stdout)


@pytest.mark.smoke
def test_init_error_returns_zero_and_host_keeps_running(project):
    build_lib(project, "broken", "int f(int);", """
        from broken import ffi
        @ffi.def_extern()
        def f(x):
            return x
        1 / 0
    """, "libbroken.*")
    exe = project.gcc("""
        #include <stdio.h>
        int f(int);
        int main(void) {
            %s
            printf("first %%d\\n", f(5));
            printf("second %%d\\n", f(6));
            printf("still running\\n");
            return 0;
        }
    """ % UNBUFFERED_MAIN, libs=["libbroken.so"])
    r = project.run(exe)
    assert r.stdout == lines("first 0", "second 0", "still running")
    assert "Traceback" in r.stderr
    assert "ZeroDivisionError" in r.stderr
    assert "broken" in r.stderr          # the module is named


def test_unicode_in_init_code(project):
    build_lib(project, "uni", "int text_len(void);", """
        from uni import ffi
        MESSAGE = "héllo wörld ✓ 日本語 🐍"
        print(MESSAGE, flush=True)
        @ffi.def_extern()
        def text_len():
            return len(MESSAGE)
    """, "libuni.*")
    exe = project.gcc("""
        #include <stdio.h>
        int text_len(void);
        int main(void) { %s printf("%%d\\n", text_len()); return 0; }
    """ % UNBUFFERED_MAIN, libs=["libuni.so"])
    r = project.run(exe, env=clean_env(LC_ALL="C.UTF-8"))
    assert r.stdout == lines("héllo wörld ✓ 日本語 🐍", "19")


def test_thread_local_state_on_the_python_side(project):
    build_lib(project, "tls", "int bump(void);", """
        import threading
        from tls import ffi
        local = threading.local()
        @ffi.def_extern()
        def bump():
            local.n = getattr(local, "n", 0) + 1
            return local.n
    """, "libtls.*")
    exe = project.gcc(r"""
        #include <pthread.h>
        #include <stdio.h>
        int bump(void);
        static int last[4];
        static void *worker(void *arg) {
            long i = (long)arg;
            for (int k = 0; k < 3; k++) last[i] = bump();
            return NULL;
        }
        int main(void) {
            pthread_t t[4];
            for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, (void *)i);
            for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
            printf("%d %d %d %d main %d\n", last[0], last[1], last[2], last[3], bump());
            return 0;
        }
    """, libs=["libtls.so"])
    # Each OS thread keeps its Python thread state, so its threading.local too.
    assert project.run(exe).stdout == "3 3 3 3 main 1\n"


def test_recursive_call_during_init(project):
    build_lib(project, "rec", "int outer(int);", """
        from rec import ffi, lib
        @ffi.def_extern()
        def helper(x):
            return x * 10
        @ffi.def_extern()
        def outer(x):
            return x + FROM_INIT
        # init code -> C -> another extern "Python" function
        FROM_INIT = lib.call_helper(4)
        print("init got", FROM_INIT, flush=True)
    """, "librec.*", cdef="""
        extern "Python" int helper(int);
        int call_helper(int);
    """, c_code="""
        static int helper(int);
        int call_helper(int x) { return helper(x) + 1; }
    """)
    exe = project.gcc("""
        #include <stdio.h>
        int outer(int);
        int main(void) { %s printf("%%d\\n", outer(1)); return 0; }
    """ % UNBUFFERED_MAIN, libs=["librec.so"])
    r = project.run(exe, timeout=30)
    assert r.stdout == lines("init got 41", "42")


DLOPEN_HOST = r"""
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    int flags = RTLD_NOW | (argv[2][0] == 'g' ? RTLD_GLOBAL : RTLD_LOCAL);
    void *h;
    int (*probe)(void);
    setvbuf(stdout, NULL, _IONBF, 0);
    h = dlopen(argv[1], flags);
    if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
    *(void **)(&probe) = dlsym(h, "probe");
    if (!probe) { printf("dlsym: %s\n", dlerror()); return 1; }
    printf("probe %d\n", probe());
    printf("probe %d\n", probe());
    return 0;
}
"""


@pytest.mark.smoke
@pytest.mark.parametrize("mode", ["local", "global"])
def test_dlopen_host_imports_stdlib_extension_modules(project, mode):
    lib = build_lib(project, "dl", "int probe(void);", """
        import math, json, _struct, select
        from dl import ffi
        print("imported", math.__name__, json.__name__, _struct.__name__,
              select.__name__, flush=True)
        @ffi.def_extern()
        def probe():
            return int(math.sqrt(49)) + len(json.dumps([1])) + _struct.calcsize("i")
    """, "libdl.*")
    exe = project.gcc(DLOPEN_HOST, out="dlhost")
    r = project.run(exe, [lib, mode], cwd="/")
    assert r.stdout == lines("imported math json _struct select", "probe 14", "probe 14")
    assert r.stderr == ""


@pytest.mark.smoke
def test_library_imported_from_python(project):
    build_lib(project, "my_plugin", ADDER_API, ADDER_INIT.replace("adder", "my_plugin"),
              None)
    assert os.path.exists(project.file("my_plugin.so"))
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import my_plugin\n"
            "print(my_plugin.lib.add(2, 3))\n"
            "print(my_plugin.lib.add(10, 20))\n" % project.path)
    r = subprocess.run([sys.executable, "-c", code], env=clean_env(), cwd="/",
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (0, "")
    # The init code ran once, at the first call.
    assert r.stdout == lines("init my_plugin", "5", "30")


def test_exception_prints_traceback_and_returns_error_value(project):
    build_lib(project, "exc", """
        int plain(int);
        int with_error(int);
        int with_onerror(int);
    """, """
        from exc import ffi
        @ffi.def_extern()
        def plain(x):
            raise ValueError("boom %d" % x)
        @ffi.def_extern(error=-1)
        def with_error(x):
            raise KeyError(x)
        def handler(exc, value, tb):
            print("onerror got", exc.__name__, value, flush=True)
            return 77
        @ffi.def_extern(onerror=handler)
        def with_onerror(x):
            raise RuntimeError("bad %d" % x)
    """, "libexc.*")
    exe = project.gcc("""
        #include <stdio.h>
        int plain(int); int with_error(int); int with_onerror(int);
        int main(void) {
            %s
            printf("plain %%d\\n", plain(1));
            printf("with_error %%d\\n", with_error(2));
            printf("with_onerror %%d\\n", with_onerror(3));
            return 0;
        }
    """ % UNBUFFERED_MAIN, libs=["libexc.so"])
    r = project.run(exe)
    assert r.stdout == lines("plain 0", "with_error -1", "onerror got RuntimeError bad 3",
                             "with_onerror 77")
    assert "Traceback (most recent call last)" in r.stderr
    assert "ValueError: boom 1" in r.stderr
    assert "KeyError: 2" in r.stderr


def test_error_report_survives_a_failing_repr_and_a_replaced_function(project):
    # The report names the function with repr(): a repr that raises must not
    # swallow the user's exception (traceback, onerror's arguments). And a
    # function that re-attaches the name while it runs, then raises, is
    # reported without touching the replaced (possibly freed) object.
    build_lib(project, "badrepr", "int f(int); int g(int); int h(int);", """
        from badrepr import ffi
        class Callee:
            def __call__(self, x):
                raise ValueError("boom %d" % x)
            def __repr__(self):
                raise RuntimeError("no repr")
        ffi.def_extern(name="f")(Callee())
        def handler(exc, value, tb):
            print("onerror got", exc.__name__, value, tb is not None, flush=True)
            return 5
        ffi.def_extern(name="g", onerror=handler)(Callee())
        @ffi.def_extern()
        def h(x):
            ffi.def_extern(name="h")(lambda x: x * 10)
            raise KeyError("replaced %d" % x)
    """, "libbadrepr.*")
    exe = project.gcc("""
        #include <stdio.h>
        int f(int); int g(int); int h(int);
        int main(void) {
            %s
            printf("f %%d\\n", f(1));
            printf("g %%d\\n", g(2));
            printf("h %%d\\n", h(3));
            printf("h %%d\\n", h(4));
            return 0;
        }
    """ % UNBUFFERED_MAIN, libs=["libbadrepr.so"])
    r = project.run(exe)
    assert r.stdout == lines("f 0", "onerror got ValueError boom 2 True", "g 5",
                             "h 0", "h 40"), (r.stdout, r.stderr)
    assert "<object with a failing repr>" in r.stderr, r.stderr
    assert "ValueError: boom 1" in r.stderr, r.stderr
    assert "KeyError: 'replaced 3'" in r.stderr, r.stderr
    assert "RuntimeError" not in r.stderr, r.stderr


def test_unattached_function_prints_and_returns_zero(project):
    build_lib(project, "half", "int attached(void); int missing(int);", """
        from half import ffi
        @ffi.def_extern()
        def attached():
            return 1
    """, "libhalf.*")
    exe = project.gcc("""
        #include <stdio.h>
        int attached(void); int missing(int);
        int main(void) {
            %s
            printf("%%d %%d %%d\\n", attached(), missing(5), attached());
            return 0;
        }
    """ % UNBUFFERED_MAIN, libs=["libhalf.so"])
    r = project.run(exe)
    assert r.stdout == "1 0 1\n"
    assert "missing" in r.stderr


def test_errno_is_preserved(project):
    build_lib(project, "err", "int touch(void);", """
        import os
        from err import ffi
        @ffi.def_extern()
        def touch():
            try:
                os.stat("/nonexistent/cembed")     # sets C errno to ENOENT inside
            except OSError:
                pass
            return 1
    """, "liberr.*")
    exe = project.gcc("""
        #include <errno.h>
        #include <stdio.h>
        int touch(void);
        int main(void) {
            errno = 42;
            int r = touch();                 /* first call: starts Python */
            printf("%d errno %d\\n", r, errno);
            errno = 7;
            r = touch();
            printf("%d errno %d\\n", r, errno);
            return 0;
        }
    """, libs=["liberr.so"])
    assert project.run(exe).stdout == lines("1 errno 42", "1 errno 7")


@pytest.mark.smoke
@pytest.mark.parametrize("how", ["return", "exit"])
def test_buffered_output_and_open_files_are_flushed_at_exit(project, how):
    out_file = project.file("written.txt")
    build_lib(project, "flush", "int chatter(int);", """
        from flush import ffi
        LOG = open(%r, "w")          # never closed by the Python code
        @ffi.def_extern()
        def chatter(n):
            for i in range(n):
                print("line", i)      # no flush: stdout is a pipe
            LOG.write("data\\n")
            return n
    """ % out_file, "libflush.*")
    exe = project.gcc("""
        #include <stdio.h>
        #include <stdlib.h>
        int chatter(int);
        int main(void) {
            int n = chatter(1000);
            %s
        }
    """ % ("return n == 1000 ? 0 : 1;" if how == "return" else "exit(n == 1000 ? 0 : 1);"),
        libs=["libflush.so"])
    r = project.run(exe)
    assert r.stdout == "".join("line %d\n" % i for i in range(1000))
    with open(out_file) as f:
        assert f.read() == "data\n"


def test_atexit_handlers_run(project):
    build_lib(project, "ax", "int f(void);", """
        import atexit
        from ax import ffi
        atexit.register(lambda: print("atexit ran"))
        @ffi.def_extern()
        def f():
            return 3
    """, "libax.*")
    exe = project.gcc("""
        #include <stdio.h>
        int f(void);
        int main(void) { printf("f %d\\n", f()); fflush(stdout); return 0; }
    """, libs=["libax.so"])
    assert project.run(exe).stdout == lines("f 3", "atexit ran")


def test_a_host_that_never_calls_pays_nothing(project):
    build_lib(project, "lazy", "int f(void);", """
        print("should not run")
    """, "liblazy.*")
    exe = project.gcc("""
        #include <stdio.h>
        int f(void);
        int main(int argc, char **argv) { if (argc > 5) f(); printf("ok\\n"); return 0; }
    """, libs=["liblazy.so"])
    r = project.run(exe)
    assert (r.stdout, r.stderr) == ("ok\n", "")



@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_first_call_does_not_load_libgcc_s(project):
    # The runtime links its unwinder statically: loading libgcc_s.so.1 would
    # run its CPUID-heavy constructor on every first call (~180 us in a VM,
    # docs/performance.md "First-call latency").
    build_lib(project, "nogcc", "int f(void);", """
        from nogcc import ffi
        @ffi.def_extern()
        def f():
            return 7
    """, "libnogcc.*")
    exe = project.gcc("""
        #include <stdio.h>
        #include <string.h>
        int f(void);
        int main(void)
        {
            char line[4096];
            int n = f(), gcc_s = 0;
            FILE *maps = fopen("/proc/self/maps", "r");
            while (maps && fgets(line, sizeof line, maps))
                gcc_s |= strstr(line, "libgcc_s") != NULL;
            printf("f %d, libgcc_s mapped: %d\\n", n, gcc_s);
            return 0;
        }
    """, libs=["libnogcc.so"])
    assert project.run(exe).stdout == "f 7, libgcc_s mapped: 0\n"

PRIMITIVES = [
    # (C type, values the host passes; each printed back through Python)
    ("signed char", ["-128", "127"], "%d"),
    ("unsigned char", ["0", "255"], "%u"),
    ("short", ["-32768", "32767"], "%d"),
    ("unsigned short", ["0", "65535"], "%u"),
    ("int", ["-2147483647 - 1", "2147483647"], "%d"),
    ("unsigned int", ["0", "4294967295u"], "%u"),
    ("long", ["-9223372036854775807L - 1", "9223372036854775807L"], "%ld"),
    ("unsigned long", ["0", "18446744073709551615ul"], "%lu"),
    ("long long", ["-9223372036854775807LL - 1", "9223372036854775807LL"], "%lld"),
    ("unsigned long long", ["0", "18446744073709551615ull"], "%llu"),
    ("int8_t", ["-128", "127"], "%d"),
    ("uint8_t", ["0", "255"], "%u"),
    ("int16_t", ["-32768", "32767"], "%d"),
    ("uint16_t", ["0", "65535"], "%u"),
    ("int32_t", ["-2147483647 - 1", "2147483647"], "%d"),
    ("uint32_t", ["0", "4294967295u"], "%u"),
    ("int64_t", ["-9223372036854775807LL - 1", "9223372036854775807LL"], "%lld"),
    ("uint64_t", ["0", "18446744073709551615ull"], "%llu"),
    ("size_t", ["0", "18446744073709551615ul"], "%zu"),
    ("intptr_t", ["-1", "123456789"], "%ld"),
    ("uintptr_t", ["0", "123456789"], "%lu"),
    ("float", ["-1.5f", "3.25f"], "%g"),
    ("double", ["-1e300", "2.5"], "%g"),
    ("_Bool", ["0", "1"], "%d"),
    ("char", ["'A'", "'z'"], "%c"),
    ("wchar_t", ["L'A'", "0x263A"], "%ld"),
]


def _ident(ctype):
    return ctype.replace(" ", "_")


def primitives_script():
    api = "\n".join("%s id_%s(%s);" % (t, _ident(t), t) for t, _, _ in PRIMITIVES)
    api += "\nunsigned char too_big(void);\nint8_t too_small(void);\n" \
           "unsigned int negative(void);\nint wrong_type(void);\nvoid nothing(int);\n"
    init = "from prims import ffi\n"
    for t, _, _ in PRIMITIVES:
        init += "@ffi.def_extern()\ndef id_%s(x):\n    return x\n" % _ident(t)
    init += (
        "@ffi.def_extern()\ndef too_big():\n    return 256\n"
        "@ffi.def_extern()\ndef too_small():\n    return -129\n"
        "@ffi.def_extern()\ndef negative():\n    return -1\n"
        "@ffi.def_extern()\ndef wrong_type():\n    return 'text'\n"
        "@ffi.def_extern()\ndef nothing(x):\n    print('nothing', x, flush=True)\n"
    )
    return library_script("prims", api, init, "libprims.*")


def primitives_host():
    body = []
    for t, values, fmt in PRIMITIVES:
        cast = {"%d": "(int)", "%u": "(unsigned)", "%ld": "(long)", "%lu": "(unsigned long)",
                "%lld": "(long long)", "%llu": "(unsigned long long)", "%zu": "(size_t)",
                "%g": "(double)", "%c": "(int)"}[fmt]
        for v in values:
            body.append('printf("%s %s\\n", %sid_%s((%s)(%s)));'
                        % (t, fmt, cast, _ident(t), t, v))
    body.append('printf("too_big %d\\n", too_big());')
    body.append('printf("too_small %d\\n", too_small());')
    body.append('printf("negative %u\\n", negative());')
    body.append('printf("wrong_type %d\\n", wrong_type());')
    body.append('nothing(5);')
    return ("#include <stdint.h>\n#include <stdio.h>\n#include <wchar.h>\n#include <stddef.h>\n"
            "#include \"prims_api.h\"\n"
            "int main(void) {\n    setvbuf(stdout, NULL, _IONBF, 0);\n    "
            + "\n    ".join(body) + "\n    return 0;\n}\n")


def primitives_api_header():
    text = "#include <stdint.h>\n#include <stddef.h>\n#include <wchar.h>\n#include <stdbool.h>\n"
    text += "".join("%s id_%s(%s);\n" % (t, _ident(t), t) for t, _, _ in PRIMITIVES)
    text += ("unsigned char too_big(void);\nint8_t too_small(void);\n"
             "unsigned int negative(void);\nint wrong_type(void);\nvoid nothing(int);\n")
    return text


PRIMITIVES_EXPECTED = [
    "signed char -128", "signed char 127", "unsigned char 0", "unsigned char 255",
    "short -32768", "short 32767", "unsigned short 0", "unsigned short 65535",
    "int -2147483648", "int 2147483647", "unsigned int 0", "unsigned int 4294967295",
    "long -9223372036854775808", "long 9223372036854775807",
    "unsigned long 0", "unsigned long 18446744073709551615",
    "long long -9223372036854775808", "long long 9223372036854775807",
    "unsigned long long 0", "unsigned long long 18446744073709551615",
    "int8_t -128", "int8_t 127", "uint8_t 0", "uint8_t 255",
    "int16_t -32768", "int16_t 32767", "uint16_t 0", "uint16_t 65535",
    "int32_t -2147483648", "int32_t 2147483647", "uint32_t 0", "uint32_t 4294967295",
    "int64_t -9223372036854775808", "int64_t 9223372036854775807",
    "uint64_t 0", "uint64_t 18446744073709551615",
    "size_t 0", "size_t 18446744073709551615",
    "intptr_t -1", "intptr_t 123456789", "uintptr_t 0", "uintptr_t 123456789",
    "float -1.5", "float 3.25", "double -1e+300", "double 2.5",
    "_Bool 0", "_Bool 1", "char A", "char z", "wchar_t 65", "wchar_t 9786",
    "too_big 0", "too_small 0", "negative 0", "wrong_type 0", "nothing 5",
]


def test_every_primitive_type_with_range_checks(project):
    project.build(primitives_script())
    project.write("prims_api.h", primitives_api_header())
    exe = project.gcc(primitives_host(), libs=["libprims.so"])
    r = project.run(exe)
    assert r.stdout.splitlines() == PRIMITIVES_EXPECTED
    # Out-of-range and wrong-type results print the Python error.
    assert r.stderr.count("OverflowError") == 3, r.stderr
    assert "TypeError" in r.stderr


@pytest.mark.smoke
def test_embedded_interpreter_uses_the_build_environment(project):
    """The library runs in the environment it was built in (this venv, with
    its site-packages), with no environment variable."""
    build_lib(project, "envcheck", "int f(void);", """
        import sys
        from envcheck import ffi
        import pytest       # only installed in the venv that built the library
        print(sys.prefix, flush=True)
        print(sys.version_info[:2] == %r, flush=True)
        @ffi.def_extern()
        def f():
            return 1
    """ % (tuple(sys.version_info[:2]),), "libenvcheck.*")
    exe = project.gcc("""
        #include <stdio.h>
        int f(void);
        int main(void) { %s printf("%%d\\n", f()); return 0; }
    """ % UNBUFFERED_MAIN, libs=["libenvcheck.so"])
    r = project.run(exe, cwd="/")
    assert r.stdout == lines(sys.prefix, "True", "1")
