"""Which of CFFI's tests do not apply to cembed (OUT_OF_SCOPE), and which
fail for a reason docs/differences.md gives (KNOWN). Keys are
"<file>::<test function>"; tests/test_cffi_peer.py checks that every other
in-scope test passes and that every KNOWN test still fails (a fixed one must
leave the list)."""

# CFFI's tests of the three files that exercise ABI mode, dlopen() or
# distutils/setuptools: none (those live in other files of testing/cffi1).
# What is out of scope is CFFI's internal type table.
_TYPE_TABLE = ("CFFI's internal type table (recompiler.Recompiler."
               "collect_type_table): cembed generates no such table")


def out_of_scope(nodeid):
    """The reason a test is out of scope, or None."""
    module = nodeid.split("::")[0].rsplit("/", 1)[-1]
    name = nodeid.split("::")[-1].split("[")[0]
    if module == "test_recompiler.py" and name.startswith("test_type_table_"):
        return _TYPE_TABLE
    return None


# Reasons shared by several tests (docs/differences.md, "cffi's own tests").
CALLBACK = "ffi.callback() is not implemented"
ALLOCATOR = "ffi.new_allocator() is not implemented"
INCLUDE = "ffi.include() is not implemented"
COMPLEX = "float _Complex / double _Complex are not supported"
VARIADIC = ("a call through a variadic function pointer needs libffi; "
            "cembed raises TypeError where CFFI would make the call")
CPP = "cembed compiles C only (set_source(source_extension='.cpp'))"
TYPE_IDENTITY = ("ffi.typeof() of a name and of a C type spelled "
                 "differently are equal ctypes, not the same object")
DOTDOTDOT_ARRAY = "'[...]' array lengths of struct fields / typedefs / globals"

KNOWN = {
}


def known_difference(name):
    return KNOWN.get(name)
