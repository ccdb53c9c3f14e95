"""Building embedded libraries as part of a Python package's wheel: the code
shared by the setuptools keyword (setuptools_ext.py) and the hatch build
hook (hatch_hook.py).

A spec is ``"path/to/build.py:ffibuilder"``, as CFFI's ``cffi_modules=``: the
build script is run (with ``__name__ == "cembed_build"``, so its
``if __name__ == "__main__": ffibuilder.compile()`` does not run) and the
named object, a ``cembed.FFI`` (or a function returning one), is compiled.
The library lands where the module name puts it: ``set_source("pkg._native",
...)`` gives ``pkg/_native.so`` (importable as ``pkg._native``), next to its
consumer header ``pkg/_native.h`` and pkg-config file ``pkg/_native.pc``.
"""

import os

from . import FFI


class SpecError(ValueError):
    """A malformed ``cembed_modules`` entry or build script."""


def parse_spec(spec):
    """``"path/build.py:ffibuilder"`` -> ``(path, name)``."""
    if not isinstance(spec, str) or ":" not in spec:
        raise SpecError(
            "cembed_modules: each entry must be a string "
            "'path/to/build.py:ffibuilder', got %r" % (spec,))
    path, _, name = spec.rpartition(":")
    if not path.endswith(".py") or not name.isidentifier():
        raise SpecError(
            "cembed_modules: %r is not 'path/to/build.py:variable' (a .py "
            "file, then the name of the cembed.FFI object in it)" % (spec,))
    return path, name


def load_builder(spec, root):
    """Runs the build script of ``spec`` (relative to ``root``) and returns
    its ``cembed.FFI`` object."""
    path, name = parse_spec(spec)
    full = os.path.join(root, path)
    if not os.path.isfile(full):
        raise SpecError("cembed_modules: %r: no file %s" % (spec, full))
    with open(full, encoding="utf-8") as f:
        code = compile(f.read(), full, "exec")
    namespace = {"__name__": "cembed_build", "__file__": full}
    old_cwd = os.getcwd()
    os.chdir(root)
    try:
        exec(code, namespace)
    finally:
        os.chdir(old_cwd)
    if name not in namespace:
        raise SpecError("cembed_modules: %r: %s defines no %r" % (spec, path, name))
    ffi = namespace[name]
    if not isinstance(ffi, FFI) and callable(ffi):
        ffi = ffi()
    if not isinstance(ffi, FFI):
        raise SpecError("cembed_modules: %r: %r is not a cembed.FFI object (got %s)"
                        % (spec, name, type(ffi).__name__))
    return ffi


def build(spec, root, build_temp, verbose=False):
    """Compiles ``spec`` in ``build_temp`` and returns ``[(file, relative
    path in the wheel)]``: the library, its header and its .pc file."""
    ffi = load_builder(spec, root)
    if ffi._assigned_source is None:
        raise SpecError("cembed_modules: %r: the build script never called "
                        "set_source()" % (spec,))
    os.makedirs(build_temp, exist_ok=True)
    module_name = ffi._assigned_source[0]
    target = module_name.rpartition(".")[2] + ".*"  # in the package's directory
    library = ffi.compile(tmpdir=build_temp, verbose=verbose, target=target)
    rel_dir = os.path.relpath(os.path.dirname(library), build_temp)
    stem = os.path.basename(library)
    stem = stem[:-len(".so")] if stem.endswith(".so") else stem
    stem = stem[3:] if stem.startswith("lib") and len(stem) > 3 else stem
    out = []
    for path in (library,
                 os.path.join(os.path.dirname(library), stem + ".h"),
                 os.path.join(os.path.dirname(library), stem + ".pc")):
        if os.path.isfile(path):
            out.append((path, os.path.normpath(os.path.join(rel_dir, os.path.basename(path)))))
    return out
