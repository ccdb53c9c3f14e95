//! Isolated interpreters: a library built with
//! `embedding_isolation("isolated")` runs its init code and its calls in an
//! own-GIL subinterpreter of its own (PEP 684, CPython 3.12+); one built
//! with `"pool"` has `pool_size` of them, and each host thread is bound to
//! one on its first call. The main interpreter is still started first
//! (init.rs): subinterpreters are made from it.
//!
//! ## Instances
//! Each interpreter of a library is an `Instance` (desc/libstate.rs): its
//! init state machine (the same as a shared library's, init.rs), its module
//! and its attachment caches. A subinterpreter is made lazily by the thread
//! that runs that instance's init code, as the main interpreter is.
//!
//! ## Which interpreter a call goes to
//! * isolated: the one;
//! * a slot of the callback pool: the interpreter whose `ffi.callback()`
//!   holds the slot (a callback runs where it was made);
//! * pool: the thread's binding; on the thread's first call, the
//!   interpreter its own thread state belongs to if it is a Python thread of
//!   one of the pool's interpreters (recursion stays there), else the
//!   member with the fewest bound threads (ties: the lowest index).
//!
//! ## Thread states
//! One per (host thread, interpreter), made on the thread's first call into
//! that interpreter (thread.rs, `enter_sub`), deleted when the thread exits.
//! They are also recorded here ([`PINS`]), so that exit can delete those of
//! threads still alive before it ends each interpreter (`Py_EndInterpreter`
//! requires being the last thread state).
//!
//! ## Exit
//! Our exit (exit.rs) first runs each subinterpreter's exit hooks (bounded
//! thread joins, atexit handlers, flushing the std streams) with Python
//! fully usable, then the main interpreter's; after the gate closed and the
//! calls drained it ends every subinterpreter (its modules released, the
//! pinned thread states deleted, `Py_EndInterpreter`), then finalizes the
//! main one. A subinterpreter that still runs a Python thread cannot be
//! ended (CPython aborts the process in `Py_EndInterpreter`), and then
//! neither can the main interpreter (`Py_FinalizeEx` aborts on remaining
//! subinterpreters): finalization is skipped, as when a host thread stays
//! inside Python.
//!
//! ## fork()
//! `PyOS_AfterFork_Child` deletes every subinterpreter in the child. The
//! child's libraries get fresh instances ([`after_fork_child`]): the next
//! call starts a new interpreter and runs the init code again there.

use crate::desc::libstate::{all_libs, ExternState, Instance, LibState};
use crate::lifecycle::thread::{self, CallEntry};
use crate::lifecycle::tstates::{interp_of, take_pins, ForkSafe};
use crate::py::gil::Python;
use cembed_abi::Isolation;
use pyo3_ffi as ffi;
use std::sync::atomic::Ordering;

/// `embedding_isolation()`'s name of a mode, for messages.
pub(crate) fn mode_name(m: Isolation) -> &'static str {
    match m {
        Isolation::Shared => "shared",
        Isolation::Isolated => "isolated",
        Isolation::Pool => "pool",
    }
}

// ---- choosing the interpreter of a call -------------------------------------

/// Serialises pool bindings (once per thread and library).
static BIND: ForkSafe = ForkSafe::new();

/// The instance a call of `es` from this thread goes to.
pub(crate) fn pick<'a>(entry: &CallEntry, es: &ExternState, ls: &'a LibState) -> &'a Instance {
    let insts = ls.insts();
    if insts.len() == 1 {
        return &insts[0];
    }
    let owner = es.slot_owner.load(Ordering::Acquire);
    if owner != 0 {
        if let Some(i) = insts.get(owner - 1) {
            return i;
        }
    }
    if let Some(i) = thread::bound_to(entry, ls) {
        return &insts[i];
    }
    let _g = BIND.lock();
    // A Python thread of one of the pool's interpreters stays there.
    // SAFETY: GetThisThreadState only reads this thread's TSS slot; a
    // non-NULL result is this thread's live thread state.
    let here = unsafe {
        let own = ffi::PyGILState_GetThisThreadState();
        (!own.is_null() && crate::lifecycle::state::python_usable()).then(|| interp_of(own))
    };
    let chosen = here
        .and_then(|h| {
            insts
                .iter()
                .position(|i| !h.is_null() && i.interp.load(Ordering::Acquire) == h)
        })
        .unwrap_or_else(|| {
            let mut best = 0;
            for (k, i) in insts.iter().enumerate() {
                if i.bound.load(Ordering::Acquire) < insts[best].bound.load(Ordering::Acquire) {
                    best = k;
                }
            }
            best
        });
    insts[chosen].bound.fetch_add(1, Ordering::AcqRel);
    thread::bind(entry, ls, chosen);
    &insts[chosen]
}

// ---- starting a subinterpreter and running the init code there --------------

/// Enters instance `inst`'s subinterpreter to run its init code there
/// (init.rs), starting the subinterpreter first if needed: on `Ok` this
/// thread holds its GIL, with its own thread state there, inside the gate;
/// [`SubInit::leave`] gives it back. `Err` is the (already printed) report.
pub(crate) fn enter_for_init(inst: &Instance) -> Result<SubInit, String> {
    let ls = inst.lib();
    let Some(gate) = thread::enter_gate() else {
        return Err(format!(
            "cembed: Python is not usable: {}\n",
            crate::lifecycle::state::refusal_reason()
        ));
    };
    // SAFETY: inside the gate Python runs; the interpreter is made (once:
    // the init state machine runs this on one thread per instance) and
    // entered with this thread's own thread states only.
    unsafe {
        let outer = thread::current_tstate();
        let saved = if !outer.is_null() {
            ffi::PyEval_SaveThread()
        } else {
            std::ptr::null_mut()
        };
        let mut interp = inst.interp.load(Ordering::Acquire);
        if interp.is_null() {
            match new_interpreter(ls) {
                Ok((i, keeper)) => {
                    ANY_STARTED.store(true, Ordering::Relaxed);
                    interp = i;
                    inst.keeper.store(keeper, Ordering::Release);
                    inst.interp.store(i, Ordering::Release);
                }
                Err(e) => {
                    crate::py::c_stderr(&e);
                    if !saved.is_null() {
                        ffi::PyEval_RestoreThread(saved);
                    }
                    return Err(e);
                }
            }
        }
        let ts = thread::sub_tstate_here(interp);
        crate::py::unwind::PyEval_RestoreThread(ts);
        let py = Python::assume_gil_acquired();
        if crate::py::guard::piece(|| install_import_hint(py, ls)).is_none() {
            ffi::PyErr_Clear();
        }
        Ok(SubInit { _gate: gate, saved })
    }
}

/// A thread inside a subinterpreter for its init code ([`enter_for_init`]).
pub(crate) struct SubInit {
    _gate: thread::Gate,
    saved: *mut ffi::PyThreadState,
}

impl SubInit {
    /// Gives the subinterpreter's GIL back (and the thread's earlier one
    /// back to it), then leaves the gate.
    pub(crate) fn leave(self) {
        // SAFETY: this thread holds the subinterpreter's GIL (enter_for_init);
        // `saved` is NULL or the thread state it gave up there.
        unsafe {
            ffi::PyEval_SaveThread();
            if !self.saved.is_null() {
                ffi::PyEval_RestoreThread(self.saved);
            }
        }
    }
}

/// Held while a subinterpreter is made (`new_interpreter`); replaced in a
/// fork child (a thread of the parent may have held it).
#[cfg_attr(not(Py_3_12), allow(dead_code))]
static CREATING: ForkSafe = ForkSafe::new();

/// Set once a subinterpreter was started in this process.
static ANY_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this process ever started a subinterpreter for a library (so
/// objects of one interpreter may have reached another through C).
pub(crate) fn any_started() -> bool {
    ANY_STARTED.load(Ordering::Relaxed)
}

/// Makes an own-GIL subinterpreter for `ls`: the interpreter and its first
/// thread state (the instance's `keeper`), not current on return; no GIL is
/// held.
///
/// # Safety
/// Python runs; this thread holds no GIL.
unsafe fn new_interpreter(
    ls: &LibState,
) -> Result<(*mut ffi::PyInterpreterState, *mut ffi::PyThreadState), String> {
    #[cfg(Py_3_12)]
    // SAFETY: Python runs and this thread holds no GIL (contract).
    // `Py_NewInterpreterFromConfig` wants a current thread state of the
    // main interpreter: a temporary one, deleted once the new interpreter
    // is made (it then released the main GIL and holds the new one).
    unsafe {
        // One interpreter is made at a time in the process: CPython 3.12
        // corrupts its extension-module cache when two threads create
        // subinterpreters at once (a crash in `_extensions_cache_get` under
        // `Py_NewInterpreterFromConfig`, seen with PYTHONMALLOC=debug;
        // pybind11 serialises creation for the same reason). Taken before
        // the main GIL (this thread holds no GIL here), never the reverse.
        let _one_at_a_time = CREATING.lock();
        let tmp = ffi::PyThreadState_New(crate::lifecycle::tstates::main_interp());
        if tmp.is_null() {
            return Err("cembed: could not make a thread state to start a subinterpreter\n".into());
        }
        ffi::PyEval_RestoreThread(tmp);
        let config = ffi::PyInterpreterConfig {
            use_main_obmalloc: 0,
            // os.fork() inside: CPython refuses it in subinterpreters by
            // default (the child would only keep the main interpreter).
            allow_fork: 0,
            // subprocess (fork + exec in C) works.
            allow_exec: 1,
            allow_threads: 1,
            // Daemon threads would outlive the interpreter's end.
            allow_daemon_threads: 0,
            check_multi_interp_extensions: 1,
            gil: ffi::PyInterpreterConfig_OWN_GIL,
        };
        let mut sub: *mut ffi::PyThreadState = std::ptr::null_mut();
        let status = ffi::Py_NewInterpreterFromConfig(&mut sub, &config);
        if ffi::PyStatus_Exception(status) != 0 || sub.is_null() {
            // On failure CPython made `tmp` current again.
            let msg = crate::py::text(status.err_msg);
            ffi::PyThreadState_Clear(tmp);
            ffi::PyThreadState_DeleteCurrent();
            return Err(format!(
                "cembed: could not start the subinterpreter of library '{}' \
                 (embedding_isolation('{}')): {msg}\n",
                ls.name.to_string_lossy(),
                mode_name(ls.mode)
            ));
        }
        // `sub` is current with the new GIL; drop it, delete `tmp` with the
        // main GIL.
        ffi::PyEval_SaveThread();
        ffi::PyEval_RestoreThread(tmp);
        ffi::PyThreadState_Clear(tmp);
        ffi::PyThreadState_DeleteCurrent();
        Ok((interp_of(sub), sub))
    }
    #[cfg(not(Py_3_12))]
    {
        Err(format!(
            "cembed: library '{}' asks for embedding_isolation('{}'), which needs CPython 3.12+\n",
            ls.name.to_string_lossy(),
            mode_name(ls.mode)
        ))
    }
}

/// In a new subinterpreter, before the init code: an extension module that
/// cannot be loaded in subinterpreters (single-phase init) fails with an
/// ImportError that says why here and what to do.
fn install_import_hint(py: Python<'_>, ls: &LibState) {
    let code = format!(
        "def _cembed_hint():\n\
         \x20   import _frozen_importlib_external as _fe\n\
         \x20   _orig = _fe.ExtensionFileLoader.create_module\n\
         \x20   def create_module(self, spec, _orig=_orig):\n\
         \x20       try:\n\
         \x20           return _orig(self, spec)\n\
         \x20       except ImportError as e:\n\
         \x20           if 'subinterpreter' not in str(e):\n\
         \x20               raise\n\
         \x20           raise ImportError(\n\
         \x20               '%s: the cembed library %r runs in an isolated interpreter '\n\
         \x20               '(embedding_isolation(%r)), where only extension modules that '\n\
         \x20               'support subinterpreters can be imported; build the library with '\n\
         \x20               'ffibuilder.embedding_isolation(\"shared\") to use this module'\n\
         \x20               % (e, {name:?}, {mode:?}), name=e.name, path=e.path) from None\n\
         \x20   _fe.ExtensionFileLoader.create_module = create_module\n\
         _cembed_hint()\n\
         del _cembed_hint\n",
        name = ls.name.to_string_lossy(),
        mode = mode_name(ls.mode),
    );
    crate::py::run_and_print(py, &crate::py::cstring_lossy(&code));
}

// ---- exit ----------------------------------------------------------------------

/// Subinterpreters whose exit hooks ran, with their keeper thread states
/// (which end them).
static EXITED: ForkSafe = ForkSafe::new();

/// Every started subinterpreter of every library, with its keeper thread
/// state.
fn started() -> Vec<(*mut ffi::PyInterpreterState, *mut ffi::PyThreadState)> {
    let mut v = Vec::new();
    for ls in all_libs() {
        if ls.mode == Isolation::Shared {
            continue;
        }
        for inst in ls.insts() {
            let i = inst.interp.load(Ordering::Acquire);
            let k = inst.keeper.load(Ordering::Acquire);
            if !i.is_null() && !k.is_null() {
                v.push((i, k));
            }
        }
    }
    v
}

/// Runs the exit hooks (`hooks`: exit.rs's `run_exit_hooks`) of every started
/// subinterpreter, on this thread, with the interpreter's keeper thread
/// state.
///
/// # Safety
/// Python runs and may be entered; this thread holds no GIL.
pub(crate) unsafe fn run_sub_exit_hooks(hooks: fn(Python<'_>)) {
    for (interp, ts) in started() {
        if EXITED.lock().iter().any(|&(i, _)| i == interp as usize) {
            continue;
        }
        // SAFETY: Python runs; `interp` is live (subinterpreters end only
        // in `end_subinterpreters`) and `ts` is its keeper thread state,
        // which nobody else ever runs with; this thread holds no GIL
        // (contract).
        unsafe {
            ffi::PyEval_RestoreThread(ts);
            hooks(Python::assume_gil_acquired());
            ffi::PyEval_SaveThread();
            EXITED.lock().push((interp as usize, ts as usize));
        }
    }
}

/// Ends every started subinterpreter (running its exit hooks first if they
/// did not run). False if one could not be ended (a Python thread of it
/// still runs): then the main interpreter must not be finalized either.
///
/// # Safety
/// Python runs; the gate is closed and no host thread is inside Python;
/// this thread holds no GIL.
pub(crate) unsafe fn end_subinterpreters(hooks: fn(Python<'_>)) -> bool {
    // SAFETY: as for this function.
    unsafe { run_sub_exit_hooks(hooks) };
    let mut all_ended = true;
    let exited: Vec<(usize, usize)> = std::mem::take(&mut *EXITED.lock());
    for (interp, ts) in exited {
        let (interp, ts) = (
            interp as *mut ffi::PyInterpreterState,
            ts as *mut ffi::PyThreadState,
        );
        // SAFETY: `ts` is the keeper thread state of the live `interp`
        // (run_sub_exit_hooks); nobody else runs there (contract), so the
        // pinned thread states of host threads are not current and may be
        // deleted with the interpreter's GIL held.
        unsafe {
            ffi::PyEval_RestoreThread(ts);
            let py = Python::assume_gil_acquired();
            crate::desc::libstate::release_modules(py, interp);
            crate::py::flush_std_streams(py);
            for t in take_pins(interp) {
                ffi::PyThreadState_Clear(t);
                ffi::PyThreadState_Delete(t);
            }
            let head = ffi::PyInterpreterState_ThreadHead(interp);
            if head == ts && ffi::PyThreadState_Next(ts).is_null() {
                ffi::Py_EndInterpreter(ts);
                // Py_EndInterpreter leaves no thread state current.
            } else {
                crate::py::c_stderr(
                    "cembed: exit: a Python thread of an isolated interpreter is still \
                     running; Python is not finalized\n",
                );
                ffi::PyEval_SaveThread();
                all_ended = false;
            }
        }
    }
    all_ended
}

// ---- fork ----------------------------------------------------------------------

extern "C" {
    // CPython's runtime state (exported data) and the head of its list of
    // interpreters (public API).
    static mut _PyRuntime: u8;
    fn PyInterpreterState_Head() -> *mut ffi::PyInterpreterState;
}

/// In the child of `fork()`, before `PyOS_AfterFork_Child`: takes every
/// subinterpreter out of CPython's list of interpreters, leaving the main
/// one alone in it.
///
/// Why: `PyOS_AfterFork_Child` deletes the subinterpreters of the child
/// with `PyInterpreterState_Clear` after it set the current thread state
/// to NULL, and that aborts (3.13: "PyThreadState_Get: the function must
/// be called with the GIL held") or crashes (3.12) in the child of any
/// process that has a subinterpreter. Left out of the list, the
/// subinterpreters are never touched in the child: their memory is simply
/// abandoned there, and our libraries start fresh instances.
///
/// How: the list is `_PyRuntime.interpreters` (`head`, then `main`, two
/// adjacent pointers; a private struct whose offset differs between
/// versions), found by its values: `PyInterpreterState_Head()` followed by
/// `PyInterpreterState_Main()`. Nothing is written unless that exact pair
/// is found near the start of `_PyRuntime` (where `interpreters` is on
/// 3.12 and 3.13); then `head = main`, and CPython's own loop then ends the
/// list after main.
///
/// # Safety
/// The child of fork(), one thread, before `PyOS_AfterFork_Child`; the
/// forking thread holds the runtime's locks (PyOS_BeforeFork) or nothing
/// else runs (the child has one thread).
pub(crate) unsafe fn detach_subinterpreters_in_child() {
    if !cfg!(Py_3_12) {
        return;
    }
    // SAFETY: contract: Python is initialised in this process (our fork
    // handlers run only then) and nothing else runs; the scan reads
    // `_PyRuntime`'s first words (it is far larger than the window).
    unsafe {
        if ffi::Py_IsInitialized() == 0 {
            return;
        }
        let head = PyInterpreterState_Head();
        let main = ffi::PyInterpreterState_Main();
        if head.is_null() || head == main {
            return;
        }
        let base = std::ptr::addr_of_mut!(_PyRuntime) as *mut usize;
        const WINDOW: usize = 512;
        for i in 1..WINDOW {
            if *base.add(i - 1) == head as usize && *base.add(i) == main as usize {
                *base.add(i - 1) = main as usize;
                return;
            }
        }
        crate::py::c_stderr(
            "cembed: fork: could not detach the subinterpreters in the child; \
             CPython may abort here\n",
        );
    }
}

/// In the child of `fork()`: CPython deleted every subinterpreter; each
/// isolated library and pool gets fresh instances (started again on the
/// next call), and the bookkeeping of the old ones goes.
pub(crate) fn after_fork_child() {
    // The locks may be held by threads that do not exist in the child:
    // never wait on them here.
    // SAFETY: the child runs only this thread (fork handler).
    unsafe {
        crate::lifecycle::tstates::reset_pins();
        EXITED.reset();
        BIND.reset();
        CREATING.reset();
    }
    let libs = match crate::desc::libstate::ALL.try_lock() {
        Ok(v) => v.clone(),
        Err(_) => return,
    };
    for ls in libs {
        if ls.mode != Isolation::Shared {
            ls.set_fresh_instances();
        }
    }
}
