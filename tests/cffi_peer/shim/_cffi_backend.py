"""`import _cffi_backend` for test_ffi_obj.py, which makes FFI objects with
no declarations: `_cffi_backend.FFI` is the type of a cembed library's `ffi`
(an empty library, built once per run), so FFI() makes one like it."""

import os
import tempfile

import cembed

from cffi._imp_emulation import load_dynamic

_dir = tempfile.mkdtemp(prefix="cembed-peer-backend-")
_builder = cembed.FFI()
_builder.cdef("")
_builder.set_source("_cembed_peer_backend", "")
_module = load_dynamic("_cembed_peer_backend",
                       _builder.compile(tmpdir=_dir, target="_cembed_peer_backend.*"))

FFI = type(_module.ffi)
Lib = type(_module.lib)
