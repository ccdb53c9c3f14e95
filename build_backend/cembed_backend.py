"""cembed's PEP 517 backend: maturin, plus the `cembed` executable.

maturin builds one Rust artefact per wheel (the runtime extension
cembed._runtime); it cannot also put a Rust binary into a wheel that has an
extension module (PyO3/maturin#368). This backend builds the `cembed`
command-line binary (crates/cembed-cli) with cargo first and places it in the
package as ``cembed/_bin/cembed``, then lets maturin build the wheel, which
ships every file of the package directory. The console script ``cembed`` and
``python -m cembed`` run that binary (python/cembed/__main__.py).

The executable lives inside the package, not among the environment's scripts,
so that the Python builder can find it next to itself whatever the install
scheme: the builder is to move out of the runtime extension into this
executable (docs/architecture.md, "The cembed executable").

``python build_backend/cembed_backend.py cli [--zig]`` builds and places the
binary alone; ``./dev wheels`` does that with --zig before running
``maturin build --zig`` itself.

The sdist is maturin's, completed: maturin packs only the crates the runtime
depends on and rewrites the workspace's member list to match, so the CLI
crate, this backend and the examples the tests use are added back, and the
root Cargo.toml is restored.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

# On PyPy there is no runtime extension to build (PyPy's built-in
# _cffi_backend runs the libraries, docs/pypy.md): the wheel is the package
# and the executable, written here, and maturin is not needed.
PYPY = sys.implementation.name == "pypy"

if not PYPY:
    import maturin
    from maturin import (  # noqa: F401  (re-exported PEP 517 hooks)
        get_requires_for_build_editable,
        get_requires_for_build_sdist,
        get_requires_for_build_wheel,
        prepare_metadata_for_build_editable,
        prepare_metadata_for_build_wheel,
    )
else:
    def get_requires_for_build_wheel(config_settings=None):
        return []

    get_requires_for_build_editable = get_requires_for_build_wheel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN_DIR = os.path.join(ROOT, "python", "cembed", "_bin")
# What maturin leaves out of the sdist that a build from it needs.
# maturin's sdist holds the runtime and its path dependencies only; the
# executable needs the builder crates too (the whole workspace).
SDIST_EXTRA = tuple(sorted("crates/" + d for d in os.listdir(os.path.join(ROOT, "crates")))) \
    + ("build_backend",)
GLIBC_FLOOR = "2.17"  # manylinux2014


def build_cli(zig=False):
    """Builds crates/cembed-cli in release mode (stripped) and copies the
    binary to python/cembed/_bin/cembed. With ``zig``, links it with
    cargo-zigbuild against glibc 2.17, as maturin --zig does the runtime."""
    env = dict(os.environ, CARGO_PROFILE_RELEASE_STRIP="true")
    if zig:
        cmd = ["cargo-zigbuild", "build", "--target",
               "x86_64-unknown-linux-gnu." + GLIBC_FLOOR]
        exe = shutil.which("cargo-zigbuild", path=os.path.dirname(sys.executable)
                           + os.pathsep + env.get("PATH", ""))
        if exe is None:
            sys.exit("cembed_backend: cargo-zigbuild is not installed "
                     "(pip install cargo-zigbuild ziglang)")
        cmd[0] = exe
    else:
        cmd = ["cargo", "build"]
    cmd += ["--release", "-p", "cembed-cli", "--locked",
            "--message-format=json-render-diagnostics"]
    out = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         text=True)
    if out.returncode != 0:
        sys.exit("cembed_backend: building the cembed executable failed: %s"
                 % " ".join(cmd))
    exe = None
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") \
                and msg["target"]["name"] == "cembed":
            exe = msg["executable"]
    if exe is None:
        sys.exit("cembed_backend: cargo did not report the cembed executable")
    os.makedirs(BIN_DIR, exist_ok=True)
    dest = os.path.join(BIN_DIR, "cembed")
    tmp = dest + ".tmp"
    shutil.copyfile(exe, tmp)
    os.chmod(tmp, 0o755)
    os.replace(tmp, dest)
    return dest


def _pyproject_value(key):
    """A top-level string of [project] (no TOML parser on Python 3.9)."""
    import re
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        m = re.search(r'^%s = "([^"]*)"' % key, f.read(), re.M)
    return m.group(1)


def _pypy_wheel(wheel_directory):
    """The wheel for PyPy: python/cembed (the builder API) and cembed/_bin/cembed
    (the executable the builder calls), tagged for this PyPy. The console
    script and entry points are those of [project] in pyproject.toml."""
    import base64
    import hashlib
    import sysconfig
    import zipfile

    build_cli()
    name, version = "cembed", _pyproject_value("version")
    abi = sysconfig.get_config_var("SOABI").replace("-", "_")  # pypy39_pp73
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    tag = "pp%d%d-%s-%s" % (sys.version_info[0], sys.version_info[1], abi, plat)
    dist_info = "%s-%s.dist-info" % (name, version)
    files = []
    pkg = os.path.join(ROOT, "python", "cembed")
    for dirpath, dirnames, filenames in os.walk(pkg):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for f in sorted(filenames):
            if f.startswith("_runtime") or f.endswith((".pyc", ".tmp")):
                continue
            full = os.path.join(dirpath, f)
            with open(full, "rb") as fh:
                files.append(("cembed/" + os.path.relpath(full, pkg), fh.read(),
                              os.stat(full).st_mode))
    meta = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\n"
            "Requires-Python: >=3.9\n" % (name, version, _pyproject_value("description")))
    wheel = ("Wheel-Version: 1.0\nGenerator: cembed_backend\nRoot-Is-Purelib: false\n"
             "Tag: %s\n" % tag)
    entry = ("[console_scripts]\ncembed = cembed.__main__:main\n\n"
             "[distutils.setup_keywords]\n"
             "cembed_modules = cembed.setuptools_ext:cembed_modules\n\n"
             "[hatch]\ncembed = cembed.hatch_hook\n")
    for fname, text in (("METADATA", meta), ("WHEEL", wheel),
                        ("entry_points.txt", entry)):
        files.append((dist_info + "/" + fname, text.encode(), 0o100644))
    record = []
    filename = "%s-%s-%s.whl" % (name, version, tag)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for arc, data, mode in files:
            info = zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (mode & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
            record.append("%s,sha256=%s,%d" % (arc, digest.rstrip(b"=").decode(), len(data)))
        record.append(dist_info + "/RECORD,,")
        z.writestr(dist_info + "/RECORD", "\n".join(record) + "\n")
    return filename


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if PYPY:
        return _pypy_wheel(wheel_directory)
    build_cli()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    if PYPY:
        return _pypy_wheel(wheel_directory)
    build_cli()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory, config_settings=None):
    name = maturin.build_sdist(sdist_directory, config_settings)
    path = os.path.join(sdist_directory, name)
    top = name[: -len(".tar.gz")]
    with tarfile.open(path, "r:gz") as src:
        members = [(m, src.extractfile(m).read() if m.isfile() else None)
                   for m in src.getmembers()]
    have = {m.name for m, _ in members}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as dst:
        for m, data in members:
            if m.name == top + "/Cargo.toml":
                with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
                    data = f.read()
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data) if data is not None else None)
        for extra in SDIST_EXTRA:
            for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, extra)):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                for f in sorted(filenames):
                    full = os.path.join(dirpath, f)
                    arc = top + "/" + os.path.relpath(full, ROOT)
                    if arc not in have:
                        dst.add(full, arcname=arc, recursive=False)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)
    return name


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "cli":
        print(build_cli(zig="--zig" in sys.argv[2:]))
    else:
        sys.exit("usage: python build_backend/cembed_backend.py cli [--zig]")
