#!/usr/bin/env python3
"""Which stdlib modules cannot be imported in an own-GIL subinterpreter.

A library built with `ffibuilder.embedding_isolation("isolated")` or
`("pool", n)` runs its init code and calls in subinterpreters created with
CPython's isolated configuration (PEP 684: own GIL, and
`check_multi_interp_extensions`, which refuses single-phase-init extension
modules). This script asks CPython itself, with no cembed involved, which
stdlib modules such an interpreter can import:

- 3.12: `_xxsubinterpreters.create(isolated=True)` + `run_string`;
- 3.13: `_interpreters.create("isolated")` + `exec`.

For every name in `sys.stdlib_module_names` plus every extension module
file in lib-dynload, a fresh child process (so that a crash or a hang is
one row, not the end of the survey) first imports the module in its main
interpreter, then creates a fresh isolated subinterpreter and imports it
there. A module that fails in the main interpreter too (not built here,
platform-only, needs a display...) is reported separately: it says nothing
about isolation. `antigravity` (opens a web browser) and `this` (prints)
are skipped.

Usage: tools/isolation_survey.py [--markdown] [--only NAME,...] [--jobs N]
       tools/isolation_survey.py --compare A.jsonl B.jsonl
Run it with the Python to survey; without --markdown it prints one JSON
line per module, which --compare (any Python) turns into one table of the
modules refused in either version. docs/isolation.md's tables came from:
    for v in 3.12.1 3.13.0; do
        $(pyenv prefix $v)/bin/python3 tools/isolation_survey.py > /tmp/survey-$v.jsonl
    done
    python3 tools/isolation_survey.py --compare /tmp/survey-3.12.1.jsonl /tmp/survey-3.13.0.jsonl
Surveying needs CPython >= 3.12.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import re
import subprocess
import sys
import sysconfig

SKIP = {"antigravity", "this"}

# Runs in a child process: argv[1] is the module name. Prints one JSON line.
CHILD = r'''
import json, os, sys, tempfile
name = sys.argv[1]
res = {"module": name}
try:
    __import__(name)
    res["main"] = "ok"
except BaseException as e:
    res["main"] = "%s: %s" % (type(e).__name__, e)
fd, path = tempfile.mkstemp()
os.close(fd)
code = """
import json
try:
    __import__(%r)
    r = "ok"
except BaseException as e:
    r = "%%s: %%s" %% (type(e).__name__, e)
with open(%r, "w") as f:
    f.write(r)
""" % (name, path)
try:
    if sys.version_info >= (3, 13):
        import _interpreters as m
        interp = m.create("isolated")
        exc = m.exec(interp, code)
        if exc is not None:
            res["run"] = "%s: %s" % (exc.type.__name__, exc.msg)
    else:
        import _xxsubinterpreters as m
        interp = m.create(isolated=True)
        try:
            m.run_string(interp, code)
        except m.RunFailedError as e:
            res["run"] = str(e)
    with open(path) as f:
        res["sub"] = f.read() or "(no result)"
    try:
        m.destroy(interp)
    except BaseException as e:
        res["destroy"] = "%s: %s" % (type(e).__name__, e)
finally:
    os.unlink(path)
print(json.dumps(res), flush=True)
'''


def module_names():
    names = set(sys.stdlib_module_names)
    dynload = sysconfig.get_path("platstdlib") + "/lib-dynload"
    for so in glob.glob(os.path.join(dynload, "*.so")):
        names.add(os.path.basename(so).split(".")[0])
    return sorted(names - SKIP)


def survey_one(name, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        r = subprocess.run([sys.executable, "-c", CHILD, name], capture_output=True,
                           text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL,
                           cwd="/")
    except subprocess.TimeoutExpired:
        return {"module": name, "main": "?", "sub": "hang (no answer in %d s)" % timeout}
    last = [l for l in r.stdout.splitlines() if l.startswith('{"module"')]
    if r.returncode != 0 or not last:
        tail = (r.stderr.strip().splitlines() or ["?"])[-1]
        return {"module": name, "main": "?",
                "sub": "process died (exit %s): %s" % (r.returncode, tail)}
    return json.loads(last[-1])


def short(msg, n=110):
    msg = " ".join(msg.split())
    return msg if len(msg) <= n else msg[: n - 3] + "..."


def compare(paths):
    """One Markdown table: the modules that import in the main interpreter
    but not in an isolated subinterpreter, in any of the surveys."""
    surveys = []
    for path in paths:
        with open(path) as f:
            surveys.append({r["module"]: r for r in map(json.loads, f) if r})
    names = sorted(n for n in set().union(*surveys)
                   if any(s.get(n, {}).get("main") == "ok" and s[n]["sub"] != "ok"
                          for s in surveys))

    def cell(s, n):
        r = s.get(n)
        if r is None:
            return "not in this version"
        if r["main"] != "ok":
            return "not importable at all"
        if r["sub"] == "ok":
            return "ok"
        m = re.match(r"ImportError: module (\S+) does not support loading in "
                     r"subinterpreters$", r["sub"])
        if m and m.group(1) == n:
            return "refused (single-phase init)"
        if m:
            return "needs `%s` (refused)" % m.group(1)
        return short(r["sub"], 80).replace("|", "\\|")

    heads = [os.path.basename(p).rsplit(".", 1)[0] for p in paths]
    print("| module | " + " | ".join(heads) + " |")
    print("|---" * (len(paths) + 1) + "|")
    for n in names:
        print("| `%s` | " % n + " | ".join(cell(s, n) for s in surveys) + " |")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--compare":
        return compare(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--only", help="comma-separated module names")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    if sys.version_info < (3, 12):
        sys.exit("needs CPython >= 3.12 (own-GIL subinterpreters)")
    names = args.only.split(",") if args.only else module_names()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        results = list(ex.map(survey_one, names))
    refused = [r for r in results if r["main"] == "ok" and r["sub"] != "ok"]
    absent = [r for r in results if r["main"] != "ok"]
    ok = [r for r in results if r["main"] == "ok" and r["sub"] == "ok"]
    ver = sys.version.split()[0]
    if not args.markdown:
        for r in results:
            print(json.dumps(r))
        return
    print("CPython %s: %d modules tried, %d import in an isolated subinterpreter, "
          "%d refused there, %d not importable even in the main interpreter.\n"
          % (ver, len(results), len(ok), len(refused), len(absent)))
    print("| module | error in the isolated subinterpreter |")
    print("|---|---|")
    for r in refused:
        print("| `%s` | %s |" % (r["module"], short(r["sub"]).replace("|", "\\|")))
    print("\nNot importable in the main interpreter either (not about isolation): %s"
          % ", ".join("`%s`" % r["module"] for r in absent))


if __name__ == "__main__":
    main()
