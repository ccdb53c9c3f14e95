"""A hatch build hook (plugin name ``cembed``, registered as a ``hatch``
entry point) that builds embedded libraries into a Python package's wheel:

    [tool.hatch.build.targets.wheel.hooks.cembed]
    modules = ["path/build.py:ffibuilder"]

Each library, its header and .pc file go into the wheel where the module
name puts them (see _packaging.py); the wheel gets a platform tag."""

import os
import shutil
import tempfile

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.plugin import hookimpl

from . import _packaging


class CembedBuildHook(BuildHookInterface):
    PLUGIN_NAME = "cembed"

    def initialize(self, version, build_data):
        if self.target_name != "wheel":
            return
        modules = self.config.get("modules", [])
        if isinstance(modules, str) or not isinstance(modules, list):
            raise TypeError(
                "[tool.hatch.build.targets.wheel.hooks.cembed] modules must be "
                "a list of 'path/build.py:ffibuilder' strings, not %r" % (modules,))
        self._cembed_temp = build_temp = tempfile.mkdtemp(prefix="cembed-hatch-")
        for spec in modules:
            for src, rel in _packaging.build(spec, self.root, build_temp):
                build_data["force_include"][src] = rel.replace(os.sep, "/")
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version, build_data, artifact_path):
        temp = getattr(self, "_cembed_temp", None)
        if temp:
            shutil.rmtree(temp, ignore_errors=True)


@hookimpl
def hatch_register_build_hook():
    return CembedBuildHook
