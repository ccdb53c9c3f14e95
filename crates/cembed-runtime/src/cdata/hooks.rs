//! What the data model needs from the layers above it. cdata/ sits below
//! the calls into C and the objects users see (`ffi`, `lib`), yet a cdata
//! must call a function pointer through the generated thunks, accept
//! `lib.f` where a function pointer is expected, raise `ffi.error` and be made
//! by `ffi.buffer(...)`. Those layers register their functions here
//! (objects/module.rs, when a module is executed), before any cdata or
//! data-model context can exist.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::desc::libstate::LibState;
use crate::py::PyResult;
use pyo3_ffi as ffi;
use std::ffi::{c_void, CStr};
use std::sync::OnceLock;

/// The functions the data model calls upward.
pub(crate) struct Hooks {
    /// `ffi.error` of a module (made on first use). GIL held.
    pub(crate) ffi_error: unsafe fn(*mut ffi::PyObject) -> PyResult<*mut ffi::PyObject>,
    /// If the object is a function found on a `lib` (a C function or a
    /// Python-implemented one): its library, function type index and
    /// address. GIL held.
    pub(crate) lib_function:
        unsafe fn(*mut ffi::PyObject) -> Option<(&'static LibState, u32, *mut c_void)>,
    /// Calls a C function pointer of function type `fty` with Python
    /// arguments (a cdata's `__call__`). GIL held.
    pub(crate) call_fnptr: unsafe fn(
        &LibState,
        u32,
        &CStr,
        *mut c_void,
        *mut ffi::PyObject,
        *mut ffi::PyObject,
    ) -> *mut ffi::PyObject,
    /// The buffer type's `tp_new` (`ffi.buffer(cdata, size)`).
    pub(crate) buffer_new: unsafe extern "C" fn(
        *mut ffi::PyObject,
        *mut ffi::PyObject,
        *mut ffi::PyObject,
    ) -> *mut ffi::PyObject,
}

static HOOKS: OnceLock<Hooks> = OnceLock::new();

/// Registers the hooks (the first registration wins: they are the same
/// functions every time).
pub(crate) fn register(hooks: Hooks) {
    let _ = HOOKS.set(hooks);
}

/// The hooks, for code that runs on a data-model context (whose module
/// registered them before making it).
pub(crate) fn hooks() -> &'static Hooks {
    HOOKS
        .get()
        .expect("cembed: data model used before any module registered its hooks")
}
