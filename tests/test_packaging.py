"""cembed as it is installed from its wheel, and the build systems that use
it, each run for real: the `cembed` command and `python -m cembed`, the CMake
package (cmake), the Meson and Makefile examples (meson + ninja, make +
pkg-config), the relocatable .pc file, the setuptools keyword and the hatch
build hook. Every library is linked into a C host that is run from `/` with a
clean environment and its exact output compared."""

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

import cembed
from cembed_e2e import ROOT, clean_env

EXAMPLES = os.path.join(ROOT, "examples", "buildsystems")
HOST_OUTPUT = "manhattan = 7\nis_origin = 0 1\n"
BIN = os.path.dirname(sys.executable)
CEMBED = os.path.join(BIN, "cembed")


def run(cmd, cwd=None, env=None, timeout=300):
    r = subprocess.run(cmd, cwd=cwd, env=env or clean_env(), capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == 0, "%s failed (%d):\n%s\n%s" % (cmd, r.returncode, r.stdout, r.stderr)
    return r


def run_host(exe):
    r = subprocess.run([exe], cwd="/", env=clean_env(), capture_output=True, text=True,
                       timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, HOST_OUTPUT, "")


def tool_env():
    """PATH with this venv's bin first (its `cembed`), no VIRTUAL_ENV: the
    installed cembed must find its own Python."""
    env = clean_env()
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    return env


@pytest.fixture
def examples(tmp_path):
    dest = tmp_path / "examples"
    shutil.copytree(EXAMPLES, str(dest))
    return dest


@pytest.mark.smoke
def test_command_and_module_have_the_package_version():
    want = "cembed %s\n" % cembed.__version__
    assert importlib.metadata.version("cembed") == cembed.__version__
    assert run([CEMBED, "--version"]).stdout == want
    assert run([sys.executable, "-m", "cembed", "--version"]).stdout == want
    # The executable is the Rust binary inside the package.
    exe = os.path.join(os.path.dirname(cembed.__file__), "_bin", "cembed")
    assert run([exe, "--version"]).stdout == want
    with open(exe, "rb") as f:
        assert f.read(4) == b"\x7fELF"
    # The CMake package's version file says the same.
    cmake_dir = run([CEMBED, "--cmake-dir"]).stdout.strip()
    with open(os.path.join(cmake_dir, "cembedConfigVersion.cmake")) as f:
        assert 'set(PACKAGE_VERSION "%s")' % cembed.__version__ in f.read()


@pytest.mark.smoke
def test_cmake_package(examples):
    cmake_dir = run([CEMBED, "--cmake-dir"]).stdout.strip()
    src, build = str(examples / "cmake"), str(examples / "cmake" / "build")
    run(["cmake", "-S", src, "-B", build, "-Dcembed_DIR=" + cmake_dir], env=tool_env())
    run(["cmake", "--build", build], env=tool_env())
    run_host(os.path.join(build, "host"))
    run_host(os.path.join(build, "host_cxx"))
    # A wrong call is a clear configure error.
    with open(os.path.join(src, "CMakeLists.txt"), "a") as f:
        f.write("cembed_add_library(broken API ../common/api.h)\n")
    r = subprocess.run(["cmake", "-S", src, "-B", build], env=tool_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "cembed_add_library(broken): INIT <file> is required" in r.stderr


@pytest.mark.smoke
def test_cmake_isolation_is_passed_to_cembed(examples):
    # cembed_add_library(... ISOLATION <mode>) is the command's --isolation:
    # built on CPython 3.12+, the build's error (naming the Python) before.
    cmake_dir = run([CEMBED, "--cmake-dir"]).stdout.strip()
    src, build = str(examples / "cmake"), str(examples / "cmake" / "build")
    with open(os.path.join(src, "CMakeLists.txt"), "a") as f:
        f.write("cembed_add_library(iso API ../common/api.h INIT ../common/init.py\n"
                "    SOURCE ../common/types.c ISOLATION pool:3)\n")
    run(["cmake", "-S", src, "-B", build, "-Dcembed_DIR=" + cmake_dir], env=tool_env())
    r = subprocess.run(["cmake", "--build", build, "--target", "iso_cembed"], env=tool_env(),
                       capture_output=True, text=True, timeout=300)
    c_file = os.path.join(build, "cembed_iso", "iso.c")
    if sys.version_info >= (3, 12):
        assert r.returncode == 0, r.stdout + r.stderr
        with open(c_file) as f:
            assert ".isolation = CEMBED_ISOLATION_POOL, .pool_size = 3," in f.read()
    else:
        assert r.returncode != 0
        # The Python this cembed is installed in: <prefix>/bin/pythonX.Y.
        version = "%d.%d" % sys.version_info[:2]
        assert ('error: isolation "pool" needs CPython 3.12 or newer (PEP 684: '
                'subinterpreters with their own GIL), but the build Python %s is %s;'
                % (os.path.join(BIN, "python" + version), version)) in r.stdout + r.stderr
        assert not os.path.exists(c_file)
        assert not os.path.exists(os.path.join(build, "cembed_iso", "libiso.so"))


def test_meson_example(examples):
    src, build = str(examples / "meson"), str(examples / "meson" / "build")
    run(["meson", "setup", build, src], env=tool_env())
    run(["meson", "compile", "-C", build], env=tool_env())
    run_host(os.path.join(build, "host"))


def test_makefile_example(examples):
    src = str(examples / "make")
    run(["make", "-C", src, "CEMBED=" + CEMBED], env=tool_env())
    run_host(os.path.join(src, "host"))


def _build_greet(outdir, **compile_kw):
    ffi = cembed.FFI()
    with open(os.path.join(EXAMPLES, "common", "api.h")) as f:
        ffi.embedding_api(f.read())
    with open(os.path.join(EXAMPLES, "common", "types.c")) as f:
        ffi.set_source("greet", f.read())
    with open(os.path.join(EXAMPLES, "common", "init.py")) as f:
        ffi.embedding_init_code(f.read())
    return ffi.compile(tmpdir=str(outdir), target="libgreet.*", **compile_kw)


def test_pc_file_is_relocatable_and_quoted(tmp_path):
    built = tmp_path / "built here"
    lib = _build_greet(built)
    with open(str(built / "greet.pc")) as f:
        pc = f.read()
    assert "prefix=${pcfiledir}\n" in pc
    assert "Libs: -L${libdir} -lgreet\n" in pc
    assert str(tmp_path) not in pc  # nothing absolute
    # Move the library, header and .pc elsewhere (a path with spaces too).
    moved = tmp_path / "moved away"
    os.makedirs(str(moved))
    for name in ("libgreet.so", "greet.h", "greet.pc"):
        os.rename(str(built / name), str(moved / name))
    env = dict(clean_env(), PKG_CONFIG_PATH=str(moved))
    flags = run(["pkg-config", "--cflags", "--libs", "greet"], env=env).stdout
    assert "moved" in flags and "built here" not in flags
    shutil.copy(os.path.join(EXAMPLES, "common", "host.c"), str(tmp_path / "host.c"))
    # pkg-config escapes the spaces for a shell; eval reads them back.
    run(["sh", "-c", 'eval "gcc -Wall -Werror -o host host.c $(pkg-config --cflags --libs greet)'
         ' -Wl,-rpath,$(pkg-config --variable=libdir greet)"'], cwd=str(tmp_path), env=env)
    run_host(str(tmp_path / "host"))
    assert os.path.basename(lib) == "libgreet.so"


def test_compile_and_emit_c_header_paths(tmp_path):
    lib = _build_greet(tmp_path, header="include/greet_api.h")
    assert os.path.isfile(str(tmp_path / "include" / "greet_api.h"))
    assert not os.path.exists(str(tmp_path / "greet.h"))
    assert os.path.isfile(lib)
    # Not over a file cembed did not write: an error naming it.
    (tmp_path / "mine.h").write_text("/* mine */\n")
    with pytest.raises(cembed.VerificationError, match="mine.h.*not written by cembed"):
        _build_greet(tmp_path, header="mine.h")
    assert (tmp_path / "mine.h").read_text() == "/* mine */\n"
    ffi = cembed.FFI()
    ffi.embedding_api("int f(int x);")
    ffi.set_source("m", "")
    ffi.emit_c_code(str(tmp_path / "m.c"), header=str(tmp_path / "m_api.h"))
    with open(str(tmp_path / "m_api.h")) as f:
        assert "int f(int x);" in f.read()


PACKAGE_INIT = "from greetpkg._greet import ffi, lib\n"


def _package_project(tmp_path):
    proj = tmp_path / "proj"
    os.makedirs(str(proj / "greetpkg"))
    (proj / "greetpkg" / "__init__.py").write_text("")
    with open(os.path.join(EXAMPLES, "common", "api.h")) as f:
        api = f.read()
    with open(os.path.join(EXAMPLES, "common", "init.py")) as f:
        init = f.read().replace("from greet import ffi", "from greetpkg._greet import ffi")
    with open(os.path.join(EXAMPLES, "common", "types.c")) as f:
        types = f.read()
    (proj / "greet_build.py").write_text(
        "import cembed\n"
        "ffibuilder = cembed.FFI()\n"
        "ffibuilder.embedding_api(%r)\n"
        "ffibuilder.set_source('greetpkg._greet', %r)\n"
        "ffibuilder.embedding_init_code(%r)\n"
        "if __name__ == '__main__':\n"
        "    raise SystemExit('not run by the build hooks')\n" % (api, types, init))
    return proj


def _wheel_ships_the_library(proj, tmp_path):
    out = tmp_path / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps",
         "-w", str(out), str(proj)], env=tool_env())
    (whl,) = os.listdir(str(out))
    assert not whl.endswith("-none-any.whl"), whl  # a platform wheel
    assert re.search(r"-linux_x86_64\.whl$", whl), whl
    with zipfile.ZipFile(str(out / whl)) as z:
        names = set(z.namelist())
        assert {"greetpkg/__init__.py", "greetpkg/_greet.so", "greetpkg/_greet.h",
                "greetpkg/_greet.pc"} <= names, names
        assert not any(n.endswith(".c") for n in names), names
        installed = tmp_path / "installed"
        z.extractall(str(installed))
    # A C host against the shipped header and library.
    pkg = installed / "greetpkg"
    os.chmod(str(pkg / "_greet.so"), 0o755)
    with open(os.path.join(EXAMPLES, "common", "host.c")) as f:
        (tmp_path / "host.c").write_text(f.read().replace('"greet.h"', '"_greet.h"'))
    run(["gcc", "-Wall", "-Werror", "-o", "host", "host.c", "-I" + str(pkg),
         str(pkg / "_greet.so"), "-Wl,-rpath," + str(pkg)], cwd=str(tmp_path))
    run_host(str(tmp_path / "host"))


def _setup_py(proj, spec):
    (proj / "setup.py").write_text(
        "from setuptools import setup\n"
        "setup(name='greetpkg', version='1.0', packages=['greetpkg'],\n"
        "      cembed_modules=[%r])\n" % spec)


def test_setuptools_cembed_modules(tmp_path):
    proj = _package_project(tmp_path)
    _setup_py(proj, "greet_build.py:ffibuilder")
    _wheel_ships_the_library(proj, tmp_path)


def test_setuptools_cembed_modules_bad_entry(tmp_path):
    proj = _package_project(tmp_path)
    _setup_py(proj, "greet_build.py")
    r = subprocess.run([sys.executable, "setup.py", "build"], cwd=str(proj),
                       env=tool_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert ("cembed_modules: each entry must be a string 'path/to/build.py:ffibuilder', "
            "got 'greet_build.py'") in r.stderr, r.stderr


def test_hatch_build_hook(tmp_path):
    proj = _package_project(tmp_path)
    (proj / "pyproject.toml").write_text(
        '[build-system]\n'
        'requires = ["hatchling", "cembed"]\n'
        'build-backend = "hatchling.build"\n'
        '[project]\n'
        'name = "greetpkg"\n'
        'version = "1.0"\n'
        '[tool.hatch.build.targets.wheel]\n'
        'packages = ["greetpkg"]\n'
        '[tool.hatch.build.targets.wheel.hooks.cembed]\n'
        'modules = ["greet_build.py:ffibuilder"]\n')
    _wheel_ships_the_library(proj, tmp_path)
