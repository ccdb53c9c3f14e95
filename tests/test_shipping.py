"""Shipping a cembed library (docs/shipping.md): re-pointing a built library
at another environment without rebuilding, the truth about where it runs,
and `cembed bundle` folders that carry their Python, moved to another path
and run from C hosts, a dlopen(RTLD_LOCAL) host, the real lua5.4 and sqlite3,
and on a machine where no Python is visible (unshare --mount).

One library and one default bundle are built per module (fixtures), so the
whole file takes well under a minute on top of the bundle copies.
"""

import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

import cembed
from cembed_e2e import Project, clean_env, library_script
from test_cli import cembed_exe  # noqa: F401  (the CLI binary fixture)

VERSION = "%d.%d" % sys.version_info[:2]
EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")

# One library for every host. `shipped_answer` is trivial; `shipped_check`
# exercises what a bundle must carry: the stdlib's C extensions (json, ssl,
# sqlite3, ctypes), a third-party pure-Python package of the build venv
# (pycparser, installed with cffi), subprocess and multiprocessing (spawn and
# forkserver: both start sys.executable). Paths are printed relative to the
# folder the host passes in SHIPPED_ROOT, so the output is exact.
API = """
    int shipped_answer(void);
    int shipped_check(void);
"""
# The Lua and SQLite entry points are plain C (set_source): they call into
# Python through shipped_answer(). lua_pushinteger is weak so that C hosts
# without Lua load the library too; sqlite3ext.h routes sqlite3_* calls
# through the table the shell passes.
C_CODE = r"""
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
typedef struct lua_State lua_State;
extern void lua_pushinteger(lua_State *L, long long n) __attribute__((weak));

CFFI_DLLEXPORT int luaopen_shipped(lua_State *L)
{
    lua_pushinteger(L, shipped_answer());
    return 1;
}

static void answer_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc; (void)argv;
    sqlite3_result_int(ctx, shipped_answer());
}

CFFI_DLLEXPORT int sqlite3_shipped_init(sqlite3 *db, char **err,
                                        const sqlite3_api_routines *api)
{
    (void)err;
    SQLITE_EXTENSION_INIT2(api);
    return sqlite3_create_function(db, "shipped_answer", 0, SQLITE_UTF8, 0,
                                   answer_sql, 0, 0);
}
"""
INIT = r"""
import os, sys
from shipped import ffi

def rel(p):
    root = os.environ.get("SHIPPED_ROOT")
    return os.path.relpath(p, root) if root else p

@ffi.def_extern()
def shipped_answer():
    return 42

@ffi.def_extern()
def shipped_check():
    import ctypes, json, multiprocessing, sqlite3, ssl, subprocess, sysconfig
    from pycparser import c_parser
    print("executable", rel(sys.executable))
    print("prefix", rel(sys.prefix))
    print("isolated", sys.flags.isolated)
    print("json", json.dumps({"a": [1, 2]}))
    print("ssl", ssl.OPENSSL_VERSION.split()[0])
    print("sqlite3", sqlite3.connect(":memory:").execute("select 6 * 7").fetchone()[0])
    print("ctypes", ctypes.sizeof(ctypes.c_int64), ctypes.CDLL(None).abs(-5))
    print("pycparser", type(c_parser.CParser().parse("int x;").ext[0]).__name__,
          rel(c_parser.__file__).split(os.sep)[-3])
    # -I: a child started by hand inherits the host's environment (PYTHONHOME
    # ...); multiprocessing passes the isolated flag itself.
    out = subprocess.run([sys.executable, "-I", "-c", "import sys; print(sys.prefix)"],
                         capture_output=True, text=True).stdout.strip()
    print("subprocess", rel(out))
    for method in ("spawn", "forkserver"):
        ctx = multiprocessing.get_context(method)
        with ctx.Pool(2) as pool:
            print(method, pool.map(abs, [-1, -2, -3]),
                  rel(pool.apply(sysconfig.get_path, ("stdlib",))),
                  pool.apply(os.getpid) != os.getpid())
    sys.stdout.flush()
    return 7
"""

C_HOST = r"""
#include <stdio.h>
#include "shipped.h"
int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("answer %d\n", shipped_answer());
    if (argc > 1)
        printf("check %d\n", shipped_check());
    return 0;
}
"""

DLOPEN_HOST = r"""
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    int (*answer)(void), (*check)(void);
    setvbuf(stdout, NULL, _IONBF, 0);
    if (h == NULL) { printf("dlopen: %s\n", dlerror()); return 1; }
    *(void **)&answer = dlsym(h, "shipped_answer");
    *(void **)&check = dlsym(h, "shipped_check");
    printf("answer %d\n", answer());
    if (argc > 2)
        printf("check %d\n", check());
    return 0;
}
"""


def expected_check(executable, prefix, stdlib, isolated, pycparser_dir):
    return [
        "executable " + executable,
        "prefix " + prefix,
        "isolated %d" % isolated,
        'json {"a": [1, 2]}',
        "ssl OpenSSL",
        "sqlite3 42",
        "ctypes 8 5",
        "pycparser Decl " + pycparser_dir,
        "subprocess " + prefix,
        "spawn [1, 2, 3] %s True" % stdlib,
        "forkserver [1, 2, 3] %s True" % stdlib,
        "check 7",
    ]


BUNDLED = expected_check(
    "python/bin/python3", "python", "python/lib/python" + VERSION, 1, "site-packages")


def host_env(root, **extra):
    """The clean environment of the end-to-end tests, plus the folder paths
    are printed relative to, plus what a user's shell may hold that must not
    change what a bundle imports."""
    return clean_env(SHIPPED_ROOT=str(root), **extra)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The library, built once with the Python running pytest (its venv has
    cffi and therefore pycparser)."""
    p = Project(tmp_path_factory.mktemp("shipped"))
    p.build(library_script("shipped", API, INIT, "libshipped.*", c_code=C_CODE))
    return p


@pytest.fixture(scope="module")
def moved_bundle(built, tmp_path_factory):
    """The default bundle, made with cembed.bundle(), then moved (the whole
    folder renamed to another parent) with two hosts compiled next to it."""
    where = tmp_path_factory.mktemp("bundles")
    first = where / "first" / "shipped-bundle"
    first.parent.mkdir()
    path = cembed.bundle(built.file("libshipped.so"), first)
    assert path == str(first)
    # Hosts beside the bundle: an rpath host ($ORIGIN/shipped-bundle) and a
    # dlopen host.
    host = Project(first.parent)
    host.gcc(C_HOST, "host", extra=["-I", str(first), str(first / "libshipped.so"),
                                    "-Wl,-rpath,$ORIGIN/shipped-bundle"])
    host.gcc(DLOPEN_HOST, "dlhost")
    moved = where / "elsewhere" / "deeper"
    moved.parent.mkdir()
    os.rename(first.parent, moved)
    return moved / "shipped-bundle"


# ---- 1. re-pointing a built library ------------------------------------------

def _make_venv(path):
    """A venv of this Python's base installation with cembed (copied from
    this venv: building it again would take minutes)."""
    base = os.path.join(sys.base_prefix, "bin", "python" + VERSION)
    subprocess.run([base, "-m", "venv", "--without-pip", str(path)], check=True,
                   env=clean_env(), timeout=120)
    site = path / "lib" / ("python" + VERSION) / "site-packages"
    shutil.copytree(os.path.dirname(cembed.__file__), site / "cembed",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return path / "bin" / "python"


@pytest.fixture(scope="module")
def moved_venv(tmp_path_factory):
    """A library built in venv A, then venv A renamed to B: every path the
    library recorded is gone, B is a working environment with cembed."""
    root = tmp_path_factory.mktemp("repoint")
    python = _make_venv(root / "venv-a")
    p = Project(root / "proj")
    os.makedirs(p.path)
    p.write("build.py", "import cembed as cffi\n" + library_script(
        "repointed", "int repointed_where(void);",
        """
        import sys
        from repointed import ffi
        @ffi.def_extern()
        def repointed_where():
            print("sys.executable", sys.executable, flush=True)
            return 5
        """, "librepointed.*", c_code="""
        CFFI_DLLEXPORT const char *repointed_error(void)
        {
            const char *e = cembed_init_error();
            return e ? e : "(none)";
        }
        """))
    r = subprocess.run([str(python), "build.py"], cwd=p.path, env=clean_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    p.gcc('#include <stdio.h>\n#include "repointed.h"\n'
          'int main(void) { setvbuf(stdout, NULL, _IONBF, 0);\n'
          '    printf("result %d\\n", repointed_where()); return 0; }\n',
          "host", libs=["librepointed.so"])
    p.gcc('#include <stdio.h>\nconst char *repointed_error(void);\n'
          'int main(void) { fputs(repointed_error(), stdout); return 0; }\n',
          "errhost", libs=["librepointed.so"])
    os.rename(root / "venv-a", root / "venv-b")
    return p, root / "venv-a", root / "venv-b"


@contextlib.contextmanager
def config_file(p, text):
    """`librepointed.so.cembed` beside the library while the block runs."""
    path = p.file("librepointed.so.cembed")
    with open(path, "w") as f:
        f.write(text)
    try:
        yield path
    finally:
        os.remove(path)


def test_moved_venv_fails_with_the_search_and_the_fixes(moved_venv):
    p, gone, _ = moved_venv
    r = p.run(p.file("host"))
    assert r.stdout == "result 0\n"
    lib = p.file("librepointed.so")
    err = r.stderr.splitlines()
    assert err[0] == ("cembed: library for module 'repointed': cannot find a Python to run in: "
                      "no cembed runtime for Python %s found in the environment of %s/bin/python"
                      % (VERSION, gone))
    assert err[1:5] == [
        "where the loader looked (first found wins):",
        "  CEMBED_PYTHON_REPOINTED: not set",
        "  config file %s.cembed: No such file or directory" % lib,
        "  CEMBED_PYTHON: not set",
    ]
    assert "  build interpreter %s/bin/python: missing" % gone in err
    i = err.index("fix it either way:")
    assert err[i + 1] == ("  1. point the library at a Python %s environment that has "
                          "cembed installed:" % VERSION)
    assert err[i + 5] == "  2. or rebuild the library there, or ship it as a folder that carries its"
    assert err[-1] == ("function repointed_where() called, but the Python runtime could not "
                       "be loaded (see above).  Returning 0.")
    # The same report is what cembed_init_error() returns to C code.
    e = p.run(p.file("errhost"))
    assert e.stdout == e.stderr == r.stderr[:r.stderr.index("function repointed_where()")]


@pytest.mark.smoke
@pytest.mark.parametrize("how", ["CEMBED_PYTHON", "CEMBED_PYTHON_REPOINTED", "config"])
def test_repointed_without_rebuilding(moved_venv, how):
    p, _, venv = moved_venv
    python = str(venv / "bin" / "python")
    env = clean_env()
    if how == "config":
        # Relative to the library's directory; the file beats CEMBED_PYTHON
        # (meant for the other libraries of the process).
        env["CEMBED_PYTHON"] = "/nonexistent/bin/python"
        with config_file(p, "# re-pointed\npython = %s\n" % os.path.relpath(python, p.path)):
            r = p.run(p.file("host"), env=env)
    else:
        env[how] = python
        r = p.run(p.file("host"), env=env)
    assert (r.stdout, r.stderr) == ("sys.executable %s\nresult 5\n" % python, "")


def _other_version_venv():
    """A venv of another CPython with cembed installed (`./dev test` makes
    .venv-3.X.Y for the smoke runs), or None."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # A venv left from an older checkout has an older runtime: only one
    # built after the runtime's and the ABI's sources counts.
    sources = [os.path.join(d, f) for crate in ("cembed-runtime", "cembed-abi")
               for d, _, fs in os.walk(os.path.join(root, "crates", crate)) for f in fs]
    newest = max(os.path.getmtime(f) for f in sources)
    for venv in sorted(glob.glob(os.path.join(root, ".venv-3.*"))):
        found = glob.glob(os.path.join(venv, "lib", "python3.*", "site-packages", "cembed",
                                       "_runtime.*.so"))
        if found and "python%s/" % VERSION not in found[0] \
                and os.path.getmtime(found[0]) >= newest:
            return venv
    return None


def test_repointed_to_another_python_version(moved_venv):
    """The generated C does not depend on the Python version: a library built
    for this Python runs on another one's environment (with its runtime)."""
    venv = _other_version_venv()
    if venv is None:
        pytest.skip("no .venv-3.X.Y of another CPython with cembed (./dev test makes them)")
    p, _, _ = moved_venv
    python = os.path.join(venv, "bin", "python")
    r = p.run(p.file("host"), env=clean_env(CEMBED_PYTHON=python))
    assert (r.stdout, r.stderr) == ("sys.executable %s\nresult 5\n" % python, "")


def test_per_library_variable_beats_the_config_file(moved_venv):
    p, _, venv = moved_venv
    with config_file(p, "python = /nonexistent/bin/python\n") as config:
        r = p.run(p.file("host"), env=clean_env(
            CEMBED_PYTHON_REPOINTED=str(venv / "bin" / "python")))
        bad = p.run(p.file("host"))
    assert r.stdout.endswith("result 5\n") and r.stderr == ""
    assert bad.stdout == "result 0\n"
    assert bad.stderr.startswith(
        "cembed: library for module 'repointed': cannot find a Python to run in: the python "
        "named by %s, /nonexistent/bin/python, is not an executable file\n" % config)


def test_config_file_errors_name_file_and_line(moved_venv):
    p, _, _ = moved_venv
    with config_file(p, "# comment\n\npyhton = x\n") as config:
        r = p.run(p.file("host"))
    assert r.stdout == "result 0\n"
    assert r.stderr.startswith(
        "cembed: library for module 'repointed': cannot find a Python to run in: %s:3: unknown "
        "key 'pyhton' (known: python, home, path, libpython, runtime, isolated)\n" % config)


FAKE_RUNTIME = r"""
#include <stdio.h>
#include <string.h>
#include "cembed_abi.h"
static void call(cembed_extern *ext, void **args, void *result)
{
    (void)args;
    printf("fake runtime %d.%d: %s\n", MAJOR, MINOR, ext->name);
    *(int *)result = 7;
}
static int start(cembed_lib *lib) { (void)lib; return 0; }
static void *module_init(cembed_lib *lib) { (void)lib; return NULL; }
static const char *init_error(cembed_lib *lib) { (void)lib; return NULL; }
static void configure(cembed_lib *lib, const cembed_location *loc) { (void)lib; (void)loc; }
static struct { cembed_runtime_api api; char future[64]; } api = {
    { MAJOR, sizeof api, call, start, module_init, init_error, MINOR, configure }, {0}
};
const cembed_runtime_api *cembed_runtime_v1(void) { return &api.api; }
"""


@pytest.mark.parametrize("major,minor", [(1, 7), (2, 0)])
def test_runtime_abi_major_decides(moved_venv, tmp_path, major, minor):
    """Any runtime with the library's ABI major serves (here a newer minor,
    with a bigger table); another major is refused with a message."""
    p, _, _ = moved_venv
    env_dir = tmp_path / "fakeenv"
    (env_dir / "bin").mkdir(parents=True)
    os.symlink(os.path.join(sys.base_prefix, "bin", "python" + VERSION),
               env_dir / "bin" / "python")
    # A venv of this Python's base installation (where libpython is).
    (env_dir / "pyvenv.cfg").write_text("home = %s\n" % os.path.join(sys.base_prefix, "bin"))
    cembed_dir = env_dir / "lib" / ("python" + VERSION) / "site-packages" / "cembed"
    cembed_dir.mkdir(parents=True)
    (tmp_path / "fake.c").write_text(FAKE_RUNTIME)
    include = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "crates", "cembed-abi", "include")
    subprocess.run(["gcc", "-Wall", "-Werror", "-shared", "-fPIC", "-I", include,
                    "-DMAJOR=%d" % major, "-DMINOR=%d" % minor, "-o",
                    str(cembed_dir / ("_runtime" + EXT_SUFFIX)), str(tmp_path / "fake.c")],
                   check=True)
    r = p.run(p.file("host"), env=clean_env(CEMBED_PYTHON=str(env_dir / "bin" / "python")))
    if major == 1:
        assert (r.stdout, r.stderr) == ("fake runtime 1.7: repointed_where\nresult 7\n", "")
    else:
        assert r.stdout == "result 0\n"
        assert r.stderr.splitlines()[0] == (
            "cembed: library for module 'repointed': incompatible cembed runtime: the runtime "
            "%s speaks ABI 2.0; this library needs ABI 1.x (any minor)"
            % (cembed_dir / ("_runtime" + EXT_SUFFIX)))


@pytest.mark.smoke
@pytest.mark.skipif(sys.version_info < (3, 12), reason="isolation needs CPython 3.12+")
def test_isolated_library_refuses_a_runtime_without_isolation(project, tmp_path):
    """A runtime older than ABI 1.2 does not read `cembed_lib.isolation`
    and would run an isolated library in the main interpreter: the loader
    refuses it instead (and a 1.2 runtime of the same shape serves)."""
    script = library_script("isofake", "int isofake_get(void);", "pass\n", "libisofake.*")
    script = script.replace("print(ffibuilder.compile(",
                            'ffibuilder.embedding_isolation("isolated")\n'
                            "print(ffibuilder.compile(", 1)
    assert "embedding_isolation" in script
    project.build(script)
    exe = project.gcc('#include <stdio.h>\nint isofake_get(void);\n'
                      'int main(void) { printf("result %d\\n", isofake_get()); return 0; }\n',
                      libs=["libisofake.so"])
    include = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "crates", "cembed-abi", "include")
    (tmp_path / "fake.c").write_text(FAKE_RUNTIME)
    for minor, expect_out in [(1, "result 0\n"), (2, "fake runtime 1.2: isofake_get\nresult 7\n")]:
        env_dir = tmp_path / ("fakeenv%d" % minor)
        (env_dir / "bin").mkdir(parents=True)
        os.symlink(os.path.join(sys.base_prefix, "bin", "python" + VERSION),
                   env_dir / "bin" / "python")
        (env_dir / "pyvenv.cfg").write_text("home = %s\n" % os.path.join(sys.base_prefix, "bin"))
        cembed_dir = env_dir / "lib" / ("python" + VERSION) / "site-packages" / "cembed"
        cembed_dir.mkdir(parents=True)
        runtime = cembed_dir / ("_runtime" + EXT_SUFFIX)
        subprocess.run(["gcc", "-Wall", "-Werror", "-shared", "-fPIC", "-I", include,
                        "-DMAJOR=1", "-DMINOR=%d" % minor, "-o", str(runtime),
                        str(tmp_path / "fake.c")], check=True)
        r = project.run(exe, env=clean_env(CEMBED_PYTHON=str(env_dir / "bin" / "python")),
                        check=False)
        assert r.stdout == expect_out, r
        if minor == 1:
            assert r.stderr.splitlines()[0] == (
                "cembed: library for module 'isofake': incompatible cembed runtime: the "
                "runtime %s speaks ABI 1.1, which has no isolated interpreters; this library "
                "was built with embedding_isolation() and needs ABI 1.2 or later" % runtime), r
        else:
            assert r.stderr == "", r


# ---- 3. the non-bundled library tells the truth -------------------------------

def test_sys_executable_is_the_build_interpreter(built):
    r = built.run(built.gcc(C_HOST, "host", libs=["libshipped.so"]), args=["check"],
                  env=host_env("/"), timeout=180)
    assert r.stdout.splitlines() == ["answer 42"] + expected_check(
        os.path.relpath(sys.executable, "/"), os.path.relpath(sys.prefix, "/"),
        os.path.relpath(sysconfig.get_paths()["stdlib"], "/"), 0, "site-packages")
    assert r.stderr == ""


@pytest.mark.smoke
def test_init_failure_names_interpreter_runtime_and_search(project):
    project.build(library_script("failing", "int failing(void);",
                                 "raise RuntimeError('no luck')\n", "libfailing.*"))
    exe = project.gcc('#include "failing.h"\nint main(void) { return failing(); }\n',
                      "host", libs=["libfailing.so"])
    r = project.run(exe)
    import cembed._runtime as rt
    err = r.stderr
    assert "RuntimeError: no luck" in err
    assert "\ncembed runtime: %s\n" % rt.__file__ in err
    assert "\npython executable: %s\n" % sys.executable in err
    assert "\nsys.executable: %r\n" % sys.executable in err
    search = err[err.index("where the loader looked for Python (first found wins):\n"):]
    lines = search.splitlines()
    assert lines[1:4] == ["  CEMBED_PYTHON_FAILING: not set",
                          "  config file %s.cembed: No such file or directory"
                          % project.file("libfailing.so"),
                          "  CEMBED_PYTHON: not set"]
    assert "  build interpreter %s: found" % sys.executable in lines
    assert "  cembed runtime %s: loaded" % rt.__file__ in lines


# ---- 2. bundles ----------------------------------------------------------------

def test_bundle_layout_and_manifest(moved_bundle):
    b = moved_bundle
    names = sorted(os.listdir(b))
    assert names == ["cembed-manifest.json", "libshipped.so", "libshipped.so.cembed",
                     "python", "shipped.h", "shipped.pc"]
    m = json.loads((b / "cembed-manifest.json").read_text())
    assert m["module"] == "shipped" and m["library"] == "libshipped.so"
    assert m["python"]["version"] == "%d.%d.%d" % sys.version_info[:3]
    assert m["python"]["abi"] == sysconfig.get_config_var("SOABI")
    assert m["python"]["bundled"] and m["python"]["isolated"]
    assert "libc.so.6" in m["system_libraries"]
    assert not any(n.startswith("libpython") for n in m["system_libraries"])
    major, minor = map(int, m["glibc_min"].split("."))
    assert (major, minor) >= (2, 2)
    import hashlib
    files = {f["path"]: f for f in m["files"]}
    for rel in ("libshipped.so", "python/bin/python3",
                "python/lib/libpython%s.so.1.0" % VERSION):
        data = (b / rel).read_bytes()
        assert files[rel]["sha256"] == hashlib.sha256(data).hexdigest()
        assert files[rel]["size"] == len(data)
    assert len(files) == sum(len(fs) for _, _, fs in os.walk(b)) - 1
    assert m["size"] == sum(f["size"] for f in m["files"])
    site = b / "python" / "lib" / ("python" + VERSION) / "site-packages"
    assert (site / "pycparser").is_dir() and (site / "cembed").is_dir()
    for tool in ("pip", "setuptools", "maturin", "_distutils_hack"):
        assert not (site / tool).exists(), tool
    assert not glob.glob(str(site / "pip-*.dist-info"))
    # bin/python3 finds the bundled libpython wherever the folder is.
    r = subprocess.run(["readelf", "-d", str(b / "python" / "bin" / "python3")],
                       capture_output=True, text=True)
    if "libpython" in r.stdout:
        assert "[$ORIGIN/../lib]" in r.stdout


@pytest.mark.smoke
def test_moved_bundle_rpath_host(moved_bundle, tmp_path):
    """(a) a host linked with an $ORIGIN rpath, the folder moved; PYTHONPATH
    and PYTHONHOME of the machine do not reach the isolated interpreter."""
    evil = tmp_path / "evil"
    (evil / "json").mkdir(parents=True)
    (evil / "json" / "__init__.py").write_text("raise SystemExit('imported from PYTHONPATH')\n")
    r = subprocess.run([str(moved_bundle.parent / "host"), "check"],
                       env=host_env(moved_bundle, PYTHONPATH=str(evil), PYTHONHOME="/nowhere",
                                    CEMBED_PYTHON="/nonexistent/python"),
                       capture_output=True, text=True, timeout=180)
    assert r.stdout.splitlines() == ["answer 42"] + BUNDLED, r.stderr
    assert r.stderr == ""


def test_moved_bundle_dlopen_local_host(moved_bundle):
    """(b) dlopen(RTLD_LOCAL): stdlib C extensions still import."""
    r = subprocess.run([str(moved_bundle.parent / "dlhost"),
                        str(moved_bundle / "libshipped.so"), "check"],
                       env=host_env(moved_bundle), capture_output=True, text=True, timeout=180)
    assert r.stdout.splitlines() == ["answer 42"] + BUNDLED, r.stderr
    assert r.stderr == ""


def test_moved_bundle_real_hosts(moved_bundle, tmp_path):
    """(c) the real lua5.4 and sqlite3 load the library from the folder."""
    if not (shutil.which("lua5.4") and shutil.which("sqlite3")):
        pytest.skip("lua5.4 or sqlite3 missing (./dev test installs them)")
    env = host_env(moved_bundle, HOME=str(tmp_path))
    lua = subprocess.run(
        ["lua5.4", "-e", 'package.cpath = "%s/lib?.so"; print((require "shipped"))' % moved_bundle],
        env=env, capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert (lua.stdout, lua.stderr) == ("42\n", "")
    sql = subprocess.run(["sqlite3", ":memory:"],
                         input=".load %s/libshipped\nselect shipped_answer() + 1;\n" % moved_bundle,
                         env=env, capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert (sql.stdout, sql.stderr) == ("43\n", "")


def _python_installations():
    """Every Python of this machine a library could fall back on: pyenv's,
    this venv and its base, Debian's (directories get a tmpfs, files
    /dev/null)."""
    dirs = {sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix)}
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    if os.path.isdir(pyenv):
        dirs.add(pyenv)
    for pattern in ("/usr/lib/python*", "/usr/local/lib/python*", "/usr/lib/pypy*",
                    "/opt/python*"):
        dirs.update(glob.glob(pattern))
    files = set()
    for pattern in ("/usr/bin/python*", "/usr/local/bin/python*", "/usr/bin/pypy*",
                    "/usr/lib/*/libpython*", "/usr/lib/libpython*", "/usr/local/lib/libpython*",
                    "/usr/lib/*/libpypy*"):
        files.update(f for f in glob.glob(pattern) if os.path.isfile(f))
    return sorted(d for d in dirs if os.path.isdir(d)), sorted(files)


def test_moved_bundle_without_any_python_on_the_machine(moved_bundle):
    """The host runs in a mount namespace where every Python installation is
    hidden; the script proves none runs before starting the host."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("unshare --mount is not permitted here (needs root or user "
                    "namespaces): %s" % probe.stderr.strip())
    dirs, files = _python_installations()
    # A directory inside one already hidden cannot be a mount point any more.
    dirs = [d for d in dirs if not any(d.startswith(o + "/") for o in dirs)]
    script = textwrap.dedent("""
        set -e
        for d in "$@"; do
            case "$d" in
                dir:*) mount -t tmpfs none "${d#dir:}" ;;
                file:*) mount --bind /dev/null "${d#file:}" ;;
            esac
        done
        for py in python3 python python%(v)s %(exe)s %(base)s; do
            if "$py" -c pass 2>/dev/null; then echo "still runs: $py"; exit 99; fi
        done
        for f in $(ldconfig -p | awk '/libpython/ {print $NF}'); do
            if [ -s "$f" ]; then echo "still visible: $f"; exit 99; fi
        done
        exec "$HOST" check
    """) % {"v": VERSION, "exe": sys.executable,
            "base": os.path.join(sys.base_prefix, "bin", "python3")}
    # Files first: some are symlinks into the directories hidden next.
    args = ["file:" + f for f in files] + ["dir:" + d for d in dirs]
    r = subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh"] + args,
                       env=host_env(moved_bundle, HOST=str(moved_bundle.parent / "host")),
                       capture_output=True, text=True, timeout=240)
    assert r.stdout.splitlines() == ["answer 42"] + BUNDLED, r.stderr
    assert r.stderr == ""


def test_pkg_config_file_follows_the_folder(moved_bundle, tmp_path):
    if shutil.which("pkg-config") is None:
        pytest.skip("pkg-config is not installed")
    env = dict(clean_env(), PKG_CONFIG_PATH=str(moved_bundle))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "shipped"], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    assert flags == ["-I%s" % moved_bundle, "-L%s" % moved_bundle, "-lshipped",
                     "-Wl,-rpath,%s" % moved_bundle]
    p = Project(tmp_path)
    exe = p.gcc(C_HOST, "pchost", extra=flags)
    r = p.run(exe, env=host_env(moved_bundle))
    assert (r.stdout, r.stderr) == ("answer 42\n", "")


def test_trimmed_bundle_with_the_cli(built, cembed_exe, tmp_path):  # noqa: F811
    """--strip --trim --compile, --exclude and --add, and the size report;
    the trimmed folder still runs the init code."""
    extra = tmp_path / "extra_mod.py"
    extra.write_text("VALUE = 1\n")
    out = tmp_path / "trimmed"
    r = subprocess.run([cembed_exe, "bundle", built.file("libshipped.so"), "-o", str(out),
                        "--strip", "--trim", "--compile", "--exclude", "pytest",
                        "--exclude", "_pytest", "--add", str(extra)],
                       capture_output=True, text=True, timeout=600, env=clean_env())
    assert r.returncode == 0, r.stderr
    report = r.stdout.splitlines()
    assert report[0].startswith("%s: " % out) and "CPython %d.%d.%d" % sys.version_info[:3] \
        in report[0]
    assert report[1].lstrip().startswith("library, header, config")
    m = json.loads((out / "cembed-manifest.json").read_text())
    assert m["trimmed"] and m["stripped"] and m["compiled"]
    stdlib = out / "python" / "lib" / ("python" + VERSION)
    for gone in ("test", "idlelib", "tkinter", "ensurepip", "turtledemo"):
        assert not (stdlib / gone).exists(), gone
    assert glob.glob(str(stdlib / "__pycache__" / "json*.pyc")) == [] and \
        glob.glob(str(stdlib / "json" / "__pycache__" / "*.pyc"))
    site = stdlib / "site-packages"
    assert not (site / "pytest").exists() and not (site / "_pytest").exists()
    assert (site / "extra_mod.py").read_text() == "VALUE = 1\n"
    exe = Project(tmp_path).gcc(C_HOST, "host", extra=["-I", str(out), str(out / "libshipped.so"),
                                                       "-Wl,-rpath,$ORIGIN/trimmed"])
    run = subprocess.run([exe], env=host_env(out), capture_output=True, text=True, timeout=120)
    assert (run.stdout, run.stderr) == ("answer 42\n", "")


def test_bundle_sizes(moved_bundle, tmp_path, built):
    """The trimmed bundle is smaller than the default one (the figures are in
    docs/shipping.md)."""
    small = tmp_path / "small"
    cembed.bundle(built.file("libshipped.so"), small, strip=True, trim=True)
    big = json.loads((moved_bundle / "cembed-manifest.json").read_text())["size"]
    little = json.loads((small / "cembed-manifest.json").read_text())["size"]
    print("bundle sizes: default %.1f MB, trimmed+stripped %.1f MB" % (big / 2**20, little / 2**20))
    assert little < big * 0.8


def test_no_python_bundle(built, tmp_path):
    """--no-python: the packages and runtime only; the Python of the target
    machine (here: python3.X found on PATH) runs them, isolated."""
    out = tmp_path / "nopy"
    cembed.bundle(built.file("libshipped.so"), out, python=False)
    assert sorted(os.listdir(out)) == ["cembed-manifest.json", "libshipped.so",
                                       "libshipped.so.cembed", "shipped.h", "shipped.pc",
                                       "site-packages"]
    m = json.loads((out / "cembed-manifest.json").read_text())
    assert m["python"]["bundled"] is False
    exe = Project(tmp_path).gcc(C_HOST, "host", extra=["-I", str(out), str(out / "libshipped.so"),
                                                       "-Wl,-rpath,$ORIGIN/nopy"])
    bindir = os.path.join(sys.base_prefix, "bin")
    r = subprocess.run([exe], env=host_env(out, PATH=bindir + os.pathsep + os.environ["PATH"]),
                       capture_output=True, text=True, timeout=120)
    assert (r.stdout, r.stderr) == ("answer 42\n", "")


# ---- bad input -------------------------------------------------------------------

def _leftovers(parent):
    return [n for n in os.listdir(parent) if n.startswith(".cembed-")]


def test_bundle_of_a_library_that_is_not_cembeds(tmp_path, cembed_exe):  # noqa: F811
    plain = tmp_path / "libplain.so"
    (tmp_path / "plain.c").write_text("int plain(void) { return 1; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(plain), str(tmp_path / "plain.c")],
                   check=True)
    with pytest.raises(cembed.BundleError) as e:
        cembed.bundle(plain, tmp_path / "out")
    assert str(e.value) == ("%s is not a cembed library: it has no .cembed section (libraries "
                            "built by cembed carry their build facts there)" % plain)
    r = subprocess.run([cembed_exe, "bundle", str(tmp_path / "plain.c"), "-o",
                        str(tmp_path / "out")], capture_output=True, text=True)
    assert r.returncode == 2          # a usage error (cembed --help, "Exit status")
    assert r.stderr == ("error: %s is not a cembed library: not a 64-bit ELF shared "
                        "library\n" % (tmp_path / "plain.c"))
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_bundle_output_errors(built, tmp_path):
    lib = built.file("libshipped.so")
    with pytest.raises(cembed.BundleError) as e:
        cembed.bundle(lib, tmp_path / "missing" / "out")
    assert str(e.value) == ("the output's parent directory %s does not exist (create it first)"
                            % (tmp_path / "missing"))
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine\n")
    with pytest.raises(cembed.BundleError) as e:
        cembed.bundle(lib, full)
    assert str(e.value) == ("the output %s already exists and is not an empty directory: "
                            "choose another one or remove it" % full)
    assert os.listdir(full) == ["keep.txt"]
    # A failure half-way (a package to add that does not exist) leaves nothing.
    with pytest.raises(cembed.BundleError) as e:
        cembed.bundle(lib, tmp_path / "half", add=[tmp_path / "nope"])
    assert str(e.value) == "cannot add %s: it does not exist" % (tmp_path / "nope")
    assert not (tmp_path / "half").exists() and _leftovers(tmp_path) == []


def test_bundle_when_the_build_venv_vanished(moved_venv, tmp_path):
    p, gone, _ = moved_venv
    with pytest.raises(cembed.BundleError) as e:
        cembed.bundle(p.file("librepointed.so"), tmp_path / "out")
    assert str(e.value) == (
        "the library's build environment is gone: its interpreter %s/bin/python does not "
        "exist. Recreate that environment (same path, with the packages the init code needs), "
        "or give another Python %s environment with cembed installed (--python)"
        % (gone, VERSION))
    assert os.listdir(tmp_path) == []
    # The way out the message names: another environment of the same Python.
    _, _, venv = moved_venv
    out = cembed.bundle(p.file("librepointed.so"), tmp_path / "out", python=False,
                        build_python=venv / "bin" / "python")
    site = os.path.join(out, "site-packages")
    assert os.listdir(site) == ["cembed"]
    assert os.path.exists(os.path.join(site, "cembed", "_runtime" + EXT_SUFFIX))
