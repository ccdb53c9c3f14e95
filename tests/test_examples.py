"""The examples: the README's demo and CFFI's documented plugin example (also
run under the real cffi: same stdout)."""

import os
import shutil
import subprocess
import sys

import pytest

from cembed_e2e import ROOT, cffi_env, clean_env


def copy_example(name, dest):
    src = os.path.join(ROOT, "examples", name)
    os.makedirs(str(dest), exist_ok=True)
    for f in os.listdir(src):
        if os.path.isfile(os.path.join(src, f)):
            shutil.copy(os.path.join(src, f), dest)
    return str(dest)


def build_plugin(d, flavor):
    script = os.path.join(d, "plugin_build.py")
    if flavor == "cffi":
        with open(script) as f:
            text = f.read().replace("import cembed as cffi", "import cffi")
        with open(script, "w") as f:
            f.write(text)
    r = subprocess.run([sys.executable, "plugin_build.py"], cwd=d, env=clean_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.path.exists(os.path.join(d, "plugin-1.5.so"))
    # The user's plugin.h is untouched (cembed's consumer header never
    # replaces it).
    with open(os.path.join(ROOT, "examples", "plugin", "plugin.h")) as a, \
            open(os.path.join(d, "plugin.h")) as b:
        assert a.read() == b.read()
    cc = subprocess.run(["gcc", "-Wall", "-Werror", "-o", "host", "host.c", "./plugin-1.5.so",
                         "-Wl,-rpath,$ORIGIN"], cwd=d, capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    return os.path.join(d, "host")


EXPECTED_PLUGIN = ("adding 40 and 2\ndo_stuff returned 42\n"
                   "adding -5 and 5\ndo_stuff returned 0\n")


@pytest.mark.smoke
def test_plugin_example(tmp_path):
    d = copy_example("plugin", tmp_path)
    host = build_plugin(d, "cembed")
    r = subprocess.run([host], cwd="/", env=clean_env(), capture_output=True, text=True,
                       timeout=60)
    assert (r.returncode, r.stderr) == (0, "")
    # Python's prints and the C printf()s share one pipe; both are flushed
    # at exit, Python's first only if it is unbuffered: compare as sets of lines
    # in each language's own order.
    assert sorted(r.stdout.splitlines()) == sorted(EXPECTED_PLUGIN.splitlines())
    assert [l for l in r.stdout.splitlines() if l.startswith("adding")] == \
        ["adding 40 and 2", "adding -5 and 5"]


@pytest.mark.cffi
def test_plugin_example_same_output_as_cffi(tmp_path):
    pytest.importorskip("cffi")
    outs = {}
    for flavor in ("cembed", "cffi"):
        d = copy_example("plugin", tmp_path / flavor)
        host = build_plugin(d, flavor)
        env = cffi_env() if flavor == "cffi" else clean_env()
        # With a piped stdout, cffi loses what Python buffered (it never
        # finalizes Python at exit; cembed does, see test_plugin_example):
        # both runs are unbuffered here so the comparison is about behaviour.
        env["PYTHONUNBUFFERED"] = "1"
        r = subprocess.run([host], cwd=d, env=env, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, (flavor, r.stderr)
        outs[flavor] = r.stdout
    assert outs["cembed"] == outs["cffi"]
    assert outs["cembed"] == ("adding 40 and 2\nadding -5 and 5\n"
                              "do_stuff returned 42\ndo_stuff returned 0\n")


@pytest.mark.smoke
def test_demo(tmp_path):
    d = copy_example("demo", tmp_path)
    r = subprocess.run([sys.executable, "build_demo.py", "out"], cwd=d, env=clean_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = os.path.join(d, "out")
    cc = subprocess.run(["gcc", "-Wall", "-Werror", "-o", os.path.join(out, "host"), "host.c",
                         "-I" + out, "-L" + out, "-ldemo", "-Wl,-rpath,$ORIGIN"], cwd=d,
                        capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    r = subprocess.run([os.path.join(out, "host")], cwd="/", env=clean_env(),
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (0, "")
    v = "%d.%d" % sys.version_info[:2]
    assert sorted(r.stdout.splitlines()) == sorted([
        "[python] init code running in Python " + v,
        "[c] fib(30) = 832040", "[c] 37.5 C = 99.50 F", "[c] words = 9000"])
