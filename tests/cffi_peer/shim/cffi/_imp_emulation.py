"""How CFFI's tests import a built module: the ordinary extension loader."""

import importlib.machinery
import importlib.util
import sys


def load_dynamic(name, path, file=None):
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
