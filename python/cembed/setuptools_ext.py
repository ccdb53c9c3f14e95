"""The setuptools keyword ``cembed_modules=["path/build.py:ffibuilder"]``
(registered as a ``distutils.setup_keywords`` entry point), as CFFI's
``cffi_modules=``: ``build_py`` also builds each embedded library and puts it,
with its header and .pc file, into the package (see _packaging.py), and the
wheel is marked platform-specific."""

import os

from . import _packaging


def cembed_modules(dist, attr, value):
    from distutils.errors import DistutilsSetupError

    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise DistutilsSetupError(
            "%s must be a list of 'path/build.py:ffibuilder' strings, not %r"
            % (attr, value))
    try:
        for spec in value:
            _packaging.parse_spec(spec)
    except _packaging.SpecError as e:
        raise DistutilsSetupError(str(e)) from None
    specs = list(value)

    from setuptools.command.build_py import build_py as _setuptools_build_py

    base = dist.cmdclass.get("build_py", _setuptools_build_py)

    class build_py(base):
        def run(self):
            base.run(self)
            build_temp = os.path.abspath(os.path.join(
                self.get_finalized_command("build").build_temp, "cembed"))
            root = os.path.abspath(os.path.dirname(dist.script_name or "setup.py"))
            self._cembed_outputs = []
            for spec in specs:
                for src, rel in _packaging.build(spec, root, build_temp,
                                                 verbose=self.verbose > 1):
                    dest = os.path.join(self.build_lib, rel)
                    self.mkpath(os.path.dirname(dest))
                    self.copy_file(src, dest, preserve_mode=True)
                    self._cembed_outputs.append(dest)

        def get_outputs(self, include_bytecode=1):
            return (base.get_outputs(self, include_bytecode)
                    + list(getattr(self, "_cembed_outputs", [])))

    dist.cmdclass["build_py"] = build_py
    # The wheel holds a native library: not a pure-Python wheel.
    dist.has_ext_modules = lambda: True
