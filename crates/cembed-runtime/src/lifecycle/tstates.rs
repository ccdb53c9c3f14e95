//! Thread states in subinterpreters, at the level below thread.rs and
//! interp.rs: which interpreter a thread state belongs to, and the record of
//! every thread state cembed made in a subinterpreter (so that exit can
//! delete those of threads still alive before it ends the interpreter).

use crate::lifecycle::state::lock;
use pyo3_ffi as ffi;
use std::sync::Mutex;

extern "C" {
    // In CPython's API since 3.9; not in pyo3-ffi's limited set.
    fn PyThreadState_GetInterpreter(ts: *mut ffi::PyThreadState) -> *mut ffi::PyInterpreterState;
}

/// The main interpreter.
///
/// # Safety
/// Python is initialised.
pub(crate) unsafe fn main_interp() -> *mut ffi::PyInterpreterState {
    // SAFETY: contract.
    unsafe { ffi::PyInterpreterState_Main() }
}

/// The interpreter of a thread state.
///
/// # Safety
/// `ts` is a live thread state.
pub(crate) unsafe fn interp_of(ts: *mut ffi::PyThreadState) -> *mut ffi::PyInterpreterState {
    // SAFETY: contract.
    unsafe { PyThreadState_GetInterpreter(ts) }
}

/// Whether thread state `ts` belongs to the main interpreter (before 3.12
/// cembed makes no subinterpreter, and the answer is taken as yes).
///
/// # Safety
/// `ts` is a live thread state.
pub(crate) unsafe fn in_main_interp(ts: *mut ffi::PyThreadState) -> bool {
    if !cfg!(Py_3_12) {
        return true;
    }
    // SAFETY: contract.
    unsafe { interp_of(ts) == main_interp() }
}

/// A list of addresses behind a mutex the child of a `fork()` can
/// replace: one held by a thread of the parent stays locked forever there.
pub(crate) struct ForkSafe(std::cell::UnsafeCell<Mutex<Vec<(usize, usize)>>>);

// SAFETY: the Mutex is shared as usual; the cell is only written by
// `reset`, when the process has a single thread.
unsafe impl Sync for ForkSafe {}

impl ForkSafe {
    pub(crate) const fn new() -> ForkSafe {
        ForkSafe(std::cell::UnsafeCell::new(Mutex::new(Vec::new())))
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(usize, usize)>> {
        // SAFETY: the cell is only replaced while the process has one thread.
        lock(unsafe { &*self.0.get() })
    }

    /// # Safety
    /// The process has one thread (a fork child's handler).
    pub(crate) unsafe fn reset(&self) {
        // The old mutex is leaked, not dropped: it may be mid-update.
        // SAFETY: contract: nothing else reads or writes the cell now.
        unsafe { std::ptr::write(self.0.get(), Mutex::new(Vec::new())) };
    }
}

// ---- the thread states we made in subinterpreters --------------------------

/// (interpreter, thread state) of every thread state thread.rs made in a
/// subinterpreter and has not deleted yet. Plain addresses: CPython's C
/// structs, not Python objects.
static PINS: ForkSafe = ForkSafe::new();

pub(crate) fn remember_pin(interp: *mut ffi::PyInterpreterState, ts: *mut ffi::PyThreadState) {
    PINS.lock().push((interp as usize, ts as usize));
}

pub(crate) fn forget_pin(ts: *mut ffi::PyThreadState) {
    PINS.lock().retain(|&(_, t)| t != ts as usize);
}

pub(crate) fn take_pins(interp: *mut ffi::PyInterpreterState) -> Vec<*mut ffi::PyThreadState> {
    let mut v = PINS.lock();
    let mine = v
        .iter()
        .filter(|&&(i, _)| i == interp as usize)
        .map(|&(_, t)| t as *mut ffi::PyThreadState)
        .collect();
    v.retain(|&(i, _)| i != interp as usize);
    mine
}

/// Forgets every record (a fork child: the subinterpreters are gone).
///
/// # Safety
/// The process has one thread.
pub(crate) unsafe fn reset_pins() {
    // SAFETY: contract.
    unsafe { PINS.reset() };
}
