//! The objects users see: each library's module, its `ffi` and its `lib`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub(crate) mod ffi;
pub(crate) mod heap;
pub(crate) mod libobj;
pub(crate) mod libtype;
pub(crate) mod module;
pub(crate) mod state;
