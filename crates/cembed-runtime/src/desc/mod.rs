//! What a generated library describes: its type table and the per-library /
//! per-extern state built from `cembed_lib`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub(crate) mod ctypes;
pub(crate) mod libstate;
