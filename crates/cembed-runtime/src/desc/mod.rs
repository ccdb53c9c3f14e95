//! What a generated library describes: its type table and the per-library /
//! per-extern state built from `cembed_lib`.

pub(crate) mod ctypes;
pub(crate) mod libstate;
