//! Lazy initialisation and process exit: the runtime's state machines.
//!
//! There is one runtime per process (the loader in `cembed_glue.h` shares an
//! already loaded runtime between libraries), so the states below are
//! process-wide Rust statics. They hold no Python object.
//!
//! ## The process: is Python running?
//!
//! ```text
//!            first call/start/import, any thread
//!   UNINIT ─────────────────────────────────────► STARTING ──ok──► READY ──► (exit: exit.rs)
//!                                                     │
//!                                                     └──PyStatus error──► FAILED
//! ```
//! * UNINIT → STARTING: the first thread to need Python takes `START` (a
//!   mutex) and moves the state; others block on the condvar until READY or
//!   FAILED. If the process already runs Python (`Py_IsInitialized()`: the
//!   host is python, or imported the library), it is used as is and we own
//!   nothing about its lifetime. Otherwise `Py_InitializeFromConfig` with a
//!   `PyConfig_InitPythonConfig` config: no argv parsing, no signal handlers,
//!   no C stdio reconfiguration (the host owns those), and program name and
//!   executable set to the interpreter the loader chose (by default the build
//!   interpreter, a venv's python), so the venv's site-packages are on
//!   `sys.path` with no environment variable; a bundle's is isolated and has
//!   a home (`location.rs`). Then we put SIGINT back as the host had it
//!   (exit.rs, "Signals"), release the GIL (`PyEval_SaveThread`) and
//!   register the fork handlers and a Python `atexit` watch (exit.rs).
//! * A failing `PyStatus` is reported (never `Py_ExitStatusException`, which
//!   would exit the host): FAILED is final, every call returns zero.
//! * Exit (EXIT_HOOKS → EXITING → FINALIZED or ABANDONED, or
//!   HOST_FINALIZED) is described in `exit.rs`. Python is usable in READY
//!   and EXIT_HOOKS; a call refused in any later state prints why.
//!
//! ## Each library: has its init code run?
//!
//! ```text
//!   NOT_STARTED ──first need, thread T──► RUNNING(T) ──ok──► DONE
//!                                              │ └──exception / Python FAILED──► FAILED(text)
//!                                              └── same thread T calls in again (recursion): proceed
//!                                                  other threads: wait on the condvar
//! ```
//! * Each `cembed_lib` has its own [`LibInit`] (mutex + condvar + a `ready`
//!   flag read with one acquire load on the hot path), so several libraries
//!   share the interpreter and each runs its init code exactly once.
//! * Running the init code (CFFI's semantics, `_embedding.h`): create the
//!   module (multi-phase init: `PyModule_FromDefAndSpec` + `PyModule_ExecDef`)
//!   unless a running Python already imported it, put it in `sys.modules`
//!   *before* the init code runs (so `from my_plugin import ffi, lib` works
//!   without any file), then `exec` the code compiled with the file name
//!   `<init code for 'my_plugin'>` in a fresh globals dict holding only
//!   `__builtins__`.
//! * Recursion: the init code may call C that calls another extern of the
//!   same library. The mutex is not held while the init code runs; the state
//!   says RUNNING(T), and a call from T itself proceeds (the function it
//!   calls may already be attached, exactly as in CFFI), while calls from
//!   other threads wait. Waiting threads never hold the GIL while they wait
//!   (a Python thread calling in releases it), so the init code can run.
//! * Failure: the traceback and context (module, sys.path, runtime location,
//!   python executable) go to stderr once, the text is kept for
//!   `cembed_init_error()`, and every later call prints CFFI's "function
//!   %s() called, but initialization code failed.  Returning 0." and returns 0.
//!
//! Subinterpreters: the state machine above is per interpreter of a library
//! (`Instance`); a shared library has one, the main interpreter, whose init
//! code runs with the thread's own main-interpreter thread state
//! (`thread::enter_main`: never the PyGILState API, whose thread state may
//! be a subinterpreter's on 3.12+); an isolated library's or a pool's run
//! their init code in their own subinterpreters (interp.rs).

use crate::desc::libstate::{Instance, LibState, Phase};
use crate::lifecycle::state::{
    leave_ready, lock, me, python_usable, refusal_reason, set_state, State, FAILED, MAIN_TSTATE,
    OWNED, PROCESS, READY, START, STARTER, STARTING, START_CV,
};
use crate::lifecycle::thread;
use crate::py::gil::Python;
use crate::py::{self, text, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ptr::null_mut;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// Makes sure Python runs in this process. `Err` carries the report text.
fn ensure_python() -> Result<(), String> {
    if python_usable() {
        return Ok(());
    }
    let mut g = lock(&START);
    loop {
        if python_usable() {
            return Ok(());
        }
        match PROCESS.load(Ordering::Acquire) {
            FAILED => return Err(g.error.clone().unwrap_or_default()),
            s if s >= State::ExitHooks as u8 => {
                return Err(format!(
                    "cembed: Python cannot be started {}\n",
                    refusal_reason()
                ))
            }
            STARTING => {
                if g.starter == Some(me()) {
                    return Err("Python's own startup called into a cembed library".into());
                }
                // A Python thread (host is python) must not hold the GIL while
                // it waits: the starter needs it to adopt the interpreter.
                // SAFETY: holds_gil only reads thread-state pointers, valid
                // (NULL or live) whether or not Python is fully initialised.
                let saved = unsafe {
                    if ffi::Py_IsInitialized() != 0 && thread::holds_gil() {
                        ffi::PyEval_SaveThread()
                    } else {
                        std::ptr::null_mut()
                    }
                };
                g = START_CV.wait(g).unwrap_or_else(|e| e.into_inner());
                if !saved.is_null() {
                    drop(g);
                    // SAFETY: `saved` is this thread's state from SaveThread.
                    unsafe { ffi::PyEval_RestoreThread(saved) };
                    g = lock(&START);
                }
            }
            _ => {
                PROCESS.store(STARTING, Ordering::Release);
                g.starter = Some(me());
                drop(g);
                // SAFETY: we are the only thread starting Python (STARTING).
                // A panic becomes a failed start: the threads waiting on
                // START_CV must be woken whatever happens.
                let r = no_panic("starting Python", || unsafe { start_python() });
                g = lock(&START);
                g.starter = None;
                match r {
                    Ok(()) => {
                        // Before READY: every thread that passes the gate
                        // sees the gate's final barrier mode (thread.rs).
                        thread::register_membarrier();
                        PROCESS.store(READY, Ordering::SeqCst)
                    }
                    Err(e) => {
                        py::c_stderr(&e);
                        g.error = Some(e);
                        PROCESS.store(FAILED, Ordering::SeqCst);
                    }
                }
                START_CV.notify_all();
            }
        }
    }
}

/// Starts Python, or adopts the one already running. Leaves the GIL released.
///
/// # Safety
/// Called by one thread at a time (the STARTING state guarantees it).
unsafe fn start_python() -> Result<(), String> {
    // SAFETY: may be called before, during (not here: the start is ours) or
    // after initialisation.
    if unsafe { ffi::Py_IsInitialized() } != 0 {
        // The host is Python (or embedded it itself): use it, own nothing.
        // Register a Python atexit callback so that we stop calling in when it
        // finalizes (C threads would otherwise enter a dead interpreter).
        // SAFETY: Python is initialised, so the PyGILState API may take the
        // GIL on this thread, and gives it back the same way.
        unsafe {
            let g = ffi::PyGILState_Ensure();
            register_host_atexit(Python::assume_gil_acquired());
            ffi::PyGILState_Release(g);
        }
        return Ok(());
    }
    let loc = first_location();
    let sigint = host_sigint();
    // SAFETY: PyConfig is a plain C struct; init_config initialises it
    // before use (a zeroed one is what it is documented to take).
    let mut config: ffi::PyConfig = unsafe { std::mem::zeroed() };
    // SAFETY: one thread starts Python (contract); `config` is ours, set up
    // by init_config, then cleared once; status values are plain data.
    let status = unsafe {
        let s = crate::lifecycle::location::init_config(&mut config, &loc);
        let status = if ffi::PyStatus_Exception(s) != 0 {
            s
        } else {
            ffi::Py_InitializeFromConfig(&config)
        };
        ffi::PyConfig_Clear(&mut config);
        status
    };
    // SAFETY: a status value just returned.
    if unsafe { ffi::PyStatus_Exception(status) } != 0 {
        // SAFETY: a status value just returned.
        let what = if unsafe { ffi::PyStatus_IsExit(status) } != 0 {
            format!("Python asked to exit with status {}", status.exitcode)
        } else {
            // SAFETY: an error status's `func` and `err_msg` are NULL or
            // static C strings (text() takes NULL as empty).
            let (func, msg) = unsafe { (text(status.func), text(status.err_msg)) };
            if func.is_empty() {
                msg
            } else {
                format!("{func}: {msg}")
            }
        };
        return Err(format!(
            "cembed: Python could not be initialized: {what}\n\
             cembed runtime: {}\n{}",
            runtime_location(),
            crate::lifecycle::location::describe(&loc),
        ));
    }
    // Py_InitializeFromConfig left this thread holding the GIL with the main
    // thread state; release it (the thread state stays bound to this thread:
    // thread.rs pins it as `Pin::Main`, and it is never released by us).
    // Exit finalizes with it: see exit.rs.
    // SAFETY: this thread holds the GIL (Py_InitializeFromConfig succeeded
    // on it) until PyEval_SaveThread gives it away.
    let main = unsafe {
        let py = Python::assume_gil_acquired();
        crate::lifecycle::location::after_start(py, &loc);
        keep_host_sigint(sigint);
        watch_python_exit(py);
        ffi::PyEval_SaveThread()
    };
    MAIN_TSTATE.store(main, Ordering::SeqCst);
    STARTER.store(me() as usize, Ordering::SeqCst);
    OWNED.store(true, Ordering::SeqCst);
    crate::lifecycle::exit::register_fork_handlers();
    Ok(())
}

/// Whether the host left SIGINT at its default disposition.
fn host_sigint() -> bool {
    // SAFETY: sigaction with a NULL new action only reads the disposition.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_DFL
    }
}

/// CPython's `_signal` module, when first imported, installs Python's SIGINT
/// handler if SIGINT is at its default, even with `install_signal_handlers
/// = 0`: any `import subprocess`/`asyncio`/`signal` in the init code would
/// take Ctrl-C away from the host. So we import it now, on the thread that
/// started Python (the only one allowed to set handlers), and put SIGINT
/// back to the default through `signal.signal`, which keeps Python's own
/// record of the handler true. Python code may still install a handler.
///
/// # Safety
/// GIL held, on the thread that initialized Python.
unsafe fn keep_host_sigint(was_default: bool) {
    if !was_default {
        return;
    }
    // SAFETY: the GIL is held (contract); every object is a new reference
    // owned by an `Owned`, and the call's argument list is NULL-terminated.
    unsafe {
        let py = Python::assume_gil_acquired();
        let r = (|| -> Result<(), crate::py::PyErrSet> {
            let signal = py::import_attr(py, c"_signal", c"signal")?;
            let dfl = py::import_attr(py, c"_signal", c"SIG_DFL")?;
            let num = Owned::check(ffi::PyLong_FromLong(libc::SIGINT as _))?;
            let r = ffi::PyObject_CallFunctionObjArgs(
                signal.ptr(),
                num.ptr(),
                dfl.ptr(),
                std::ptr::null_mut::<ffi::PyObject>(),
            );
            drop(Owned::check(r)?);
            Ok(())
        })();
        if r.is_err() {
            ffi::PyErr_Clear();
        }
    }
}

/// Registers a Python `atexit` callback that tells us when Python's exit
/// work runs: if our exit did not start it, the host is finalizing Python
/// itself (`Py_FinalizeEx()`), and calls must be refused from then on.
/// Registered at start, so it runs after every handler the Python code
/// registers (atexit is last-in, first-out).
///
fn watch_python_exit(py: Python<'_>) {
    static DEF: crate::py::cell::StaticMethodDef = crate::py::cell::StaticMethodDef::new(
        c"_cembed_python_exiting",
        python_exiting,
        c"cembed: notices a finalization of Python that cembed did not start",
    );
    register_atexit(py, &DEF);
}

unsafe extern "C" fn python_exiting(
    _slf: *mut ffi::PyObject,
    _args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    crate::py::guard::c_entry("the atexit hook", (), || {
        if leave_ready(State::HostFinalized) {
            // SAFETY: GIL held (called from Python).
            unsafe { end_subinterpreters_from_atexit() };
            // SAFETY: GIL held (called from Python).
            let py = unsafe { Python::assume_gil_acquired() };
            crate::desc::libstate::release_modules(py, std::ptr::null_mut());
        }
    });
    // SAFETY: GIL held (called from Python).
    unsafe { py::new_ref(ffi::Py_None()) }
}

/// Where the first library that starts Python wants it from (location.rs).
fn first_location() -> crate::lifecycle::location::Location {
    lock(&FIRST_LOCATION).clone().unwrap_or_default()
}

/// Set by `ensure_lib` before starting Python: the library that triggers the
/// start decides which environment (venv, bundle) the interpreter uses.
static FIRST_LOCATION: Mutex<Option<crate::lifecycle::location::Location>> = Mutex::new(None);

/// Absolute path of the runtime shared object, for error context.
fn runtime_location() -> String {
    // SAFETY: dladdr only reads the loader's tables; the address is one of
    // our own functions.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        if libc::dladdr(runtime_location as *const libc::c_void, &mut info) != 0
            && !info.dli_fname.is_null()
        {
            return text(info.dli_fname);
        }
    }
    "(unknown)".into()
}

// ---- per library ---------------------------------------------------------

/// Makes sure Python runs and `ls`'s init code has run (or is running on this
/// very thread). `Err(())` means it failed; the failure was already reported.
///
/// A caller holding the GIL (a call from Python code) releases it while it
/// waits for another thread's init, and takes it back afterwards.
pub(crate) fn ensure_lib(ls: &LibState) -> Result<(), ()> {
    ensure_inst(ls.main_inst())
}

/// [`ensure_lib`] for one interpreter of a library: its init state machine
/// (for a subinterpreter, running it also starts the interpreter).
pub(crate) fn ensure_inst(inst: &Instance) -> Result<(), ()> {
    let ls = inst.lib();
    if inst.init.is_ready() {
        return Ok(());
    }
    {
        let mut first = lock(&FIRST_LOCATION);
        if first.is_none() {
            *first = Some(crate::lifecycle::location::of(
                ls.lib,
                &ls.python_executable,
            ));
        }
    }
    if let Err(e) = ensure_python() {
        let mut ph = lock(&inst.init.phase);
        if !matches!(*ph, Phase::Failed) {
            *ph = Phase::Failed;
            let _ = inst.init.error.set(py::cstring_lossy(&e));
        }
        return Err(());
    }
    let mut ph = lock(&inst.init.phase);
    loop {
        match *ph {
            Phase::Done => return Ok(()),
            Phase::Failed => return Err(()),
            Phase::Running(t) if t == me() => return Ok(()),
            Phase::Running(_) => {
                // SAFETY: Python is initialised (ensure_python succeeded).
                let saved = unsafe {
                    if thread::holds_gil() {
                        ffi::PyEval_SaveThread()
                    } else {
                        std::ptr::null_mut()
                    }
                };
                ph = inst.init.cv.wait(ph).unwrap_or_else(|e| e.into_inner());
                if !saved.is_null() {
                    // Re-take the GIL without holding our mutex (lock order:
                    // never wait for the GIL while holding `phase`).
                    drop(ph);
                    // SAFETY: `saved` is this thread's state from SaveThread.
                    unsafe { ffi::PyEval_RestoreThread(saved) };
                    ph = lock(&inst.init.phase);
                }
            }
            Phase::NotStarted => {
                *ph = Phase::Running(me());
                drop(ph);
                // The waiting threads are woken whatever happens: a panic
                // (caught in run_init's pieces) is a failure, and so is this
                // thread ending inside the init code (a forced unwind, see
                // unwind.rs: the guard's destructor runs then, and touches
                // no Python).
                let guard = InitGuard(inst);
                let r = run_init(inst);
                std::mem::forget(guard);
                ph = lock(&inst.init.phase);
                match r {
                    Ok(()) => {
                        *ph = Phase::Done;
                        inst.init.ready.store(true, Ordering::Release);
                        if ls.mode == cembed_abi::Isolation::Shared {
                            ls.shared_ready.store(true, Ordering::Release);
                        }
                    }
                    Err(text) => {
                        let _ = inst.init.error.set(py::cstring_lossy(&text));
                        *ph = Phase::Failed;
                    }
                }
                inst.init.cv.notify_all();
            }
        }
    }
}

/// Marks a library's init as failed if its thread leaves `run_init` by
/// unwinding (the thread ended inside the init code).
struct InitGuard<'a>(&'a Instance);

impl Drop for InitGuard<'_> {
    fn drop(&mut self) {
        let mut ph = lock(&self.0.init.phase);
        let _ = self.0.init.error.set(py::cstring_lossy(
            "cembed: the thread running the init code ended inside it\n",
        ));
        *ph = Phase::Failed;
        self.0.init.cv.notify_all();
    }
}

/// Runs `ls`'s init code with the GIL; `Err` is the (already printed) report.
///
/// The init code is Python: it may call C that ends the thread (unwind.rs),
/// so its execution is not inside a `catch_unwind`; the Rust steps around
/// it are, each.
fn run_init(inst: &Instance) -> Result<(), String> {
    let ls = inst.lib();
    if let Some(e) = &ls.table_error {
        let msg = format!(
            "cembed: library for module '{}' has malformed tables: {e}\n",
            ls.name.to_string_lossy()
        );
        py::c_stderr(&msg);
        return Err(msg);
    }
    if ls.mode != cembed_abi::Isolation::Shared {
        let sub = crate::lifecycle::interp::enter_for_init(inst)?;
        // A host that is Python itself did not get our fork handlers at
        // start; a process with subinterpreters needs them.
        crate::lifecycle::exit::register_fork_handlers();
        // SAFETY: this thread holds the subinterpreter's GIL (`sub`).
        let r = init_in_current(unsafe { Python::assume_gil_acquired() }, ls, inst);
        sub.leave();
        return r;
    }
    // SAFETY: Python was started (ensure_python, before the init runs).
    let Some(leave) = (unsafe { thread::enter_main() }) else {
        return Err(format!(
            "cembed: Python is not usable: {}\n",
            refusal_reason()
        ));
    };
    // SAFETY: this thread holds the main interpreter's GIL until `leave`.
    let r = init_in_current(unsafe { Python::assume_gil_acquired() }, ls, inst);
    leave.leave();
    r
}

/// Runs the init code of `inst` in the current interpreter (its own),
/// whose GIL this thread holds. `Err` is the (already printed) report.
///
/// The init code is Python: it may call C that ends the thread (unwind.rs),
/// so its execution is not inside a `catch_unwind`; the Rust steps around
/// it are, each.
pub(crate) fn init_in_current(
    py: Python<'_>,
    ls: &LibState,
    inst: &Instance,
) -> Result<(), String> {
    let panicked = || "cembed: internal error (panic) while running the init code\n".to_string();
    // SAFETY: the GIL is held (`py`).
    unsafe {
        let prepared = crate::py::guard::piece(|| prepare_init_code(ls, inst));
        match prepared {
            None => Err(panicked()),
            Some(Err(())) => {
                Err(crate::py::guard::piece(|| report_init_failure(py, ls))
                    .unwrap_or_else(panicked))
            }
            Some(Ok(None)) => Ok(()),
            Some(Ok(Some((code, globals)))) => {
                // Plain pointers across the call (no destructor pending).
                let res = crate::py::unwind::PyEval_EvalCode(code, globals, globals);
                crate::py::guard::piece(|| {
                    ffi::Py_DECREF(code);
                    ffi::Py_DECREF(globals);
                    if res.is_null() {
                        Err(report_init_failure(py, ls))
                    } else {
                        ffi::Py_DECREF(res);
                        Ok(())
                    }
                })
                .unwrap_or_else(|| Err(panicked()))
            }
        }
    }
}

/// Creates the module and compiles the init code: `Some((code, globals))`
/// (new references) to run, `None` when there is no init code, `Err` with
/// the exception set.
///
/// # Safety
/// GIL held; `ls.module` NULL or the library's live module (see
/// `get_or_create_module`).
unsafe fn prepare_init_code(
    ls: &LibState,
    inst: &Instance,
) -> Result<Option<(*mut ffi::PyObject, *mut ffi::PyObject)>, ()> {
    // SAFETY: the GIL is held (contract). New references are owned by `Owned`
    // (released on every path) or handed to the caller; borrowed ones are used
    // before anything could release them.
    unsafe {
        get_or_create_module(ls, inst).map_err(|_| ())?;
        let Some(code) = &ls.init_code else {
            return Ok(None);
        };
        add_build_environment(Python::assume_gil_acquired(), ls)?;
        let filename =
            py::cstring_lossy(&format!("<init code for '{}'>", ls.name.to_string_lossy()));
        let compiled = Owned::new(ffi::Py_CompileString(
            code.as_ptr(),
            filename.as_ptr(),
            ffi::Py_file_input,
        ))
        .ok_or(())?;
        let globals = Owned::new(ffi::PyDict_New()).ok_or(())?;
        let builtins = ffi::PyEval_GetBuiltins();
        if builtins.is_null()
            || ffi::PyDict_SetItemString(globals.ptr(), c"__builtins__".as_ptr(), builtins) < 0
        {
            return Err(());
        }
        Ok(Some((compiled.into_ptr(), globals.into_ptr())))
    }
}

/// Several environments: Python runs with the environment of the library
/// that started it. A library built in another virtualenv (same Python
/// version: the glue refuses another one) gets that venv's site-packages
/// added at the end of `sys.path` before its init code runs, as
/// `site.addsitedir` does (`.pth` files included); the first environment's
/// packages keep precedence. Other kinds of installation are left alone.
///
fn add_build_environment(_py: Python<'_>, ls: &LibState) -> Result<(), ()> {
    // SAFETY: the GIL is held (`_py`). New references are owned by `Owned`
    // (released on every path) or handed to the caller; borrowed ones are used
    // before anything could release them.
    unsafe {
        if ls.python_executable.is_empty() {
            return Ok(());
        }
        let globals = Owned::new(ffi::PyDict_New()).ok_or(())?;
        let exe = Owned::new(ffi::PyUnicode_DecodeFSDefault(
            py::cstring_lossy(&ls.python_executable).as_ptr(),
        ))
        .ok_or(())?;
        if ffi::PyDict_SetItemString(globals.ptr(), c"exe".as_ptr(), exe.ptr()) < 0 {
            return Err(());
        }
        let r = ffi::PyRun_String(
            c"import os, sys
if os.path.abspath(exe) != os.path.abspath(sys.executable or ''):
    root = os.path.dirname(os.path.dirname(os.path.abspath(exe)))
    if os.path.isfile(os.path.join(root, 'pyvenv.cfg')):
        sp = os.path.join(root, 'lib', 'python%d.%d' % sys.version_info[:2], 'site-packages')
        if os.path.isdir(sp) and sp not in sys.path:
            import site
            site.addsitedir(sp)
"
            .as_ptr(),
            ffi::Py_file_input,
            globals.ptr(),
            globals.ptr(),
        );
        drop(Owned::new(r).ok_or(())?);
        Ok(())
    }
}

/// Prints (to `sys.stderr`) and returns the failure report; the current
/// exception is consumed. Mirrors CFFI's report, plus where we looked.
///
fn report_init_failure(py: Python<'_>, ls: &LibState) -> String {
    // SAFETY: the GIL is held (`py`). New references are owned by `Owned`
    // (released on every path) or handed to the caller; borrowed ones are used
    // before anything could release them.
    unsafe {
        let tb = py::take_exception_text(py);
        let sys_path = sys_attr_text(py, c"path");
        // The library may have been built for another environment than the one
        // Python was started with (for the library that started it).
        let running = {
            let p = ffi::PySys_GetObject(c"executable".as_ptr());
            if p.is_null() {
                String::new()
            } else {
                py::str_text(p).unwrap_or_default()
            }
        };
        let built_with = if ls.python_executable.is_empty() || ls.python_executable == running {
            String::new()
        } else {
            format!(
                "this library was built with: {} (Python was started for another library \
                 of this process; see docs/runtime.md, \"Several environments\")\n",
                ls.python_executable
            )
        };
        let text = format!(
            "Failed to initialize the Python-cembed embedding logic:\n\n{tb}\n\
             From: {}\n\
             compiled with cembed version: {}\n\
             cembed runtime: {}\n\
             {}\
             sys.executable: {}\n\
             {built_with}\
             sys.path: {sys_path}\n\n",
            ls.name.to_string_lossy(),
            ls.cembed_version,
            runtime_location(),
            crate::lifecycle::location::describe(&crate::lifecycle::location::of(
                ls.lib,
                &ls.python_executable
            )),
            sys_attr_text(py, c"executable"),
        );
        py::write_stderr(py, &text);
        text
    }
}

/// `repr(sys.<name>)`, or "(none)".
///
fn sys_attr_text(_py: Python<'_>, name: &std::ffi::CStr) -> String {
    // SAFETY: the GIL is held (`_py`). New references are owned by `Owned`
    // (released on every path) or handed to the caller; borrowed ones are used
    // before anything could release them.
    unsafe {
        let p = ffi::PySys_GetObject(name.as_ptr());
        if p.is_null() {
            "(none)".to_string()
        } else {
            py::repr_text(p)
        }
    }
}

// ---- the host is Python --------------------------------------------------

/// Host is Python: stop calling in when it finalizes.
///
fn register_host_atexit(py: Python<'_>) {
    static DEF: crate::py::cell::StaticMethodDef = crate::py::cell::StaticMethodDef::new(
        c"_cembed_host_exiting",
        host_exiting,
        c"cembed: stop host threads from entering Python during finalization",
    );
    register_atexit(py, &DEF);
}

/// `atexit.register(<builtin made from def>)`; errors are ignored (the
/// callback is a safety net, its absence is not fatal).
///
fn register_atexit(py: Python<'_>, def: &'static crate::py::cell::StaticMethodDef) {
    // SAFETY: the GIL is held (`py`). New references are owned by `Owned`
    // (released on every path) or handed to the caller; borrowed ones are used
    // before anything could release them.
    unsafe {
        let f = ffi::PyCFunction_NewEx(def.get(), std::ptr::null_mut(), std::ptr::null_mut());
        if f.is_null() {
            ffi::PyErr_Clear();
            return;
        }
        let f = Owned::new(f).expect("checked");
        match py::import_attr(py, c"atexit", c"register") {
            Ok(reg) => {
                let r = ffi::PyObject_CallOneArg(reg.ptr(), f.ptr());
                if r.is_null() {
                    ffi::PyErr_Clear();
                } else {
                    ffi::Py_DECREF(r);
                }
            }
            Err(_) => ffi::PyErr_Clear(),
        }
    }
}

unsafe extern "C" fn host_exiting(
    _slf: *mut ffi::PyObject,
    _args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    crate::py::guard::c_entry("the atexit hook", (), || {
        if leave_ready(State::Exiting) {
            // Let C threads inside Python leave; they need the GIL to do so.
            // SAFETY: we hold the GIL (called from Python).
            let ts = unsafe { ffi::PyEval_SaveThread() };
            if thread::drained(crate::lifecycle::exit::EXIT_GRACE, thread::current_slot()) {
                // SAFETY: drained, with no GIL held (saved above).
                unsafe {
                    crate::lifecycle::interp::end_subinterpreters(
                        crate::lifecycle::exit::run_exit_hooks,
                    )
                };
            }
            // SAFETY: `ts` is this thread's state from SaveThread; restoring
            // it takes the GIL back, which the token then stands for.
            let py = unsafe {
                ffi::PyEval_RestoreThread(ts);
                Python::assume_gil_acquired()
            };
            crate::desc::libstate::release_modules(py, std::ptr::null_mut());
            set_state(State::HostFinalized);
        }
    });
    // SAFETY: GIL held.
    unsafe { py::new_ref(ffi::Py_None()) }
}

/// The host is finalizing Python (an atexit callback, main GIL held): our
/// subinterpreters end first, once no host thread is inside Python.
///
/// # Safety
/// The main GIL is held by this thread; the gate is closed.
unsafe fn end_subinterpreters_from_atexit() {
    // SAFETY: contract: this thread holds the main GIL, given up while
    // waiting and ending the subinterpreters, then taken back.
    unsafe {
        let ts = ffi::PyEval_SaveThread();
        if thread::drained(crate::lifecycle::exit::EXIT_GRACE, thread::current_slot()) {
            crate::lifecycle::interp::end_subinterpreters(crate::lifecycle::exit::run_exit_hooks);
        }
        ffi::PyEval_RestoreThread(ts);
    }
}

/// `f()`, with a panic turned into an error: used where other threads wait
/// for the outcome (a state left at "running" would block them forever).
fn no_panic(what: &str, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    crate::py::guard::piece(f).unwrap_or_else(|| {
        Err(format!(
            "cembed: internal error (panic) while {what}; this library's calls return 0"
        ))
    })
}

/// The library's module in this interpreter: the one a running Python
/// imported, or a new one, created here and put in `sys.modules` (before the
/// init code runs, as CFFI does).
///
/// # Safety
/// GIL held; `ls.module` NULL or the library's live module (a `pub(crate)`
/// field, so its type does not prove it).
unsafe fn get_or_create_module(ls: &LibState, inst: &Instance) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the GIL is held (contract). New references are owned by `Owned`
    // (released on every path) or handed to the caller; borrowed ones are used
    // before anything could release them.
    unsafe {
        let modules = ffi::PyImport_GetModuleDict();
        let mut m = inst.module.load(Ordering::Acquire);
        if m.is_null() {
            // importlib.machinery.ModuleSpec is _frozen_importlib.ModuleSpec,
            // which every interpreter has loaded already; importing
            // importlib.machinery would read two modules from disk on the first
            // call (0.5 ms, 6% of an interpreter start).
            let spec_cls = py::import_attr(
                Python::assume_gil_acquired(),
                c"_frozen_importlib",
                c"ModuleSpec",
            )?;
            let name = Owned::check(ffi::PyUnicode_FromString(ls.name.as_ptr()))?;
            let spec = Owned::check(ffi::PyObject_CallFunctionObjArgs(
                spec_cls.ptr(),
                name.ptr(),
                ffi::Py_None(),
                null_mut::<ffi::PyObject>(),
            ))?;
            let def = &ls.def as *const ffi::PyModuleDef as *mut ffi::PyModuleDef;
            let module = Owned::check(ffi::PyModule_FromDefAndSpec(def, spec.ptr()))?;
            if ffi::PyModule_ExecDef(module.ptr(), def) < 0 {
                return Err(PyErrSet);
            }
            if ffi::PyDict_SetItemString(modules, ls.name.as_ptr(), module.ptr()) < 0 {
                return Err(PyErrSet);
            }
            m = module.ptr();
            // sys.modules keeps it alive.
        } else if ffi::PyDict_GetItemString(modules, ls.name.as_ptr()).is_null()
            && ffi::PyDict_SetItemString(modules, ls.name.as_ptr(), m) < 0
        {
            return Err(PyErrSet);
        }
        Ok(m)
    }
}
