//! The two phases this crate drives but does not implement: parsing and
//! resolving the declarations (`cembed-cdef`) and generating C
//! (`cembed-codegen`). Kept in one small module so the rest of the crate
//! (requests, paths, compiler driver, outputs) does not depend on their
//! details.

use crate::request::{
    isolation_name, BuildError, BuildRequest, ErrorKind, Implementation, PythonFacts, SourceKind,
    SourceSpec,
};
use cembed_abi::Isolation;
use cembed_model::Program;
use std::path::Path;

/// The generated files for one library.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The complete C file.
    pub c: String,
    /// The consumer header (declarations of the exported API for C users).
    pub header: String,
}

/// Parses and resolves every source, in order. A declaration error is a
/// `Cdef` error whose message is the rendered diagnostic.
///
/// Each source is named after the file of its origin and preceded by blank
/// lines up to the origin's line, so the rendered `--> file:line:column`
/// is the place in the build script (or header file) where the declaration
/// is written, not a line number inside the string.
pub fn parse(sources: &[SourceSpec]) -> Result<Program, BuildError> {
    let parser_sources: Vec<cembed_cdef::Source> = sources
        .iter()
        .map(|s| cembed_cdef::Source {
            name: origin_file(&s.origin).to_string(),
            text: format!(
                "{}{}",
                "\n".repeat(origin_line(&s.origin) as usize - 1),
                s.text
            ),
            kind: match s.kind {
                SourceKind::EmbeddingApi => cembed_cdef::SourceKind::EmbeddingApi,
                SourceKind::Cdef => cembed_cdef::SourceKind::Cdef,
                SourceKind::Include => cembed_cdef::SourceKind::Included,
            },
            override_: s.override_,
            // `packed=True` is `pack=1` (the builder refuses both at once).
            pack: if s.packed {
                Some(1)
            } else {
                s.pack.filter(|&p| p > 0)
            },
        })
        .collect();
    cembed_cdef::parse_program(&parser_sources).map_err(|d| {
        BuildError::new(
            ErrorKind::Cdef,
            d.render(&parser_sources).trim_end().to_string(),
        )
    })
}

/// Generates the C file and the consumer header. `c_file` is where the C
/// file will be written (named in its `#line` directives, so compiler
/// messages about generated code point at a real file).
pub fn generate(
    program: &Program,
    req: &BuildRequest,
    python: &PythonFacts,
    c_file: &Path,
) -> Result<Generated, BuildError> {
    let (isolation, pool_size) = isolation(req, Some(python))?;
    let libpython = python.libpython.clone().unwrap_or_default();
    let build = cembed_codegen::BuildInfo {
        python_version: python.version.clone(),
        python_executable: python.executable.clone(),
        libpython,
        runtime: python.runtime.clone(),
        cembed_version: python.cembed_version.clone(),
        target: match python.implementation {
            Implementation::CPython => cembed_codegen::Target::CPython,
            Implementation::PyPy => cembed_codegen::Target::PyPy,
        },
        site_packages: python.site_packages.clone(),
    };
    // Compiler messages about set_source() code point into the build script:
    // the code is named after the origin's file (codegen writes `#line 1
    // "<name>"` before it) and preceded by blank lines up to the origin's
    // line, as the declarations are for the parser.
    let (c_code_name, c_code) = match (req.c_origin.as_deref(), req.c_code.as_deref()) {
        (Some(origin), Some(code)) => (
            origin_file(origin).to_string(),
            Some(format!(
                "{}{code}",
                "\n".repeat(origin_line(origin) as usize - 1)
            )),
        ),
        (_, code) => ("set_source()".to_string(), code.map(str::to_string)),
    };
    let c_file_name = c_file.to_string_lossy();
    let opts = cembed_codegen::Options {
        module_name: &req.module_name,
        c_code: c_code.as_deref(),
        c_code_name: &c_code_name,
        c_file_name: Some(&c_file_name),
        init_code: req.init_code.as_deref(),
        build: &build,
        isolation,
        pool_size,
    };
    Ok(Generated {
        c: cembed_codegen::generate_c(program, &opts),
        header: cembed_codegen::generate_header(program, &req.module_name),
    })
}

/// The request's isolation mode and pool size ([`BuildRequest::isolation_mode`]),
/// and whether the Python the library is built for can run it: an own-GIL
/// subinterpreter (`"isolated"`, `"pool"`) needs CPython 3.12 or newer
/// (PEP 684), and PyPy has no subinterpreters at all. Checked here, where
/// the target is decided, so the Python builder, the CLI and any other
/// front end of `cembed request` get the same build error, before anything
/// is written. `python` is `None` for a `check` request (mode and size only).
pub fn isolation(
    req: &BuildRequest,
    python: Option<&PythonFacts>,
) -> Result<(Isolation, u32), BuildError> {
    let (isolation, pool_size) = req.isolation_mode()?;
    let Some(python) = python else {
        return Ok((isolation, pool_size));
    };
    if isolation == Isolation::Shared {
        return Ok((isolation, pool_size));
    }
    let name = isolation_name(isolation);
    const OR_SHARED: &str =
        "or use isolation \"shared\" (the default), which works with every Python";
    match python.implementation {
        Implementation::PyPy => Err(BuildError::usage(format!(
            "isolation {name:?} is not available on PyPy (the build Python {} is PyPy {}): \
             PyPy has no subinterpreters; build with CPython 3.12 or newer, {OR_SHARED}",
            python.executable, python.version
        ))),
        Implementation::CPython => {
            // "3.12" (the facts' form; "3.12.1" reads the same).
            let mut parts = python.version.split('.').map(|p| p.parse::<u32>().ok());
            let version = match (parts.next(), parts.next()) {
                (Some(Some(major)), Some(Some(minor))) => Some((major, minor)),
                _ => None,
            };
            match version {
                Some(v) if v >= (3, 12) => Ok((isolation, pool_size)),
                Some(_) => Err(BuildError::usage(format!(
                    "isolation {name:?} needs CPython 3.12 or newer (PEP 684: subinterpreters \
                     with their own GIL), but the build Python {} is {}; build with Python 3.12+, {OR_SHARED}",
                    python.executable, python.version
                ))),
                None => Err(BuildError::usage(format!(
                    "isolation {name:?} needs CPython 3.12 or newer, and the build Python {} \
                     gives no readable version ({:?})",
                    python.executable, python.version
                ))),
            }
        }
    }
}

/// The file part of an origin `"<file>:<line>"`.
pub fn origin_file(origin: &str) -> &str {
    match origin.rsplit_once(':') {
        Some((file, line)) if line.parse::<u32>().is_ok() => file,
        _ => origin,
    }
}

/// The line part of an origin `"<file>:<line>"` (1 when absent).
pub fn origin_line(origin: &str) -> u32 {
    match origin.rsplit_once(':') {
        Some((_, line)) => line.parse().unwrap_or(1).max(1),
        None => 1,
    }
}
