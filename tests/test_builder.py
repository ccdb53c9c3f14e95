"""The builder API: CFFI's argument checks and errors, the init-code
normalisation, declaration errors and compile errors."""

import os
import re
import subprocess
import sys
import textwrap

import pytest

import cembed
from cembed_e2e import clean_env


def test_exceptions_and_names():
    for name in ("CDefError", "VerificationError", "FFIError", "VerificationMissing"):
        assert issubclass(getattr(cembed, name), Exception)
    assert cembed.FFI.error is cembed.FFIError
    assert cembed.FFI().error is cembed.FFIError


@pytest.mark.smoke
def test_set_source_checks_like_cffi():
    ffi = cembed.FFI()
    with pytest.raises(ValueError, match="must not contain '/'"):
        ffi.set_source("a/b", "")
    with pytest.raises(TypeError, match="unexpected keyword argument 'librarys'"):
        ffi.set_source("m", "", librarys=["m"])
    with pytest.raises(TypeError, match="'libraries' must be a list of strings"):
        ffi.set_source("m", "", libraries="m")
    with pytest.raises(TypeError, match="define_macros"):
        ffi.set_source("m", "", define_macros=["X"])
    with pytest.raises(ValueError, match="ABI"):
        ffi.set_source("m", None)
    ffi.set_source("m", "", libraries=[], define_macros=[("A", "1"), ("B", None)],
                   depends=["x.h"], py_limited_api=False)
    with pytest.raises(ValueError, match="cannot be called several times"):
        ffi.set_source("m", "")


def test_compile_and_emit_need_set_source():
    ffi = cembed.FFI()
    with pytest.raises(ValueError, match="set_source\\(\\) must be called before compile"):
        ffi.compile()
    with pytest.raises(ValueError, match="set_source\\(\\) must be called before emit_c_code"):
        ffi.emit_c_code("x.c")


def test_pack_arguments_like_cffi():
    ffi = cembed.FFI()
    with pytest.raises(ValueError, match="'pack' must be a power of two"):
        ffi.cdef("", pack=3)
    with pytest.raises(ValueError, match="cannot give both"):
        ffi.cdef("", packed=True, pack=2)
    with pytest.raises(TypeError):
        ffi.cdef(b"int x;")


INIT_SAMPLES = [
    "\n\n    import sys\n    x = 1\n\n    if x:\n        y = 2\n",
    "x = 1\n",
    "    a = 1\n  b = 2\n",          # not all lines share the indent
    "\n    \n    print('hi')",       # no trailing newline
    "",
    "\t\n\tx = 1\n\ty = 2\n",         # tabs
    "  \r\n  x = 1\r\n",               # CRLF
    "\u00a0\nx = 1\n",                 # a non-ASCII space before the first newline
    "   x = 1\n",                       # leading blanks, no newline before
]


@pytest.mark.cffi
@pytest.mark.parametrize("src", INIT_SAMPLES)
def test_init_code_is_normalised_exactly_like_cffi(src):
    cffi = pytest.importorskip("cffi")
    ours, theirs = cembed.FFI(), cffi.FFI()
    try:
        theirs.embedding_init_code(src)
    except SyntaxError:
        with pytest.raises(SyntaxError):
            ours.embedding_init_code(src)
        return
    ours.embedding_init_code(src)
    assert ours._embedding == theirs._embedding


def test_the_builder_never_loads_the_runtime(tmp_path):
    # The build runs in the cembed executable: a build script works where the
    # runtime extension cannot be imported at all (PyPy), and never loads it.
    (tmp_path / "build.py").write_text(textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "cembed._runtime":
                    raise ImportError("blocked by the test")
        sys.meta_path.insert(0, Block())
        import cembed
        ffi = cembed.FFI()
        ffi.embedding_api("int twice(int);")
        ffi.set_source("nort", "")
        ffi.embedding_init_code("from nort import ffi")
        print(ffi.compile(verbose=False))
        print("cembed._runtime" in sys.modules)
        """))
    r = subprocess.run([sys.executable, "build.py"], cwd=str(tmp_path), env=clean_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [str(tmp_path / "nort.so"), "False"]


def test_the_request_channel_reports_what_it_cannot_carry(monkeypatch):
    from cembed import _exe
    with pytest.raises(TypeError, match=r"holds a set \(\{1\}\)"):
        _exe.run_request({"action": "check", "options": {"x": {1}}})
    with pytest.raises(TypeError, match="a key of the request is a int"):
        _exe.run_request({"action": "check", 1: 2})
    r = _exe.run_request({"action": "explode", "module_name": "m"})
    assert r["ok"] is False and r["kind"] == "usage", r
    assert "unknown variant `explode`" in r["message"], r
    # Text the request carries arrives unchanged (escapes, non-ASCII).
    text = 'int f\u00e9(void); /* "\\ \t \u2603 */'
    r = _exe.run_request({"action": "check", "module_name": "m",
                          "sources": [{"kind": "cdef", "text": text, "origin": "x.py:1"}]})
    assert r["ok"] is False and "unexpected character '\u00e9'" in r["message"], r
    assert _exe.loads(_exe.dumps({"a": [1, None, True, "\u2603\n"]})) == {"a": [1, None, True, "\u2603\n"]}


def test_a_missing_executable_is_a_clear_error(monkeypatch, tmp_path):
    from cembed import _exe
    monkeypatch.setattr(_exe, "executable", lambda: str(tmp_path / "no-cembed"))
    with pytest.raises(cembed.VerificationError,
                       match=r"cannot run the cembed executable .*no-cembed.*reinstall cembed"):
        cembed.FFI().cdef("int f(void);")
    fake = tmp_path / "fake-cembed"
    fake.write_text("#!/bin/sh\ncat >/dev/null\necho oops\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(_exe, "executable", lambda: str(fake))
    with pytest.raises(cembed.VerificationError,
                       match=r"gave no response to a 'check' request \(exit status 3, output b'oops\\n'\)"):
        cembed.FFI().cdef("int f(void);")


def test_init_code_syntax_error_is_raised_at_build_time():
    with pytest.raises(SyntaxError):
        cembed.FFI().embedding_init_code("def broken(:\n")
    ffi = cembed.FFI()
    ffi.embedding_init_code("x = 1")
    with pytest.raises(ValueError, match="only be called once"):
        ffi.embedding_init_code("y = 2")


def run_script(tmp_path, text):
    (tmp_path / "build.py").write_text(text)
    return subprocess.run([sys.executable, "build.py"], cwd=str(tmp_path), env=clean_env(),
                          capture_output=True, text=True, timeout=120)


@pytest.mark.smoke
def test_cdef_error_points_at_the_build_script_and_writes_nothing(tmp_path):
    r = run_script(tmp_path, (
        "import cembed as cffi\n"
        "ffibuilder = cffi.FFI()\n"
        "ffibuilder.embedding_api('int ok(int);')\n"
        "ffibuilder.embedding_api('int f(unknown_t x);')\n"
        "ffibuilder.set_source('m', '')\n"
        "ffibuilder.compile()\n"))
    assert r.returncode == 1
    err = r.stderr
    assert "CDefError" in err, err
    assert "unknown_t" in err, err
    assert "build.py:4:" in err, err           # file and line of the call
    assert "int f(unknown_t x);" in err, err    # the offending line...
    assert "^" in err, err                      # ...with a caret
    assert sorted(os.listdir(tmp_path)) == ["build.py"]


def test_cdef_syntax_error_has_line_and_column(tmp_path):
    r = run_script(tmp_path, (
        "import cembed as cffi\n"
        "ffibuilder = cffi.FFI()\n"
        "ffibuilder.cdef('''\n"
        "    int good(int);\n"
        "    int bad(int;\n"
        "''')\n"))
    assert r.returncode == 1
    assert "CDefError" in r.stderr
    assert "build.py:5:" in r.stderr, r.stderr
    assert "int bad(int;" in r.stderr


@pytest.mark.smoke
def test_compile_error_shows_the_compiler_message_and_leaves_no_library(tmp_path):
    r = run_script(tmp_path, (
        "import cembed as cffi\n"
        "ffibuilder = cffi.FFI()\n"
        "ffibuilder.embedding_api('int f(int);')\n"
        "ffibuilder.set_source('m', 'int g(void) { return undeclared_name; }')\n"
        "ffibuilder.embedding_init_code('pass')\n"
        "ffibuilder.compile(target='libm.*')\n"))
    assert r.returncode == 1
    assert "VerificationError" in r.stderr
    assert "undeclared_name" in r.stderr        # gcc's own message...
    assert "build.py:4:" in r.stderr, r.stderr  # ...at the set_source() line
    assert "error:" in r.stderr
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".so")]


def test_compile_uses_cffi_target_rules(tmp_path):
    r = run_script(tmp_path, (
        "import cembed as cffi\n"
        "for module, target, tmpdir in [('m', None, 'out1'), ('m', 'plugin-1.5.*', 'out2'),\n"
        "                               ('pkg.m', None, 'out3')]:\n"
        "    ffibuilder = cffi.FFI()\n"
        "    ffibuilder.embedding_api('int f(int);')\n"
        "    ffibuilder.set_source(module, '')\n"
        "    ffibuilder.embedding_init_code('pass')\n"
        "    print(ffibuilder.compile(tmpdir=tmpdir, target=target))\n"))
    assert r.returncode == 0, r.stderr
    t = str(tmp_path)
    assert r.stdout.splitlines() == [t + "/out1/m.so", t + "/out2/plugin-1.5.so",
                                     t + "/out3/pkg/pkg.m.so"]


def test_emit_c_code_writes_the_c_file_only(tmp_path):
    r = run_script(tmp_path, (
        "import cembed as cffi\n"
        "ffibuilder = cffi.FFI()\n"
        "ffibuilder.embedding_api('int f(int);')\n"
        "ffibuilder.set_source('m', '')\n"
        "ffibuilder.embedding_init_code('pass')\n"
        "ffibuilder.emit_c_code('gen/m.c')\n"))
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path / "gen")) == ["m.c"]
    c = (tmp_path / "gen" / "m.c").read_text()
    assert not re.search(r'#\s*include\s*[<"]Python\.h', c)
    # It compiles as is.
    cc = subprocess.run(["gcc", "-fPIC", "-shared", "-o", str(tmp_path / "m.so"),
                         str(tmp_path / "gen" / "m.c"), "-ldl", "-lpthread"],
                        capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr


def test_verbose_prints_every_command(tmp_path):
    r = run_script(tmp_path, (
        "import cembed as cffi\n"
        "ffibuilder = cffi.FFI()\n"
        "ffibuilder.embedding_api('int f(int);')\n"
        "ffibuilder.set_source('m', '')\n"
        "ffibuilder.embedding_init_code('pass')\n"
        "ffibuilder.compile(verbose=True)\n"))
    assert r.returncode == 0, r.stderr
    assert "the current directory is" in r.stdout
    # The generated file alone: compiled and linked by one command.
    cmds = [l for l in r.stdout.splitlines() if "-shared" in l]
    assert len(cmds) == 1 and "m.c" in cmds[0] and " -c " not in cmds[0], r.stdout


def test_the_loader_is_compiled_once_and_cached(tmp_path):
    # The glue's loader is the same C in every library: it is compiled once
    # into cembed's cache and linked into each library built after.
    script = (
        "import sys, cembed as cffi\n"
        "ffibuilder = cffi.FFI()\n"
        "ffibuilder.embedding_api('int f(int);')\n"
        "ffibuilder.set_source('m', '')\n"
        "ffibuilder.embedding_init_code('from m import ffi\\n'\n"
        "    '@ffi.def_extern()\\ndef f(x):\\n    return x + 1\\n')\n"
        "print(ffibuilder.compile(tmpdir=sys.argv[1], verbose=True))\n")
    (tmp_path / "build.py").write_text(script)
    cache = tmp_path / "cache"

    def build(out, cache_dir):
        r = subprocess.run([sys.executable, "build.py", out], cwd=str(tmp_path),
                           env=clean_env(CEMBED_CACHE_DIR=cache_dir),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        lib = r.stdout.splitlines()[-1]
        call = subprocess.run([sys.executable, "-c",
                               "import ctypes, sys; print(ctypes.CDLL(sys.argv[1]).f(41))", lib],
                              env=clean_env(), capture_output=True, text=True, timeout=120)
        assert call.stdout.strip() == "42", call.stderr
        return [l for l in r.stdout.splitlines()
                if "-shared" in l or "/.loader-" in l or "glue's loader" in l]

    first = build("one", str(cache))
    objects = list(cache.glob("loader-*.o"))
    assert len(objects) == 1 and not list(cache.glob(".*")), list(cache.iterdir())
    assert any(" -c " in l and ".loader-" in l for l in first), first
    second = build("two", str(cache))
    assert not any(" -c " in l for l in second), second
    link = [l for l in second if "-shared" in l]
    assert len(link) == 1 and "-DCEMBED_LOADER_EXTERN" in link[0] and str(objects[0]) in link[0], second
    # No cache directory: the file alone, loader included, as emit_c_code writes it.
    third = build("three", "")
    assert len(third) == 1 and "-DCEMBED_LOADER_EXTERN" not in third[0], third


def test_cflags_are_honoured(tmp_path):
    (tmp_path / "build.py").write_text(
        "import cembed as cffi\n"
        "ffibuilder = cffi.FFI()\n"
        "ffibuilder.embedding_api('int f(int);')\n"
        "ffibuilder.set_source('m', '#ifndef FROM_CFLAGS\\n#error CFLAGS ignored\\n#endif\\n')\n"
        "ffibuilder.embedding_init_code('pass')\n"
        "print(ffibuilder.compile(verbose=True))\n")
    r = subprocess.run([sys.executable, "build.py"], cwd=str(tmp_path),
                       env=clean_env(CFLAGS="-DFROM_CFLAGS", LDFLAGS="-Wl,--no-undefined-version"),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "-DFROM_CFLAGS" in r.stdout
    assert "--no-undefined-version" in r.stdout


def test_cc_is_honoured(tmp_path):
    wrapper = tmp_path / "mycc"
    wrapper.write_text('#!/bin/sh\necho "$@" >> "%s/cc-calls.txt"\nexec gcc "$@"\n' % tmp_path)
    wrapper.chmod(0o755)
    (tmp_path / "build.py").write_text(
        "import cembed as cffi\n"
        "ffibuilder = cffi.FFI()\n"
        "ffibuilder.embedding_api('int f(int);')\n"
        "ffibuilder.set_source('m', '#ifndef FROM_CC\\n#error CC arguments ignored\\n#endif\\n',\n"
        "                      sources=['extra.c'])\n"
        "ffibuilder.embedding_init_code('pass')\n"
        "print(ffibuilder.compile())\n")
    (tmp_path / "extra.c").write_text("int extra(void) { return 1; }\n")
    # CC is split like a shell's words: a wrapper with arguments works.
    r = subprocess.run([sys.executable, "build.py"], cwd=str(tmp_path),
                       env=clean_env(CC="%s -DFROM_CC" % wrapper), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # Nothing but the compiles and the link: no probing of the compiler.
    calls = (tmp_path / "cc-calls.txt").read_text().splitlines()
    assert len(calls) == 3, calls               # two compiles, one link
    assert all(c.startswith("-DFROM_CC ") for c in calls), calls
    assert " -c " in calls[0] and "m.c" in calls[0], calls
    assert " -c " in calls[1] and "extra.c" in calls[1], calls
    assert "-shared" in calls[2] and " -c " not in calls[2], calls


def test_a_missing_compiler_is_named(tmp_path):
    (tmp_path / "build.py").write_text(
        "import cembed as cffi\n"
        "ffibuilder = cffi.FFI()\n"
        "ffibuilder.embedding_api('int f(int);')\n"
        "ffibuilder.set_source('m', '')\n"
        "ffibuilder.embedding_init_code('pass')\n"
        "ffibuilder.compile()\n")
    r = subprocess.run([sys.executable, "build.py"], cwd=str(tmp_path),
                       env=clean_env(CC="/nonexistent/cc -O1"), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1
    assert "VerificationError" in r.stderr, r.stderr
    assert "cannot run the C compiler '/nonexistent/cc'" in r.stderr, r.stderr
    assert "(set CC to choose another)" in r.stderr, r.stderr
    assert not list(tmp_path.glob("*.so")) and not list(tmp_path.glob(".*")), \
        list(tmp_path.iterdir())


def test_version_is_the_packaged_one():
    # cembed.__version__ is a literal (importlib.metadata is slow at import):
    # it must stay equal to what pip installed and to the Cargo workspace's.
    import importlib.metadata

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "Cargo.toml")) as f:
        cargo = re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)
    with open(os.path.join(root, "pyproject.toml")) as f:
        pyproject = re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)
    assert cembed.__version__ == importlib.metadata.version("cembed") == cargo == pyproject


INCLUDE_SCRIPT = r'''
import os, sys
sys.path.insert(0, os.getcwd())
import %s as impl

HEADER = """
typedef struct { int x, y; } pt_t;
enum color { RED, GREEN = 5 };
typedef long myint_t;
"""
parent = impl.FFI()
parent.cdef("typedef struct { int x, y; } pt_t; enum color { RED, GREEN = 5 };"
            " typedef long myint_t; int pf(int);\n#define PARENT_N 3\n")
parent.set_source("_inc_parent", HEADER + "#define PARENT_N 3\nint pf(int a) { return a + 1; }")
parent.compile(tmpdir=".")
child = impl.FFI()
for bad in (42, child):
    try:
        child.include(bad)
    except (TypeError, ValueError) as e:
        print(type(e).__name__, e)
child.include(parent)
child.cdef("int sum(pt_t *); myint_t twice(myint_t); enum color pick(int);")
child.set_source("_inc_child", HEADER + """
int sum(pt_t *p) { return p->x + p->y; }
myint_t twice(myint_t v) { return 2 * v; }
enum color pick(int i) { return i ? GREEN : RED; }
""")
child.compile(tmpdir=".")
from _inc_child import ffi, lib
print(lib.sum(ffi.new("pt_t *", [2, 3])), lib.twice(21), lib.pick(1), lib.GREEN)
print(ffi.sizeof("pt_t"), ffi.typeof("myint_t").cname, ffi.string(ffi.cast("enum color", 5)))
print(ffi.typeof("pt_t").fields[1][0], ffi.offsetof("pt_t", "y"))
'''


@pytest.mark.parametrize("impl", ["cembed", "cffi"])
def test_include_makes_the_other_builders_types_usable(tmp_path, impl):
    # CFFI's ffi.include(): the included builder's types (a typedef'd
    # struct, an enum and its enumerators, a typedef) are usable in this
    # builder's cdef and through its module's ffi and lib; cembed and the
    # real cffi print the same.
    if impl == "cffi":
        pytest.importorskip("cffi")
    r = subprocess.run([sys.executable, "-c", INCLUDE_SCRIPT % impl], cwd=str(tmp_path),
                       capture_output=True, text=True, env=clean_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "TypeError ffi.include() expects an argument that is also of type cffi.FFI, not 'int'\n"
        "ValueError self.include(self)\n"
        "5 42 5 5\n"
        "8 long GREEN\n"
        "y 4\n"), r.stdout


def test_include_keeps_the_other_librarys_functions_there(tmp_path):
    # A deliberate difference (docs/differences.md): the included builder's
    # functions, variables and constants are not part of this library (CFFI
    # reaches them through the included module's lib at run time).
    script = INCLUDE_SCRIPT % "cembed" + (
        "for name in ('pf', 'PARENT_N'):\n"
        "    try:\n        getattr(lib, name)\n"
        "    except AttributeError as e:\n        print('AttributeError', name)\n")
    r = subprocess.run([sys.executable, "-c", script], cwd=str(tmp_path),
                       capture_output=True, text=True, env=clean_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("AttributeError pf\nAttributeError PARENT_N\n"), r.stdout


LAYOUT_TYPES = ["char", "short", "int", "long", "long long", "unsigned long long",
                "float", "double", "long double", "_Bool", "wchar_t", "char16_t",
                "size_t", "int64_t", "_cffi_float_complex_t", "_cffi_double_complex_t",
                "void *", "int(*)(int)", "char[7]", "double[3][2]"]


def test_builder_sizeof_alignof_offsetof_match_cffi():
    """The builder's layout questions, before and after set_source(), give
    what cffi's builder gives (cembed asks the C compiler, cffi its
    backend)."""
    cffi = pytest.importorskip("cffi")
    ours, theirs = cembed.FFI(), cffi.FFI()
    for t in LAYOUT_TYPES:
        assert (ours.sizeof(t), ours.alignof(t)) == (theirs.sizeof(t), theirs.alignof(t)), t
    decl = "struct foo_s { char c; unsigned long long x; short s[3]; struct { char d; double e; } in; };"
    for ffi in (ours, theirs):
        ffi.cdef(decl)
    ours.set_source("_layout_mod", decl)
    assert ours.alignof("struct foo_s") == theirs.alignof("struct foo_s")
    assert ours.sizeof("struct foo_s") == theirs.sizeof("struct foo_s")
    assert ours.sizeof("struct foo_s *") == theirs.sizeof("struct foo_s *")
    for path in [("c",), ("x",), ("s", 2), ("in",), ("in", "e")]:
        assert ours.offsetof("struct foo_s", *path) == theirs.offsetof("struct foo_s", *path), path


def test_builder_layout_errors_say_what_and_where():
    ffi = cembed.FFI()
    ffi.cdef("struct only_in_cdef { int x; };")
    with pytest.raises(cembed.FFIError, match=r"ffi.alignof\('struct only_in_cdef'\).*"
                       r"must be defined by set_source\(\) code.*incomplete type"):
        ffi.alignof("struct only_in_cdef")
    with pytest.raises(ValueError, match=r"ffi.sizeof\('int; int x'\): not a C type name"):
        ffi.sizeof("int; int x")
    with pytest.raises(TypeError, match="takes a C type name"):
        ffi.sizeof(4)
    with pytest.raises(TypeError, match="field name or an index"):
        ffi.offsetof("int", "a-b")


# -- embedding_isolation() (docs/isolation.md) --------------------------------

# What a build with an own-GIL mode says on a Python older than 3.12.
NEEDS_312 = ('isolation "{mode}" needs CPython 3.12 or newer (PEP 684: subinterpreters '
             'with their own GIL), but the build Python {exe} is {version}; build with '
             'Python 3.12+, or use isolation "shared" (the default), which works with '
             'every Python')


@pytest.mark.parametrize("args, exc, message", [
    ((1,), TypeError, "embedding_isolation(): 'mode' must be a string, not int"),
    ((b"pool",), TypeError, "embedding_isolation(): 'mode' must be a string, not bytes"),
    ((None,), TypeError, "embedding_isolation(): 'mode' must be a string, not NoneType"),
    (("Pool",), ValueError,
     "embedding_isolation(): 'mode' must be 'shared', 'isolated' or 'pool', not 'Pool'"),
    (("subinterpreter",), ValueError,
     "embedding_isolation(): 'mode' must be 'shared', 'isolated' or 'pool', "
     "not 'subinterpreter'"),
    (("isolated", 2), ValueError,
     "embedding_isolation(): 'size' is only for mode 'pool', not 'isolated'"),
    (("shared", 1), ValueError,
     "embedding_isolation(): 'size' is only for mode 'pool', not 'shared'"),
    (("pool", True), TypeError, "embedding_isolation(): 'size' must be an int or None, not bool"),
    (("pool", 2.0), TypeError, "embedding_isolation(): 'size' must be an int or None, not float"),
    (("pool", "4"), TypeError, "embedding_isolation(): 'size' must be an int or None, not str"),
    (("pool", 0), ValueError,
     "embedding_isolation(): 'size' must be at least 1 (and fit in 32 bits), not 0"),
    (("pool", -3), ValueError,
     "embedding_isolation(): 'size' must be at least 1 (and fit in 32 bits), not -3"),
    (("pool", 2 ** 32), ValueError,
     "embedding_isolation(): 'size' must be at least 1 (and fit in 32 bits), not 4294967296"),
])
def test_embedding_isolation_checks_its_arguments(args, exc, message):
    ffi = cembed.FFI()
    with pytest.raises(exc) as e:
        ffi.embedding_isolation(*args)
    assert type(e.value) is exc and str(e.value) == message
    # A refused call records nothing: a good one can still be made.
    ffi.embedding_isolation("pool", 2)


def test_embedding_isolation_is_sent_once(monkeypatch):
    sent = []
    monkeypatch.setattr(cembed, "_run_request",
                        lambda request: sent.append(request) or {"ok": True, "log": []})
    for call, expected in [
        (None, (None, None)),                   # never called: the default, shared
        (("shared",), ("shared", None)),
        (("isolated",), ("isolated", None)),
        (("pool",), ("pool", None)),             # None: the number of CPUs at run time
        (("pool", 4), ("pool", 4)),
        (("pool", 2 ** 32 - 1), ("pool", 2 ** 32 - 1)),
    ]:
        ffi = cembed.FFI()
        if call is not None:
            ffi.embedding_isolation(*call)
        ffi.embedding_api("int f(int);")
        del sent[:]
        ffi.set_source("m", "")
        ffi.emit_c_code("unused.c")
        (request,) = sent
        assert (request["isolation"], request["isolation_size"]) == expected, call
    ffi = cembed.FFI()
    ffi.embedding_isolation(mode="pool", size=None)
    with pytest.raises(ValueError) as e:
        ffi.embedding_isolation("pool", 3)
    assert str(e.value) == "embedding_isolation() can only be called once"
    with pytest.raises(ValueError):
        ffi.embedding_isolation("shared")


@pytest.mark.smoke
@pytest.mark.skipif(sys.version_info >= (3, 12), reason="isolation builds on 3.12+")
@pytest.mark.parametrize("mode, size", [("isolated", None), ("pool", None), ("pool", 4)])
def test_isolation_needs_python_3_12_and_writes_nothing(tmp_path, mode, size):
    ffi = cembed.FFI()
    ffi.embedding_api("int f(int);")
    ffi.set_source("m", "")
    ffi.embedding_isolation(mode, size)
    ffi.embedding_init_code("from m import ffi")
    expected = NEEDS_312.format(mode=mode, exe=sys.executable,
                                version="%d.%d" % sys.version_info[:2])
    with pytest.raises(cembed.VerificationError) as e:
        ffi.compile(tmpdir=str(tmp_path / "out"), target="libm.*")
    assert str(e.value) == expected
    with pytest.raises(cembed.VerificationError) as e:
        ffi.emit_c_code(str(tmp_path / "out" / "m.c"), header=str(tmp_path / "m.h"))
    assert str(e.value) == expected
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.smoke
@pytest.mark.skipif(sys.version_info < (3, 12), reason="needs a 3.12+ build Python")
def test_isolation_is_built_into_the_library_with_python_3_12(tmp_path):
    def emitted(*isolation):
        ffi = cembed.FFI()
        ffi.embedding_api("int f(int);")
        ffi.set_source("m", "")
        if isolation:
            ffi.embedding_isolation(*isolation)
        ffi.embedding_init_code("from m import ffi")
        path = tmp_path / "m.c"
        ffi.emit_c_code(str(path))
        return [l.strip() for l in path.read_text().splitlines() if ".isolation =" in l]

    assert emitted("pool", 4) == [".isolation = CEMBED_ISOLATION_POOL, .pool_size = 4,"]
    assert emitted("pool") == [".isolation = CEMBED_ISOLATION_POOL, .pool_size = 0,"]
    assert emitted("isolated") == [".isolation = CEMBED_ISOLATION_ISOLATED, .pool_size = 0,"]
    assert emitted("shared") == [".isolation = CEMBED_ISOLATION_SHARED, .pool_size = 0,"]
    assert emitted() == [".isolation = CEMBED_ISOLATION_SHARED, .pool_size = 0,"]
    # And the C compiles into a library with the fields (the compiler checks
    # the names against cembed_abi.h).
    ffi = cembed.FFI()
    ffi.embedding_api("int f(int);")
    ffi.set_source("m", "")
    ffi.embedding_isolation("pool", 2)
    ffi.embedding_init_code("from m import ffi")
    lib = ffi.compile(tmpdir=str(tmp_path / "out"), target="libm.*")
    assert lib == str(tmp_path / "out" / "libm.so") and os.path.exists(lib)
