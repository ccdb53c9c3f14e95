"""The `cembed` command: build a library from files, link a host against it
with the flags `cembed pkg-config` prints, run it."""

import os
import shlex
import shutil
import subprocess
import sys

import pytest

from cembed_e2e import ROOT, clean_env


@pytest.fixture(scope="module")
def cembed_exe():
    """The `cembed` command installed with cembed (the console script next
    to this Python, which runs the binary shipped in the wheel)."""
    exe = os.path.join(os.path.dirname(sys.executable), "cembed")
    assert os.access(exe, os.X_OK), "cembed is not installed next to " + sys.executable
    return exe


def test_config_reports_this_python(cembed_exe):
    r = subprocess.run([cembed_exe, "config", "--python", sys.executable],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    facts = dict(l.split("=", 1) for l in r.stdout.splitlines())
    assert facts["executable"] == sys.executable
    assert facts["version"] == "%d.%d" % sys.version_info[:2]
    import cembed._runtime as rt
    assert facts["runtime"] == rt.__file__


def test_config_uses_virtual_env(cembed_exe):
    venv = os.path.dirname(os.path.dirname(sys.executable))
    if not os.path.exists(os.path.join(venv, "pyvenv.cfg")):
        pytest.skip("not running in a venv")
    r = subprocess.run([cembed_exe, "config"], capture_output=True, text=True,
                       env=dict(clean_env(), VIRTUAL_ENV=venv))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("found_by=$VIRTUAL_ENV\n")


def test_build_and_pkg_config(cembed_exe, tmp_path):
    (tmp_path / "api.h").write_text("int twice(int);\n")
    (tmp_path / "init.py").write_text(
        "from cli_mod import ffi\n"
        "@ffi.def_extern()\n"
        "def twice(x):\n"
        "    return 2 * x\n")
    (tmp_path / "host.c").write_text(
        '#include <stdio.h>\n#include "cli.h"\n'
        'int main(void) { printf("%d\\n", twice(21)); return 0; }\n')
    r = subprocess.run([cembed_exe, "build", "--module", "cli_mod", "--api", "api.h",
                        "--init", "init.py", "-o", "out/libcli.so", "--python", sys.executable],
                       cwd=str(tmp_path), capture_output=True, text=True, env=clean_env())
    assert r.returncode == 0, r.stderr
    lib = str(tmp_path / "out" / "libcli.so")
    assert r.stdout.splitlines() == [lib, str(tmp_path / "out" / "cli.h")]
    flags = subprocess.run([cembed_exe, "pkg-config", "--cflags", "--libs", "--rpath", lib],
                           capture_output=True, text=True)
    assert flags.returncode == 0, flags.stderr
    cc = subprocess.run(["gcc", "-o", "host", "host.c"] + shlex.split(flags.stdout),
                        cwd=str(tmp_path), capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    run = subprocess.run([str(tmp_path / "host")], cwd="/", env=clean_env(),
                         capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout, run.stderr) == (0, "42\n", "")


def test_build_with_a_declaration_error(cembed_exe, tmp_path):
    (tmp_path / "api.h").write_text("int ok(int);\nint bad(nope_t);\n")
    r = subprocess.run([cembed_exe, "build", "--module", "m", "--api", "api.h",
                        "-o", "libm.so", "--python", sys.executable],
                       cwd=str(tmp_path), capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.startswith("error: "), r.stderr
    assert "api.h:2:" in r.stderr, r.stderr
    assert sorted(os.listdir(tmp_path)) == ["api.h"]


@pytest.mark.parametrize("arg, why", [
    ("pool:0", "the pool size must be at least 1 (got 0); leave it out for the number of CPUs"),
    ("pool:x", 'bad size "x" in "pool:x": the size is a positive integer (pool:4)'),
    ("pool:", 'bad size "" in "pool:": the size is a positive integer (pool:4)'),
    ("pool:-2", 'bad size "-2" in "pool:-2": the size is a positive integer (pool:4)'),
    ("isolated:4", 'isolation "isolated" takes no size (got 4): only "pool" has one'),
    ("shared:1", 'isolation "shared" takes no size (got 1): only "pool" has one'),
    ("Isolated", 'unknown isolation mode "Isolated": the modes are "shared" (the default), '
                 '"isolated" and "pool"'),
])
@pytest.mark.parametrize("command", ["build", "emit-c"])
def test_isolation_argument_errors(cembed_exe, tmp_path, command, arg, why):
    (tmp_path / "api.h").write_text("int f(int);\n")
    r = subprocess.run([cembed_exe, command, "--module", "m", "--api", "api.h", "-o", "out.c",
                        "--python", sys.executable, "--isolation", arg],
                       cwd=str(tmp_path), capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines()[0] == (
        "error: invalid value '%s' for '--isolation <MODE[:SIZE]>': %s" % (arg, why))
    assert sorted(os.listdir(tmp_path)) == ["api.h"]


@pytest.mark.smoke
@pytest.mark.skipif(sys.version_info >= (3, 12), reason="isolation builds on 3.12+")
@pytest.mark.parametrize("command, output", [("build", "out/libm.so"), ("emit-c", "out/m.c")])
def test_isolation_needs_python_3_12(cembed_exe, tmp_path, command, output):
    (tmp_path / "api.h").write_text("int f(int);\n")
    for arg, mode in [("isolated", "isolated"), ("pool", "pool"), ("pool:4", "pool")]:
        r = subprocess.run([cembed_exe, command, "--module", "m", "--api", "api.h",
                            "-o", output, "--header", "m.h", "--python", sys.executable,
                            "--isolation", arg],
                           cwd=str(tmp_path), capture_output=True, text=True)
        assert r.returncode == 2, r.stderr
        assert r.stderr == (
            'error: isolation "%s" needs CPython 3.12 or newer (PEP 684: subinterpreters with '
            'their own GIL), but the build Python %s is %d.%d; build with Python 3.12+, or use '
            'isolation "shared" (the default), which works with every Python\n'
            % ((mode, sys.executable) + sys.version_info[:2]))
        assert sorted(os.listdir(tmp_path)) == ["api.h"]
    # "shared" builds with every Python.
    r = subprocess.run([cembed_exe, command, "--module", "m", "--api", "api.h", "-o", output,
                        "--python", sys.executable, "--isolation", "shared"],
                       cwd=str(tmp_path), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.smoke
@pytest.mark.skipif(sys.version_info < (3, 12), reason="needs a 3.12+ build Python")
def test_isolation_is_emitted_with_python_3_12(cembed_exe, tmp_path):
    (tmp_path / "api.h").write_text("int f(int);\n")
    for arg, line in [
        ("pool:4", ".isolation = CEMBED_ISOLATION_POOL, .pool_size = 4,"),
        ("pool", ".isolation = CEMBED_ISOLATION_POOL, .pool_size = 0,"),
        ("isolated", ".isolation = CEMBED_ISOLATION_ISOLATED, .pool_size = 0,"),
        ("shared", ".isolation = CEMBED_ISOLATION_SHARED, .pool_size = 0,"),
        (None, ".isolation = CEMBED_ISOLATION_SHARED, .pool_size = 0,"),
    ]:
        extra = ["--isolation", arg] if arg else []
        r = subprocess.run([cembed_exe, "emit-c", "--module", "m", "--api", "api.h",
                            "-o", "m.c", "--python", sys.executable] + extra,
                           cwd=str(tmp_path), capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        c = (tmp_path / "m.c").read_text()
        assert [l.strip() for l in c.splitlines() if ".isolation =" in l] == [line], arg
    r = subprocess.run([cembed_exe, "build", "--module", "m", "--api", "api.h",
                        "-o", "out/libm.so", "--python", sys.executable, "--isolation", "pool:2"],
                       cwd=str(tmp_path), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "libm.so").exists()


@pytest.mark.skipif(not shutil.which("pypy3"), reason="no pypy3")
def test_isolation_is_refused_for_pypy(cembed_exe, tmp_path):
    pypy = shutil.which("pypy3")
    (tmp_path / "api.h").write_text("int f(int);\n")
    facts = subprocess.run([cembed_exe, "config", "--python", pypy],
                           capture_output=True, text=True)
    assert facts.returncode == 0, facts.stderr
    facts = dict(l.split("=", 1) for l in facts.stdout.splitlines())
    for arg, mode in [("isolated", "isolated"), ("pool:2", "pool")]:
        r = subprocess.run([cembed_exe, "emit-c", "--module", "m", "--api", "api.h",
                            "-o", "m.c", "--python", pypy, "--isolation", arg],
                           cwd=str(tmp_path), capture_output=True, text=True)
        assert r.returncode == 2, r.stderr
        assert r.stderr == (
            'error: isolation "%s" is not available on PyPy (the build Python %s is PyPy %s): '
            'PyPy has no subinterpreters; build with CPython 3.12 or newer, or use isolation '
            '"shared" (the default), which works with every Python\n'
            % (mode, facts["executable"], facts["version"]))
        assert sorted(os.listdir(tmp_path)) == ["api.h"]
    r = subprocess.run([cembed_exe, "emit-c", "--module", "m", "--api", "api.h", "-o", "m.c",
                        "--python", pypy, "--isolation", "shared"],
                       cwd=str(tmp_path), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
