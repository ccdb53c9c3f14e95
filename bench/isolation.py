"""The isolation table of bench/run (docs/benchmarks.md, "Isolation").

`ffibuilder.embedding_isolation(mode, size)` (issue 13) decides where a
library's init code and calls run: "shared" (the main interpreter, one GIL),
"isolated" (a subinterpreter of the library's own, with its own GIL) or "pool"
(`size` own-GIL subinterpreters, default the CPU count; a host thread is bound
to one on its first call). Own-GIL subinterpreters need CPython >= 3.12
(PEP 684), so this table runs on the second venv bench/run makes
(bench/_work/venv-iso, BENCH_ISO), and every column of it (floors, cffi,
cembed) is measured on that same Python.

Columns:
  floor          bench/c/floor.c: hand-written C API, one pinned thread state
                 per host thread, one GIL (what "shared" can reach)
  floor-own-gil  bench/c/floor_iso.c: hand-written, one own-GIL
                 subinterpreter per host thread (what "isolated"/"pool" can
                 reach)
  cffi           the real cffi, one GIL
  cembed-shared, cembed-isolated, cembed-pool, cembed-pool4
                 the same build script with embedding_isolation("shared"),
                 ("isolated") with one library per thread (1, 2, 4 libraries
                 for 1, 2, 4 threads), ("pool") with the default size (the
                 CPU count), ("pool", 4)
Rows: add(int, int) and spin(n) (about 10 µs of pure-Python work) from 1, 2
and 4 host threads, as throughput (calls/s over all threads) and its ratio to
the single-thread figure of the same column; then the first call (process
start to first result, and a new thread's first call) and the memory per
interpreter (RSS of a pool of 4 minus a pool of 1, both with 4 threads that
called, divided by 3).
"""

import json
import os
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))

COLS = ("floor", "floor-own-gil", "cffi", "cembed-shared", "cembed-isolated", "cembed-pool", "cembed-pool4")
COL_TITLES = {
    "floor": "floor (one GIL)",
    "floor-own-gil": "floor, own GIL per thread",
    "cffi": "cffi",
    "cembed-shared": "cembed shared",
    "cembed-isolated": "cembed isolated",
    "cembed-pool": "cembed pool",
    "cembed-pool4": "cembed pool of 4",
}
THREADS = (1, 2, 4)
FUNCS = ("add", "spin")
# spin(n)'s n: about 10 µs of pure-Python work per call on this machine's
# CPython 3.13 (0.04 µs per loop iteration).
SPIN_N = 250
# The libraries of the first-call and memory rows.
FIRST_COLS = ("floor", "floor-own-gil", "cffi", "cembed-shared", "cembed-isolated", "cembed-pool1",
              "cembed-pool", "cembed-pool4")
MEM_COLS = ("floor", "floor-own-gil", "cffi", "cembed-shared", "cembed-pool1", "cembed-pool", "cembed-pool4")
MEM_THREADS = 4
# The target: pool with 2 threads >= 1.8x its single-thread
# throughput, CPU-bound case.
TARGET = ("spin", "cembed-pool", 2, 1.8)

FACTS = r"""
import json, sys, sysconfig, platform
from importlib import metadata
def v(n):
    try:
        return metadata.version(n)
    except Exception:
        return None
ver = "%d.%d" % sys.version_info[:2]
print(json.dumps({
    "executable": sys.executable,
    "version": platform.python_version(),
    "include": sysconfig.get_paths()["include"],
    "libdir": sysconfig.get_config_var("LIBDIR"),
    "ldlibrary": "python" + ver + (sys.abiflags or ""),
    "site_packages": sysconfig.get_paths()["purelib"],
    "own_gil": sys.version_info >= (3, 12),
    "cffi": v("cffi"),
    "cembed": v("cembed"),
    "cpus": __import__("os").cpu_count(),
}))
"""


def iso_facts(exe):
    """Facts of the isolation venv's python, or (None, reason)."""
    if not exe:
        return None, "no CPython >= 3.12 venv (bench/run makes bench/_work/venv-iso; BENCH_NO_ISO unset)"
    if not os.path.exists(exe):
        return None, "BENCH_ISO=%s does not exist" % exe
    r = subprocess.run([exe, "-c", FACTS], capture_output=True, text=True)
    if r.returncode != 0:
        return None, "%s: %s" % (exe, r.stderr.strip()[-300:])
    f = json.loads(r.stdout)
    if not f["own_gil"]:
        return None, "%s is CPython %s: own-GIL subinterpreters need 3.12" % (exe, f["version"])
    return f, None


def cpu_busy(seconds=0.25):
    """Cores' worth of CPU time used by every process over `seconds`
    (/proc/stat), or None where there is no /proc/stat."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v), idle
    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
    except (OSError, ValueError):
        return None
    total = t1 - t0
    if total <= 0:
        return None
    return (total - (i1 - i0)) / total * (os.cpu_count() or 1)


def others_cpu():
    """(CPU seconds used by every process other than this one and its
    waited-for children, wall seconds), both since boot, for a difference
    over an interval; None without /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        with open("/proc/uptime") as f:
            up = float(f.read().split()[0])
    except (OSError, ValueError):
        return None
    hz = os.sysconf("SC_CLK_TCK")
    busy = (sum(v) - v[3] - (v[4] if len(v) > 4 else 0)) / hz
    t = os.times()
    mine = t.user + t.system + t.children_user + t.children_system
    return busy - mine, up


def wait_quiet(limit):
    """Waits up to `limit` seconds until the machine's other processes use
    less than 0.2 of a core (the harness itself is idle here). True if it
    is quiet, False if the time ran out (or there is nothing to wait for)."""
    if limit <= 0:
        return True  # smoke: no waiting, no sampling
    deadline = time.monotonic() + limit
    while True:
        busy = cpu_busy()
        if busy is None or busy < 0.2:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(1.0)


def key(func, threads):
    return "iso_%s_%dt" % (func, threads)


def run_isolation(b, args, work, runner, results, info):
    """Builds and runs everything of the table; results under the keys
    iso_<func>_<n>t, iso_first, iso_first_call, iso_thread_first, iso_rss,
    iso_per_interp. `b` is the bench module (Runner, CaseError, ...)."""
    ipy, why = iso_facts(os.environ.get("BENCH_ISO"))
    if ipy is None:
        b.log("isolation table: not run: " + why)
        info["iso"] = {"skipped": why}
        return
    info["iso"] = {"python": ipy["version"], "cffi": ipy["cffi"], "cembed": ipy["cembed"], "cpus": ipy["cpus"],
                   "spin_n": SPIN_N, "load_start": os.getloadavg()[0]}
    b.log("isolation table: CPython %s (%s), cffi %s, cembed %s" % (ipy["version"], ipy["executable"], ipy["cffi"],
                                                                    ipy["cembed"]))
    d = os.path.join(work, "iso")
    os.makedirs(os.path.join(d, "c"))
    c = os.path.join(HERE, "c")
    pyflags = ["-I" + ipy["include"], '-DBENCH_PY_EXECUTABLE="%s"' % ipy["executable"]]
    pylink = ["-L" + ipy["libdir"], "-l" + ipy["ldlibrary"], "-Wl,-rpath," + ipy["libdir"]]
    host = os.path.join(d, "c", "iso_host")
    bare = os.path.join(d, "c", "bare_init")
    libs = {}
    notes = {}
    # The harness's own C: a failure here is a harness error (the floor's key).
    try:
        runner.run(["gcc", "-O2", "-Wall", "-Wextra", "-o", host, os.path.join(c, "iso_host.c"), "-ldl", "-lpthread"])
        runner.run(["gcc", "-O2", "-Wall", "-Wextra"] + pyflags + ["-o", bare, os.path.join(c, "bare_init.c")] + pylink)
        for name, src in (("floor", "floor.c"), ("floor-own-gil", "floor_iso.c")):
            out = os.path.join(d, "c", "lib%s.so" % name.replace("-", "_"))
            runner.run(["gcc", "-O2", "-Wall", "-Wextra", "-fPIC", "-shared", "-fvisibility=hidden"] + pyflags
                       + ["-o", out, os.path.join(c, src)] + pylink + ["-lpthread"])
            libs[name] = [out]
    except b.CaseError as e:
        results.fail(key("add", 1), "floor", "compiling the isolation table's C: " + str(e))
        return

    def build(impl, col, isolation=None, name=None):
        outdir = os.path.join(d, col if name is None else "%s-%s" % (col, name))
        cmd = [ipy["executable"], os.path.join(HERE, "libs", "build_lib.py"), impl, "iso", outdir]
        if isolation:
            cmd += ["--isolation", isolation]
        if name:
            cmd += ["--name", name]
        if os.path.isdir(outdir):
            b.shutil.rmtree(outdir)
        os.makedirs(outdir)
        out, _ = runner.run(cmd, env=b.clean_env(), cwd=outdir)
        path = out.strip().splitlines()[-1] if out.strip() else ""
        if not os.path.isfile(path):
            raise b.CaseError("the build script printed no library path: " + b.tail(out))
        return path

    plan = [("cffi", "cffi", None, [None])]
    if ipy["cembed"] is None:
        for col in ("cembed-shared", "cembed-isolated", "cembed-pool", "cembed-pool1", "cembed-pool4"):
            notes[col] = "cembed is not installed in the isolation venv (%s)" % ipy["executable"]
    else:
        plan += [("cembed", "cembed-shared", "shared", [None]),
                 ("cembed", "cembed-isolated", "isolated", ["bench_iso_%d" % i for i in range(max(THREADS))]),
                 ("cembed", "cembed-pool", "pool", [None]),
                 ("cembed", "cembed-pool1", "pool:1", [None]),
                 ("cembed", "cembed-pool4", "pool:4", [None])]
    if "cffi" not in args.impls:
        plan = [p for p in plan if p[0] != "cffi"]
        notes["cffi"] = "not selected (--impl)"
    if "cembed" not in args.impls:
        plan = [p for p in plan if p[0] != "cembed"]
        for col in ("cembed-shared", "cembed-isolated", "cembed-pool", "cembed-pool1", "cembed-pool4"):
            notes[col] = "not selected (--impl)"
    for impl, col, isolation, names in plan:
        try:
            libs[col] = [build(impl, col, isolation, n) for n in names]
        except b.CaseError as e:
            notes[col] = "build failed: " + str(e)
            b.log("  isolation %s: build failed: %s" % (col, str(e).splitlines()[0]))

    def libs_for(col, threads):
        if col not in libs:
            raise b.CaseError(notes.get(col, "no library"))
        # isolated: one library (one interpreter) per thread.
        return libs[col][:threads] if col == "cembed-isolated" else libs[col][:1]

    def env(col):
        return b.impl_env("cffi", ipy) if col == "cffi" else b.clean_env()

    cols = [col for col in COLS if col in libs or col in notes]
    # -- throughput: add and spin from 1, 2, 4 threads ------------------------
    calls = {"add": args.calls, "spin": args.iso_spin_calls}
    b.log("isolation: add (%s calls) and spin (%s calls) from 1, 2, 4 threads (%d runs)" % (
        "{:,}".format(calls["add"]), "{:,}".format(calls["spin"]), args.runs))
    # Each repetition measures one column at 1, 2 and 4 threads back to back
    # (about a second), and the ratio to 1 thread is taken within that
    # repetition, then the median over repetitions: on a shared 2-core
    # machine another process's burst then spoils one repetition's ratio,
    # not the comparison of figures taken seconds apart. Before each such
    # group the harness waits (up to --iso-quiet seconds) until the other
    # processes use less than a fifth of a core, and a group during which
    # they used more than a quarter of one (/proc/stat minus our own and our
    # children's CPU time) is measured again, up to twice; ten times
    # --iso-quiet bounds all the waiting and retrying. The table counts the
    # groups that still ran disturbed.
    info["iso"]["busy_groups"] = 0
    info["iso"]["groups"] = 0
    info["iso"]["retried_groups"] = 0
    budget = 10 * args.iso_quiet  # all the waiting and retrying of one run, at most
    for _ in range(args.runs):
        for func in FUNCS:
            for col in cols:
                info["iso"]["groups"] += 1
                for attempt in range(3):
                    t0 = time.monotonic()
                    quiet = wait_quiet(min(args.iso_quiet, budget))
                    before = others_cpu()
                    got, raws = {}, {}
                    for threads in THREADS:
                        def one(col=col, func=func, threads=threads):
                            cmd = [host, "run", func, str(SPIN_N), str(max(1, calls[func] // threads)),
                                   str(threads)]
                            r = runner.host_json(cmd + libs_for(col, threads), env(col))
                            got[threads] = r["ns"] / r["calls"]
                            raws[threads] = r
                        b.guarded(results, key(func, threads), col, one)
                    after = others_cpu()
                    # Cores' worth of CPU the other processes used meanwhile.
                    others = None if before is None or after is None else (
                        (after[0] - before[0]) / max(after[1] - before[1], 1e-9))
                    budget = max(0.0, budget - (time.monotonic() - t0))
                    if others is not None and others > 0.25 and attempt < 2 and budget > 0:
                        info["iso"]["retried_groups"] += 1
                        budget = max(0.0, budget - sum(got.values()) * calls[func] / 1e9)
                        continue  # disturbed: measure the group again
                    if not quiet or (others is not None and others > 0.25):
                        info["iso"]["busy_groups"] += 1
                    break
                for threads, ns in got.items():
                    results.add(key(func, threads), col, ns, raws[threads])
                    if threads == max(THREADS) and func == "add":
                        results.add("iso_thread_first", col, raws[threads]["thread_first_call_max_ns"] / 1e6)
                for threads in THREADS[1:]:
                    if 1 in got and threads in got:
                        results.add("iso_ratio_%s_%dt" % (func, threads), col, got[1] / got[threads])

    # -- first call ------------------------------------------------------------
    first_cols = ["python"] + [col for col in FIRST_COLS if col in libs or col in notes]
    b.log("isolation: first call (%d runs + 1 warm-up)" % args.iso_first_runs)
    for rep in range(args.iso_first_runs + 1):
        for col in first_cols:
            def one(col=col, rep=rep):
                if col == "python":
                    cmd, e = [bare], b.clean_env()
                else:
                    cmd, e = [host, "first", "add", "0"] + libs_for(col, 1), env(col)
                t0 = b.time.monotonic_ns()
                r = runner.host_json(cmd, e)
                if rep > 0:
                    results.add("iso_first", col, (r["t_ns"] - t0) / 1e6)
                    if "call_ns" in r:
                        results.add("iso_first_call", col, r["call_ns"] / 1e6)
            b.guarded(results, "iso_first", col, one)

    # -- memory ------------------------------------------------------------------
    mem_cols = [col for col in MEM_COLS if col in libs or col in notes]
    b.log("isolation: memory, %d threads (%d runs)" % (MEM_THREADS, args.mem_runs))
    for _ in range(args.mem_runs):
        for col in mem_cols:
            def one(col=col):
                r = runner.host_json([host, "mem"] + libs_for(col, 1) + [str(MEM_THREADS)], env(col))
                results.add("iso_rss", col, r["rss_threads_kib"] / 1024.0, r)
            b.guarded(results, "iso_rss", col, one)
    info["iso"]["load_end"] = os.getloadavg()[0]


def report(results, info):
    """The table's part of results.json."""
    if "iso" not in info or "skipped" in info["iso"]:
        return None
    med = results.median
    out = {"spin_n": SPIN_N, "throughput": {}, "first": {}, "first_call": {}, "thread_first": {}, "rss": {},
           "errors": {}}
    for func in FUNCS:
        for threads in THREADS:
            k = key(func, threads)
            row = out["throughput"].setdefault(k, {})
            for col in COLS:
                ns = med(k, col)
                if ns:
                    # The median of the per-repetition ratios (run_isolation).
                    vs = 1.0 if threads == 1 else med("iso_ratio_%s_%dt" % (func, threads), col)
                    row[col] = {"ns_per_call": ns, "calls_per_s": 1e9 / ns, "vs_1t": vs,
                                "samples": results.samples.get((k, col)),
                                "ratio_samples": results.samples.get(("iso_ratio_%s_%dt" % (func, threads), col))}
    for name, k in (("first", "iso_first"), ("first_call", "iso_first_call"), ("thread_first", "iso_thread_first"),
                    ("rss", "iso_rss")):
        for col in ("python",) + FIRST_COLS:
            v = med(k, col)
            if v is not None:
                out[name][col] = v
    rss = out["rss"]
    if "cembed-pool4" in rss and "cembed-pool1" in rss:
        out["per_interp_cembed"] = (rss["cembed-pool4"] - rss["cembed-pool1"]) / 3.0
    if "floor-own-gil" in rss and "floor" in rss:
        out["per_interp_floor"] = (rss["floor-own-gil"] - rss["floor"]) / MEM_THREADS
    func, col, threads, want = TARGET
    r = out["throughput"].get(key(func, threads), {}).get(col, {}).get("vs_1t")
    out["target"] = {"text": "pool, spin, 2 threads >= %.1fx its 1 thread" % want, "ratio": r,
                     "met": None if r is None else r >= want}
    for (k, col), msg in results.errors.items():
        if k.startswith("iso_"):
            out["errors"]["%s/%s" % (k, col)] = msg
    return out


def rate(cps):
    if cps >= 1e6:
        return "%.2fM/s" % (cps / 1e6)
    if cps >= 1e3:
        return "%.1fk/s" % (cps / 1e3)
    return "%.0f/s" % cps


def render(w, rep, info, short):
    """Writes the table's section of docs/benchmarks.md through w()."""
    w("## Isolation: `embedding_isolation()`")
    w("")
    iso = info.get("iso", {})
    if rep is None:
        w("Not run: %s." % iso.get("skipped", "no CPython >= 3.12"))
        w("")
        return
    w("CPython %s (bench/_work/venv-iso: own-GIL subinterpreters need 3.12), cffi %s, cembed %s, %s CPUs "
      "(so the pool's default size is %s). Throughput: calls per second summed over the host threads (median of the runs), in "
      "parentheses its ratio to the same column's single-thread figure (median of the ratios, each taken "
      "within one run of 1, 2 and 4 threads back to back). `spin(%d)` is about 10 µs of "
      "pure-Python work per call. *cembed isolated*: one library (so one interpreter) per thread: 1, 2 "
      "and 4 libraries. *cembed pool*: the default size (the CPU count), so with 4 threads two threads share "
      "each interpreter (and its GIL); *pool of 4*: one interpreter per thread. *floor, own GIL*: "
      "hand-written, one own-GIL subinterpreter per thread. On 2 cores, 4 threads cannot exceed 2x, and "
      "any other load takes from the multi-thread rows first: 1-minute load average %s at the start of "
      "this table, %s at its end; %s re-measurements of the %s groups (one column at 1, 2 and 4 threads) "
      "because other processes used the CPU meanwhile, and %s groups kept despite that (third try, or the "
      "waiting budget spent)." % (iso.get("python"), iso.get("cffi"), iso.get("cembed") or "n/a",
                                      iso.get("cpus"), iso.get("cpus"), SPIN_N,
                                      "%.2f" % iso["load_start"] if "load_start" in iso else "n/a",
                                      "%.2f" % iso["load_end"] if "load_end" in iso else "n/a",
                                      iso.get("retried_groups", "n/a"), iso.get("groups", "n/a"),
                                      iso.get("busy_groups", "n/a")))
    w("")
    w("| case | threads | " + " | ".join(COL_TITLES[c] for c in COLS) + " |")
    w("|---|--:|" + "---:|" * len(COLS))
    for func in FUNCS:
        for threads in THREADS:
            k = key(func, threads)
            cells = []
            for col in COLS:
                v = rep["throughput"].get(k, {}).get(col)
                if v is None:
                    err = rep["errors"].get("%s/%s" % (k, col))
                    cells.append("n/a" if err else "—")
                    continue
                r = v["vs_1t"]
                cells.append("%s (%.2fx)" % (rate(v["calls_per_s"]), r) if r else rate(v["calls_per_s"]))
            title = "add(int, int)" if func == "add" else "spin(n), ~10 µs of Python"
            w("| %s | %d | %s |" % (title, threads, " | ".join(cells)))
    w("")
    t = rep["target"]
    w("Target (issue 13): %s: %s, **%s**." % (
        t["text"], "%.2fx" % t["ratio"] if t["ratio"] is not None else "n/a",
        "n/a" if t["met"] is None else ("met" if t["met"] else "not met")))
    w("")
    cols = ("python",) + FIRST_COLS
    titles = dict(COL_TITLES)
    titles.update({"python": "bare start", "cembed-pool1": "cembed pool of 1", "cembed-pool": "cembed pool (default)"})
    w("| figure | " + " | ".join(titles[c] for c in cols) + " |")
    w("|---|" + "---:|" * len(cols))

    def line(title, d, f):
        w("| %s | %s |" % (title, " | ".join(f(d[c]) if c in d else "—" for c in cols)))
    line("first call: process start to first result (ms)", rep["first"], lambda v: "%.1f" % v)
    line("first call: the call alone, dlopen excluded (ms)", rep["first_call"], lambda v: "%.2f" % v)
    line("a new thread's first call, slowest of 4 (ms)", rep["thread_first"], lambda v: "%.3f" % v)
    line("RSS, 4 threads that each called once (MiB)", rep["rss"], lambda v: "%.1f" % v)
    w("")
    pc, pf = rep.get("per_interp_cembed"), rep.get("per_interp_floor")
    w("Memory per interpreter: cembed %s (pool of 4 minus pool of 1, 4 threads, / 3); hand-written %s "
      "(floor own GIL minus floor, / 4)." % ("%.1f MiB" % pc if pc is not None else "n/a",
                                            "%.1f MiB" % pf if pf is not None else "n/a"))
    w("")
    if rep["errors"]:
        w("Did not run:")
        w("")
        for k, msg in sorted(rep["errors"].items()):
            w("- %s: %s" % (k, short(msg).replace("|", "\\|")[:300]))
        w("")


def plot(rep, axes, colors):
    """The table's panels (the last row of docs/benchmarks.png): throughput
    in calls/s by number of threads, one bar per column, add and spin; the
    third axis shows the first-call figures."""
    palette = dict(colors)
    palette.update({"floor-own-gil": "#8172b3", "cembed-shared": "#55a868", "cembed-isolated": "#64b5cd",
                    "cembed-pool": "#c44e52", "cembed-pool4": "#937860"})
    for ax, func in zip(axes, FUNCS):
        n = len(COLS)
        width = 0.8 / n
        for j, col in enumerate(COLS):
            xs, ys = [], []
            for i, threads in enumerate(THREADS):
                v = rep["throughput"].get(key(func, threads), {}).get(col)
                if v is None:
                    continue
                xs.append(i + (j - (n - 1) / 2) * width)
                ys.append(v["calls_per_s"] / (1e6 if func == "add" else 1e3))
            ax.bar(xs, ys, width, color=palette.get(col, "#999999"), label=COL_TITLES[col])
        ax.set_xticks(range(len(THREADS)))
        ax.set_xticklabels(["%d thread%s" % (t, "s" if t > 1 else "") for t in THREADS])
        ax.set_title("isolation: %s (%s calls/s, higher is better)" % (
            "add(int, int)" if func == "add" else "spin, ~10 µs of Python", "M" if func == "add" else "k"))
        ax.legend(fontsize=7)
    ax = axes[2]
    cols = [c for c in ("cembed-shared", "cembed-isolated", "cembed-pool1", "cembed-pool", "cembed-pool4")
            if c in rep["first"]]
    ax.bar(range(len(cols)), [rep["first"][c] for c in cols], 0.6, color="#55a868")
    for i, c in enumerate(cols):
        ax.text(i, rep["first"][c], "%.3g" % rep["first"][c], ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels([c.replace("cembed-", "") for c in cols], fontsize=8)
    ax.set_title("isolation: first call, process start to result (ms)")
    ax.margins(y=0.15)
