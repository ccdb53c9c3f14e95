//! The build request and response: the JSON contract between the Python
//! builder (`python/cembed`), the CLI and this crate. The format is described
//! in docs/architecture.md, "The build request"; this module is its one Rust
//! definition. Unknown fields are rejected so a typo in the Python layer is a
//! clear error instead of a silently ignored option.

use cembed_abi::Isolation;
use serde::{Deserialize, Serialize};

/// What to do with the declarations.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Parse and resolve the sources only (sent by every `cdef()` /
    /// `embedding_api()` call so that a `CDefError` points at that call).
    Check,
    /// Write the generated C file to `c_path` and nothing else.
    EmitC,
    /// Generate, compile and link the library.
    Compile,
}

/// Which builder call a source came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    EmbeddingApi,
    Cdef,
    /// Another builder's declarations, given to `ffi.include()`.
    Include,
}

/// One `cdef()` / `embedding_api()` call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    pub kind: SourceKind,
    pub text: String,
    /// `"<file>:<line>"` of the call in the build script: the first line of
    /// `text` is that line, so diagnostics point into the build script.
    pub origin: String,
    #[serde(default)]
    pub packed: bool,
    /// CFFI's `pack=N` (`packed=True` is `pack=1`).
    #[serde(default)]
    pub pack: Option<u32>,
    #[serde(default, rename = "override")]
    pub override_: bool,
}

/// `set_source()` keyword options, as distutils/CFFI name them. Relative
/// paths are relative to `tmpdir`, as in CFFI (which `chdir`s there before
/// compiling).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BuildOptions {
    pub include_dirs: Vec<String>,
    pub library_dirs: Vec<String>,
    pub libraries: Vec<String>,
    /// `(NAME, VALUE)`: `-DNAME=VALUE`, or `-DNAME` when VALUE is null.
    pub define_macros: Vec<(String, Option<String>)>,
    pub undef_macros: Vec<String>,
    pub extra_compile_args: Vec<String>,
    pub extra_link_args: Vec<String>,
    /// Extra C files compiled and linked into the library.
    pub sources: Vec<String>,
    pub runtime_library_dirs: Vec<String>,
    /// Object files or archives added to the link as they are.
    pub extra_objects: Vec<String>,
}

/// Facts about the Python the library is built for. Baked into the library
/// (`cembed_build_info`) so that no environment variable is needed at run time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonFacts {
    /// `"3.11"`.
    pub version: String,
    /// `sys.executable`, not resolved through symlinks: a venv's python, so the
    /// embedded interpreter gets that venv's site-packages.
    pub executable: String,
    /// Absolute path of the shared libpython; `None` when the interpreter was
    /// built without `--enable-shared` (a compile then fails with a clear message).
    pub libpython: Option<String>,
    /// Absolute path of `cembed/_runtime*.so` (empty for PyPy, which has none).
    pub runtime: String,
    pub cembed_version: String,
    /// `"cpython"` (the default) or `"pypy"`: which interpreter the library
    /// drives. For PyPy, `libpython` is the path of libpypy (docs/pypy.md).
    #[serde(default)]
    pub implementation: Implementation,
    /// PyPy: the build venv's site-packages directories, added to `sys.path`
    /// when the library starts.
    #[serde(default)]
    pub site_packages: Vec<String>,
}

/// The interpreter named by [`PythonFacts::implementation`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Implementation {
    #[default]
    CPython,
    PyPy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildRequest {
    pub action: Action,
    pub module_name: String,
    #[serde(default)]
    pub sources: Vec<SourceSpec>,
    /// `set_source()`'s C code; `None` if set_source() was not called.
    #[serde(default)]
    pub c_code: Option<String>,
    /// `"<file>:<line>"` of the set_source() call (names the C code in
    /// compiler messages).
    #[serde(default)]
    pub c_origin: Option<String>,
    #[serde(default)]
    pub options: BuildOptions,
    #[serde(default)]
    pub init_code: Option<String>,
    #[serde(default)]
    pub init_origin: Option<String>,
    /// `embedding_isolation()`: `"shared"` (the default), `"isolated"` or
    /// `"pool"`.
    #[serde(default)]
    pub isolation: Option<String>,
    /// `embedding_isolation("pool", size)`; `None`: the number of CPUs.
    #[serde(default)]
    pub isolation_size: Option<u32>,
    /// Required by `compile` and `emit_c`.
    #[serde(default)]
    pub python: Option<PythonFacts>,
    /// Where the C file and objects go; `target` and relative option paths are
    /// relative to it.
    #[serde(default = "default_tmpdir")]
    pub tmpdir: String,
    #[serde(default)]
    pub target: Option<String>,
    /// `emit_c` only.
    #[serde(default)]
    pub c_path: Option<String>,
    /// Where to write the consumer header (relative to `tmpdir`). `compile`
    /// writes it next to the library when this is absent; `emit_c` writes
    /// one only when this is given. An explicit path that cannot be written
    /// (a file cembed did not write is there) is an error.
    #[serde(default)]
    pub header_path: Option<String>,
    #[serde(default)]
    pub verbose: bool,
    #[serde(default)]
    pub debug: bool,
}

fn default_tmpdir() -> String {
    ".".to_string()
}

impl BuildRequest {
    /// `isolation` and `isolation_size`, checked ([`isolation_from`]).
    pub fn isolation_mode(&self) -> Result<(Isolation, u32), BuildError> {
        isolation_from(self.isolation.as_deref(), self.isolation_size)
    }
}

/// An isolation mode and pool size as the request gives them, checked: one
/// of `"shared"`, `"isolated"`, `"pool"` (absent: `"shared"`), a size only with `"pool"`
/// and never 0. Returns the mode and the size codegen emits (0: the number
/// of CPUs at run time). Whether the build Python can run the mode is
/// decided with the target ([`crate::frontend::isolation`]).
pub fn isolation_from(
    mode: Option<&str>,
    size: Option<u32>,
) -> Result<(Isolation, u32), BuildError> {
    let isolation = match mode.unwrap_or("shared") {
        "shared" => Isolation::Shared,
        "isolated" => Isolation::Isolated,
        "pool" => Isolation::Pool,
        other => {
            return Err(BuildError::usage(format!(
                "unknown isolation mode {other:?}: the modes are \"shared\" (the default), \"isolated\" and \"pool\""
            )))
        }
    };
    match (isolation, size) {
        (Isolation::Pool, Some(0)) => Err(BuildError::usage(
            "the pool size must be at least 1 (got 0); leave it out for the number of CPUs",
        )),
        (Isolation::Pool, size) => Ok((isolation, size.unwrap_or(0))),
        (_, Some(n)) => Err(BuildError::usage(format!(
            "isolation {:?} takes no size (got {n}): only \"pool\" has one",
            isolation_name(isolation)
        ))),
        (_, None) => Ok((isolation, 0)),
    }
}

/// The request's (and the builder API's) name of a mode.
pub fn isolation_name(isolation: Isolation) -> &'static str {
    match isolation {
        Isolation::Shared => "shared",
        Isolation::Isolated => "isolated",
        Isolation::Pool => "pool",
    }
}

/// The CLI's `--isolation MODE[:SIZE]` (`pool`, `pool:4`, `isolated`) as the
/// request's `isolation` and `isolation_size`, checked like a request.
pub fn parse_isolation_arg(arg: &str) -> Result<(String, Option<u32>), String> {
    let (mode, size) = match arg.split_once(':') {
        Some((mode, size)) => {
            let n = size.parse::<u32>().map_err(|_| {
                format!("bad size {size:?} in {arg:?}: the size is a positive integer (pool:4)")
            })?;
            (mode, Some(n))
        }
        None => (arg, None),
    };
    isolation_from(Some(mode), size).map_err(|e| e.message)?;
    Ok((mode.to_string(), size))
}

/// Why a request failed; the Python layer maps `Cdef` to `CDefError` and the
/// others to `VerificationError`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The declarations are wrong (syntax, unknown type, ...).
    Cdef,
    /// The C compiler or linker failed.
    Compile,
    /// Reading or writing a file failed.
    Io,
    /// The request itself is wrong (malformed JSON, missing field, bad target).
    Usage,
}

/// A failed request: what and where, ready to show to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    pub kind: ErrorKind,
    pub message: String,
}

impl BuildError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        BuildError {
            kind,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }
    pub fn io(what: impl std::fmt::Display, err: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{what}: {err}"))
    }
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {}

/// The JSON response: `{"ok": true, "path": ..., "header": ..., "log": [...]}`
/// or `{"ok": false, "kind": ..., "message": ..., "log": [...]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    /// The library (compile), the C file (emit_c), or null (check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The consumer header written next to the library, if one was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Compiler output of successful commands (warnings), shown whatever
    /// the verbosity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Every command run (and notes such as a header not written), in order.
    pub log: Vec<String>,
}
