"""Differential harness for cembed's C data model (issue 3, point 7).

A *case* is a directory under ``cases/``:

* ``build.py``   a CFFI embedding build script written with ``import cffi``.  It
                 must compile the library into the current directory
                 (``ffibuilder.compile(target=...)``).  For the cembed run the
                 single line ``import cffi`` is replaced by ``import cembed as cffi``.
* ``host.c``     a C program linked against the library, run as its own process.
* ``expected.txt`` the stdout real ``cffi`` produces (the golden file; regenerate
                 with ``DATAMODEL_REGEN=1``).
* any other file (headers, extra ``.c`` sources) is copied beside them.

Header comments of ``build.py`` carry the case's metadata::

    # marks: smoke
    # stderr-contains: OverflowError, TypeError

A case without ``stderr-contains`` must not print a Python traceback.
The cffi run is checked against ``expected.txt`` (which validates the case);
the cembed run must print exactly the same stdout, and each name listed in
``stderr-contains`` must appear in the stderr of both runs.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig

HERE = pathlib.Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"

# Variables this environment sets but users' machines don't: they change when
# Python flushes, so a host must be run without them.
_STRIPPED_FOR_HOST = ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")
# A cembed library must work without any of these; cffi's needs the first two.
_LOADER_VARS = ("PYTHONPATH", "LD_LIBRARY_PATH", "PYTHONHOME")

BUILD_TIMEOUT = 180
RUN_TIMEOUT = 60


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    path: pathlib.Path
    marks: tuple
    stderr_contains: tuple
    returncode: int

    @property
    def expected_path(self) -> pathlib.Path:
        return self.path / "expected.txt"


def _parse_meta(build_py: pathlib.Path):
    marks, stderr, rc = [], [], 0
    for line in build_py.read_text().splitlines():
        if not line.startswith("#"):
            break
        m = re.match(r"#\s*(marks|stderr-contains|returncode)\s*:\s*(.*)$", line)
        if not m:
            continue
        key, value = m.group(1), m.group(2)
        items = [v.strip() for v in value.split(",") if v.strip()]
        if key == "marks":
            marks += items
        elif key == "stderr-contains":
            stderr += items
        elif key == "returncode":
            rc = int(value)
    return tuple(marks), tuple(stderr), rc


def discover_cases():
    cases = []
    for d in sorted(CASES_DIR.iterdir()):
        if not (d / "build.py").is_file():
            continue
        marks, stderr, rc = _parse_meta(d / "build.py")
        cases.append(Case(d.name, d, marks, stderr, rc))
    return cases


@dataclasses.dataclass
class RunResult:
    stdout: str
    stderr: str
    returncode: int
    workdir: pathlib.Path

    def describe(self) -> str:
        return (
            f"workdir: {self.workdir}\nreturncode: {self.returncode}\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


class CaseError(AssertionError):
    pass


def _run(cmd, cwd, env, timeout, what):
    try:
        p = subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as e:
        raise CaseError(f"{what} timed out after {timeout}s: {cmd}") from e
    return p


def _base_env():
    env = dict(os.environ)
    for v in _LOADER_VARS:
        env.pop(v, None)
    return env


def cffi_runtime_env(env):
    """What a host needs to load a cffi-built embedding library here:
    _cffi_backend (in this interpreter's site-packages) and libpython."""
    env = dict(env)
    env["PYTHONPATH"] = sysconfig.get_paths()["purelib"]
    libdir = sysconfig.get_config_var("LIBDIR")
    env["LD_LIBRARY_PATH"] = libdir
    return env


def cembed_available():
    """(True, None) or (False, reason)."""
    p = subprocess.run(
        [sys.executable, "-c", "import cembed; cembed.FFI"],
        capture_output=True,
        text=True,
        env=_base_env(),
        cwd="/",
    )
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["?"])[-1]
        return False, f"cembed not importable in {sys.executable}: {last}"
    return True, None


# With ``isolation`` (cembed only), the build script's libraries are built
# with ``ffibuilder.embedding_isolation(isolation)`` (tests/test_isolation.py
# runs every case with "isolated"): FFI.compile is wrapped, right after the
# import, to ask for it.
_ISOLATION_PATCH = """
_cembed_compile = cffi.FFI.compile
def _cembed_compile_isolated(self, *args, **kwargs):
    self.embedding_isolation(%r)
    return _cembed_compile(self, *args, **kwargs)
cffi.FFI.compile = _cembed_compile_isolated
"""


def build_and_run(case: Case, backend: str, workdir: pathlib.Path,
                  isolation: str | None = None) -> RunResult:
    """Build ``case`` with ``backend`` ('cffi' or 'cembed') in ``workdir``,
    compile its host against the library and run it. ``isolation``: the
    cembed libraries' ``embedding_isolation`` mode (default: none asked)."""
    assert backend in ("cffi", "cembed")
    assert isolation is None or backend == "cembed"
    if workdir.exists():
        shutil.rmtree(workdir)
    shutil.copytree(case.path, workdir, ignore=shutil.ignore_patterns("expected.txt"))

    script = (workdir / "build.py").read_text()
    if backend == "cembed":
        n = len(re.findall(r"^import cffi$", script, flags=re.M))
        if n != 1:
            raise CaseError(f"{case.name}: build.py must contain the line 'import cffi' exactly once")
        replacement = "import cembed as cffi"
        if isolation is not None:
            replacement += _ISOLATION_PATCH % isolation
        script = re.sub(r"^import cffi$", lambda m: replacement, script, flags=re.M)
        (workdir / "build.py").write_text(script)

    env = _base_env()
    p = _run([sys.executable, "build.py"], workdir, env, BUILD_TIMEOUT, "build")
    if p.returncode != 0:
        raise CaseError(
            f"{case.name} [{backend}]: build.py failed (rc={p.returncode})\n"
            f"--- stdout ---\n{p.stdout}\n--- stderr ---\n{p.stderr}"
        )
    libs = sorted(workdir.glob("*.so"))
    if len(libs) != 1:
        raise CaseError(f"{case.name} [{backend}]: expected exactly one .so, found {libs}")
    lib = libs[0].name

    cc = [
        os.environ.get("CC", "gcc"), "-std=gnu11", "-Wall", "-Werror", "-I.",
        "-o", "host", "host.c", f"-L.", f"-l:{lib}", "-Wl,-rpath,$ORIGIN", "-lm",
    ]
    p = _run(cc, workdir, env, BUILD_TIMEOUT, "host compile")
    if p.returncode != 0:
        raise CaseError(
            f"{case.name} [{backend}]: host.c failed to compile\n{' '.join(cc)}\n{p.stderr}"
        )

    run_env = dict(env)
    for v in _STRIPPED_FOR_HOST:
        run_env.pop(v, None)
    if backend == "cffi":
        run_env = cffi_runtime_env(run_env)
    # Run from an unrelated directory: the library must be found through its
    # rpath/DT_NEEDED only, not because it sits in the cwd.
    rundir = workdir / "run"
    rundir.mkdir()
    cmd, timeout = [str(workdir / "host")], RUN_TIMEOUT
    memcheck = backend == "cembed" and os.environ.get("CEMBED_VALGRIND") == "1"
    if backend == "cembed" and os.environ.get("CEMBED_HOST_PYTHONMALLOC"):
        run_env["PYTHONMALLOC"] = os.environ["CEMBED_HOST_PYTHONMALLOC"]
    if memcheck:
        cmd, timeout = valgrind_cmd(workdir) + cmd, VALGRIND_TIMEOUT
        run_env["PYTHONMALLOC"] = "malloc"
    p = _run(cmd, rundir, run_env, timeout, "host run")
    if memcheck:
        check_valgrind(workdir, f"{case.name} [{backend}]")
    return RunResult(p.stdout, p.stderr, p.returncode, workdir)


# CEMBED_HOST_PYTHONMALLOC=debug: the cembed host's embedded Python uses
# CPython's debug allocator hooks (PYTHONMALLOC=debug): a Python allocation
# without the GIL, a buffer overrun or a use of freed Python memory ends the
# host with "Fatal Python error", which fails the case.
#
# CEMBED_VALGRIND=1: the cembed host runs under valgrind's memcheck (with
# PYTHONMALLOC=malloc, so each Python object is its own block) and any
# invalid read, write or free fails the case. Leaks are not checked (an
# embedded interpreter is never finalized).
VALGRIND_TIMEOUT = 600
VALGRIND_ERRORS = ("Invalid read", "Invalid write", "Invalid free", "Mismatched free",
                   "Invalid (not aligned) free", "Source and destination overlap")


def valgrind_cmd(logdir):
    return ["valgrind", "--tool=memcheck", "--leak-check=no", "--trace-children=no",
            "--num-callers=30", f"--log-file={logdir}/valgrind.%p.log"]


def check_valgrind(logdir, what):
    bad = []
    for log in sorted(pathlib.Path(logdir).glob("valgrind.*.log")):
        text = log.read_text(errors="replace")
        if any(e in text for e in VALGRIND_ERRORS):
            bad.append(f"--- {log} ---\n{text[-6000:]}")
    if bad:
        raise CaseError(f"{what}: valgrind found invalid memory accesses\n" + "\n".join(bad))


def check_result(case: Case, backend: str, res: RunResult, expected: str):
    problems = []
    if res.returncode != case.returncode:
        problems.append(f"host exited with {res.returncode}, expected {case.returncode}")
    if res.stdout != expected:
        import difflib

        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), res.stdout.splitlines(True),
                "expected (cffi)", f"actual ({backend})",
            )
        )
        problems.append("stdout differs:\n" + diff)
    for name in case.stderr_contains:
        if name not in res.stderr:
            problems.append(f"{name!r} not found in stderr")
    if not case.stderr_contains and "Traceback" in res.stderr:
        # A case that expects no error must not have hit one silently (an
        # exception in a void callback only shows up on stderr).
        problems.append("unexpected Python traceback on stderr")
    if problems:
        raise CaseError(
            f"{case.name} [{backend}]:\n" + "\n".join(problems) + "\n" + res.describe()
        )
