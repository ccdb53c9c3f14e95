"""Helpers for cembed's end-to-end tests (imported by the test modules).

Every test writes a build script and a C host into its own temporary
directory, runs the build script with the Python running pytest (a venv with
cembed installed), compiles the host with gcc, and runs it as a separate
process with a *clean* environment: no PYTHONPATH, no VIRTUAL_ENV, no
LD_LIBRARY_PATH, and without PYTHONUNBUFFERED / PYTHONDONTWRITEBYTECODE, which
this development machine sets but users' machines do not (buffered stdout at
exit is exactly what some tests check).
"""

import os
import subprocess
import sys
import sysconfig
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Variables a cembed library must not need, and those that would hide bugs.
_SCRUBBED = {
    "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONHOME",
    "PYTHONSTARTUP", "PYTHONSAFEPATH", "VIRTUAL_ENV", "LD_LIBRARY_PATH",
    "LD_PRELOAD", "PYTHONWARNINGS",
}


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update(extra)
    return env


def cffi_env():
    """What a library built by the *real* cffi needs to start: _cffi_backend
    (in this venv's site-packages, which the embedded interpreter does not
    see) on PYTHONPATH and libpython on LD_LIBRARY_PATH. Only for cffi runs."""
    site = sysconfig.get_paths()["purelib"]
    platsite = sysconfig.get_paths()["platlib"]
    return clean_env(
        PYTHONPATH=os.pathsep.join(dict.fromkeys([platsite, site])),
        LD_LIBRARY_PATH=sysconfig.get_config_var("LIBDIR"),
    )


class Project:
    """A temporary directory holding one build script, its hosts and outputs."""

    def __init__(self, path):
        self.path = str(path)

    def file(self, name):
        return os.path.join(self.path, name)

    def write(self, name, text):
        p = self.file(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))
        return p

    def build(self, script, name="build.py", flavor="cembed", check=True):
        """Writes and runs a build script. `script` uses `cffi` as the module
        name; `flavor` decides what that is: `import cembed as cffi` (cembed)
        or the real `import cffi`."""
        header = {"cembed": "import cembed as cffi\n", "cffi": "import cffi\n"}[flavor]
        self.write(name, header + textwrap.dedent(script).lstrip("\n"))
        env = clean_env()
        r = subprocess.run([sys.executable, name], cwd=self.path, env=env,
                           capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            raise AssertionError("build script failed (exit %d)\nstdout:\n%s\nstderr:\n%s"
                                 % (r.returncode, r.stdout, r.stderr))
        return r

    def gcc(self, source, out="host", libs=(), dlopen=False, extra=()):
        """Compiles a C host. `libs` are library file names in the project
        directory, linked by path with an $ORIGIN rpath (so the host runs from
        any directory); dlopen hosts link -ldl only."""
        src = self.write(out + ".c", source)
        exe = self.file(out)
        cmd = ["gcc", "-Wall", "-Werror", "-o", exe, src, "-I", self.path]
        cmd += [self.file(lib) for lib in libs]
        cmd += ["-Wl,-rpath,$ORIGIN", "-lpthread", "-ldl"]
        cmd += list(extra)
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError("gcc failed:\n%s\n%s" % (" ".join(cmd), r.stderr))
        return exe

    def run(self, exe, args=(), env=None, cwd=None, timeout=120, check=True):
        r = subprocess.run([exe] + [str(a) for a in args], cwd=cwd or self.path,
                           env=env if env is not None else clean_env(),
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("%s exited with %d\nstdout:\n%s\nstderr:\n%s"
                                 % (exe, r.returncode, r.stdout, r.stderr))
        return r


def lines(*ls):
    return "".join(l + "\n" for l in ls)


def library_script(module, api, init, target, c_code="", cdef=None, verbose=False):
    """A CFFI embedding build script (body, without the import line)."""
    parts = ["ffibuilder = cffi.FFI()\n"]
    if cdef is not None:
        parts.append("ffibuilder.cdef(%r)\n" % textwrap.dedent(cdef))
    parts.append("ffibuilder.embedding_api(%r)\n" % textwrap.dedent(api))
    parts.append("ffibuilder.set_source(%r, %r)\n" % (module, textwrap.dedent(c_code)))
    parts.append("ffibuilder.embedding_init_code(%r)\n" % textwrap.dedent(init))
    parts.append("print(ffibuilder.compile(target=%r, verbose=%r))\n" % (target, verbose))
    return "".join(parts)


# Unbuffered C stdout, so the C host's lines and Python's (flushed) lines
# appear in program order in a pipe.
UNBUFFERED_MAIN = "setvbuf(stdout, NULL, _IONBF, 0);"
