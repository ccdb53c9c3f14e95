//! Code generation: from a resolved [`cembed_model::Program`] to
//!
//! 1. the library's single C file ([`generate_c`]), laid out as in
//!    docs/architecture.md "Generated C layout": the pasted ABI header and
//!    loader glue, the user's `set_source()` code, static layout checks of the
//!    declarations against the real C definitions, one call thunk per function
//!    type, bitfield probes, the `cembed_lib` tables the runtime reads, the
//!    functions implemented in Python and `PyInit_<module>`;
//! 2. a consumer header for C users of the library ([`generate_header`]).
//!
//! No I/O and no sizes here: every size, offset and constant value in the
//! generated tables is an expression the C compiler evaluates. Output is
//! deterministic (declaration order and type order, no hash-map order, no
//! timestamps), so a rebuild of the same script gives the same bytes.
//!
//! How the tables are filled (what the runtime can rely on, beyond
//! `cembed_abi.h`):
//!
//! * `types[i]` is `TypeId(i)`; records' fields, function types' parameters
//!   and enums' enumerators are contiguous ranges, in type order.
//! * Thunks: one per non-variadic function type, in type order
//!   (`_cembed_thunk__<TypeId>`); a variadic function type has `thunk = -1`.
//!   Array and function parameters are passed as the pointers C adjusts them
//!   to (`args[i]` points to the pointer).
//! * `consts`: `#define`s (type -1, value in `negative`/`bits`) and every
//!   `static const` declaration (always through `get`, whatever its type);
//!   enumerators are only in `enumerators`.
//! * Anonymous struct/union members are fields named `""` whose type is the
//!   member's record; their offset is the member's offset in the parent.
//! * Bitfields have `offset = 0`; the record's probe locates them (field
//!   index relative to the record's first field).
//! * `externs` lists embedding_api, extern "Python" and "Python+C" functions
//!   in declaration order; `cembed_extern.fn` is the generated C function.
//! * Type names are CFFI's spellings (`"int[...]"` for a `[...]` array: the
//!   length is in `length`).
//!
//! Errors the declarations can still contain at this point (a variadic
//! function implemented in Python, a `[...]` array length nothing can give)
//! become `#error` lines naming the declaration: the compile step reports them
//! like any other C error.

// Only cembed-runtime may use `unsafe` (docs/architecture.md); the
// compiler enforces it for every other crate.
#![forbid(unsafe_code)]

mod callbacks;
mod cstr;
mod gen;
mod header;
mod pypy;
mod spell;
mod writer;

pub use writer::SourceWriter;

/// Facts about the build environment, baked into the library
/// (`cembed_build_info`) so that it needs no environment variable at run time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildInfo {
    /// `"3.11"`: the library refuses another Python in the process.
    pub python_version: String,
    /// The build interpreter (a venv's python): becomes PyConfig.executable.
    pub python_executable: String,
    /// Absolute path of `libpythonX.Y.so.1.0`.
    pub libpython: String,
    /// Absolute path of the cembed runtime extension module.
    pub runtime: String,
    pub cembed_version: String,
    /// Which interpreter the library drives.
    pub target: Target,
    /// PyPy only: the build venv's site-packages, added to `sys.path` at
    /// start (on CPython the runtime gets them from `PyConfig.executable`).
    pub site_packages: Vec<String>,
}

/// The interpreter a library is generated for.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// CPython through the cembed runtime (`cembed_abi.h`, `cembed_glue.h`).
    #[default]
    CPython,
    /// PyPy through its built-in `_cffi_backend` (`src/pypy/`): CFFI's module
    /// tables and embedding protocol; `libpython` is then libpypy's path and
    /// `runtime` is unused.
    PyPy,
}

/// What [`generate_c`] needs besides the declarations.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    /// `set_source()`'s module name (may be dotted: `pkg._foo`; `PyInit_` uses
    /// the last component).
    pub module_name: &'a str,
    /// `set_source()`'s C code, pasted verbatim; `None` if set_source() got none.
    pub c_code: Option<&'a str>,
    /// Name the compiler shows for errors in `c_code` (`#line 1 "<name>"`),
    /// e.g. `"build.py: set_source()"`.
    pub c_code_name: &'a str,
    /// Name of the generated file itself, for the `#line` directive after the
    /// user's code; `None` means `"<module_name>.c"`.
    pub c_file_name: Option<&'a str>,
    /// `embedding_init_code()`'s Python source.
    pub init_code: Option<&'a str>,
    pub build: &'a BuildInfo,
    /// `embedding_isolation()`: where the init code and calls run.
    pub isolation: cembed_abi::Isolation,
    /// For a pool: the number of interpreters (0: the number of CPUs).
    pub pool_size: u32,
}

impl<'a> Options<'a> {
    /// Options with no C code, no init code and the default file name.
    pub fn new(module_name: &'a str, build: &'a BuildInfo) -> Options<'a> {
        Options {
            module_name,
            c_code: None,
            c_code_name: "set_source",
            c_file_name: None,
            init_code: None,
            build,
            isolation: cembed_abi::Isolation::Shared,
            pool_size: 0,
        }
    }
}

/// The library's C source. Compile it with `-shared -fPIC` and link with
/// `-ldl -lpthread` (older glibc); it does not include Python.h.
pub fn generate_c(program: &cembed_model::Program, opts: &Options) -> String {
    if opts.build.target == Target::PyPy {
        return pypy::generate_c(program, opts);
    }
    let with_pool = callbacks::with_pool(program);
    gen::Gen::new(&with_pool).generate(opts)
}

/// The glue's loader as a C file of its own (`cembed_glue.h` with
/// `CEMBED_LOADER_ONLY`), the same for every library: compiled once into an
/// object, it lets a library built from `generate_c`'s file with
/// `-DCEMBED_LOADER_EXTERN` skip compiling it again (the loader is most of a
/// small library's compile). The lines before the headers are those of
/// `generate_c`'s prologue, so both parts see the same declarations.
pub fn loader_c() -> String {
    let mut s = String::from(
        "/* The loader of cembed's generated libraries (cembed_glue.h, compiled\n\
         \x20* apart); generated by cembed. */\n\
         #ifndef _CFFI_\n#define _CFFI_\n#endif\n\
         #ifndef _GNU_SOURCE\n#define _GNU_SOURCE\n#endif\n\
         #define CEMBED_LOADER_ONLY 1\n\
         #include <stddef.h>\n#include <stdint.h>\n\n",
    );
    s.push_str(cembed_abi::ABI_HEADER);
    s.push('\n');
    s.push_str(cembed_abi::GLUE_HEADER);
    s
}

/// The consumer header (`<module>.h`) for C programs using the library: the
/// declared types, the `#define` constants, the prototypes of the
/// `embedding_api()` functions and `extern` declarations of its globals, with
/// an include guard and `extern "C"` for C++.
pub fn generate_header(program: &cembed_model::Program, module_name: &str) -> String {
    header::generate(program, module_name)
}
