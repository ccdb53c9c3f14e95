//! Process exit, fork and the host's signals: the parts of the process
//! lifecycle that happen after Python started (`init.rs` starts it).
//!
//! ## Exit, when we started Python
//!
//! ```text
//!   READY ──runtime destructor──► EXIT_HOOKS ──hooks ran──► EXITING ──drained──► FINALIZED
//!     │                              (Python usable)         (gate closed)  └──not drained──► ABANDONED
//!     └──the host's own Py_FinalizeEx()──► HOST_FINALIZED
//! ```
//!
//! * **When.** Python is finalized by the runtime's *destructor*
//!   (`.fini_array`), which glibc runs from `_dl_fini`, after every `atexit`
//!   handler and every C++ static destructor of the host (both run earlier,
//!   in `exit()`'s handler list, whatever their registration order). So a
//!   host's exit hooks, registered before or after its first call, and its
//!   static destructors still reach Python. A call refused later (another
//!   shared object's destructor) prints one line saying why.
//! * **Hooks (EXIT_HOOKS, Python fully usable).** On a helper thread (so
//!   that every wait has a deadline, the GIL's included): take the GIL; make
//!   this thread `threading`'s main thread; join the non-daemon Python
//!   threads, all of them within [`JOIN_DEADLINE`] (one still running then
//!   is treated as a daemon thread: finalization ends it); run the Python
//!   `atexit` handlers (a `SystemExit` in one is reported like any other
//!   error and never reaches the host's exit status); flush `sys.stdout` and
//!   `sys.stderr`. Calls from those handlers, and from the threads being
//!   joined, into C and back into Python work as usual.
//! * **Drain (EXITING).** The gate (thread.rs) closes: no new call from C
//!   enters; calls already inside get [`EXIT_GRACE`] to leave.
//! * **Finalize.** If none is left inside, `Py_FinalizeEx()` runs with the
//!   main thread state (FINALIZED). Otherwise finalizing would crash or
//!   block the threads inside, so it is skipped: the helper keeps the GIL,
//!   so no Python code runs during the rest of the C teardown (ABANDONED).
//! * **Deadlines.** The destructor waits at most [`GIL_DEADLINE`] for the
//!   helper to get the GIL (a host thread may hold it in a long C call),
//!   then at most [`HOOKS_DEADLINE`] for the rest. Past a deadline the exit
//!   goes on without Python: what was not done (atexit handlers, flushing,
//!   finalization) is skipped, and the helper, should it get the GIL later,
//!   keeps it without running anything. docs/runtime.md lists this.
//! * **The host finalizes Python itself** (it called `Py_FinalizeEx()`): a
//!   Python `atexit` callback registered at start sees that the finalization
//!   is not ours and records HOST_FINALIZED; from then on calls are refused
//!   (with a message) and the destructor does nothing.
//!
//! ## Exit, when the host is Python
//! The interpreter is the host's: a Python `atexit` callback closes the
//! gate and waits [`EXIT_GRACE`] for C threads inside Python to leave
//! (`init::host_exiting`); Python finalizes itself.
//!
//! ## fork()
//! `pthread_atfork` handlers, registered when we start Python: before the
//! fork the forking thread takes the GIL and `PyOS_BeforeFork()` (the
//! interpreter's locks), so no other thread holds any of them at the moment
//! of the fork; the parent then calls `PyOS_AfterFork_Parent()`, the child
//! `PyOS_AfterFork_Child()` (which drops every other thread's state), and
//! both release the GIL. If the forking thread already holds the GIL,
//! whoever forks knows Python (`os.fork()` does all of this itself) and the
//! handlers only fix our own bookkeeping in the child: the forking thread's
//! state becomes the main thread state (the one exit finalizes with), and
//! the registry of host threads keeps only the forking thread.
//!
//! ## Signals
//! CPython's `_signal` module installs its SIGINT handler when it is first
//! imported if SIGINT is at its default, whatever the config says. The
//! runtime imports it right after starting Python and puts SIGINT back to
//! the host's default (`init::keep_host_sigint`), so Ctrl-C still stops a
//! host that never set a handler, unless Python code calls
//! `signal.signal()` itself.

use crate::lifecycle::state::State;
use crate::lifecycle::thread;
use crate::py;
use crate::py::gil::Python;
use pyo3_ffi as ffi;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long exit waits for host threads still inside Python to leave.
pub(crate) const EXIT_GRACE: Duration = Duration::from_millis(500);
/// How long exit joins non-daemon Python threads, all together.
const JOIN_DEADLINE: Duration = Duration::from_secs(1);
/// How long the exit helper may wait for the GIL.
const GIL_DEADLINE: Duration = Duration::from_secs(2);
/// How long the atexit handlers, the joins and finalization may take in all.
const HOOKS_DEADLINE: Duration = Duration::from_secs(30);

// The runtime's destructor: see the module comment ("When"). A
// `.fini_array` entry rather than a crate: it is one function pointer, and
// the `ctor`/`dtor` crates register through `atexit` on some targets, which
// would run before the host's own exit hooks.
#[used]
#[link_section = ".fini_array"]
static FINI: extern "C" fn() = at_process_exit;

extern "C" fn at_process_exit() {
    crate::py::guard::c_entry("process exit", (), || {
        if !crate::lifecycle::state::begin_exit() {
            return;
        }
        // SAFETY: Python runs (we started it and it was READY).
        if unsafe { thread::holds_gil() } {
            // exit() from a thread that holds the GIL (a C function called
            // with it held): nobody else can take it; run the hooks here and
            // keep it.
            // SAFETY: GIL held by this thread.
            let py = unsafe {
                let _ = ffi::PyGILState_Ensure();
                Python::assume_gil_acquired()
            };
            run_exit_hooks(py);
            crate::lifecycle::state::set_state(State::Abandoned);
            return;
        }
        let shared = Arc::new(Helper {
            phase: Mutex::new(WAITING_GIL),
            cv: Condvar::new(),
        });
        let exiting = thread::current_slot();
        let h = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("cembed-exit".into())
            .spawn(move || exit_helper(&h, exiting));
        if spawned.is_err() {
            py::c_stderr("cembed: could not start the exit thread; Python is not finalized\n");
            crate::lifecycle::state::set_state(State::Abandoned);
            return;
        }
        if shared.wait_past(WAITING_GIL, GIL_DEADLINE) == WAITING_GIL {
            // Still waiting for the GIL: give up, unless it came just now.
            if shared.swap_if(WAITING_GIL, TOO_LATE) {
                py::c_stderr(
                    "cembed: exit: the GIL stayed busy (a thread inside Python did not \
                     release it); Python's atexit handlers and finalization are skipped\n",
                );
                crate::lifecycle::state::set_state(State::Abandoned);
                return;
            }
        }
        if shared.wait_past(HAVE_GIL, HOOKS_DEADLINE) == HAVE_GIL {
            py::c_stderr(
                "cembed: exit: Python's exit (atexit handlers, finalization) did not end in \
                 time; the process exits without waiting for it\n",
            );
        }
    });
}

/// `Py_FinalizeEx()` on this thread.
///
/// Up to 3.12 with a thread state of its own: the main thread state
/// borrowed from its thread fails CPython's GIL checks (`PyGILState_Check`,
/// made by every allocation under `PYTHONMALLOC=debug`), which compare the
/// current thread state with the one registered for the OS thread;
/// `Py_FinalizeEx` deletes every other thread state, the main one included.
/// 3.13 frees a thread state made here while it still uses it (valgrind:
/// `_PyThreadState_DeleteList` then `flush_std_files`), so there the main
/// thread state is borrowed; the debug allocator's check then fails, which
/// is why `PYTHONMALLOC=debug` runs only on older versions (docs/runtime.md).
///
/// # Safety
/// Python runs; the gate is closed and no host thread is inside Python, so
/// nobody uses the main thread state (its thread is outside Python, or is
/// the one exiting, which is in exit()).
unsafe fn finalize() {
    let main = if cfg!(Py_3_13) {
        crate::lifecycle::state::main_tstate()
    } else {
        std::ptr::null_mut()
    };
    // SAFETY: Python runs and nobody else uses the main thread state
    // (contract), so this thread may take the GIL with it (3.13), or with a
    // thread state of its own through the PyGILState API, then release the
    // modules and finalize.
    unsafe {
        if main.is_null() {
            let _ = ffi::PyGILState_Ensure();
        } else {
            ffi::PyEval_RestoreThread(main);
        }
        crate::desc::libstate::release_modules(Python::assume_gil_acquired(), std::ptr::null_mut());
        ffi::Py_FinalizeEx();
    }
    crate::lifecycle::state::set_state(State::Finalized);
}

const WAITING_GIL: u8 = 0;
const HAVE_GIL: u8 = 1;
const TOO_LATE: u8 = 2;
const DONE: u8 = 3;

/// The exiting thread and the exit helper agree on the helper's phase.
struct Helper {
    phase: Mutex<u8>,
    cv: Condvar,
}

impl Helper {
    fn lock(&self) -> std::sync::MutexGuard<'_, u8> {
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits at most `d` for the phase to leave `from`; returns the phase.
    fn wait_past(&self, from: u8, d: Duration) -> u8 {
        let end = Instant::now() + d;
        let mut p = self.lock();
        while *p == from {
            let now = Instant::now();
            if now >= end {
                break;
            }
            p = self
                .cv
                .wait_timeout(p, end - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *p
    }

    /// Moves the phase from `from` to `to`; false if it was not `from`.
    fn swap_if(&self, from: u8, to: u8) -> bool {
        let mut p = self.lock();
        if *p != from {
            return false;
        }
        *p = to;
        self.cv.notify_all();
        true
    }
}

/// The exit work, on its own thread (see the module comment).
fn exit_helper(h: &Helper, exiting: Option<thread::SlotId>) {
    // SAFETY: Python runs; this new thread has no thread state, so Ensure
    // makes one and takes the GIL.
    let g = unsafe { ffi::PyGILState_Ensure() };
    if !h.swap_if(WAITING_GIL, HAVE_GIL) {
        // Too late: the process is tearing down without us. Keep the GIL
        // so no Python code runs from now on.
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    // The subinterpreters' exit hooks first (interp.rs), each with its own
    // GIL: this thread gives the main one up meanwhile.
    // SAFETY: GIL held (g); SaveThread gives it up with this thread's main
    // thread state, which RestoreThread takes back.
    unsafe {
        let main = ffi::PyEval_SaveThread();
        crate::lifecycle::interp::run_sub_exit_hooks(run_exit_hooks);
        ffi::PyEval_RestoreThread(main);
    }
    // SAFETY: GIL held (g) until the release below.
    run_exit_hooks(unsafe { Python::assume_gil_acquired() });
    // SAFETY: `g` is this thread's Ensure; drop this helper's thread state,
    // the GIL goes with it.
    unsafe { ffi::PyGILState_Release(g) };
    crate::lifecycle::state::set_state(State::Exiting);
    if thread::drained(EXIT_GRACE, exiting) {
        // SAFETY: drained; this thread holds no GIL.
        let subs_ended = unsafe { crate::lifecycle::interp::end_subinterpreters(run_exit_hooks) };
        if !subs_ended {
            crate::lifecycle::state::set_state(State::Abandoned);
        } else if crate::lifecycle::state::can_finalize() {
            // SAFETY: drained, see finalize().
            unsafe { finalize() };
        } else {
            // See crate::lifecycle::state::can_finalize; the hooks ran.
            crate::lifecycle::state::set_state(State::Abandoned);
        }
    } else {
        crate::lifecycle::state::set_state(State::Abandoned);
        h.swap_if(HAVE_GIL, DONE);
        // Keep the GIL: the threads still inside stay blocked at their next
        // GIL request until the process is gone.
        // SAFETY: Python runs (not finalized).
        unsafe {
            let _ = ffi::PyGILState_Ensure();
        }
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    h.swap_if(HAVE_GIL, DONE);
}

/// The part of exit that runs with Python fully usable: `threading`'s
/// shutdown (bounded), the `atexit` handlers, flushing the std streams.
///
/// `Thread.join` calls `current_thread()`, which makes this (non-Python)
/// thread a `_DummyThread`; on 3.13 that registers a thread-local whose
/// `__del__` needs the `threading` module. It is dropped here, while the
/// module lives: left to the end of a subinterpreter (`Py_EndInterpreter`
/// clears the last thread state after the modules) it fails with "'NoneType'
/// object does not support the context manager protocol".
pub(crate) fn run_exit_hooks(py: Python<'_>) {
    let script = format!(
        "import threading as _t, time as _time\n\
         _skip = [_t.main_thread()]\n\
         if hasattr(_t, '_shutdown_locks') and _t._main_thread.ident != _t.get_ident():\n\
         \x20   _old = _t._main_thread\n\
         \x20   with _t._shutdown_locks_lock:\n\
         \x20       _t._shutdown_locks.discard(_old._tstate_lock)\n\
         \x20   _t._main_thread = _t._MainThread()\n\
         \x20   _skip.append(_t._main_thread)\n\
         _end = _time.monotonic() + {join}\n\
         for _th in _t.enumerate():\n\
         \x20   if (any(_th is _s for _s in _skip) or _th.ident == _t.get_ident() or _th.daemon\n\
         \x20           or isinstance(_th, _t._DummyThread)):\n\
         \x20       continue\n\
         \x20   _th.join(max(0.0, _end - _time.monotonic()))\n\
         def _cembed_joined():\n\
         \x20   pass\n\
         _t._shutdown = _cembed_joined\n\
         _li = getattr(_t, '_thread_local_info', None)\n\
         if _li is not None:\n\
         \x20   _li.__dict__.pop('_track_dummy_thread_ref', None)\n",
        join = JOIN_DEADLINE.as_secs_f64()
    );
    // SAFETY: the GIL is held (`py`); `sys.modules` is a dict and the
    // lookup returns a borrowed reference or NULL.
    unsafe {
        let modules = ffi::PyImport_GetModuleDict();
        if !ffi::PyDict_GetItemString(modules, c"threading".as_ptr()).is_null() {
            py::run_and_print(py, &py::cstring_lossy(&script));
        }
    }
    // atexit handlers: 3.9 re-raises the last handler's exception after
    // printing every one but SystemExit; 3.10+ report each through the
    // unraisable hook. Either way nothing is left to print, and a
    // SystemExit must not reach PyErr_Print (which would exit()).
    // SAFETY: the GIL is held (`py`); `f` is a live reference we own,
    // and the call's result is a new reference we release.
    unsafe {
        if let Ok(f) = py::import_attr(py, c"atexit", c"_run_exitfuncs") {
            let r = ffi::PyObject_CallNoArgs(f.ptr());
            if r.is_null() {
                ffi::PyErr_Clear();
            } else {
                ffi::Py_DECREF(r);
            }
        } else {
            ffi::PyErr_Clear();
        }
        py::flush_std_streams(py);
    }
}

// ---- fork ----------------------------------------------------------------------

/// What the prepare handler did, for the parent/child handlers of the same
/// fork (only the forking thread runs them).
static FORK: Mutex<Option<ForkHold>> = Mutex::new(None);

#[derive(Copy, Clone)]
struct ForkHold {
    /// NULL: the GIL was taken with `PyGILState_Ensure` (`gil`); else with
    /// this thread state, made for the fork because the thread's PyGILState
    /// thread state is a subinterpreter's (interp.rs).
    temp: *mut ffi::PyThreadState,
    gil: ffi::PyGILState_STATE,
    /// The forking thread had no thread state before: the one Ensure made
    /// becomes the child's main thread state.
    fresh: bool,
}

// SAFETY: only the forking thread uses a ForkHold (prepare, then parent or
// child handler of the same fork); the thread state is not shared.
unsafe impl Send for ForkHold {}

/// Registers the fork handlers (once: when we start Python, or when the
/// first subinterpreter starts in a Python host).
pub(crate) fn register_fork_handlers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: three extern "C" fns without arguments, as pthread_atfork wants.
    ONCE.call_once(|| unsafe {
        libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child));
    });
}

fn fork_lock() -> std::sync::MutexGuard<'static, Option<ForkHold>> {
    FORK.lock().unwrap_or_else(|e| e.into_inner())
}

extern "C" fn fork_prepare() {
    crate::py::guard::c_entry("a fork handler", (), || {
        *fork_lock() = None;
        if !crate::lifecycle::state::python_usable() {
            return;
        }
        // SAFETY: Python runs. A thread that holds the GIL is forking with
        // Python's knowledge (os.fork() brackets fork() itself).
        unsafe {
            if thread::holds_gil() {
                return;
            }
            let own = ffi::PyGILState_GetThisThreadState();
            if !own.is_null() && !crate::lifecycle::tstates::in_main_interp(own) {
                // PyGILState_Ensure would enter that subinterpreter; the
                // fork needs the main interpreter's GIL and locks.
                let temp = ffi::PyThreadState_New(ffi::PyInterpreterState_Main());
                ffi::PyEval_RestoreThread(temp);
                ffi::PyOS_BeforeFork();
                *fork_lock() = Some(ForkHold {
                    temp,
                    gil: ffi::PyGILState_STATE::PyGILState_UNLOCKED,
                    fresh: true,
                });
                return;
            }
            let fresh = own.is_null();
            let gil = ffi::PyGILState_Ensure();
            ffi::PyOS_BeforeFork();
            *fork_lock() = Some(ForkHold {
                temp: std::ptr::null_mut(),
                gil,
                fresh,
            });
        }
    });
}

extern "C" fn fork_parent() {
    crate::py::guard::c_entry("a fork handler", (), || {
        if let Some(h) = fork_lock().take() {
            // SAFETY: the prepare handler took the GIL and the locks.
            unsafe {
                ffi::PyOS_AfterFork_Parent();
                if h.temp.is_null() {
                    ffi::PyGILState_Release(h.gil);
                } else {
                    ffi::PyThreadState_Clear(h.temp);
                    ffi::PyThreadState_DeleteCurrent();
                }
            }
        }
    });
}

extern "C" fn fork_child() {
    crate::py::guard::c_entry("a fork handler", (), || {
        // The mutex may have been locked by no one but this thread (the
        // handlers run on the forking thread only).
        let hold = fork_lock().take();
        // SAFETY: the child has one thread, this one; Python's state is a
        // copy of the parent's at the moment of the fork, with the GIL and
        // the interpreter's locks held by this thread if `hold`.
        unsafe {
            // Before CPython's own after-fork work, ours or `os.fork()`'s.
            crate::lifecycle::interp::detach_subinterpreters_in_child();
            if hold.is_some() {
                ffi::PyOS_AfterFork_Child();
            }
            let ts = match hold {
                Some(h) if !h.temp.is_null() => h.temp,
                _ => ffi::PyGILState_GetThisThreadState(),
            };
            crate::lifecycle::state::after_fork_child(ts);
            thread::after_fork_child(ts);
            crate::lifecycle::interp::after_fork_child();
            match hold {
                Some(ForkHold { fresh: true, .. }) => {
                    // Keep the thread state Ensure made: it is now the main
                    // one, released by finalization only.
                    ffi::PyEval_SaveThread();
                }
                Some(h) => ffi::PyGILState_Release(h.gil),
                None => {}
            }
        }
    });
}
