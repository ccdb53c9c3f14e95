"""`import cffi` for CFFI's own test files, answered by cembed.

This is the port a CFFI user makes (``import cembed as cffi``): the builder
(``FFI``, its exceptions) is cembed's. Only the names CFFI's tests import are
provided; see tests/cffi_peer/README.md.
"""

from cembed import (  # noqa: F401
    FFI,
    CDefError,
    FFIError,
    PkgConfigError,
    VerificationError,
    VerificationMissing,
    __version__,
)

__version_info__ = tuple(int(x) for x in __version__.split("."))
