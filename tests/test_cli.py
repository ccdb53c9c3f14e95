"""The `cembed` command: build a library from files, link a host against it
with the flags `cembed pkg-config` prints, run it."""

import os
import shlex
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
