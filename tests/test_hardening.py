"""Misuse of `ffi` from Python gets an exception, never a dead process.

Each test runs the misuse in its own Python process (importing a library
built once from fuzz/toolbox/fuzzlib_build.py: structs, a flexible array
member, globals, ...) and requires the exact exception and a process that
goes on to print "alive" and exit 0. The address space is capped, so an
allocation the runtime forgets to check aborts the process instead of
succeeding on a large machine. Where CFFI defines the answer, the same
snippet runs on the real cffi (ABI mode, same declarations) and must give
the same exception class and message.

The last test replays every input the toolbox fuzzer saved
(fuzz/toolbox/crashes/): each once killed the process.
"""

import glob
import os
import subprocess
import sys
import textwrap

import pytest

from cembed_e2e import clean_env

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOOLBOX = os.path.join(ROOT, "fuzz", "toolbox")

PRELUDE = """\
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
sys.path.insert(0, {libdir!r})
from fuzzlib import ffi, lib
"""

CHECK = """\
try:
    r = {expr}
except BaseException as e:
    print("raised", type(e).__name__, e)
else:
    print("returned", repr(r)[:200])
print("alive")
"""


@pytest.fixture(scope="module")
def libdir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("fuzzlib"))
    r = subprocess.run([sys.executable, os.path.join(TOOLBOX, "fuzzlib_build.py"), d],
                       capture_output=True, text=True, env=clean_env(), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return d


def run(libdir, setup, expr):
    code = PRELUDE.format(libdir=libdir) + textwrap.dedent(setup) + CHECK.format(expr=expr)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=clean_env(), cwd="/", timeout=120)
    assert r.returncode == 0 and r.stdout.endswith("alive\n"), (
        "process died (exit %d)\nstdout:\n%s\nstderr:\n%s" % (r.returncode, r.stdout, r.stderr[-3000:]))
    return r.stdout[:-len("alive\n")].strip()


def cffi_run(setup, expr):
    """The same snippet on the real cffi, in ABI mode over the fuzzlib
    declarations without `...` (types only: no library is loaded)."""
    cdef = ("typedef struct point { int x, y; } point_t;\n"
            "struct fam { int n; double items[]; };\n")
    code = ("import cffi\nffi = cffi.FFI()\nffi.cdef(%r)\n" % cdef
            + textwrap.dedent(setup) + CHECK.format(expr=expr))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout[:-len("alive\n")].strip()


# (setup, expression, expected outcome); `same as cffi` ones are also
# compared with the real cffi's outcome.
CFFI_CASES = {
    # 1. allocation failure / impossible sizes
    "new_huge_open_array": ("", "ffi.new('int[]', 2**40)", "raised MemoryError"),
    "new_open_array_overflow": ("", "ffi.new('int[]', 2**62)",
                                "raised OverflowError array size would overflow a Py_ssize_t"),
    "new_huge_array_type": ("", "ffi.new('int[1000000000000]')", "raised MemoryError"),
    "new_huge_fam": ("", "ffi.new('struct fam *', {'n': 1, 'items': 2**40})",
                     "raised MemoryError"),
    "unpack_huge_wide": ("", "ffi.unpack(ffi.new('wchar_t *'), 2**40)", "raised MemoryError"),
    # 2. array sizes that overflow
    "sizeof_overflow": ("", "ffi.sizeof('int[4611686018427387904]')",
                        "raised OverflowError array size would overflow a Py_ssize_t"),
    "sizeof_overflow_2d": ("", "ffi.sizeof('int[0x7fffffffffffffff][2]')",
                           "raised OverflowError array size would overflow a Py_ssize_t"),
    "from_buffer_overflow": ("", "ffi.from_buffer('int[4611686018427387904]', bytearray(8))",
                             "raised OverflowError array size would overflow a Py_ssize_t"),
    # 3. ffi.release() of ffi.new() memory keeps it alive for its views
    "release_then_index": ("p = ffi.new('int[10]'); p[3] = 5; ffi.release(p)\n", "p[3]",
                           "returned 5"),
    "release_then_buffer": ("p = ffi.new('int[4]', [1, 2, 3, 4]); b = ffi.buffer(p)\n"
                            "ffi.release(p); ffi.release(p)\n", "bytes(b)[4:8]",
                            "returned b'\\x02\\x00\\x00\\x00'"),
    "release_then_slice": ("p = ffi.new('int[100000]'); s = p[10:20]; ffi.release(p)\n"
                           "s[0] = 7\n", "p[10]", "returned 7"),
    "release_then_field": ("p = ffi.new('point_t[2]'); q = p[1]; a = ffi.addressof(p, 1)\n"
                           "ffi.release(p); q.x = 9\n", "a.x", "returned 9"),
    "release_in_index": ("p = ffi.new('int[100000]')\n"
                         "class I:\n    def __index__(self):\n"
                         "        ffi.release(p); return 99999\n"
                         "p[I()] = 4\n", "p[99999]", "returned 4"),
    "release_then_from_buffer_memmove": (
        "p = ffi.new('char[100000]'); fb = ffi.from_buffer(ffi.buffer(p)); ffi.release(p)\n",
        "ffi.memmove(fb, b'abc', 3) or ffi.buffer(p)[0:3]", "returned b'abc'"),
    # 4. instantiating the runtime's types
    "new_cdata": ("", "ffi.CData()", None),
    "new_ctype": ("", "ffi.CType()", None),
    "new_cdata_subtype": ("", "type(ffi.new('int *'))()", None),
}

CEMBED_ONLY = {
    "new_field": ("", "type(ffi.typeof('point_t').fields[0][1])()",
                  "raised TypeError cannot create '_cembed.CField' instances"),
    "ctype_new_dunder": ("", "ffi.CType.__new__(ffi.CType)",
                         "raised TypeError cannot create '_cembed.CType' instances"),
    "new_funcptr_instance": ("", "type(lib.current_op)()(1, 2)",
                             "raised TypeError cannot create '_cembed.CData' instances"),
    # released from_buffer(): the cdata is empty, memmove refuses it
    "released_from_buffer_index": ("fb = ffi.from_buffer(bytearray(8)); ffi.release(fb)\n",
                                   "fb[0]", "raised IndexError index too large for cdata "
                                   "'char[]' (expected 0 < 0)"),
    "released_from_buffer_slice": ("fb = ffi.from_buffer(bytearray(100000)); s = fb[10:20]\n"
                                   "b = ffi.buffer(fb); ffi.release(fb); s[0] = b'z'\n",
                                   "(b[10], repr(fb))",
                                   "returned (b'z', \"<cdata 'char[]' (released)>\")"),
    "released_from_buffer_memmove": ("fb = ffi.from_buffer(bytearray(8)); ffi.release(fb)\n",
                                     "ffi.memmove(fb, b'abc', 3)",
                                     "raised ValueError memmove() with a NULL (or released) "
                                     "pointer"),
    "string_of_null_array": ("", "ffi.string(ffi.cast('char[5]', 0))",
                             "raised RuntimeError cannot use string() on <cdata 'char[5]' NULL>"),
    "buffer_of_null": ("", "ffi.buffer(ffi.cast('int *', 0))",
                       "raised RuntimeError cannot use buffer() on <cdata 'int *' NULL>"),
    "buffer_of_null_global": ("", "bytes(ffi.buffer(lib.fam_ptr))",
                              "raised RuntimeError cannot use buffer() on "
                              "<cdata 'struct fam *' NULL>"),
    # a value whose conversion releases the from_buffer() cdata it is being
    # stored into (and lets the bytearray free its memory): nothing is
    # written (CFFI writes into the freed memory)
    "store_released_during_slice": (
        "ba = bytearray(8192); fb = ffi.from_buffer('int[]', ba)\n"
        "def gen():\n"
        "    ffi.release(fb); ba.clear(); ba.extend(b'y' * 8)\n"
        "    yield from [1] * 1024\n",
        "fb.__setitem__(slice(0, 1024), gen())",
        "raised ValueError cdata 'int[]' was released while the value assigned to it was "
        "converted"),
    "store_released_during_item": (
        "ba = bytearray(8192); fb = ffi.from_buffer('double[]', ba)\n"
        "class F:\n"
        "    def __float__(self):\n"
        "        ffi.release(fb); ba.clear(); ba.extend(b'y' * 8); return 1.0\n",
        "fb.__setitem__(1000, F())",
        "raised ValueError cdata 'double[]' was released while the value assigned to it was "
        "converted"),
    "store_released_during_field": (
        "ba = bytearray(8192); fb = ffi.from_buffer('struct rect *', ba)\n"
        "class I:\n"
        "    def __int__(self):\n"
        "        ffi.release(fb); ba.clear(); ba.extend(b'y' * 8); return 1\n",
        "setattr(fb, 'br', {'x': 1, 'y': I()})",
        "raised ValueError cdata 'struct rect *' was released while the value assigned to it "
        "was converted"),
    "store_not_released_item": (
        "ba = bytearray(16); fb = ffi.from_buffer('double[]', ba)\n"
        "class F:\n"
        "    def __float__(self): return 2.5\n"
        "fb[1] = F()\n",
        "(fb[1], fb[0])", "returned (2.5, 0.0)"),
    # ffi.gc(): release runs the destructor once, the cdata keeps its value
    "gc_release_keeps_value": ("d = []\ng = ffi.gc(ffi.cast('int', 5), d.append)\n"
                               "ffi.release(g); ffi.release(g)\n",
                               "(int(g), repr(g), len(d))",
                               "returned (5, \"<cdata 'int' 5>\", 1)"),
    # 5. flexible array member writes are bounded by the allocation
    "fam_item_assign": ("p = ffi.new('struct fam *')\n",
                        "p.__setitem__(0, {'n': 1, 'items': [1.0] * 100000})",
                        "raised IndexError too many initializers for 'double[]' (got 100000)"),
    "fam_in_array": ("a = ffi.new('struct fam[2]')\n",
                     "a.__setitem__(0, [1, [1.0] * 100000])",
                     "raised IndexError too many initializers for 'double[]' (got 100000)"),
    "fam_field_assign": ("p = ffi.new('struct fam *', {'n': 2, 'items': 2})\n",
                         "setattr(p, 'items', [1.0] * 3)",
                         "raised IndexError too many initializers for 'double[]' (got 3)"),
    "fam_sized_ok": ("p = ffi.new('struct fam *', {'n': 2, 'items': [1.5, 2.5]})\n",
                     "list(p.items)", "returned [1.5, 2.5]"),
    # 6. hostile type strings
    "type_many_pointers": ("", "ffi.typeof('int' + '*' * 100000)", None),
    "type_long_chain": ("", "ffi.typeof('int[' + '+'.join(['1'] * 100000) + ']')", None),
    "type_deep_parens": ("", "ffi.typeof('int' + '(' * 100000 + '*' + ')' * 100000)", None),
}


@pytest.mark.parametrize("name", sorted(CFFI_CASES))
def test_misuse_same_as_cffi(libdir, name):
    setup, expr, expected = CFFI_CASES[name]
    got = run(libdir, setup, expr)
    want = cffi_run(setup, expr)
    if expected is None:
        # Only the class must match: the messages name the type
        # (`_cffi_backend.CType` / `_cembed.CType`).
        assert got.split()[:2] == want.split()[:2] == ["raised", "TypeError"], (got, want)
        assert "cannot create" in got and "instances" in got, got
    else:
        assert got == expected, got
        assert want == expected, "cffi: " + want


@pytest.mark.parametrize("name", sorted(CEMBED_ONLY))
def test_misuse_raises(libdir, name):
    setup, expr, expected = CEMBED_ONLY[name]
    got = run(libdir, setup, expr)
    if expected is None:
        assert got.startswith("raised error cannot parse type: column"), got
        assert len(got) < 400, got
    else:
        assert got == expected, got


def test_char_pointer_has_its_terminator(libdir):
    # ffi.string() of a `char *` / `wchar_t *` from ffi.new stops at the NUL
    # CFFI allocates after the character; the repr still shows one item.
    got = run(libdir, "p = ffi.new('char *', b'x'); w = ffi.new('wchar_t *', 'y')\n",
              "(ffi.string(p), ffi.string(w), repr(p), repr(w))")
    assert got == ("returned (b'x', 'y', \"<cdata 'char *' owning 1 bytes>\", "
                   "\"<cdata 'wchar_t *' owning 4 bytes>\")"), got


@pytest.mark.smoke
def test_saved_fuzz_crashes_replay(libdir):
    files = sorted(glob.glob(os.path.join(TOOLBOX, "crashes", "*.py")))
    assert files, "fuzz/toolbox/crashes/ holds the regression inputs"
    r = subprocess.run([sys.executable, os.path.join(TOOLBOX, "worker.py"), libdir] + files,
                       capture_output=True, text=True, env=clean_env(), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert r.stdout.count("replayed ") == len(files), r.stdout


DOTDOTDOT_CDEF = """
extern int aa[...];
extern int bb[...];
struct s { int x; int a[...]; };
typedef double... real_t;
real_t half(void);
"""
DOTDOTDOT_SOURCE = """
int aa[41]; int bb[12];
struct s { int x; int a[7]; char more; };
typedef %s real_t;
real_t half(void) { return (real_t)0.5; }
"""


def build_dotdotdot(project, real_t):
    script = (
        "ffibuilder = cffi.FFI()\n"
        "ffibuilder.cdef(%r)\n"
        "ffibuilder.embedding_api('int dummy(void);')\n"
        "ffibuilder.set_source('ddd', %r)\n"
        "ffibuilder.embedding_init_code('pass')\n"
        "ffibuilder.compile()\n" % (DOTDOTDOT_CDEF, DOTDOTDOT_SOURCE % real_t))
    return project.build(script, check=False)


def test_dotdotdot_lengths_are_per_declaration(project):
    # Two `[...]` arrays spelled alike get their own lengths, and a struct
    # with a `[...]` field takes its whole layout from the compiler.
    r = build_dotdotdot(project, "double")
    assert r.returncode == 0, r.stderr
    code = ("import sys; sys.path.insert(0, %r)\nfrom ddd import ffi, lib\n"
            "print(ffi.sizeof(lib.aa), ffi.sizeof(lib.bb), len(lib.bb))\n"
            "print(ffi.sizeof('struct s'), ffi.offsetof('struct s', 'a'),"
            " ffi.typeof('struct s').fields[1][1].type.length)\n"
            "try:\n    lib.bb[12] = 1\nexcept IndexError as e:\n    print('IndexError', e)\n"
            "print(lib.half())\n" % project.path)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=clean_env(), cwd="/", timeout=60)
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    assert p.stdout == ("164 48 12\n36 4 7\n"
                        "IndexError index too large for cdata 'int[12]' (expected 12 < 12)\n"
                        "0.5\n")


@pytest.mark.parametrize("real_t", ["long", "int", "unsigned char"])
def test_float_dotdotdot_on_an_integer_type_fails_the_build(project, real_t):
    # CFFI raises ffi.error at first use; converting by size alone would read
    # the integer as a double. The build refuses it, naming the typedef.
    r = build_dotdotdot(project, real_t)
    assert r.returncode != 0
    assert ("typedef real_t: declared as `double...` in the cdef, but the C type is not "
            "float, double or long double") in r.stderr, r.stderr


@pytest.mark.parametrize("module", ["cembed", "cffi"])
def test_long_double_dotdotdot_is_a_cdef_error(module):
    # 'typedef double... t;' stands for float or double; CFFI's parser
    # refuses 'long double...' in cdef(), and so does cembed's.
    code = ("import %s as m\nffi = m.FFI()\n"
            "try:\n    ffi.cdef('typedef long double... foo_t;')\n"
            "except m.CDefError as e:\n    print('CDefError')\n"
            "print('alive')\n" % module)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=clean_env(), cwd="/", timeout=60)
    assert (r.returncode, r.stdout) == (0, "CDefError\nalive\n"), r.stderr


@pytest.mark.parametrize("decl", [
    "int a[{chain}];",
    "enum e {{ A = {chain} }};",
    "struct s {{ int x[{chain}]; }};",
    "typedef int {stars}t;",
])
def test_hostile_cdef_is_a_cdef_error(decl):
    # Left-deep operator chains and very long declarators: a CDefError with
    # the place, not a stack overflow or gigabytes of memory.
    # (the text is built in the child: the text is too long for a command line)
    code = ("import cembed\nffi = cembed.FFI()\n"
            "text = %r.format(chain='+'.join(['1'] * 100000), stars='*' * 100000)\n"
            "try:\n    ffi.cdef(text)\n"
            "except cembed.CDefError as e:\n    print(str(e).splitlines()[0])\n"
            "print('alive')\n" % decl)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=clean_env(), cwd="/", timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout in ("error: constant expression too long\nalive\n",
                        "error: declarator too long\nalive\n"), r.stdout
