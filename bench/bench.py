"""cembed's benchmark harness: cembed vs the real cffi vs a hand-written C-API floor.

Run it through `bench/run` (which makes the venv and installs cembed, cffi and
matplotlib); see docs/benchmarks.md for what every case measures.

Design rules:
  * One run measures all three implementations on this machine, interleaved
    (round robin per repetition) so background noise hits them alike; every
    figure is the median of the repetitions.
  * The same C host (bench/c/host.c, gcc -O2) calls every library the same way.
  * A case that cannot be built or run for one implementation is reported as
    "n/a" with the reason; it never stops the run. The harness exits non-zero
    only on a harness error (the floor or the host itself failing), never on a
    timing or a missed target.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import threading
import time
import traceback

import isolation

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
IMPLS = ("floor", "cffi", "cembed")
# The PyPy column (docs/pypy.md): the same build script and host, the libraries
# built by the pypy3 of bench/_work/pypy-venv (BENCH_PYPY, set by bench/run
# when pypy3 is installed): cffi on PyPy (PyPy's built-in cffi) and cembed on
# PyPy. Per-call cases and the first call only.
PYPY_IMPLS = ("cffi-pypy", "cembed-pypy")
PYPY_CASES = ("add_1t", "add_2t", "add_4t", "struct", "string", "buffer", "callback", "first_call")
LIB_CASES = ("add", "struct", "string", "buffer", "callback")

# (key, title, unit) of every case, in report order.
CASES = [
    ("add_1t", "add(int, int), 1 thread", "ns/call"),
    ("add_2t", "add(int, int), 2 threads", "ns/call"),
    ("add_4t", "add(int, int), 4 threads", "ns/call"),
    ("struct", "point_sum(point_t *): Python reads 3 fields", "ns/call"),
    ("string", "str_len(const char *): len(ffi.string(s))", "ns/call"),
    ("string_bytes", "reference: str_len as `len(b)`, the bytes made in C (floor only)", "ns/call"),
    ("buffer", "buf_sum(double *, 1000): sum over ffi.buffer", "ns/call"),
    ("callback", "cb_call(int): C calls an ffi.callback function pointer", "ns/call"),
    ("first_call", "first call: process start to first result", "ms"),
    ("build_1", "build time, 1 exported function", "s"),
    ("build_200", "build time, 200 exported functions", "s"),
    ("size_1", "library size, 1 function", "KiB"),
    ("size_200", "library size, 200 functions", "KiB"),
    ("rss_peak", "peak RSS after {rss_calls} add() calls", "MiB"),
    ("rss_growth", "RSS growth from call 1,000 to call {rss_calls}", "MiB"),
    ("threads_mem", "RSS after {threads_many} short-lived threads minus after {threads_few}", "MiB"),
]

# cembed's targets (what the project promises its users; docs/benchmarks.md):
# (case, compared with, test on the ratio, text).
TARGETS = {
    "add_1t": ("floor", lambda r: r <= 1.15, "<= 1.15x floor"),
    "add_2t": ("cffi", lambda r: r <= 1.0, ">= cffi throughput"),
    "add_4t": ("cffi", lambda r: r <= 1.0, ">= cffi throughput"),
    "struct": ("floor", lambda r: r <= 1.1, "<= 1.1x floor"),
    "string": ("floor", lambda r: r <= 1.3, "<= 1.3x floor"),
    "callback": ("cffi", lambda r: r <= 1.0, "<= cffi's"),
    "first_call": ("python", lambda r: r <= 1.1, "<= 1.1x bare interpreter start"),
    "build_1": ("cffi", lambda r: r <= 0.2, "<= 0.2x cffi's"),
    "build_200": ("cffi", lambda r: r <= 0.2, "<= 0.2x cffi's"),
}
# Memory targets are absolute, not ratios.
ABS_TARGETS = {
    "rss_growth": (lambda v: v <= 1.0, "flat (<= 1 MiB)"),
    "threads_mem": (lambda v: v <= 5.0, "<= 5 MiB"),
}


class CaseError(Exception):
    """A case failed for one implementation: reported as n/a, the run goes on."""


# ---------------------------------------------------------------------------
# configuration


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true", help="CI mode: 1 repetition, few iterations, outputs under bench/_work/smoke")
    p.add_argument("--runs", type=int, help="repetitions per figure (median taken); default 7, smoke 1")
    p.add_argument("--calls", type=int, help="add() calls per repetition, shared by the threads; default 1,000,000")
    p.add_argument("--impl", default=",".join(IMPLS + PYPY_IMPLS),
                   help="comma-separated subset of floor,cffi,cembed,cffi-pypy,cembed-pypy")
    p.add_argument("--out", help="directory for benchmarks.md/.png and results.json (default: docs/ and bench/)")
    p.add_argument("--timeout", type=float, help="seconds allowed per process (default 300, smoke 60)")
    p.add_argument("--exit-timeout", type=float, default=10.0,
                   help="seconds a host may take to exit after printing its result (default 10)")
    p.add_argument("--iso-quiet", type=float,
                   help="isolation table: seconds to wait for the other processes to go quiet before each "
                        "group of runs (default 60, smoke 0)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every command")
    a = p.parse_args(argv)
    full = not a.smoke
    a.runs = a.runs or (7 if full else 1)
    a.calls = a.calls or (1_000_000 if full else 20_000)
    a.data_calls = 300_000 if full else 5_000
    a.buffer_calls = 20_000 if full else 300
    a.first_runs = max(3 * a.runs, 21) if full else 1
    a.build_runs = a.runs if full else 1
    a.mem_runs = 3 if full else 1
    a.rss_calls = 1_000_000 if full else 20_000
    a.threads_many = 10_000 if full else 500
    a.threads_few = 10
    a.iso_spin_calls = 40_000 if full else 400
    a.iso_first_runs = 11 if full else 1
    a.iso_quiet = a.iso_quiet if a.iso_quiet is not None else (60.0 if full else 0.0)
    a.timeout = a.timeout or (300.0 if full else 60.0)
    a.impls = [i for i in a.impl.split(",") if i]
    for i in a.impls:
        if i not in IMPLS + PYPY_IMPLS:
            p.error("unknown implementation %r" % i)
    if a.out:
        a.md = os.path.join(a.out, "benchmarks.md")
        a.png = os.path.join(a.out, "benchmarks.png")
        a.json = os.path.join(a.out, "results.json")
    elif a.smoke:
        d = os.path.join(HERE, "_work", "smoke")
        a.md, a.png, a.json = (os.path.join(d, n) for n in ("benchmarks.md", "benchmarks.png", "results.json"))
    else:
        a.md = os.path.join(REPO, "docs", "benchmarks.md")
        a.png = os.path.join(REPO, "docs", "benchmarks.png")
        a.json = os.path.join(HERE, "results.json")
    return a


def log(msg):
    print("[bench] " + msg, flush=True)


# ---------------------------------------------------------------------------
# environment


def python_facts():
    libdir = sysconfig.get_config_var("LIBDIR")
    ver = "%d.%d" % sys.version_info[:2]
    return {
        "executable": sys.executable,
        "version": platform.python_version(),
        "include": sysconfig.get_paths()["include"],
        "libdir": libdir,
        "ldlibrary": "python" + ver + (sys.abiflags or ""),
        "site_packages": sysconfig.get_paths()["purelib"],
    }


def machine_info(py):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    gcc = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout.splitlines()
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "crates", "python", "bench"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": py["version"],
        "cffi": pkg_version("cffi"),
        "cembed": pkg_version("cembed"),
        "gcc": gcc[0] if gcc else "unknown",
        "commit": commit + ("+dirty" if dirty else ""),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load": "%.2f at start" % os.getloadavg()[0],
    }


def pkg_version(name):
    try:
        from importlib import metadata
        return metadata.version(name)
    except Exception:
        return None


def clean_env():
    """The environment a user's host would have: no Python variables at all.

    PYTHONUNBUFFERED/PYTHONDONTWRITEBYTECODE (set in this workplace) change
    start-up work; PYTHONPATH/LD_LIBRARY_PATH must only be set for cffi."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("PYTHON") or k in ("LD_LIBRARY_PATH", "LD_PRELOAD", "VIRTUAL_ENV"):
            del env[k]
    return env


def pypy_facts(work):
    """The bench's pypy3 (BENCH_PYPY) and a directory with the link cffi on
    PyPy links against: Debian's PyPy has libpypy3.9-c.so, cffi asks for
    -lpypy3-c. None when there is no pypy3."""
    exe = os.environ.get("BENCH_PYPY")
    if not exe or not os.path.exists(exe):
        return None
    r = subprocess.run([exe, "-c", "import sys\nfor l in open('/proc/self/maps'):\n"
                        "    p = l.split()[-1]\n    if 'libpypy' in p and p.startswith('/'):\n"
                        "        print(p); break\nprint(sys.version.split()[0])"],
                       capture_output=True, text=True)
    out = r.stdout.split()
    if r.returncode != 0 or len(out) != 2:
        log("pypy3 %s: cannot find its libpypy: %s" % (exe, tail(r.stderr)))
        return None
    shim = os.path.join(work, "pypy-shim")
    os.makedirs(shim, exist_ok=True)
    link = os.path.join(shim, "libpypy3-c.so")
    if not os.path.lexists(link):
        os.symlink(out[0], link)
    return {"python": exe, "shim": shim, "libpypy": out[0], "version": out[1]}


def impl_env(impl, py, pypy=None):
    env = clean_env()
    if impl == "cffi-pypy":
        # libpypy3-c.so, the name cffi on PyPy links with.
        env["LD_LIBRARY_PATH"] = pypy["shim"]
    if impl == "cffi":
        # cffi's embedding libraries start the base interpreter (no venv) and
        # link libpython without an rpath: they need both variables.
        env["PYTHONPATH"] = py["site_packages"]
        env["LD_LIBRARY_PATH"] = py["libdir"]
    return env


# ---------------------------------------------------------------------------
# processes


class Runner:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.warnings = []

    def run(self, cmd, env=None, timeout=None, cwd=None):
        """Runs cmd, returns (stdout, elapsed seconds). Raises CaseError."""
        if self.args.verbose:
            log("$ " + " ".join(cmd))
        t0 = time.perf_counter()
        try:
            r = subprocess.run(cmd, env=env, cwd=cwd or self.workdir, capture_output=True, text=True,
                               timeout=timeout or self.args.timeout)
        except subprocess.TimeoutExpired as e:
            raise CaseError("timed out after %gs: %s" % (e.timeout, tail(e.stderr)))
        except OSError as e:
            raise CaseError("could not run %s: %s" % (cmd[0], e))
        elapsed = time.perf_counter() - t0
        if r.returncode != 0:
            if r.returncode < 0:
                what = "killed by signal %d" % -r.returncode
            elif r.returncode == 3:
                what = "wrong result"
            else:
                what = "exit status %d" % r.returncode
            raise CaseError("%s: %s" % (what, tail(r.stderr) or tail(r.stdout)))
        return r.stdout, elapsed

    def host_json(self, cmd, env, cpu=None):
        """Runs a host, returns its JSON result line. With `cpu`, the host
        runs pinned to that CPU (`sched_setaffinity` in the child).

        A host that printed its result but then does not exit within
        --exit-timeout seconds (a library hanging at process exit) is killed;
        its measurement stands and the hang is reported as a warning, so such
        a bug neither stalls the run for the full --timeout nor hides."""
        if self.args.verbose:
            log("$ " + ("taskset -c %d " % cpu if cpu is not None else "") + " ".join(cmd))
        pin = None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))
        try:
            p = subprocess.Popen(cmd, env=env, cwd=self.workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, preexec_fn=pin)
        except OSError as e:
            raise CaseError("could not run %s: %s" % (cmd[0], e))
        got = {}
        err = []

        def read_out():
            for line in p.stdout:
                if line.strip().startswith("{") and "line" not in got:
                    got["line"] = line.strip()
                    got["t"] = time.monotonic()

        def read_err():
            err.append(p.stderr.read())

        readers = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
        for t in readers:
            t.start()
        deadline = time.monotonic() + self.args.timeout
        hung = timed_out = False
        while p.poll() is None:
            now = time.monotonic()
            if "t" in got and now - got["t"] > self.args.exit_timeout:
                hung = True
            elif now > deadline:
                timed_out = True
            if hung or timed_out:
                p.kill()
                p.wait()
                break
            time.sleep(0.005)
        for t in readers:
            t.join(5)
        stderr = "".join(e for e in err if e)
        if timed_out:
            raise CaseError("timed out after %gs: %s" % (self.args.timeout, tail(stderr)))
        if hung:
            self.warnings.append("%s %s: printed its result, then did not exit within %gs (killed)" % (
                cmd[1], os.path.relpath(cmd[2], self.workdir) if len(cmd) > 2 else "", self.args.exit_timeout))
        elif p.returncode != 0:
            if p.returncode < 0:
                what = "killed by signal %d" % -p.returncode
            elif p.returncode == 3:
                what = "wrong result"
            else:
                what = "exit status %d" % p.returncode
            raise CaseError("%s: %s" % (what, tail(stderr)))
        if "line" not in got:
            raise CaseError("no result printed: " + tail(stderr))
        return json.loads(got["line"])


def short(msg):
    """First clause and last line of an error: what failed and the exception."""
    lines = [l.strip() for l in (msg or "").splitlines() if l.strip()]
    if not lines:
        return ""
    head = lines[0].split(":")[0]
    return lines[0] if len(lines) == 1 else "%s: ... %s" % (head, lines[-1])


def tail(text, n=600):
    if not text:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip()
    return text if len(text) <= n else "..." + text[-n:]


# ---------------------------------------------------------------------------
# building


def compile_c(runner, py, build):
    """The host, the bare-interpreter baseline and the floor library."""
    c = os.path.join(HERE, "c")
    exe_define = '-DBENCH_PY_EXECUTABLE="%s"' % sys.executable
    pyflags = ["-I" + py["include"], exe_define]
    pylink = ["-L" + py["libdir"], "-l" + py["ldlibrary"], "-Wl,-rpath," + py["libdir"]]
    host = os.path.join(build, "host")
    bare = os.path.join(build, "bare_init")
    floor = os.path.join(build, "libfloor.so")
    runner.run(["gcc", "-O2", "-Wall", "-Wextra", "-o", host, os.path.join(c, "host.c"), "-ldl", "-lpthread"])
    runner.run(["gcc", "-O2", "-Wall", "-Wextra"] + pyflags + ["-o", bare, os.path.join(c, "bare_init.c")] + pylink)
    runner.run(["gcc", "-O2", "-Wall", "-Wextra", "-fPIC", "-shared", "-fvisibility=hidden"] + pyflags
               + ["-o", floor, os.path.join(c, "floor.c")] + pylink + ["-lpthread"])
    return host, bare, floor


def build_lib(runner, impl, case, outdir, pypy=None):
    """Runs the build script (under the bench's pypy3 for the PyPy column);
    returns (library path, seconds)."""
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    python, env = sys.executable, clean_env()
    if impl in PYPY_IMPLS:
        python, impl = pypy["python"], impl[: -len("-pypy")]
        if impl == "cffi":
            env["LIBRARY_PATH"] = pypy["shim"]
    out, elapsed = runner.run([python, os.path.join(HERE, "libs", "build_lib.py"), impl, case, outdir],
                              env=env, cwd=outdir)
    path = out.strip().splitlines()[-1] if out.strip() else ""
    if not os.path.isfile(path):
        raise CaseError("the build script printed no library path: " + tail(out))
    return path, elapsed


# ---------------------------------------------------------------------------
# the cases


class Results:
    def __init__(self):
        self.samples = {}  # (case, impl) -> [values]
        self.errors = {}  # (case, impl) -> message
        self.extra = {}  # (case, impl) -> dict of raw figures
        self.warnings = []

    def add(self, case, impl, value, raw=None):
        self.samples.setdefault((case, impl), []).append(value)
        if raw is not None:
            self.extra.setdefault((case, impl), []).append(raw)

    def fail(self, case, impl, msg):
        if (case, impl) not in self.errors:
            log("  %s/%s: n/a: %s" % (case, impl, short(msg)))
            self.errors[(case, impl)] = msg
        self.samples.pop((case, impl), None)

    def median(self, case, impl):
        if (case, impl) in self.errors:
            return None
        s = self.samples.get((case, impl))
        return statistics.median(s) if s else None


def guarded(results, case, impl, fn):
    """Runs one measurement; any failure makes (case, impl) n/a."""
    if (case, impl) in results.errors:
        return
    try:
        fn()
    except CaseError as e:
        results.fail(case, impl, str(e))
    except Exception:
        results.fail(case, impl, "harness exception: " + traceback.format_exc())


def run_all(args):
    py = python_facts()
    info = machine_info(py)
    log("machine: %s, %s cores, Linux %s, Python %s, cffi %s, cembed %s" % (
        info["cpu"], info["cores"], info["kernel"], info["python"], info["cffi"], info["cembed"]))
    work = os.path.join(HERE, "_work", "smoke-run" if args.smoke else "run")
    if os.path.isdir(work):
        shutil.rmtree(work)
    os.makedirs(work)
    runner = Runner(args, work)
    results = Results()

    log("compiling the host, the bare-interpreter baseline and the floor")
    os.makedirs(os.path.join(work, "c"))
    host, bare, floor = compile_c(runner, py, os.path.join(work, "c"))

    # -- libraries -----------------------------------------------------------
    libs = {("floor", c): floor for c in LIB_CASES}
    notes = {}
    pypy = pypy_facts(work)
    if pypy is not None:
        info["pypy"] = pypy["version"]
        log("PyPy column: %s (%s)" % (pypy["python"], pypy["libpypy"]))
    for impl in ("cffi", "cembed") + PYPY_IMPLS:
        if impl not in args.impls:
            continue
        if impl == "cembed" and info["cembed"] is None:
            for c in LIB_CASES + ("many200",):
                notes[(impl, c)] = "cembed is not installed in the bench venv"
            continue
        if impl in PYPY_IMPLS and pypy is None:
            for c in LIB_CASES:
                notes[(impl, c)] = "no pypy3 (BENCH_PYPY unset: bench/run sets it when pypy3 is installed)"
            continue
        for case in LIB_CASES:
            try:
                libs[(impl, case)], _ = build_lib(runner, impl, case, os.path.join(work, impl, case), pypy)
            except CaseError as e:
                notes[(impl, case)] = "build failed: " + str(e)
                log("  %s library %s: build failed: %s" % (impl, case, str(e).splitlines()[0]))

    def lib_for(impl, case):
        if (impl, case) not in libs:
            raise CaseError(notes.get((impl, case), "no library"))
        return libs[(impl, case)]

    impls = [i for i in IMPLS if i in args.impls]
    pypy_impls = [i for i in PYPY_IMPLS if i in args.impls]

    # -- per-call cases ------------------------------------------------------
    percall = [("add_1t", "add", 1), ("add_2t", "add", 2), ("add_4t", "add", 4),
               ("struct", "struct", 1), ("string", "string", 1), ("buffer", "buffer", 1),
               ("callback", "callback", 1)]
    # A single-thread case runs pinned to one CPU, the same for every
    # implementation: on a virtual machine whose CPUs run at different speeds
    # (another guest busy on one of them), where the scheduler put each
    # process otherwise decided its figure (up to 1.7x between the two CPUs
    # of this bench's machine, a process at a time).
    one_cpu = min(os.sched_getaffinity(0))
    for key, libcase, threads in percall:
        log("%s (%d run%s)" % (key, args.runs, "s" if args.runs > 1 else ""))
        if libcase == "add":
            cmd_tail = ["add", None, str(args.calls // threads), str(threads)]
        elif libcase == "buffer":
            cmd_tail = ["buffer", None, str(args.buffer_calls)]
        else:
            cmd_tail = [libcase, None, str(args.data_calls)]
        # The string case's reference row (the floor's str_len_bytes) runs in
        # the same rounds, right after the floor's str_len: the machine's slow
        # and fast spells last seconds, and a row measured after the others
        # would get its own spell.
        rounds = [(key, impl, cmd_tail) for impl in impls + pypy_impls]
        if key == "string" and "floor" in impls:
            at = impls.index("floor") + 1
            rounds.insert(at, ("string_bytes", "floor", ["string_bytes", None, str(args.data_calls)]))
        for _ in range(args.runs):
            for rkey, impl, tail_ in rounds:
                def one(rkey=rkey, impl=impl, tail_=tail_):
                    cmd = [host] + tail_
                    cmd[2] = lib_for(impl, libcase)
                    r = runner.host_json(cmd, impl_env(impl, py, pypy), one_cpu if threads == 1 else None)
                    results.add(rkey, impl, r["ns"] / r["calls"], r)
                guarded(results, rkey, impl, one)

    # -- first call ----------------------------------------------------------
    log("first_call (%d runs + 1 warm-up)" % args.first_runs)
    first_impls = ["python"] + impls + pypy_impls
    for rep in range(args.first_runs + 1):
        for impl in first_impls:
            def one(impl=impl, rep=rep):
                if impl == "python":
                    cmd, env = [bare], clean_env()
                else:
                    cmd, env = [host, "first", lib_for(impl, "add")], impl_env(impl, py, pypy)
                t0 = time.monotonic_ns()  # the clock the child prints (CLOCK_MONOTONIC)
                r = runner.host_json(cmd, env)
                if rep > 0:  # the first round warms the page cache and writes .pyc files
                    results.add("first_call", impl, (r["t_ns"] - t0) / 1e6)
            guarded(results, "first_call", impl, one)

    # -- build time and size -------------------------------------------------
    for key, case in (("build_1", "add"), ("build_200", "many200")):
        log("%s (%d runs)" % (key, args.build_runs))
        for rep in range(args.build_runs):
            for impl in ("cffi", "cembed"):
                if impl not in impls:
                    continue
                if (impl, case) in notes and case == "many200":
                    results.fail(key, impl, notes[(impl, case)])
                    results.fail("size_200", impl, notes[(impl, case)])
                    continue

                def one(impl=impl, rep=rep, key=key, case=case):
                    if case == "add" and (impl, "add") not in libs:
                        raise CaseError(notes.get((impl, "add"), "no library"))
                    path, secs = build_lib(runner, impl, case, os.path.join(work, "build", impl, "%s-%d" % (case, rep)))
                    results.add(key, impl, secs)
                    size_key = "size_1" if case == "add" else "size_200"
                    if rep == 0:
                        results.add(size_key, impl, os.path.getsize(path) / 1024.0)
                guarded(results, key, impl, one)
                if (key, impl) in results.errors:
                    results.fail("size_1" if case == "add" else "size_200", impl, results.errors[(key, impl)])
    if "floor" in impls:
        results.add("size_1", "floor", os.path.getsize(floor) / 1024.0)

    # -- memory --------------------------------------------------------------
    log("memory: %d calls, %d vs %d threads (%d runs)" % (args.rss_calls, args.threads_many, args.threads_few, args.mem_runs))
    for _ in range(args.mem_runs):
        for impl in impls:
            def rss(impl=impl):
                r = runner.host_json([host, "rss", lib_for(impl, "add"), str(args.rss_calls)], impl_env(impl, py))
                results.add("rss_peak", impl, r["hwm_kib"] / 1024.0, r)
                results.add("rss_growth", impl, (r["rss_end_kib"] - r["rss_after_1000_kib"]) / 1024.0)
            guarded(results, "rss_peak", impl, rss)
            if ("rss_peak", impl) in results.errors:
                results.fail("rss_growth", impl, results.errors[("rss_peak", impl)])

            def threads(impl=impl):
                lib = lib_for(impl, "add")
                many = runner.host_json([host, "threads", lib, str(args.threads_many), "10"], impl_env(impl, py))
                few = runner.host_json([host, "threads", lib, str(args.threads_few), "10"], impl_env(impl, py))
                results.add("threads_mem", impl, (many["rss_end_kib"] - few["rss_end_kib"]) / 1024.0,
                            {"many": many, "few": few})
            guarded(results, "threads_mem", impl, threads)

    # -- the isolation table (bench/isolation.py; CPython >= 3.12 venv) ------
    isolation.run_isolation(sys.modules[__name__], args, work, runner, results, info)

    # The floor and the host are the harness's own code: if they fail, the
    # harness is broken, and that is the one thing that must fail the run.
    harness_errors = {k: v for k, v in results.errors.items() if k[1] in ("floor", "python")}
    results.warnings = runner.warnings
    return info, py, results, harness_errors


# ---------------------------------------------------------------------------
# reporting


def fmt(v, unit):
    if v is None:
        return "n/a"
    if unit == "ns/call":
        return "%.0f" % v if v >= 100 else "%.1f" % v
    if unit == "ms":
        return "%.1f" % v
    if unit == "s":
        return "%.3f" % v
    if unit in ("KiB", "MiB"):
        return "%.1f" % v
    return "%g" % v


def per_second(ns):
    if not ns:
        return None
    cps = 1e9 / ns
    return "%.2fM/s" % (cps / 1e6) if cps >= 1e6 else "%.0fk/s" % (cps / 1e3)


def build_report(args, info, results):
    rows = []
    config = {k: getattr(args, k) for k in ("smoke", "runs", "calls", "data_calls", "buffer_calls", "first_runs",
                                             "build_runs", "mem_runs", "rss_calls", "threads_many", "threads_few",
                                             "iso_spin_calls", "iso_first_runs")}
    for key, title, unit in CASES:
        title = title.format(**{k: "{:,}".format(v) for k, v in config.items()})
        row = {"case": key, "title": title, "unit": unit, "median": {}, "samples": {}, "errors": {}}
        for impl in ("python",) + IMPLS + PYPY_IMPLS:
            m = results.median(key, impl)
            if m is not None:
                row["median"][impl] = m
                row["samples"][impl] = results.samples[(key, impl)]
            if (key, impl) in results.errors:
                row["errors"][impl] = results.errors[(key, impl)]
            if (key, impl) in results.extra:
                row.setdefault("raw", {})[impl] = results.extra[(key, impl)]
        cp, fp = row["median"].get("cembed-pypy"), row["median"].get("cffi-pypy")
        if cp is not None and fp:
            row["ratio_pypy"] = cp / fp
        c = row["median"].get("cembed")
        row["ratio"] = {}
        for other in ("floor", "cffi", "python"):
            o = row["median"].get(other)
            # Differences (growth, threads) can be ~0 or negative: no ratio.
            if c is not None and o and key not in ABS_TARGETS:
                row["ratio"][other] = c / o
        if key == "string_bytes":
            # The reference floor against cembed's str_len (its own row has no cembed run).
            sc = results.median("string", "cembed")
            if sc is not None and row["median"].get("floor"):
                row["ratio"]["floor"] = sc / row["median"]["floor"]
        if key in TARGETS:
            other, test, text = TARGETS[key]
            r = row["ratio"].get(other)
            row["target"] = {"text": text, "vs": other, "met": None if r is None else bool(test(r))}
        elif key in ABS_TARGETS:
            test, text = ABS_TARGETS[key]
            row["target"] = {"text": text, "vs": None, "met": None if c is None else bool(test(c))}
        rows.append(row)
    return {"machine": info, "config": config, "cases": rows, "warnings": sorted(set(results.warnings)),
            "isolation": isolation.report(results, info)}


def na_text(row, impl):
    err = row["errors"].get(impl, "")
    if impl in ("cembed", "cembed-pypy") and err:
        # The reason is listed under "Cases that did not run".
        return "n/a (not supported yet)"
    if err:
        return "n/a (%s)" % err.split(":")[0].strip()[:40]
    return "—"


def render_md(report, args):
    m = report["machine"]
    cfg = report["config"]
    out = []
    w = out.append
    w("# cembed benchmarks")
    w("")
    w("<!-- generated by bench/run; do not edit by hand -->")
    w("")
    w("Generated by `bench/run`%s on %s. cembed is compared with the real `cffi` and with a hand-written "
      "CPython C-API implementation (the *floor*), all measured in the same run on the same machine. Each figure is "
      "the median of %d runs; lower is better everywhere." % (" --smoke (NOT representative)" if cfg["smoke"] else "",
                                                           m["date"], cfg["runs"]))
    w("")
    w("| machine | |")
    w("|---|---|")
    for k, label in (("cpu", "CPU"), ("cores", "cores"), ("kernel", "kernel"), ("python", "Python"),
                     ("cffi", "cffi"), ("cembed", "cembed"), ("gcc", "C compiler"), ("commit", "cembed commit"),
                     ("date", "date"), ("load", "load")):
        w("| %s | %s |" % (label, m.get(k) if m.get(k) is not None else "n/a"))
    w("")
    w("## Results")
    w("")
    w("| case | unit | floor | cffi | cembed | cembed / floor | cembed / cffi | target | met |")
    w("|---|---|---:|---:|---:|---:|---:|---|:-:|")
    for row in report["cases"]:
        med = row["median"]
        cells = []
        for impl in IMPLS:
            v = med.get(impl)
            cells.append(fmt(v, row["unit"]) if v is not None else na_text(row, impl))
        if row["case"].startswith("add_") and row["case"] != "add_1t":
            cells = [c + (" (%s)" % per_second(med[i]) if med.get(i) else "") for c, i in zip(cells, IMPLS)]
        rf = row["ratio"].get("floor")
        rc = row["ratio"].get("cffi")
        ratio_floor = "%.3fx" % rf if rf is not None else ""
        ratio_cffi = "%.3fx" % rc if rc is not None else ""
        if row["case"] == "string_bytes" and ratio_floor:
            ratio_floor += " (cembed's str_len / this)"
        if row["case"] == "first_call":
            py = med.get("python")
            rp = row["ratio"].get("python")
            ratio_floor += " (bare start %s ms: %s)" % (fmt(py, "ms"), "%.3fx" % rp if rp else "n/a")
        t = row.get("target")
        target = t["text"] if t else ""
        met = "" if not t else ("n/a" if t["met"] is None else ("yes" if t["met"] else "**no**"))
        title = row["title"]
        w("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (title, row["unit"], cells[0], cells[1], cells[2],
                                                          ratio_floor, ratio_cffi, target, met))
    w("")
    w("Throughput in parentheses: total calls per second over all threads (one shared GIL).")
    w("")
    w("## PyPy")
    w("")
    w("The same build script and host, the libraries built by pypy3 %s (docs/pypy.md): cffi on PyPy "
      "(PyPy's built-in cffi) against cembed on PyPy; both run in PyPy's built-in `_cffi_backend`, "
      "whose JIT sees the call." % (m.get("pypy") or "(not installed: n/a)"))
    w("")
    w("| case | unit | cffi on PyPy | cembed on PyPy | cembed / cffi |")
    w("|---|---|---:|---:|---:|")
    for row in report["cases"]:
        if row["case"] not in PYPY_CASES:
            continue
        cells = []
        for impl in PYPY_IMPLS:
            v = row["median"].get(impl)
            cells.append(fmt(v, row["unit"]) if v is not None else na_text(row, impl))
        r = row.get("ratio_pypy")
        w("| %s | %s | %s | %s | %s |" % (row["title"], row["unit"], cells[0], cells[1],
                                          "%.3fx" % r if r is not None else ""))
    w("")
    isolation.render(w, report["isolation"], m, short)
    notes = []
    for row in report["cases"]:
        for impl, err in sorted(row["errors"].items()):
            notes.append("- %s / %s: %s" % (row["case"], impl, short(err).replace("|", "\\|")[:300]))
    if notes:
        w("### Cases that did not run")
        w("")
        out.extend(notes)
        w("")
    if report["warnings"]:
        w("### Warnings")
        w("")
        for x in report["warnings"]:
            w("- " + x)
        w("")
    w("![benchmarks](benchmarks.png)")
    w("")
    w(METHOD % {k: "{:,}".format(v) if type(v) is int else v for k, v in cfg.items()})
    return "\n".join(out) + "\n"


METHOD = """## How it is measured

Command: `bench/run` (full run, writes this file, `docs/benchmarks.png` and
`bench/results.json`) or `bench/run --smoke` (CI: one repetition, few calls,
writes under `bench/_work/smoke/`; it fails only on a harness error, never on a
timing). `bench/run --help` lists the knobs (`--runs`, `--calls`, `--impl`).

The three implementations of the same libraries:

* **cembed**: `bench/libs/build_lib.py`, a CFFI embedding build script that does
  `import cembed as cffi`; the host needs no environment variable.
* **cffi**: the same script with `import cffi` (cffi from PyPI). cffi's embedded
  interpreter needs `PYTHONPATH` (to find `_cffi_backend`) and `LD_LIBRARY_PATH`
  (libpython); they are set for the cffi runs only.
* **floor**: `bench/c/floor.c`, the same functions hand-written on the CPython C
  API: Python started once, one thread state per host thread created once and
  reused through `PyEval_RestoreThread`/`PyEval_SaveThread`, the Python function
  looked up once and called with `PyObject_Vectorcall`. Where cffi hands Python
  a cdata, the floor hands the smallest native equivalent (a tiny getter object
  over the struct pointer, a tiny pointer object, a `memoryview`), and its
  Python is the same text: for `str_len`, `len(ffi.string(s))` with `ffi` a
  module whose `string` is a `METH_O` C function (`PyBytes_FromString`). The
  *reference* row is the floor's earlier `str_len`: the bytes made in C and
  Python's body `len(b)`, which skips the pointer object, the `ffi.string`
  lookup and the second call that every `len(ffi.string(s))` makes; its ratio
  column is cembed's `str_len` over it.

One C host, `bench/c/host.c` (gcc -O2), `dlopen()`s each library
(`RTLD_NOW | RTLD_GLOBAL`) and calls it through `dlsym()` pointers, so every
implementation is called the same way, and checks every result. The
implementations run interleaved (floor, cffi, cembed, floor, ...) so machine
noise hits them alike; every process runs with the `PYTHON*` variables removed.
The single-thread per-call cases (add with 1 thread, struct, string, buffer,
callback) run pinned to one CPU, the same one for every implementation: on a
virtual machine whose CPUs run at different speeds, where the scheduler put
each process would otherwise decide its figure.

* **add, N threads**: %(calls)s calls of `add(i, 1)` per run, split over the
  threads, timed from a barrier (after one warm-up call per thread, so start-up
  and thread-state creation are excluded) until all threads joined; ns/call is
  wall time / total calls.
* **struct / string / buffer**: %(data_calls)s calls (buffer: %(buffer_calls)s)
  of `point_sum(&p)` (Python returns `p.x + p.y + p.z`), `str_len(s)` (43-byte
  string, `len(ffi.string(s))`), `buf_sum(a, 1000)`
  (`sum(memoryview(ffi.buffer(p, n * 8)).cast('d'))`).
* **first call**: CLOCK_MONOTONIC read by the harness just before it spawns the
  host, and by the host right after `add(1, 2)` returned (dlopen, Python
  start-up and init code included). Baseline: `bench/c/bare_init.c`, which only
  starts the same interpreter (PyConfig, the bench venv's python as
  `executable`, as cembed does). Median of %(first_runs)s runs after one warm-up.
* **build time**: wall time of `python build_lib.py` (interpreter start, import,
  parse, generate, compile, link) in a fresh directory; %(build_runs)s runs.
  The 200-function library declares `int f0(int)` .. `int f199(int)`.
  cembed's cache holds the glue's loader compiled (as after any earlier build
  with the same compiler and flags); a first build also compiles it, ~20 ms
  more (docs/performance.md, "Build time").
* **library size**: the `.so` as built (not stripped). cembed's library also
  needs the cembed runtime (`cembed/_runtime*.so`), cffi's needs
  `_cffi_backend`; neither is counted. The floor row is one library with all
  four functions.
* **memory**: VmHWM after %(rss_calls)s calls of `add`; growth is VmRSS after
  the last call minus VmRSS after call 1,000. Threads: %(threads_many)s
  short-lived threads (10 at a time) each calling `add` once, VmRSS at the end
  minus the same with %(threads_few)s threads. %(mem_runs)s runs.

* **isolation** (its own table, bench/isolation.py): a second venv on
  CPython >= 3.12 (`bench/_work/venv-iso`; own-GIL subinterpreters, PEP 684),
  where floor, cffi and cembed are all built and run. One more host,
  `bench/c/iso_host.c`, calls `add` or `spin(n)` (about 10 µs of pure-Python
  work: a loop summing `i * i`) from 1, 2 and 4 threads: the main thread first
  calls every library once (start-up and init code excluded), each thread
  then makes one timed first call, waits at a barrier and makes its share of
  %(calls)s (add) or %(iso_spin_calls)s (spin) calls; throughput is calls over
  all threads / wall time from the first thread's start to the last one's
  end. Columns: the floor (`floor.c`, one GIL), a hand-written own-GIL floor
  (`bench/c/floor_iso.c`: one subinterpreter with its own GIL per thread),
  cffi, and the same build script with `embedding_isolation("shared")`,
  `("isolated")` (one library, so one interpreter, per thread: 1, 2 and 4
  libraries, opened `RTLD_LOCAL`) and `("pool")` (default size: the CPU
  count). First call: as above, plus the call alone and a new thread's first
  call; %(iso_first_runs)s runs. Memory: VmRSS while 4 threads that each
  called once are alive; per interpreter = (pool of 4 - pool of 1) / 3.

Targets: single-thread add at most 1.15x the floor; 2 and 4 threads at
least cffi's throughput; first call at most 1.1x bare interpreter start; build
time at most 0.2x cffi's; memory flat; isolation: the pool with 2 threads at
least 1.8x its single-thread throughput on `spin` (issue 13). docs/performance.md
says where the time goes.
"""


def plot(report, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except Exception as e:
        log("no plot: matplotlib unavailable (%s)" % e)
        return False
    rows = {r["case"]: r for r in report["cases"]}
    colors = {"python": "#999999", "floor": "#4c72b0", "cffi": "#dd8452", "cembed": "#55a868"}
    panels = [
        ("per call (ns)", ["add_1t", "add_2t", "add_4t", "struct", "string"], IMPLS,
         ["add 1T", "add 2T", "add 4T", "struct", "string"]),
        ("buffer of 1000 doubles (µs per call)", ["buffer"], IMPLS, ["buf_sum"]),
        ("first call (ms)", ["first_call"], ("python",) + IMPLS, ["first call"]),
        ("build time (s)", ["build_1", "build_200"], ("cffi", "cembed"), ["1 function", "200 functions"]),
        ("library size (KiB)", ["size_1", "size_200"], IMPLS, ["1 function", "200 functions"]),
        ("memory (MiB)", ["rss_peak", "threads_mem"], IMPLS, ["peak RSS, 1M calls", "10k threads - 10"]),
    ]
    iso = report.get("isolation")
    fig, axes = plt.subplots(3 if iso else 2, 3, figsize=(15, 12.5 if iso else 8.5))
    if iso:
        isolation.plot(iso, list(axes.flat)[6:], colors)
    for ax, (title, keys, impls, labels) in zip(axes.flat, panels):
        n = len(impls)
        width = 0.8 / n
        for j, impl in enumerate(impls):
            xs, ys = [], []
            for i, k in enumerate(keys):
                v = rows[k]["median"].get(impl)
                x = i + (j - (n - 1) / 2) * width
                if v is None:
                    if impl in rows[k]["errors"] or (impl != "python" or k == "first_call"):
                        if not (impl == "floor" and k in ("size_200", "build_1", "build_200")):
                            ax.text(x, 0, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
                    continue
                if k == "buffer":
                    v = v / 1000.0
                xs.append(x)
                ys.append(v)
            bars = ax.bar(xs, ys, width, color=colors[impl])
            for b, y in zip(bars, ys):
                ax.text(b.get_x() + b.get_width() / 2, b.get_height(), ("%.3g" % y), ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels(labels)
        ax.set_title(title)
        ax.legend(handles=[Patch(color=colors[i], label="bare Python start" if i == "python" else i) for i in impls],
                  fontsize=8)
        ax.margins(y=0.15)
    m = report["machine"]
    fig.suptitle("cembed vs cffi vs hand-written C API floor — %s, %s cores, Python %s, cffi %s — %s%s" % (
        m["cpu"], m["cores"], m["python"], m["cffi"], m["date"], " (SMOKE)" if report["config"]["smoke"] else ""),
        fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def main(argv):
    args = parse_args(argv)
    t0 = time.time()
    try:
        info, py, results, harness_errors = run_all(args)
    except CaseError as e:
        log("HARNESS ERROR: " + str(e))
        return 2
    # The machine may be shared: the load average tells how quiet it was.
    info["load"] += ", %.2f at end (1-minute load average; %d cores)" % (os.getloadavg()[0], os.cpu_count())
    report = build_report(args, info, results)
    for d in (args.md, args.json, args.png):
        os.makedirs(os.path.dirname(d), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
        f.write("\n")
    md = render_md(report, args)
    with open(args.md, "w") as f:
        f.write(md)
    plot(report, args.png)
    # Print the table itself.
    print()
    print("\n".join(l for l in md.splitlines() if l.startswith("|")))
    print()
    log("wrote %s, %s, %s in %.0fs" % (args.md, args.json, args.png, time.time() - t0))
    if harness_errors:
        for (case, impl), msg in harness_errors.items():
            log("HARNESS ERROR in %s/%s: %s" % (case, impl, msg))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
