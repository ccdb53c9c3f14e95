"""Fixtures for the real-host tests: programs nobody here wrote (the sqlite3
shell, the lua5.4 interpreter) loading a library built from examples/.

The hosts and the headers the examples compile against come from Debian
packages. When one is missing, the fixture installs it with apt-get (as
root) and skips the test, saying why, when that is not possible.
"""

import os
import shutil
import subprocess
import sys

import pytest

from cembed_e2e import ROOT, clean_env

EXAMPLES = os.path.join(ROOT, "examples")


def pytest_configure(config):
    config.addinivalue_line("markers", "smoke: the subset run on every other CPython")
    config.addinivalue_line("markers", "realhost: runs a third-party host program")


def _ensure(what, present, packages):
    """Skips the test unless `present()` holds, installing `packages` with
    apt-get first if it does not."""
    if present():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("%s missing and cannot be installed here (needs root and "
                    "apt-get): apt-get install %s" % (what, " ".join(packages)))
    r = subprocess.run(["apt-get", "install", "-y", "-q"] + packages,
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0 or not present():
        pytest.skip("%s missing; apt-get install %s failed:\n%s"
                    % (what, " ".join(packages), r.stderr[-2000:]))


@pytest.fixture(scope="session")
def sqlite3_shell():
    _ensure("the sqlite3 shell and sqlite3ext.h",
            lambda: shutil.which("sqlite3") and os.path.exists("/usr/include/sqlite3ext.h"),
            ["sqlite3", "libsqlite3-dev"])
    return shutil.which("sqlite3")


@pytest.fixture(scope="session")
def lua54():
    _ensure("lua5.4 and lua.h",
            lambda: shutil.which("lua5.4") and os.path.exists("/usr/include/lua5.4/lua.h"),
            ["lua5.4", "liblua5.4-dev"])
    return shutil.which("lua5.4")


def host_env(home):
    """The environment a host runs with: the clean one of the end-to-end tests
    (no PYTHON* variables, no LD_LIBRARY_PATH), no LUA_* variables (LUA_INIT
    runs code, LUA_CPATH moves the search) and an empty HOME (no ~/.sqliterc)."""
    env = {k: v for k, v in clean_env().items() if not k.startswith("LUA_")}
    env["HOME"] = str(home)
    return env


class Example:
    """One example's build script, run into its own directory."""

    def __init__(self, tmp_path, example, script):
        self.source = os.path.join(EXAMPLES, example, script)
        self.tmp = tmp_path
        self.home = tmp_path / "home"
        self.home.mkdir(exist_ok=True)

    def build(self, outdir="build", edit=None):
        """Runs the build script (optionally edited by `edit(text) -> text`)
        with the Python running pytest and returns (outdir, library path)."""
        with open(self.source, encoding="utf-8") as f:
            text = f.read()
        if edit is not None:
            edited = edit(text)
            assert edited != text, "the edit changed nothing"
            text = edited
        out = self.tmp / outdir
        out.mkdir()
        script = out / os.path.basename(self.source)
        script.write_text(text, encoding="utf-8")
        r = subprocess.run([sys.executable, script.name, str(out)], cwd=str(out),
                           env=clean_env(), capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, "build failed:\n%s\n%s" % (r.stdout, r.stderr)
        return out, r.stdout.strip().splitlines()[-1]

    def run(self, argv, cwd, stdin=None):
        return subprocess.run(argv, cwd=str(cwd), env=host_env(self.home), input=stdin,
                              capture_output=True, text=True, timeout=120)


@pytest.fixture
def sqlite_example(tmp_path):
    return Example(tmp_path, "sqlite_ext", "build_pyext.py")


@pytest.fixture
def lua_example(tmp_path):
    return Example(tmp_path, "lua_module", "build_pyfun.py")
