//! The C -> Python call path: `cembed_runtime_api.call`.
//!
//! Hot path, once the library is initialised and the thread pinned
//! (docs/performance.md has the instruction counts): one thread-local
//! access with errno saved (`thread::c_entry`), one acquire load (extern
//! state), one acquire load (library ready), the gate (a plain store and a
//! load on this thread's own cache line, see thread.rs),
//! `PyEval_RestoreThread` with the thread's own thread state, one converter
//! call per argument from the extern's plan (plan.rs), `PyObject_Vectorcall`,
//! the plan's result writer, `PyEval_SaveThread`. No lock, no allocation
//! beyond the Python objects themselves. Everything else (first call, errors,
//! types the plan does not cover) is out of line and `#[cold]`.

use crate::calls::invoke::{init_failed, invoke};
use crate::desc::libstate::ExternState;
use crate::entry::libs::extern_state;
use crate::lifecycle::thread;
use crate::py;
use cembed_abi::Extern;
use std::ffi::c_void;
use std::sync::atomic::Ordering;

/// Entry from C. `result` was zeroed by the caller (ABI).
///
/// No destructor and no `catch_unwind` spans the call into Python: a forced
/// unwind (unwind.rs) passes through to the host. Each Rust step guards its
/// own panics ([`crate::py::guard::piece`]).
///
/// # Safety
/// `ext` is a generated extern descriptor; `args[i]` points to argument i of
/// its C type; `result` points to storage for the result (NULL for void).
#[inline(always)]
pub(crate) unsafe fn call(ext: *mut Extern, args: *mut *mut c_void, result: *mut c_void) {
    let entry = thread::c_entry();
    // SAFETY: `ext` is a generated extern descriptor (contract).
    let es = unsafe { extern_state(ext) };
    if !es.lib().shared_ready.load(Ordering::Acquire) {
        let (tls, outer) = entry.parts();
        // SAFETY: as for this function.
        unsafe { call_slow(tls, outer, es, args, result) };
        return entry.finish();
    }
    // SAFETY: the library's init passed, so Python was started.
    let Some(leave) = (unsafe { thread::enter_python(&entry) }) else {
        // The process is exiting, or Python was finalized: said, then zero.
        refused(es);
        return entry.finish();
    };
    // SAFETY: a ready shared library's externs point to their cache in its
    // one instance (never freed); this thread holds the GIL now
    // (enter_python); `args` and `result` are the extern's, as the caller
    // promises.
    unsafe {
        let c = &*es.main_cache.load(Ordering::Relaxed);
        invoke(es, c, args, result, entry.tls())
    };
    leave.leave();
    entry.finish();
}

/// Every call but the shared library's common case: its first call (the
/// init), a library whose init failed, and every call into an isolated
/// library or a pool (interpreter chosen by lifecycle/interp.rs, started on
/// first use, entered with this thread's own thread state there).
///
/// # Safety
/// As for [`call`].
#[inline(never)]
unsafe fn call_slow(
    tls: *const thread::Tls,
    outer: i32,
    es: &ExternState,
    args: *mut *mut c_void,
    result: *mut c_void,
) {
    let entry = thread::CallEntry::from_parts(tls, outer);
    let ls = es.lib();
    if ls.mode == cembed_abi::Isolation::Shared {
        let inst = ls.main_inst();
        if !inst.init.is_ready() && init_failed(es, inst) {
            return;
        }
        // SAFETY: the library's init passed, so Python was started.
        let Some(leave) = (unsafe { thread::enter_python(&entry) }) else {
            refused(es);
            return;
        };
        // SAFETY: this thread holds the GIL now (enter_python); `args` and
        // `result` are the extern's (contract).
        unsafe { invoke(es, inst.cache(es), args, result, entry.tls()) };
        leave.leave();
        return;
    }

    let inst = crate::lifecycle::interp::pick(&entry, es, es.lib());
    if !inst.init.is_ready() && init_failed(es, inst) {
        return;
    }
    let interp = inst.interp.load(Ordering::Acquire);
    // SAFETY: the instance's init passed (or runs on this thread), so its
    // interpreter was started and lives while the gate lets us in.
    let Some(leave) = (unsafe { thread::enter_sub(&entry, interp) }) else {
        refused(es);
        return;
    };
    // SAFETY: this thread holds the interpreter's GIL now; `args` and
    // `result` are the extern's (contract).
    unsafe { invoke(es, inst.cache(es), args, result, entry.tls()) };
    leave.leave();
}

/// A call the exit gate refused: one line on stderr, never a silent zero.
#[cold]
#[inline(never)]
fn refused(es: &ExternState) {
    let said = crate::py::guard::piece(|| {
        py::c_stderr(&format!(
            "cembed: function {}() called {}.  Returning 0.\n",
            es.qualname,
            crate::lifecycle::state::refusal_reason()
        ))
    });
    if said.is_none() {
        crate::py::guard::report_panic("call");
    }
}
