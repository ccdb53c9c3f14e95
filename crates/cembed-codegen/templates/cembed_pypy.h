/* cembed_pypy.h -- fixed C pasted at the top of every library generated for
 * PyPy (codegen's PyPy target, crates/cembed-codegen/src/pypy/), before the
 * user's set_source() code.
 *
 * On PyPy there is no cembed runtime: the interpreter's built-in
 * `_cffi_backend` module implements CFFI's embedding protocol, and the
 * library only has to hand it
 *
 *   - the module's tables (`struct cembed_pypy_type_context` below: types
 *     as opcodes, globals, struct/union fields, enums, typedef names), the
 *     format of CFFI's `parse_c_type.h`, which PyPy reads by layout; and
 *   - an init structure {module name, table function, init code} passed to
 *     libpypy's `pypy_init_embedded_cffi_module()`.
 *
 * Every function implemented in Python packs its arguments in 8-byte slots
 * (struct and long double arguments by address) and calls through
 * `_cembed_pypy_call`. That pointer starts as `_cembed_pypy_start_and_call`
 * (start Python, then call) and is switched to PyPy's own call function once
 * the init code has run; the switch is a release store read with an acquire
 * load, so a thread that sees PyPy's function also sees everything init did.
 *
 * Where this differs from CFFI's `_embedding.h` (docs/pypy.md):
 *   - libpypy is not a link-time dependency. It is dlopen()ed by absolute path
 *     (baked in at build time, CEMBED_PYPY_LIBRARY) with RTLD_GLOBAL on the
 *     first call, so hosts that dlopen() the library RTLD_LOCAL still give
 *     PyPy's C extension modules its symbols, and a missing PyPy is an error
 *     return, not a loader failure of the host.
 *   - The init code runs inside a small boot prelude (the Python text of
 *     CEMBED_PYPY_BOOT) that adds the build venv's site-packages, catches a
 *     failure, prints one report with context and keeps it for
 *     cembed_init_error().
 *   - At process exit, Python's atexit handlers run and sys.stdout/stderr
 *     are flushed (PyPy's embedding runs neither).
 */
#ifndef CEMBED_PYPY_H
#define CEMBED_PYPY_H

#ifndef _GNU_SOURCE
#  define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__GNUC__)
#  define CFFI_DLLEXPORT  __attribute__((visibility("default")))
#  define CEMBED_PYPY_UNUSED __attribute__((unused))
#else
#  define CFFI_DLLEXPORT
#  define CEMBED_PYPY_UNUSED
#endif

/* ---- The table format PyPy's _cffi_backend reads (CFFI's parse_c_type.h
 * layout; the names are cembed's, the layout is the contract). ---- */

/* CFFI's names of the complex types (its type tables and ffi.typeof use
 * them; set_source() code may too). */
typedef float _Complex _cffi_float_complex_t;
typedef double _Complex _cffi_double_complex_t;

typedef void *cembed_pypy_op;
#define CEMBED_PYPY_OP(opcode, arg) \
    ((cembed_pypy_op)(uintptr_t)((uintptr_t)(opcode) | (((uintptr_t)(intptr_t)(arg)) << 8)))

enum {
    CEMBED_PYPY_OP_PRIMITIVE = 1,
    CEMBED_PYPY_OP_POINTER = 3,
    CEMBED_PYPY_OP_ARRAY = 5,
    CEMBED_PYPY_OP_OPEN_ARRAY = 7,
    CEMBED_PYPY_OP_STRUCT_UNION = 9,
    CEMBED_PYPY_OP_ENUM = 11,
    CEMBED_PYPY_OP_FUNCTION = 13,
    CEMBED_PYPY_OP_FUNCTION_END = 15,
    CEMBED_PYPY_OP_NOOP = 17,
    CEMBED_PYPY_OP_BITFIELD = 19,
    CEMBED_PYPY_OP_TYPENAME = 21,
    CEMBED_PYPY_OP_BUILTIN_V = 23, /* a C function of 2+ arguments */
    CEMBED_PYPY_OP_BUILTIN_N = 25, /* ... of no argument */
    CEMBED_PYPY_OP_BUILTIN_O = 27, /* ... of one argument */
    CEMBED_PYPY_OP_CONSTANT = 29,
    CEMBED_PYPY_OP_CONSTANT_INT = 31,
    CEMBED_PYPY_OP_GLOBAL_VAR = 33,
    CEMBED_PYPY_OP_GLOBAL_VAR_F = 39,
    CEMBED_PYPY_OP_EXTERN_PYTHON = 41
};

enum {
    CEMBED_PYPY_F_UNION = 0x01,
    CEMBED_PYPY_F_CHECK_FIELDS = 0x02,
    CEMBED_PYPY_F_PACKED = 0x04,
    CEMBED_PYPY_F_OPAQUE = 0x10
};

/* The primitive number of an integer type known only by size and sign
 * (`typedef int... foo_t;`, an enum's underlying type): the fixed-width
 * numbers of parse_c_type.h, -1 when there is none. */
#define CEMBED_PYPY_PRIM_INT(size, is_signed)                               \
    ((size) == 1 ? ((is_signed) ? 17 : 18) :                                \
     (size) == 2 ? ((is_signed) ? 19 : 20) :                                \
     (size) == 4 ? ((is_signed) ? 21 : 22) :                                \
     (size) == 8 ? ((is_signed) ? 23 : 24) : -1)
#define CEMBED_PYPY_PRIM_FLOAT(size)                                        \
    ((size) == sizeof(float) ? 13 : (size) == sizeof(double) ? 14 :          \
     (size) == sizeof(long double) ? 15 : -2)

struct cembed_pypy_global {
    const char *name;
    void *address;
    cembed_pypy_op type_op;
    void *size_or_direct_fn;
};

struct cembed_pypy_field {
    const char *name;
    size_t field_offset;
    size_t field_size;
    cembed_pypy_op field_type_op;
};

struct cembed_pypy_struct_union {
    const char *name;
    int type_index;
    int flags;
    size_t size;
    int alignment;
    int first_field_index;
    int num_fields;
};

struct cembed_pypy_enum {
    const char *name;
    int type_index;
    int type_prim;
    const char *enumerators; /* comma-separated */
};

struct cembed_pypy_typename {
    const char *name;
    int type_index;
};

struct cembed_pypy_type_context {
    cembed_pypy_op *types;
    const struct cembed_pypy_global *globals;
    const struct cembed_pypy_field *fields;
    const struct cembed_pypy_struct_union *struct_unions;
    const struct cembed_pypy_enum *enums;
    const struct cembed_pypy_typename *typenames;
    int num_globals;
    int num_struct_unions;
    int num_enums;
    int num_typenames;
    const char *const *includes;
    int num_types;
    int flags; /* 1: the module has extern "Python" functions */
};

/* One per function implemented in Python; PyPy keeps its state in the two
 * reserved words. */
struct cembed_pypy_externpy {
    const char *name; /* "module.function" */
    size_t size_of_result;
    void *reserved1, *reserved2;
};

typedef void (*cembed_pypy_call_fn)(struct cembed_pypy_externpy *, char *);

/* A `#define NAME value` checked against the value the cdef wrote. */
static CEMBED_PYPY_UNUSED int cembed_pypy_check_int(unsigned long long got, int got_nonpos,
                                                    unsigned long long expected,
                                                    int expected_nonpos)
{
    return got_nonpos == expected_nonpos && got == expected;
}

/* Defined in the part after the user's code. */
static CEMBED_PYPY_UNUSED int cembed_start_python(void);
static CEMBED_PYPY_UNUSED const char *cembed_init_error(void);
static CEMBED_PYPY_UNUSED int cffi_start_python(void) { return cembed_start_python(); }

#endif /* CEMBED_PYPY_H */
