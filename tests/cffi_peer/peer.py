"""CFFI's own tests (testing/cffi1 of the cffi sdist) run against cembed.

    python tests/cffi_peer/peer.py        # counts and every failure

The sdist is downloaded at test time (`pip download --no-binary :all:`) into
a cache directory, never committed. Its tests run in a separate pytest
process whose `import cffi` / `import _cffi_backend` are answered by the
adapter in shim/ (cembed builds each module, the ordinary extension loader
imports it); plugin.py marks the out-of-scope tests skipped. Nothing in
CFFI's test files is changed.
"""

import os
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
# Pinned, so that the lists in scope.py name tests that exist.
CFFI_VERSION = "2.1.1"
FILES = ["test_new_ffi_1.py", "test_ffi_obj.py", "test_recompiler.py"]


def cache_dir():
    base = os.environ.get("CEMBED_PEER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
        "cembed-cffi-peer")
    return base


def cffi_sources():
    """The extracted sdist of cffi CFFI_VERSION (downloaded once)."""
    base = cache_dir()
    src = os.path.join(base, "cffi-" + CFFI_VERSION)
    if os.path.isfile(os.path.join(src, "testing", "cffi1", FILES[0])):
        return src
    os.makedirs(base, exist_ok=True)
    archive = os.path.join(base, "cffi-%s.tar.gz" % CFFI_VERSION)
    if not os.path.exists(archive):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q",
                        "--no-binary", ":all:", "--no-deps",
                        "cffi==" + CFFI_VERSION, "-d", base], check=True)
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers()
                   if m.name.startswith("cffi-%s/testing/" % CFFI_VERSION)
                   or m.name == "cffi-%s/src/cffi/cffi_opcode.py" % CFFI_VERSION]
        tar.extractall(base, members=members)
    return src


def run(python=sys.executable, extra_args=()):
    """Runs the three files; returns {test name: (outcome, message)} with
    outcome 'passed', 'failed' or 'skipped' (the message of a skip is its
    reason)."""
    src = cffi_sources()
    xml = os.path.join(cache_dir(), "results-%d.xml" % os.getpid())
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update({
        "PYTHONPATH": os.pathsep.join([os.path.join(HERE, "shim"), HERE]),
        "CEMBED_PEER_CFFI_SRC": src,
        # CFFI's verify() then compiles C (not C++) with its warning flags,
        # -Werror -Wall -Wextra -Wconversion: cembed compiles C only.
        "NO_CPP": "1",
    })
    cmd = [python, "-m", "pytest", "-q", "-p", "plugin", "-p", "no:cacheprovider",
           "--junitxml", xml, "-o", "junit_family=xunit1"]
    cmd += [os.path.join("testing", "cffi1", f) for f in FILES] + list(extra_args)
    proc = subprocess.run(cmd, cwd=src, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=600)
    results = {}
    try:
        tree = ET.parse(xml)
    except (OSError, ET.ParseError):
        raise RuntimeError("the peer suite did not run:\n" + proc.stdout)
    finally:
        if os.path.exists(xml):
            os.unlink(xml)
    for case in tree.iter("testcase"):
        name = "%s::%s" % (case.get("file", case.get("classname")).rsplit("/", 1)[-1],
                           case.get("name"))
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                message = (child.get("message") or "").strip()
                break
            if child.tag == "skipped":
                outcome = "skipped"
                message = (child.get("message") or "").strip()
        results[name] = (outcome, message)
    return results, proc.stdout


def main():
    import scope
    results, _ = run(extra_args=sys.argv[1:])
    counts = {}
    for name, (outcome, message) in sorted(results.items()):
        kind = outcome
        if outcome == "skipped" and message.startswith("out of scope"):
            kind = "out of scope"
        elif outcome == "failed" and scope.known_difference(name):
            kind = "listed difference"
        elif outcome == "passed" and scope.known_difference(name):
            kind = "listed but passing"
        counts[kind] = counts.get(kind, 0) + 1
        if outcome == "failed" or kind == "listed but passing":
            print("%-20s %s: %s" % (kind, name, message.splitlines()[0][:150]
                                    if message else ""))
    print(", ".join("%s: %d" % kv for kv in sorted(counts.items())))


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
