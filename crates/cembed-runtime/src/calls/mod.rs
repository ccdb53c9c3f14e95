//! Calls across the C/Python boundary: the C -> Python call of every
//! exported function, its precomputed converters, calling C from Python
//! through the generated thunks, and how forced unwinds pass these frames.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub(crate) mod cfunc;
pub(crate) mod invoke;
pub(crate) mod plan;
