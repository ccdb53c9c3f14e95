//! Calls across the C/Python boundary: running an extern's attached Python
//! function (from C through entry/call.rs, or from Python), the hot path's
//! precomputed converters, and calling C from Python through the generated
//! thunks.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub(crate) mod cfunc;
pub(crate) mod invoke;
pub(crate) mod plan;
