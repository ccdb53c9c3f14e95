"""Instruction counts per add() call, by component, under valgrind's callgrind.

    bench/_work/venv/bin/python bench/profile.py [--calls N] [--depth D] [--min X] [--impl ...]
    bench/_work/venv/bin/python bench/profile.py --case struct|string|callback [--calls N] ...

--case picks another bench case (the host's `struct`, `string` or
`callback` mode; the root is the exported function): there the first call
starts Python inside the function callgrind counts, so each implementation
runs twice (2,000 calls and 2,000 + N) and the difference is divided by N.

Uses the libraries and host of the last `bench/run` (bench/_work/run or
smoke-run). The host's `loop` mode calls add() N times inside
bench_add_loop(); callgrind counts only inside that function
(--toggle-collect), so Python start-up is excluded. callgrind counts
instructions, not time: the figures are deterministic and independent of
whatever else the machine is doing, which is why docs/performance.md uses them.

Output: per implementation, the instructions per call of `add` and a call tree
below it (inclusive instructions per call of each callee, down to --depth
levels, callees below --min instructions per call folded into "other").
Below the first level, a function's children are its totals over all its
callers, which for this code are the same thing (each is called from one path).
"""

import argparse
import collections
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# case -> (host mode, function callgrind counts in, exported function, library dir/name)
CASES = {
    "add": ("loop", "bench_add_loop", "add", ("add", "libadd.so")),
    "struct": ("struct", "point_sum", "point_sum", ("struct", "libstruct.so")),
    "string": ("string", "str_len", "str_len", ("string", "libstring.so")),
    "callback": ("callback", "cb_call", "cb_call", ("callback", "libcallback.so")),
}
# Calls of the shorter run subtracted for the cases whose first call starts Python.
BASE_CALLS = 2000


class Profile:
    """The parts of a callgrind output file we need: self cost per function
    and inclusive cost per (caller, callee) pair, plus call counts."""

    def __init__(self, path):
        self.self_cost = collections.Counter()
        self.calls = collections.Counter()  # (caller, callee) -> count
        self.incl = collections.Counter()  # (caller, callee) -> inclusive Ir
        names = {}
        fn = None
        cfn = None
        pending_calls = None

        def name_of(spec):
            # "(12) name" defines id 12, "(12)" refers to it.
            m = re.match(r"\((\d+)\)(?:\s+(.*))?$", spec)
            if not m:
                return spec
            if m.group(2) is not None:
                names[m.group(1)] = m.group(2)
            return names.get(m.group(1), spec)

        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if line.startswith("fn="):
                    fn = name_of(line[3:])
                elif line.startswith("cfn="):
                    cfn = name_of(line[4:])
                elif line.startswith("calls="):
                    pending_calls = int(line[6:].split()[0])
                elif line and (line[0].isdigit() or line[0] in "+-*"):
                    parts = line.split()
                    cost = int(parts[1]) if len(parts) > 1 else 0
                    if pending_calls is not None:
                        self.calls[(fn, cfn)] += pending_calls
                        self.incl[(fn, cfn)] += cost
                        pending_calls = None
                    else:
                        self.self_cost[fn] += cost
                elif line.startswith(("cfi=", "cfl=", "cob=")):
                    pass
        self.children = collections.defaultdict(list)
        for (a, b) in self.incl:
            self.children[a].append(b)

    def minus(self, other):
        """This profile less `other` (a shorter run of the same program)."""
        self.self_cost.subtract(other.self_cost)
        self.calls.subtract(other.calls)
        self.incl.subtract(other.incl)
        return self

    def inclusive(self, fn):
        return self.self_cost[fn] + sum(self.incl[(fn, c)] for c in self.children[fn] if c != fn)


def short_name(fn):
    return fn.split("'")[0]


def tree(prof, fn, calls, depth, min_per_call, indent=0, seen=()):
    lines = []
    kids = sorted((c for c in prof.children[fn] if c != fn and c not in seen),
                  key=lambda c: -prof.incl[(fn, c)])
    other = 0
    for c in kids:
        per = prof.incl[(fn, c)] / calls
        if per < min_per_call:
            other += per
            continue
        lines.append((indent, short_name(c), per, prof.calls[(fn, c)] / calls))
        if depth > 1:
            lines.extend(tree(prof, c, calls, depth - 1, min_per_call, indent + 1, seen + (fn,)))
    self_per = prof.self_cost[fn] / calls
    lines.append((indent, "(self: %s)" % short_name(fn), self_per, None))
    if other >= 0.05:
        lines.append((indent, "(other callees)", other, None))
    return lines


def find_fn(prof, name):
    for fn in prof.self_cost:
        if fn == name or fn.startswith(name + "'"):
            return fn
    for (a, b) in prof.incl:
        if b == name:
            return b
    return None


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calls", type=int, default=100_000)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--min", type=float, default=3.0, help="fold callees under this many instructions per call")
    p.add_argument("--impl", default="floor,cffi,cembed")
    p.add_argument("--run", help="the bench/_work/... directory of a previous bench/run")
    p.add_argument("--root", help="function to break down (default: the case's exported function)")
    p.add_argument("--case", default="add", choices=sorted(CASES),
                   help="bench case (default add: the host's loop mode)")
    a = p.parse_args(argv)
    run = a.run or next((d for d in (os.path.join(HERE, "_work", "run"), os.path.join(HERE, "_work", "smoke-run"))
                         if os.path.isdir(d)), None)
    if run is None:
        sys.exit("profile.py: run bench/run (or bench/run --smoke) first")
    sys.path.insert(0, HERE)
    import bench  # the harness: same environment rules per implementation

    py = bench.python_facts()
    mode, toggle, export, (libdir, libname) = CASES[a.case]
    root_name = a.root or export
    host = os.path.join(run, "c", "host")
    libs = {"floor": os.path.join(run, "c", "libfloor.so"),
            "cffi": os.path.join(run, "cffi", libdir, libname),
            "cembed": os.path.join(run, "cembed", libdir, libname)}
    out_dir = os.path.join(HERE, "_work", "profile")
    os.makedirs(out_dir, exist_ok=True)

    def callgrind(impl, lib, calls, out):
        cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=" + toggle,
               "--callgrind-out-file=" + out, host, mode, lib, str(calls)]
        r = subprocess.run(cmd, env=bench.impl_env(impl, py), capture_output=True, text=True)
        if r.returncode != 0:
            print("## %s: callgrind failed\n\n```\n%s\n```\n" % (impl, r.stderr[-2000:]))
            return None
        return Profile(out)

    for impl in a.impl.split(","):
        lib = libs[impl]
        if not os.path.isfile(lib):
            print("## %s: no library at %s\n" % (impl, lib))
            continue
        suffix = "" if a.case == "add" else "." + a.case
        out = os.path.join(out_dir, "callgrind.%s%s" % (impl, suffix))
        if a.case == "add":
            prof = callgrind(impl, lib, a.calls, out)
        else:
            prof = callgrind(impl, lib, BASE_CALLS + a.calls, out)
            base = prof and callgrind(impl, lib, BASE_CALLS, out + ".base")
            prof = prof and base and prof.minus(base)
        if prof is None:
            continue
        loop = find_fn(prof, toggle)
        root = find_fn(prof, root_name)
        total = prof.inclusive(loop) / a.calls if loop else float("nan")
        print("## %s: %.0f instructions per call (%s, %d calls)\n" % (impl, total, toggle, a.calls))
        if root is None:
            print("(no function %r in the profile)\n" % root_name)
            continue
        print("| instructions/call | calls/call | function |")
        print("|---:|---:|---|")
        print("| %.0f | 1 | **%s** (inclusive) |" % (prof.inclusive(root) / a.calls, short_name(root)))
        for indent, name, per, cpc in tree(prof, root, a.calls, a.depth, a.min):
            print("| %.1f | %s | %s%s |" % (per, "" if cpc is None else "%.3g" % cpc,
                                             "&nbsp;&nbsp;&nbsp;&nbsp;" * (indent + 1), name))
        print()
        print("callgrind file: %s (callgrind_annotate --inclusive=yes it)\n" % out)


if __name__ == "__main__":
    main(sys.argv[1:])
