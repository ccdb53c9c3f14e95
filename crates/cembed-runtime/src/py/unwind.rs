//! Forced unwinds: how the runtime lets `pthread_exit()` and
//! `pthread_cancel()` pass through its frames.
//!
//! A thread can leave by a *forced unwind* while one of our frames sits
//! between C frames on its stack:
//! * CPython 3.9-3.13 ends a daemon thread that tries to take the GIL after
//!   finalization started with `pthread_exit()` (in `take_gil`). A daemon
//!   thread looping on a C function called through `lib` meets that the
//!   moment the C function returns and we re-take the GIL.
//! * A C function called from Python calls `pthread_exit()`, or its thread
//!   is `pthread_cancel()`ed while blocked in it.
//!
//! glibc implements both with `_Unwind_ForcedUnwind`, which runs the cleanup
//! and catch landing pads of every frame on the way. For Rust that means
//! (RFC 2945, "C-unwind" ABI): every function boundary the unwind crosses
//! must have the `"C-unwind"` ABI (a `"C"` boundary is `nounwind`: the
//! personality routine finds no entry for the call site and aborts), and no
//! frame may run `catch_unwind` (it catches the foreign exception and
//! aborts: "Rust cannot catch foreign exceptions"). So, on the paths where
//! C or Python code runs under one of our frames:
//! * the frame's own Rust work (argument conversion, results, error
//!   reports) is wrapped in `catch_unwind` *pieces* ([`piece`]), and the
//!   call that may not return (the thunk, `PyObject_Vectorcall`,
//!   `PyEval_RestoreThread`, the init code's `PyEval_EvalCode`) is made
//!   between them, outside any `catch_unwind`;
//! * across that call no destructor is pending (Python references and
//!   buffers are kept in `ManuallyDrop` or off the stack and released in the
//!   next piece): a forced unwind leaks them, as CFFI's C code does, instead
//!   of releasing them without the GIL; with the pieces out of line
//!   ([`piece`]) such a frame has no landing pad, so the unwind passes it
//!   without running any of our code;
//! * the functions CPython or the glue call are `extern "C-unwind"`, and the
//!   CPython functions, thunks and calls above are declared `"C-unwind"`
//!   here (the C side has no such distinction: same calling convention).
//!
//! A Rust panic still never reaches C: each piece catches its own, and the
//! code between pieces only calls C.
//!
//! The paths made this way: a C call from Python (`lib.f(...)`, a cdata
//! function pointer), a call from C into Python (`cembed_runtime_api.call`,
//! the hot path), a Python call of `lib.<extern "Python" function>`, and the
//! init code run by a call (not by `cembed_start_python()`, whose entry
//! keeps its guard; and in the portable wheel, whose unwinder is not
//! libgcc's, the init path's own bookkeeping frames have landing pads, so a
//! thread ended inside init code aborts there). Other methods that may run
//! arbitrary Python code (an `onerror`
//! handler, `ffi.init_once`'s function, an `__index__` met during a
//! conversion) still run it inside their method's guard: a forced unwind
//! through them aborts the process (docs/runtime.md, "Forced unwinds").

use pyo3_ffi as ffi;

// The same CPython functions pyo3-ffi declares `"C"`, declared `"C-unwind"`
// for the calls that may end in `pthread_exit()` (see the module comment).
#[allow(clashing_extern_declarations)]
extern "C-unwind" {
    pub(crate) fn PyEval_RestoreThread(ts: *mut ffi::PyThreadState);
    pub(crate) fn PyGILState_Ensure() -> ffi::PyGILState_STATE;
    pub(crate) fn PyEval_EvalCode(
        co: *mut ffi::PyObject,
        globals: *mut ffi::PyObject,
        locals: *mut ffi::PyObject,
    ) -> *mut ffi::PyObject;
}

/// `PyObject_Vectorcall` declared `"C-unwind"`: exported from 3.11 on; on
/// 3.9 and 3.10 an inline function of CPython's headers, which pyo3-ffi
/// mirrors in Rust with a `"C"` (nounwind) slot type, so it is mirrored here
/// once more with the slot called as `"C-unwind"`.
///
/// # Safety
/// As `PyObject_Vectorcall`: GIL held, `args[0..nargs]` valid.
#[cfg(Py_3_11)]
#[inline(always)]
pub(crate) unsafe fn vectorcall(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    #[allow(clashing_extern_declarations)]
    extern "C-unwind" {
        fn PyObject_Vectorcall(
            callable: *mut ffi::PyObject,
            args: *const *mut ffi::PyObject,
            nargsf: usize,
            kwnames: *mut ffi::PyObject,
        ) -> *mut ffi::PyObject;
    }
    // SAFETY: the same function CPython's header declares, called with the
    // caller's arguments (this function's contract is PyObject_Vectorcall's).
    unsafe { PyObject_Vectorcall(callable, args, nargsf, kwnames) }
}

/// See the 3.11+ version.
///
/// # Safety
/// As `PyObject_Vectorcall`: GIL held, `args[0..nargs]` valid.
#[cfg(not(Py_3_11))]
#[inline(always)]
pub(crate) unsafe fn vectorcall(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    type Slot = unsafe extern "C-unwind" fn(
        *mut ffi::PyObject,
        *const *mut ffi::PyObject,
        usize,
        *mut ffi::PyObject,
    ) -> *mut ffi::PyObject;
    #[allow(clashing_extern_declarations)]
    extern "C-unwind" {
        fn _PyObject_MakeTpCall(
            ts: *mut ffi::PyThreadState,
            callable: *mut ffi::PyObject,
            args: *const *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
            kwnames: *mut ffi::PyObject,
        ) -> *mut ffi::PyObject;
    }
    // SAFETY: the caller holds the GIL (this function's contract), so the
    // thread has a thread state; `callable` is a live object.
    let (ts, tp) = unsafe { (ffi::PyThreadState_Get(), ffi::Py_TYPE(callable)) };
    // SAFETY: `tp` is the live type of a live object.
    if unsafe { ffi::PyType_HasFeature(tp, ffi::Py_TPFLAGS_HAVE_VECTORCALL) } != 0 {
        // SAFETY: the type says its instances carry a vectorcall pointer at
        // `tp_vectorcall_offset` (what CPython's inline function reads).
        let slot = unsafe {
            let offset = (*tp).tp_vectorcall_offset;
            *((callable as *const u8).offset(offset) as *const Option<Slot>)
        };
        if let Some(f) = slot {
            // SAFETY: the type's own vectorcall function, called as CPython
            // calls it, with the caller's arguments; the result is checked as
            // CPython's inline function does.
            return unsafe {
                let r = f(callable, args, nargsf, kwnames);
                ffi::_Py_CheckFunctionResult(ts, callable, r, std::ptr::null())
            };
        }
    }
    let nargs = (nargsf & !ffi::PY_VECTORCALL_ARGUMENTS_OFFSET) as ffi::Py_ssize_t;
    // SAFETY: what CPython's inline function does for a callable without
    // vectorcall, with the caller's arguments.
    unsafe { _PyObject_MakeTpCall(ts, callable, args, nargs, kwnames) }
}
