//! The two phases this crate drives but does not implement: parsing and
//! resolving the declarations (`cembed-cdef`) and generating C
//! (`cembed-codegen`). Kept in one small module so the rest of the crate
//! (requests, paths, compiler driver, outputs) does not depend on their
//! details.

use crate::request::{BuildError, BuildRequest, PythonFacts, SourceSpec};
use cembed_model::Program;

/// The generated files for one library.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The complete C file.
    pub c: String,
    /// The consumer header (declarations of the exported API for C users).
    pub header: String,
}

/// Parses and resolves every source, in order. A declaration error is a
/// `Cdef` error whose message is the rendered diagnostic (file:line:column,
/// the offending line and a caret).
pub fn parse(sources: &[SourceSpec]) -> Result<Program, BuildError> {
    let _ = sources;
    Err(not_landed("the declaration parser (cembed-cdef)"))
}

/// Generates the C file and the consumer header.
pub fn generate(
    program: &Program,
    req: &BuildRequest,
    python: &PythonFacts,
) -> Result<Generated, BuildError> {
    let _ = (program, req, python);
    Err(not_landed("the code generator (cembed-codegen)"))
}

fn not_landed(what: &str) -> BuildError {
    BuildError::usage(format!("{what} is not available in this build of cembed"))
}
