"""Helpers of the real-host tests (the fixtures are in conftest.py)."""

import os
import shutil
import subprocess
import sys

import pytest

from cembed_e2e import ROOT, clean_env

EXAMPLES = os.path.join(ROOT, "examples")


def ensure_packages(what, present, packages):
    """Skips the test unless `present()` holds, installing `packages` with
    apt-get first if it does not."""
    if present():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("%s missing and cannot be installed here (needs root and "
                    "apt-get): apt-get install %s" % (what, " ".join(packages)))
    install = ["apt-get", "install", "-y", "-q"] + packages
    r = subprocess.run(install, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        # A fresh machine may have no package lists yet.
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=600)
        r = subprocess.run(install, capture_output=True, text=True, timeout=600)
    if r.returncode != 0 or not present():
        pytest.skip("%s missing; apt-get install %s failed:\n%s"
                    % (what, " ".join(packages), r.stderr[-2000:]))


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
