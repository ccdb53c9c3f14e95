"""The builder's ``ffi.sizeof()`` / ``ffi.alignof()`` / ``ffi.offsetof()``:
CFFI's builder answers them from its backend before anything is built.
cembed's builder has no backend and its model carries no layouts on
purpose (layouts come from the compiler, never from guessing), so it asks
the C compiler: the set_source() code (if any, with its include_dirs and
define_macros) plus one constant per question, compiled to assembly
(``cc -S``), whose data directives hold the values. Nothing is linked or
run, so set_source code that declares static functions defined later by
cembed (extern "Python") is fine. The compiler is the build's: ``CC``
(default ``cc``) with ``CPPFLAGS`` and ``CFLAGS``.

Types are C type names: CFFI's primitive names, ``struct``/``union``/
``enum`` tags and typedefs the set_source code defines, pointers, arrays,
function pointers. A cdef()-only type that no C code defines is not known
to the compiler: the error says so (docs/differences.md)."""

import os
import re
import shlex
import subprocess
import tempfile

# CFFI's names of the complex types, which exist only in its generated C.
_C_NAMES = {
    "_cffi_float_complex_t": "float _Complex",
    "_cffi_double_complex_t": "double _Complex",
}

_HEADERS = ("stddef.h", "stdint.h", "stdbool.h", "wchar.h", "uchar.h",
            "sys/types.h", "stdio.h")

# What a type name may contain: no statement, no preprocessor line.
_TYPE_CHARS = re.compile(r"^[A-Za-z0-9_ \t*()\[\],.]+$")

_DATA = re.compile(r"^\s*\.(?:quad|xword|8byte|dword)\s+(\d+)\s*$")


def c_type(cdecl, what):
    if not isinstance(cdecl, str):
        raise TypeError("ffi.%s() at build time takes a C type name (a str), "
                        "not %s: the builder has no cdata"
                        % (what, type(cdecl).__name__))
    text = cdecl.strip()
    if not text or not _TYPE_CHARS.match(text):
        raise ValueError("ffi.%s(%r): not a C type name" % (what, cdecl))
    for cffi_name, c_name in _C_NAMES.items():
        text = re.sub(r"\b%s\b" % cffi_name, c_name, text)
    return text


def probe(assigned_source, exprs, what, cdecl):
    """The values of the C constant expressions ``exprs`` (list of str),
    computed by the C compiler after the set_source() code."""
    if assigned_source is not None:
        _, c_code, options = assigned_source
    else:
        c_code, options = "", {}
    lines = ["#include <%s>" % h for h in _HEADERS]
    lines += ["#define _CFFI_ 1", "#define CFFI_DLLEXPORT",
              "#line 1 \"set_source() code\"", c_code or "",
              "#line 1 \"ffi.%s(%r)\"" % (what, cdecl),
              "const unsigned long long _cembed_probe[] = {"]
    # + 1: a zero would be emitted as `.zero` (or the array put in .bss).
    lines += ["  (unsigned long long)(%s) + 1," % e for e in exprs]
    lines += ["};", ""]
    cc = shlex.split(os.environ.get("CC") or "cc")
    flags = shlex.split(os.environ.get("CPPFLAGS", ""))
    flags += shlex.split(os.environ.get("CFLAGS", ""))
    for d in options.get("include_dirs", ()):
        flags.append("-I" + d)
    for name, value in options.get("define_macros", ()):
        flags.append("-D%s" % name if value is None else "-D%s=%s" % (name, value))
    for name in options.get("undef_macros", ()):
        flags.append("-U" + name)
    with tempfile.TemporaryDirectory(prefix="cembed-layout-") as tmp:
        src = os.path.join(tmp, "probe.c")
        out = os.path.join(tmp, "probe.s")
        with open(src, "w") as f:
            f.write("\n".join(lines))
        # -w: the set_source code's own warnings are the build's business.
        cmd = cc + flags + ["-w", "-S", "-o", out, src]
        try:
            res = subprocess.run(cmd, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        except OSError as e:
            raise _error()("ffi.%s(%r) at build time asks the C compiler, "
                           "which could not be run (%s): %s"
                           % (what, cdecl, cc[0], e)) from None
        if res.returncode != 0:
            errors = [l for l in res.stderr.splitlines() if "error" in l]
            raise _error()(
                "ffi.%s(%r) at build time: the C compiler does not accept "
                "the type after the set_source() code (a type only declared "
                "in cdef() must be defined by set_source() code): %s"
                % (what, cdecl, "; ".join(errors[:3]) or res.stderr.strip()))
        with open(out) as f:
            asm = f.read().splitlines()
    values = []
    for i, line in enumerate(asm):
        if line.strip() == "_cembed_probe:":
            for data in asm[i + 1:]:
                m = _DATA.match(data)
                if not m:
                    break
                values.append(int(m.group(1)) - 1)
            break
    if len(values) != len(exprs):
        raise _error()("ffi.%s(%r) at build time: cannot read the compiler's "
                       "answer from its assembly output" % (what, cdecl))
    return values


def _error():
    from cembed import FFIError

    return FFIError
