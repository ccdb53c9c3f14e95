"""CFFI's table of primitive type names (test_new_ffi_1 iterates over it to
test every primitive). It is data about CFFI, so it is read from the cffi
sources the peer suite was downloaded with, never copied here."""

import os

from cembed import VerificationError  # noqa: F401  (the table's one import)

_path = os.path.join(os.environ["CEMBED_PEER_CFFI_SRC"], "src", "cffi",
                     "cffi_opcode.py")
with open(_path) as _f:
    _text = _f.read().replace("from .error import VerificationError", "")
exec(compile(_text, _path, "exec"))
