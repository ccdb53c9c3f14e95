//! The runtime's life in a process: where Python comes from, starting it and
//! running each library's init code, host threads, process exit and fork.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub(crate) mod exit;
pub(crate) mod init;
pub(crate) mod interp;
pub(crate) mod location;
pub(crate) mod state;
pub(crate) mod thread;
pub(crate) mod tstates;
