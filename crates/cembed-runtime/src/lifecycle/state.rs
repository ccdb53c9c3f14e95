//! Where Python is in its life in this process: the process state machine
//! of init.rs and exit.rs (UNINIT -> STARTING -> READY, or FAILED; then the
//! exit states). Plain atomics and locks, read by the gate of every call
//! (thread.rs).

use pyo3_ffi as ffi;
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

pub(crate) const UNINIT: u8 = 0;
pub(crate) const STARTING: u8 = 1;
pub(crate) const READY: u8 = 2;
pub(crate) const FAILED: u8 = 3;

/// The exit states (exit.rs), as the process state's values.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum State {
    /// Our exit runs Python's exit work; Python is still fully usable.
    ExitHooks = 4,
    /// The gate is closed; calls inside are draining.
    Exiting = 5,
    /// We finalized Python.
    Finalized = 6,
    /// Exit went on without finalizing (a thread stayed inside Python).
    Abandoned = 7,
    /// The host finalized Python itself (`Py_FinalizeEx`, or the host is
    /// Python and exits).
    HostFinalized = 8,
}

pub(crate) static PROCESS: AtomicU8 = AtomicU8::new(UNINIT);

/// Whether we started Python (and so own its exit).
pub(crate) static OWNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The main thread state (created by Py_InitializeFromConfig on the thread
/// that started Python) and that thread: a C struct of CPython's, not a
/// Python object. Only set when we started Python.
pub(crate) static MAIN_TSTATE: AtomicPtr<ffi::PyThreadState> = AtomicPtr::new(std::ptr::null_mut());
pub(crate) static STARTER: AtomicUsize = AtomicUsize::new(0);

/// The main thread state if we started Python (else NULL). It lives until
/// exit finalizes (exit.rs), after the gate closed, so the thread it belongs to
/// may use it directly on the hot path (thread.rs).
pub(crate) fn main_tstate() -> *mut ffi::PyThreadState {
    MAIN_TSTATE.load(Ordering::SeqCst)
}

pub(crate) struct Start {
    /// Thread running the start (to refuse, not deadlock on, a re-entrant start).
    pub(crate) starter: Option<libc::pthread_t>,
    /// Why Python could not start (FAILED).
    pub(crate) error: Option<String>,
}

pub(crate) static START: Mutex<Start> = Mutex::new(Start {
    starter: None,
    error: None,
});
pub(crate) static START_CV: Condvar = Condvar::new();

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Our critical sections never leave data half-updated on panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn me() -> libc::pthread_t {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() }
}

/// True while Python may be entered (READY, or our exit's hooks phase).
/// Used by the gate, with SeqCst.
#[inline]
pub(crate) fn python_usable() -> bool {
    let s = PROCESS.load(Ordering::SeqCst);
    s == READY || s == State::ExitHooks as u8
}

/// READY → EXIT_HOOKS, if we own Python's exit and nothing else ended it.
pub(crate) fn begin_exit() -> bool {
    OWNED.load(Ordering::SeqCst) && leave_ready(State::ExitHooks)
}

/// READY → `to`; false if the process was not READY.
pub(crate) fn leave_ready(to: State) -> bool {
    PROCESS
        .compare_exchange(READY, to as u8, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
}

/// Moves the process to an exit state.
pub(crate) fn set_state(s: State) {
    PROCESS.store(s as u8, Ordering::SeqCst);
}

/// Why a call was refused: the end of "function f() called ...".
pub(crate) fn refusal_reason() -> &'static str {
    match PROCESS.load(Ordering::SeqCst) {
        x if x == State::Exiting as u8 => "while Python is being finalized at process exit",
        x if x == State::Finalized as u8 => "after Python was finalized at process exit",
        x if x == State::Abandoned as u8 => {
            "after process exit gave up Python (a thread stayed inside it)"
        }
        x if x == State::HostFinalized as u8 => "after the host finalized Python",
        _ => "while Python is not running",
    }
}

/// After fork() in the child: the forking thread's state `ts` is the one
/// that finalizes (CPython made the forking thread the main thread).
pub(crate) fn after_fork_child(ts: *mut ffi::PyThreadState) {
    if OWNED.load(Ordering::SeqCst) && !ts.is_null() {
        if MAIN_TSTATE.swap(ts, Ordering::SeqCst) != ts && cfg!(Py_3_13) {
            // The thread state Python was initialized with is gone in the
            // child, but CPython 3.13's `Py_FinalizeEx` switches to it
            // whatever thread calls it (`_PyRuntime`'s record of it is not
            // updated by `PyOS_AfterFork_Child`), and crashes. 3.9-3.12
            // finalize with the thread state they are given.
            CANNOT_FINALIZE.store(true, Ordering::SeqCst);
        }
        STARTER.store(me() as usize, Ordering::SeqCst);
    }
}

/// Set in a fork child that cannot be finalized (see `after_fork_child`).
static CANNOT_FINALIZE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// False in a CPython 3.13 fork child whose forking thread was not the one
/// that started Python: its exit runs the hooks (atexit handlers, flushing
/// the std streams) but skips `Py_FinalizeEx()`.
pub(crate) fn can_finalize() -> bool {
    !CANNOT_FINALIZE.load(Ordering::SeqCst)
}
