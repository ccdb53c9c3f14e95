"""The real sqlite3 shell loads examples/sqlite_ext (SQL functions written in
Python) with `.load` and runs SQL through them."""

import subprocess

import pytest

from cembed_e2e import cffi_env, lines
from realhosts_support import host_env

pytestmark = pytest.mark.realhost


def sqlite_version(shell):
    return subprocess.run([shell, "--version"], capture_output=True, text=True,
                          check=True).stdout.split()[0]


def script(*statements):
    return "".join(s + "\n" for s in statements)


@pytest.mark.smoke
def test_sqlite_shell_loads_the_extension_from_another_directory(sqlite3_shell,
                                                                  sqlite_example):
    _, lib = sqlite_example.build()
    # The shell reads the script from stdin, in another directory than the
    # library's; `.load` gets the path without `.so`, as users write it.
    r = sqlite_example.run([sqlite3_shell, "-batch", ":memory:"], cwd="/", stdin=script(
        ".load " + lib[:-len(".so")],
        "SELECT py_upper('abc');",
        "SELECT py_upper('grüße'), py_upper(NULL) IS NULL, typeof(py_upper(NULL));",
        "SELECT py_eval('sum(range(10))'), typeof(py_eval('2**40')), py_eval('\"x\" * 3');",
        "SELECT py_upper(name) FROM (SELECT 'ab' AS name UNION ALL SELECT 'cd') ORDER BY 1;",
        "SELECT 'still running';",
    ))
    assert (r.returncode, r.stderr) == (0, "")
    # The entry point's print() is in Python's buffer (stdout is a pipe) until
    # the process exits; the shell flushes its own output before that.
    assert r.stdout == lines(
        "ABC",
        "GRÜSSE|1|null",
        "45|integer|xxx",
        "AB",
        "CD",
        "still running",
        "[python] pyext loaded into sqlite %s" % sqlite_version(sqlite3_shell),
    )


def test_dot_load_relative_to_the_working_directory(sqlite3_shell, sqlite_example):
    out, _ = sqlite_example.build()
    # Exactly what a user types next to the library. sqlite tries the name
    # as given, then with ".so", and derives the entry point from it:
    # libpyext -> sqlite3_pyext_init.
    r = sqlite_example.run([sqlite3_shell, ":memory:", ".load ./libpyext",
                            "SELECT py_upper('abc');"], cwd=out)
    assert (r.returncode, r.stderr) == (0, "")
    # Here the shell leaves its output in its stdio buffer until exit(), and
    # Python's exit-time flush runs first (an atexit handler, before exit()
    # flushes stdio): the entry point's line comes out first.
    assert r.stdout == lines("[python] pyext loaded into sqlite %s"
                             % sqlite_version(sqlite3_shell), "ABC")


def test_python_errors_become_sql_errors_and_tracebacks(sqlite3_shell, sqlite_example):
    _, lib = sqlite_example.build()
    r = sqlite_example.run([sqlite3_shell, "-batch", ":memory:"], cwd="/", stdin=script(
        ".load " + lib,
        "SELECT py_eval('1/0');",           # caught: sqlite3_result_error
        "SELECT py_eval('undefined_name');",
        "SELECT quote(py_upper(X'FF'));",   # uncaught: traceback, result NULL
        "SELECT 'still running';",
    ))
    # A statement failed: the shell's exit status says so.
    assert r.returncode == 1
    assert r.stdout == lines("NULL", "still running",
                             "[python] pyext loaded into sqlite %s"
                             % sqlite_version(sqlite3_shell))
    err = r.stderr.splitlines()
    assert err[0] == "Runtime error near line 2: ZeroDivisionError: division by zero"
    assert err[1] == ("Runtime error near line 3: NameError: name 'undefined_name' "
                      "is not defined")
    assert err[2].startswith("Exception ignored from cffi callback <function py_upper")
    assert err[3] == "Traceback (most recent call last):"
    assert err[-1].startswith("UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff")


def test_init_code_error_leaves_the_shell_running(sqlite3_shell, sqlite_example):
    _, lib = sqlite_example.build(edit=lambda text: text.replace(
        "    from pyext import ffi, lib\n",
        "    from pyext import ffi, lib\n    raise RuntimeError('pyext refuses to start')\n"))
    r = sqlite_example.run([sqlite3_shell, "-batch", ":memory:"], cwd="/", stdin=script(
        ".load " + lib,
        "SELECT py_upper('abc');",
        "SELECT 'still running';",
    ))
    # The entry point returned 0, which is SQLITE_OK: the load "worked", but
    # no function was registered, and the shell says so itself.
    assert r.returncode == 1
    assert r.stdout == lines("still running")
    assert "Traceback (most recent call last):" in r.stderr
    assert "RuntimeError: pyext refuses to start" in r.stderr
    assert "From: pyext" in r.stderr.splitlines()      # the library is named
    assert ("function pyext.sqlite3_pyext_init() called, but initialization code "
            "failed.  Returning 0.") in r.stderr.splitlines()
    assert "Parse error near line 2: no such function: py_upper" in r.stderr.splitlines()


def test_unloaded_by_open_and_loaded_again_keeps_the_pinned_library(sqlite3_shell, sqlite_example):
    # `.open` closes the connection, and sqlite3_close() dlclose()s its
    # extensions. A cembed library pins itself on its first call (the runtime
    # and Python keep pointers into its tables until exit), so the dlclose()
    # does not unmap it: the next `.load` finds the same library, whose init
    # code already ran, and only its entry point runs again for the new
    # connection. Another extension loaded meanwhile is independent.
    def announce(text):
        return text.replace("    from pyext import ffi, lib\n",
                            "    from pyext import ffi, lib\n"
                            "    print('[python] init code of pyext', flush=True)\n")
    _, lib = sqlite_example.build(edit=announce)
    _, other = sqlite_example.build("other", edit=lambda text: announce(text).replace(
        "pyext", "otherext").replace("py_upper", "other_upper"))
    r = sqlite_example.run([sqlite3_shell, "-batch", ":memory:"], cwd="/", stdin=script(
        ".load " + lib,
        "SELECT py_upper('one');",
        ".open :memory:",
        "SELECT 'reopened';",
        ".load " + other,
        "SELECT other_upper('two');",
        ".load " + lib,
        "SELECT py_upper('three');",
    ))
    assert (r.returncode, r.stderr) == (0, "")
    version = sqlite_version(sqlite3_shell)
    # The entry point's "loaded" line stays in Python's buffer until the next
    # print(flush=True) (or exit); the shell flushes after each statement.
    assert r.stdout == lines(
        "[python] init code of pyext",
        "ONE",
        "reopened",
        "[python] pyext loaded into sqlite %s" % version,
        "[python] init code of otherext",
        "TWO",
        "THREE",
        "[python] otherext loaded into sqlite %s" % version,
        "[python] pyext loaded into sqlite %s" % version,
    )


# The usual way to write a SQLite extension in C: sqlite3ext.h turns every
# sqlite3_* name into a macro calling through the routines table
# (`#define sqlite3_create_function sqlite3_api->create_function`), and the
# cdef declares those names as functions. CFFI accepts that (API mode calls
# a cdef function from a generated C wrapper, `_cffi_d_<name>(...)
# { return <name>(...); }`, so a macro works); cembed's generated C takes
# `&<name>` in a static table instead, which does not compile here.
MACRO_EXT_SCRIPT = r'''
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    typedef ... sqlite3;
    typedef ... sqlite3_api_routines;
    int sqlite3_macroext_init(sqlite3 *, char **, const sqlite3_api_routines *);
""")
ffibuilder.cdef("""
    typedef ... sqlite3_context;
    typedef ... sqlite3_value;
    int sqlite3_create_function(sqlite3 *, const char *, int, int, void *,
                                void (*)(sqlite3_context *, int, sqlite3_value **),
                                void (*)(sqlite3_context *, int, sqlite3_value **),
                                void (*)(sqlite3_context *));
    void sqlite3_result_int(sqlite3_context *, int);
    void macroext_set_api(const sqlite3_api_routines *);
    extern "Python" void answer(sqlite3_context *, int, sqlite3_value **);
""")
ffibuilder.set_source("macroext", """
    #include <sqlite3ext.h>
    SQLITE_EXTENSION_INIT1
    static void macroext_set_api(const sqlite3_api_routines *pApi) {
        SQLITE_EXTENSION_INIT2(pApi);
    }
""")
ffibuilder.embedding_init_code("""
    from macroext import ffi, lib

    @ffi.def_extern()
    def answer(ctx, argc, argv):
        lib.sqlite3_result_int(ctx, 42)

    @ffi.def_extern()
    def sqlite3_macroext_init(db, pzErrMsg, pApi):
        lib.macroext_set_api(pApi)
        return lib.sqlite3_create_function(db, b"answer", 0, 1, ffi.NULL,
                                           lib.answer, ffi.NULL, ffi.NULL)
""")
print(ffibuilder.compile(target="libmacroext.*"))
'''


@pytest.mark.parametrize("flavor", [
    pytest.param("cffi", marks=pytest.mark.cffi),
    "cembed",
])
def test_sqlite3ext_macros_declared_as_cdef_functions(sqlite3_shell, project, flavor):
    r = project.build(MACRO_EXT_SCRIPT, flavor=flavor, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    env = host_env(project.path) if flavor == "cembed" else dict(
        cffi_env(), HOME=project.path)
    r = subprocess.run([sqlite3_shell, "-batch", ":memory:"], cwd="/", env=env,
                       input=script(".load " + project.file("libmacroext"),
                                    "SELECT answer();"),
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, lines("42"), "")


@pytest.mark.cffi
def test_sqlite_same_output_as_cffi(sqlite3_shell, sqlite_example):
    # The example built by the real cffi gives the same output in the shell
    # (sqlite dlopen()s RTLD_GLOBAL, so a cffi library works with PYTHONPATH
    # and LD_LIBRARY_PATH). The entry point's print() is flushed at once:
    # cffi never finalizes Python, so a buffered line would be lost there.
    def flushed(text):
        return text.replace('        return lib.SQLITE_OK\n',
                            '        sys.stdout.flush()\n        return lib.SQLITE_OK\n'
                            ).replace("    from pyext import ffi, lib\n",
                                      "    import sys\n    from pyext import ffi, lib\n")
    libs = {}
    for flavor in ("cembed", "cffi"):
        edit = flushed if flavor == "cembed" else (
            lambda text: flushed(text).replace("import cembed as cffi", "import cffi"))
        _, libs[flavor] = sqlite_example.build(flavor, edit=edit)
    sql = [
        "SELECT py_upper('abc'), py_eval('6*7'), py_eval('\"é\" * 2');",
        "SELECT py_eval('1/0');",
        "SELECT quote(py_upper(NULL));",
    ]
    expected = lines("[python] pyext loaded into sqlite %s" % sqlite_version(sqlite3_shell),
                     "ABC|42|éé", "NULL")
    r = sqlite_example.run([sqlite3_shell, "-batch", ":memory:"], cwd="/",
                           stdin=script(".load " + libs["cembed"], *sql))
    assert (r.returncode, r.stdout) == (1, expected)
    assert r.stderr == lines("Runtime error near line 3: ZeroDivisionError: division by zero")
    env = dict(cffi_env(), HOME=str(sqlite_example.home))
    c = subprocess.run([sqlite3_shell, "-batch", ":memory:"], cwd="/", env=env,
                       input=script(".load " + libs["cffi"], *sql),
                       capture_output=True, text=True, timeout=60)
    assert (c.returncode, c.stdout, c.stderr) == (r.returncode, r.stdout, r.stderr)
