"""`cffi.recompiler.recompile()`: how CFFI's tests build a module. Here
cembed builds it: the builder already holds the declarations and the
set_source() call; the keyword arguments are set_source()'s options."""

import io
import os

# CFFI's tests write C into one (test_new_ffi_1: unused by the tests kept).
NativeIO = io.StringIO

# recompile()'s own keywords, which are not compile options.
_RECOMPILE_ONLY = ("call_c_compiler", "c_file", "extradir",
                   "compiler_verbose", "uses_ffiplatform", "debug")


def recompile(ffi, module_name, preamble, tmpdir=".", target=None, **kwds):
    for key in _RECOMPILE_ONLY:
        kwds.pop(key, None)
    # CFFI's recompile() takes the compile options here rather than in
    # set_source(); cembed's builder takes them in set_source(), so the call
    # is made again with them.
    ffi._assigned_source = None
    ffi.set_source(module_name, preamble, **kwds)
    os.makedirs(tmpdir, exist_ok=True)
    return ffi.compile(tmpdir=tmpdir, target=target)


class Recompiler(object):
    """CFFI's type-table builder: tests of it are out of scope (cembed has
    no such table)."""

    def __init__(self, *args, **kwds):
        raise NotImplementedError("cffi.recompiler.Recompiler: CFFI internals")
