//! cembed-build: from a build request to a C file or a compiled library.
//!
//! The request (JSON, see docs/architecture.md "The build request" and
//! [`request`]) comes from the Python builder through `cembed request` (the
//! executable, crates/cembed-cli) or from the CLI's own commands. [`run_json`] never panics on bad input: every failure is an
//! `{"ok": false, "kind": ..., "message": ...}` response whose message says
//! what went wrong and where.
//!
//! Phases: parse + resolve ([`frontend::parse`], cembed-cdef), generate C
//! ([`frontend::generate`], cembed-codegen), write the C file atomically,
//! compile and link ([`compiler`]), then write the consumer header next to
//! the library ([`write_consumer_header`]). [`bundle`] makes a relocatable
//! folder of a built library and the Python it needs (`cembed bundle`).

// Only cembed-runtime may use `unsafe` (docs/architecture.md); the
// compiler enforces it for every other crate.
#![forbid(unsafe_code)]

pub mod bundle;
pub mod compiler;
pub mod frontend;
pub mod paths;
pub mod pkgconfig;
pub mod python;
pub mod request;

use paths::{absolute, OutputPaths};
use request::{Action, BuildError, BuildRequest, ErrorKind, PythonFacts, Response};
use std::path::{Path, PathBuf};

/// What a successful request produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The library (compile) or the C file (emit_c); `None` for check.
    pub path: Option<PathBuf>,
    /// The consumer header, when one was written.
    pub header: Option<PathBuf>,
    /// What the compiler printed for commands that succeeded (warnings):
    /// shown to the user whatever the verbosity, as CFFI users see them.
    pub warnings: Vec<String>,
}

/// Runs one JSON build request and returns the JSON response.
pub fn run_json(request: &str) -> String {
    let response = match serde_json::from_str::<serde_json::Value>(request) {
        // `cembed.bundle()` goes through the same entry point: its request
        // is not a build request.
        Ok(value) if is_bundle(&value) => return bundle::run_value(value).to_string(),
        Ok(value) => run_response(value),
        Err(e) => response(
            Err(BuildError::usage(format!("malformed build request: {e}"))),
            Vec::new(),
        ),
    };
    serde_json::to_string(&response).expect("a Response always serializes")
}

fn is_bundle(request: &serde_json::Value) -> bool {
    request.get("action").and_then(|a| a.as_str()) == Some("bundle")
}

fn run_response(request: serde_json::Value) -> Response {
    let mut log = Vec::new();
    let result = serde_json::from_value::<BuildRequest>(request)
        .map_err(|e| BuildError::usage(format!("malformed build request: {e}")))
        .and_then(|req| run(&req, &mut log));
    response(result, log)
}

fn response(result: Result<Outcome, BuildError>, log: Vec<String>) -> Response {
    match result {
        Ok(outcome) => Response {
            ok: true,
            path: outcome.path.map(|p| p.to_string_lossy().into_owned()),
            header: outcome.header.map(|p| p.to_string_lossy().into_owned()),
            warnings: outcome.warnings,
            kind: None,
            message: None,
            log,
        },
        Err(e) => Response {
            ok: false,
            path: None,
            header: None,
            warnings: Vec::new(),
            kind: Some(e.kind),
            message: Some(e.message),
            log,
        },
    }
}

/// Runs one build request. `log` receives every command run and notes worth
/// showing in verbose mode.
pub fn run(req: &BuildRequest, log: &mut Vec<String>) -> Result<Outcome, BuildError> {
    paths::module_components(&req.module_name)?;
    // Before anything is parsed or written: a mode the build Python cannot
    // run is a build error that leaves nothing behind.
    frontend::isolation(req, req.python.as_ref())?;
    match req.action {
        Action::Check => {
            frontend::parse(&req.sources)?;
            Ok(Outcome::default())
        }
        Action::EmitC => {
            let c_path = req
                .c_path
                .as_deref()
                .ok_or_else(|| BuildError::usage("emit_c needs c_path"))?;
            let python = python_facts(req)?;
            let c_path = absolute(Path::new("."), Path::new(c_path));
            let program = frontend::parse(&req.sources)?;
            let generated = frontend::generate(&program, req, python, &c_path)?;
            compiler::write_atomic(&c_path, generated.c.as_bytes())?;
            log.push(format!("wrote {}", c_path.display()));
            let header = match explicit_header(req) {
                Some(h) => write_consumer_header(&h, &generated.header, None, true, log)?,
                None => None,
            };
            Ok(Outcome {
                path: Some(c_path),
                header,
                ..Outcome::default()
            })
        }
        Action::Compile => {
            python_facts(req)?;
            let program = frontend::parse(&req.sources)?;
            compile_program(req, &program, log)
        }
    }
}

/// The compile action once the declarations are resolved: generate, write the
/// C file, compile and link, write the consumer header.
pub fn compile_program(
    req: &BuildRequest,
    program: &cembed_model::Program,
    log: &mut Vec<String>,
) -> Result<Outcome, BuildError> {
    let python = python_facts(req)?;
    if python.libpython.is_none() {
        return Err(BuildError::usage(format!(
            "{} has no shared libpython (it was built without --enable-shared); an embedding library needs one",
            python.executable
        )));
    }
    let out = OutputPaths::new(&req.tmpdir, &req.module_name, req.target.as_deref())?;
    let generated = frontend::generate(program, req, python, &out.c_file)?;
    compiler::write_atomic(&out.c_file, generated.c.as_bytes())?;
    log.push(format!("wrote {}", out.c_file.display()));
    let cc = compiler::Compiler::detect(req.debug);
    let mut warnings = Vec::new();
    cc.build(
        &compiler::LinkJob {
            cwd: &out.tmpdir,
            c_file: &out.c_file,
            options: &req.options,
            library: &out.library,
            // The cached loader object is the CPython target's glue; the
            // PyPy target's C has no loader to split out.
            generated: python.implementation == request::Implementation::CPython,
        },
        log,
        &mut warnings,
    )?;
    let header = match explicit_header(req) {
        Some(h) => write_consumer_header(&h, &generated.header, None, true, log)?,
        None => write_consumer_header(
            &out.header,
            &generated.header,
            req.c_code.as_deref(),
            false,
            log,
        )?,
    };
    pkgconfig::write_pc_file(&out.library, header.as_deref(), &req.module_name, log)?;
    Ok(Outcome {
        path: Some(out.library),
        header,
        warnings,
    })
}

/// The request's `header_path`, relative to its tmpdir.
fn explicit_header(req: &BuildRequest) -> Option<PathBuf> {
    let tmpdir = absolute(Path::new("."), Path::new(&req.tmpdir));
    req.header_path
        .as_deref()
        .map(|h| absolute(&tmpdir, Path::new(h)))
}

fn python_facts(req: &BuildRequest) -> Result<&PythonFacts, BuildError> {
    req.python.as_ref().ok_or_else(|| {
        BuildError::usage("the build request has no \"python\" facts (needed to compile or emit C)")
    })
}

/// First line of every consumer header cembed writes; a header without it is
/// the user's and is never overwritten.
pub const HEADER_MARKER: &str =
    "/* Consumer header written by cembed next to its library; rewritten by every build. */";

/// Writes the consumer header unless that would clobber a user's file: a file
/// of that name that cembed did not write, or a header of that name that the
/// set_source code itself includes (the C file sits in tmpdir, so a quoted
/// include finds files there first; CFFI's documentation example includes
/// `plugin.h` from set_source code). Skipping is logged, never an error,
/// unless the path was asked for (`explicit`): then it is an error.
pub fn write_consumer_header(
    path: &Path,
    text: &str,
    c_code: Option<&str>,
    explicit: bool,
    log: &mut Vec<String>,
) -> Result<Option<PathBuf>, BuildError> {
    if !write_owned(
        path,
        HEADER_MARKER,
        text,
        "the consumer header",
        c_code,
        explicit,
        log,
    )? {
        return Ok(None);
    }
    Ok(Some(path.to_path_buf()))
}

/// Writes `marker` + `text` to `path` unless a file there was not written by
/// cembed (its first line is not `marker`) or `c_code` includes a file of
/// that name. Returns whether it wrote; a refusal is an error if `explicit`.
pub(crate) fn write_owned(
    path: &Path,
    marker: &str,
    text: &str,
    what: &str,
    c_code: Option<&str>,
    explicit: bool,
    log: &mut Vec<String>,
) -> Result<bool, BuildError> {
    let refuse = |log: &mut Vec<String>, why: String| {
        let msg = format!("not writing {what} {}: {why}", path.display());
        if explicit {
            return Err(BuildError::new(ErrorKind::Io, msg));
        }
        log.push(msg);
        Ok(false)
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let included = c_code
        .is_some_and(|c| c.contains(&format!("\"{name}\"")) || c.contains(&format!("<{name}>")));
    if included {
        return refuse(
            log,
            "the set_source() code includes a file of that name".into(),
        );
    }
    match std::fs::read_to_string(path) {
        Ok(existing) if !existing.starts_with(marker) => {
            return refuse(
                log,
                "a file of that name exists and was not written by cembed".into(),
            );
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        // Unreadable as text (binary, permissions): not ours to replace.
        Err(e) => return refuse(log, e.to_string()),
    }
    let contents = format!("{marker}\n{text}");
    compiler::write_atomic(path, contents.as_bytes())?;
    log.push(format!("wrote {}", path.display()));
    Ok(true)
}

/// Maps an error kind to the exception the Python layer raises (documented
/// here so the CLI and Python agree).
pub fn exception_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Cdef => "CDefError",
        ErrorKind::Compile | ErrorKind::Io | ErrorKind::Usage => "VerificationError",
    }
}

#[cfg(test)]
mod tests;
