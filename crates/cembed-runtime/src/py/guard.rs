//! The panic guard: the one module where the runtime stops a Rust panic
//! before it unwinds into C or CPython (which would abort the host, or
//! worse). Every function C or CPython calls runs its Rust code through one
//! of these:
//!
//! * [`guard`] / [`trampoline`]: a function CPython calls (method, slot,
//!   module hook); a panic becomes `SystemError`;
//! * [`raising`]: a slot CPython calls that returns a plain C value; a
//!   panic becomes `SystemError`;
//! * [`c_entry`]: a function C calls (the `cembed_runtime_api` entries
//!   other than `call`, `atexit`/`fork` handlers, thread-exit destructors)
//!   and the slots that must not raise (`tp_dealloc`, `tp_traverse`,
//!   `m_clear`, `m_free`, capsule destructors); a panic is reported on
//!   stderr and the fallback value returned;
//! * [`piece`] / [`panicked`]: the frames that let forced unwinds pass
//!   (`pthread_exit` from the Python code's C calls, py/unwind.rs) guard
//!   each Rust piece on its own, with no landing pad around the call into
//!   C or Python.

use crate::py::{c_stderr, raise, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs the body of a function CPython calls (method, slot, module hook):
/// a Python error becomes `err` (the exception is already set), a panic
/// becomes SystemError and `err`. The one place where the runtime's Python-
/// facing entry points stop unwinding before it reaches C.
pub(crate) fn guard<T>(err: T, f: impl FnOnce() -> PyResult<T>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(PyErrSet)) => err,
        Err(_) => {
            // SAFETY: CPython calls these entry points with the GIL held.
            unsafe { raise(ffi::PyExc_SystemError, "cembed: internal error (panic)") };
            err
        }
    }
}

/// Runs a Python-facing function body: a panic becomes SystemError, never an
/// unwind into CPython.
pub(crate) fn trampoline(f: impl FnOnce() -> PyResult<*mut ffi::PyObject>) -> *mut ffi::PyObject {
    guard(std::ptr::null_mut(), f)
}

/// Runs the Rust piece `f` of a frame that lets forced unwinds pass: a panic
/// becomes `None` (the caller reports it and returns its error value).
///
/// Never inlined: the `catch_unwind` landing pad then lives in this small
/// frame, which is gone when the caller makes its call into C or Python, so
/// the caller's frame has no landing pad at all and its unwind information
/// names no personality routine. A forced unwind then passes it on the
/// frame-description data alone, without calling into the unwinder this
/// library links: glibc drives `pthread_exit()` with libgcc's unwinder, and
/// a portable wheel links LLVM's libunwind (`zig cc` has no libgcc_eh),
/// whose `_Unwind_*` functions cannot read libgcc's unwind context.
#[inline(never)]
pub(crate) fn piece<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

/// What a method returns when one of its pieces panicked: SystemError, as
/// [`guard`] raises for a whole method.
#[cold]
#[inline(never)]
pub(crate) fn panicked<T>(_py: crate::py::gil::Python<'_>, err: T) -> T {
    // SAFETY: the GIL is held (`_py`); PyExc_SystemError is one of
    // CPython's exception types, initialised before any code can call us.
    unsafe { raise(ffi::PyExc_SystemError, "cembed: internal error (panic)") };
    err
}

/// Runs `f` for a slot CPython calls that returns a plain C value (a
/// length, a status, an object pointer it makes itself): a panic becomes
/// SystemError and `err`.
pub(crate) fn raising<T>(err: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        // SAFETY: CPython calls these slots with the GIL held.
        unsafe { raise(ffi::PyExc_SystemError, "cembed: internal error (panic)") };
        err
    })
}

/// Runs `f` for a function C calls: a panic is reported on stderr (naming
/// `what`) and becomes `fallback`.
pub(crate) fn c_entry<R>(what: &str, fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        report_panic(what);
        fallback
    })
}

/// The report of a panic caught on the way to C.
#[cold]
#[inline(never)]
pub(crate) fn report_panic(what: &str) {
    c_stderr(&format!("cembed: internal error (panic) in {what}\n"));
}
