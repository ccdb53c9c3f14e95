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


# Reasons shared by several tests (docs/differences.md, "CFFI's own tests").
CALLBACK = ("ffi.callback() of a function type the declarations do not "
            "name: no callback pool was compiled for it (NotImplementedError)")
INCLUDE_LIB = ("ffi.include(): the included library's functions are not "
               "reachable through this library's lib (it is not imported)")
INCLUDE_IDENTITY = ("ffi.include(): the included types are this library's own "
                    "ctypes, equal to the other library's, not the same objects")
VARIADIC = ("a call through a variadic function pointer needs libffi: cembed "
            "raises NotImplementedError naming the type")
BUILD_CHECK = ("a declaration that disagrees with the C definition is a build "
               "error (a C compile error naming it), not an ffi.error at first use")
CPP = "cembed compiles C only (source_extension='.cpp' is refused)"
SHARED_FFI = ("FFI() makes another ffi of the same library: it shares the "
              "library's types and init_once() results")
TYPE_IDENTITY = ("ctypes are per library: the same C type in two libraries "
                 "is equal, not the same object")
TYPE_PARSER = "the parser of type strings differs"

KNOWN = {
    # ffi.callback of undeclared function types
    "test_ffi_obj.py::test_ffi_callback": CALLBACK,
    "test_ffi_obj.py::test_ffi_callback_decorator": CALLBACK,
    "test_ffi_obj.py::test_ffi_callback_onerror": CALLBACK,
    "test_ffi_obj.py::test_ffi_cast":
        "casting a Python function to a function pointer type is accepted",
    "test_new_ffi_1.py::test_array_argument_as_list": CALLBACK,
    "test_new_ffi_1.py::test_callback_as_function_argument":
        TYPE_PARSER + " (a function name in a type string: 'char cb(char, char)')",
    "test_new_ffi_1.py::test_callback_crash": CALLBACK,
    "test_new_ffi_1.py::test_callback_decorator": CALLBACK,
    "test_new_ffi_1.py::test_cast_functionptr_and_int": CALLBACK,
    "test_new_ffi_1.py::test_functionptr_intptr_return": CALLBACK,
    "test_new_ffi_1.py::test_functionptr_simple": CALLBACK,
    "test_new_ffi_1.py::test_functionptr_void_return":
        TYPE_PARSER + " (a function name in a type string: 'void foo()')",
    "test_new_ffi_1.py::test_functionptr_voidptr_return": CALLBACK,
    "test_new_ffi_1.py::test_not_supported_bitfield_in_result":
        TYPE_PARSER + " (a function name in a type string)",
    "test_new_ffi_1.py::test_structptr_argument": CALLBACK,
    # ffi.include (the differences)
    "test_new_ffi_1.py::test_include_struct_union_enum_typedef":
        TYPE_PARSER + " (no enumerator as an array length)",
    "test_recompiler.py::test_include_1": INCLUDE_IDENTITY,
    "test_recompiler.py::test_include_1b": INCLUDE_LIB,
    "test_recompiler.py::test_include_2": INCLUDE_IDENTITY,
    "test_recompiler.py::test_include_3": INCLUDE_IDENTITY,
    "test_recompiler.py::test_include_4": INCLUDE_IDENTITY,
    "test_recompiler.py::test_include_5": INCLUDE_IDENTITY,
    "test_recompiler.py::test_include_7": INCLUDE_LIB,
    "test_recompiler.py::test_include_8": (
        "a struct opaque in the included builder and completed in this one is "
        "usable, where CFFI raises NotImplementedError"),
    # Calls that need libffi
    "test_recompiler.py::test_call_with_bitfield": VARIADIC,
    "test_recompiler.py::test_call_with_custom_field_pos": VARIADIC,
    "test_recompiler.py::test_call_with_nested_anonymous_struct": VARIADIC,
    "test_recompiler.py::test_call_with_packed_struct": VARIADIC,
    "test_recompiler.py::test_call_with_union": VARIADIC,
    "test_recompiler.py::test_call_with_zero_length_field": VARIADIC,
    # Checked when building instead of at first use (deliberate)
    "test_recompiler.py::test_address_of_function_with_struct": BUILD_CHECK,
    "test_recompiler.py::test_bool_in_cpp": BUILD_CHECK,
    "test_recompiler.py::test_macro_check_value": BUILD_CHECK,
    "test_recompiler.py::test_verify_exact_field_offset": BUILD_CHECK,
    "test_recompiler.py::test_function_returns_opaque": (
        "a function returning an opaque struct is a C compile error, "
        "not CFFI's TypeError"),
    "test_recompiler.py::test_pack_not_supported": (
        "pack=2 is accepted and checked against the C definition (a C "
        "compile error here, where C has none), not CFFI's NotImplementedError"),
    "test_recompiler.py::test_struct_field_opaque": (
        "a field of incomplete type is a CDefError at cdef() time, not an "
        "error at first use"),
    "test_recompiler.py::test_bool_in_cpp_2": CPP,
    "test_recompiler.py::test_some_float_invalid_2": (
        "'typedef double... t;' whose C type is an integer is a build error "
        "naming the typedef, not an ffi.error at first use"),
    "test_recompiler.py::test_some_float_invalid_3": (
        "'typedef double... t;' may be long double (it is converted as one), "
        "where CFFI raises ffi.error at first use"),
    # The ffi/lib objects
    "test_ffi_obj.py::test_init_once_failure": SHARED_FFI,
    "test_ffi_obj.py::test_init_once_multithread_failure": SHARED_FFI,
    "test_ffi_obj.py::test_ffi_type_not_immortal": (
        "a library's ctypes are cached by the library (shared by every FFI() "
        "of it), not by each ffi object: they live as long as the library"),
    "test_recompiler.py::test_type_caching": TYPE_IDENTITY,
    "test_recompiler.py::test_unique_types": TYPE_IDENTITY,
    "test_ffi_obj.py::test_ffi_invalid_type": TYPE_PARSER + " (error texts)",
    "test_ffi_obj.py::test_bool_issue228":
        TYPE_PARSER + " (no parameter names in a type string)",
    "test_ffi_obj.py::test_ffi_invalid":
        TYPE_PARSER + " ('int[10][]' raises ffi.error, not ValueError)",
    "test_new_ffi_1.py::test_enum_refer_previous_enum_value":
        TYPE_PARSER + " (no enumerator as an array length)",
    "test_new_ffi_1.py::test_array_of_func_ptr":
        "a function type as an array item is accepted, not ffi.error",
    "test_recompiler.py::test_import_from_lib":
        "lib's class is its own type, not the module type",
    "test_recompiler.py::test_dir":
        "lib.__dict__ holds the values of globals, not descriptor objects",
    "test_recompiler.py::test_check_value_of_static_const":
        "the value given to 'static const int X = v;' is not checked",
    "test_recompiler.py::test_duplicate_enum":
        "an enumerator declared in two partial enums is not refused",
    "test_recompiler.py::test_constant_of_unknown_size":
        "a constant of an opaque type raises TypeError",
    "test_recompiler.py::test_variable_of_unknown_size":
        "a global of an opaque type is not readable from Python",
    "test_recompiler.py::test_realize_struct_error":
        "a struct whose field uses an opaque typedef in a function type is "
        "accepted by ffi.new",
    "test_recompiler.py::test_struct_with_func_with_struct_arg":
        "a struct holding a pointer to a function taking it by value is "
        "accepted by ffi.new",
    "test_recompiler.py::test_verify_typedef_star_dotdotdot":
        "'typedef ... *name;' is not supported",
}


def known_difference(name):
    return KNOWN.get(name)

