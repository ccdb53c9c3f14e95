"""Runs every tests/inputs/*.h and tests/errors/*.h through the real cffi
(`pip install cffi`) and prints whether cffi accepts it, to compare with
cembed's parser (inputs must parse, errors must fail).

cembed is deliberately stricter than cffi's cdef() where cffi accepts a
declaration that can never work (the C compiler or cffi's own verification
rejects it later: `void x;`, `int a[-1];`, duplicate fields, ...) and more
permissive where C is (`int long`, `~` in enum values, identical
re-declarations). This script shows each such difference.

Usage: python tests/cffi_compare.py
"""
import pathlib
import sys
import warnings

import cffi

warnings.simplefilter("ignore")
here = pathlib.Path(__file__).parent


def sources(path):
    out = []
    for line in path.read_text().splitlines(keepends=True):
        m = line.rstrip()
        if m in ("//// cdef", "//// embedding_api"):
            out.append([m[5:], ""])
        elif out:
            out[-1][1] += line
        else:
            out.append(["cdef", line])
    return out


def cffi_accepts(path):
    ffi = cffi.FFI()
    try:
        for kind, text in sources(path):
            (ffi.embedding_api if kind == "embedding_api" else ffi.cdef)(text)
        return True, ""
    except Exception as e:  # CDefError, FFIError, NotImplementedError, ...
        return False, f"{type(e).__name__}: {e}".replace("\n", " | ")


# Deliberate differences: cembed accepts what C accepts (and cffi's cdef()
# happens not to), or rejects at once what C (or cffi's later verification)
# rejects anyway.
KNOWN = {
    "inputs/dotdotdot.h": "array length / enum value from a `#define N ...` (cembed: compiler supplies it)",
    "inputs/enums.h": "`~` in enum values (cffi: unsupported expression)",
    "inputs/extern_python.h": "struct body inside an extern \"Python\" block",
    "inputs/functions.h": "identical re-declaration of a function",
    "inputs/redeclarations.h": "identical re-definition of a struct (cffi: duplicate declaration)",
    "inputs/primitives.h": "specifier orders like `char signed`, `int long` (valid C)",
    "errors/anonymous_tagged_member.h": "C: declaration does not declare anything",
    "errors/array_of_functions.h": "invalid C",
    "errors/array_of_void.h": "invalid C",
    "errors/bitfield_float.h": "invalid C",
    "errors/bitfield_negative.h": "invalid C",
    "errors/bitfield_pointer.h": "invalid C",
    "errors/bitfield_zero_named.h": "invalid C",
    "errors/dotdotdot_pointer_typedef.h": "NOT SUPPORTED by cembed yet: cffi's `typedef ... *t;` (pointer to an unknown type)",
    "errors/duplicate_field.h": "invalid C",
    "errors/duplicate_field_anonymous.h": "invalid C",
    "errors/field_function.h": "invalid C",
    "errors/function_initializer.h": "invalid C",
    "errors/function_returning_array.h": "invalid C",
    "errors/function_returning_function.h": "invalid C",
    "errors/incomplete_field.h": "invalid C (incomplete type)",
    "errors/int_literal_too_big.h": "does not fit in 64 bits",
    "errors/multiple_errors.h": "invalid C",
    "errors/negative_array.h": "invalid C",
    "errors/open_inner_array.h": "invalid C",
    "errors/redeclared_as_other_kind.h": "invalid C (one namespace for ordinary names)",
    "errors/shift_out_of_range.h": "undefined behaviour in C",
    "errors/typedef_initializer.h": "invalid C",
    "errors/void_field.h": "invalid C",
    "errors/void_param.h": "invalid C",
    "errors/void_typedef_variable.h": "invalid C",
    "errors/void_variable.h": "invalid C",
    "errors/variadic_exported.h": "cffi refuses it later, when building (NotImplementedError)",
    "errors/variadic_extern_python.h": "cffi refuses it later, when building (NotImplementedError)",
    "errors/wrong_tag_kind.h": "invalid C (struct and union share the tag namespace)",
}

diffs = 0
for sub, expect in (("inputs", True), ("errors", False)):
    for path in sorted((here / sub).glob("*.h")):
        ok, msg = cffi_accepts(path)
        same = ok == expect
        key = f"{sub}/{path.name}"
        known = key in KNOWN
        diffs += not same and not known
        mark = "same" if same else ("known" if known else "DIFF")
        print(f"{mark:5}  {key}: cffi {'accepts' if ok else 'rejects'}"
              + ("" if ok else f" ({msg[:120]})")
              + (f" -- {KNOWN[key]}" if known and not same else ""))
        if known and same:
            print(f"       (listed as a known difference but none found: update KNOWN)")
print(f"{diffs} unexpected differences", file=sys.stderr)
sys.exit(1 if diffs else 0)
