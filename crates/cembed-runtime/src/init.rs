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
//!   UNINIT ─────────────────────────────────────► STARTING ──ok──► READY ──C exit()──► EXITING ──► FINALIZED
//!                                                     │                 └─host Python's atexit─┘      (or ABANDONED)
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
//!   a home (`location.rs`). Then we
//!   release the GIL (`PyEval_SaveThread`) and register a C `atexit` handler:
//!   only now, so a host that never calls in pays nothing at exit.
//! * A failing `PyStatus` is reported (never `Py_ExitStatusException`, which
//!   would exit the host): FAILED is final, every call returns zero.
//! * READY → EXITING happens in our C atexit handler (`at_exit`), or, when
//!   the host is Python, in a Python `atexit` callback. From then on the gate
//!   (`thread.rs`) refuses new calls (they return 0); calls already inside
//!   are given `EXIT_GRACE` to drain. If they drain, `Py_FinalizeEx()` runs
//!   (Python atexit handlers, flushing files and sys.stdout/stderr) and the
//!   state is FINALIZED. If a host thread is still inside Python after the
//!   grace period, finalizing would deadlock or crash it, so we only run the
//!   Python atexit handlers and flush sys.stdout/sys.stderr, keep the GIL so
//!   that no Python code runs during the rest of the C teardown, and the
//!   state is ABANDONED. Either way exit never hangs.
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
//! Subinterpreters: everything here drives the main interpreter through the
//! PyGILState API; the generated module declares
//! `Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED` (see `module.rs`).

use crate::libstate::LibState;
use crate::py::{self, text, Owned};
use crate::thread;
use pyo3_ffi as ffi;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

const UNINIT: u8 = 0;
const STARTING: u8 = 1;
const READY: u8 = 2;
const FAILED: u8 = 3;
const EXITING: u8 = 4;
const FINALIZED: u8 = 5;
const ABANDONED: u8 = 6;

/// How long process exit waits for host threads still inside Python.
const EXIT_GRACE: Duration = Duration::from_millis(500);

static PROCESS: AtomicU8 = AtomicU8::new(UNINIT);

/// The main thread state (created by Py_InitializeFromConfig on the thread
/// that started Python) and that thread: a C struct of CPython's, not a
/// Python object. Only set when we started Python.
static MAIN_TSTATE: AtomicPtr<ffi::PyThreadState> = AtomicPtr::new(std::ptr::null_mut());
static STARTER: AtomicUsize = AtomicUsize::new(0);

/// The main thread state if we started Python (else NULL). It lives until
/// `at_exit` finalizes, after the gate closed, so the thread it belongs to
/// may use it directly on the hot path (thread.rs).
pub(crate) fn main_tstate() -> *mut ffi::PyThreadState {
    MAIN_TSTATE.load(Ordering::SeqCst)
}

struct Start {
    /// Thread running the start (to refuse, not deadlock on, a re-entrant start).
    starter: Option<libc::pthread_t>,
    /// Why Python could not start (FAILED).
    error: Option<String>,
}

static START: Mutex<Start> = Mutex::new(Start {
    starter: None,
    error: None,
});
static START_CV: Condvar = Condvar::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Our critical sections never leave data half-updated on panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn me() -> libc::pthread_t {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() }
}

/// True while Python may be entered (READY). Used by the gate, with SeqCst.
#[inline]
pub(crate) fn python_usable() -> bool {
    PROCESS.load(Ordering::SeqCst) == READY
}

/// Makes sure Python runs in this process. `Err` carries the report text.
pub(crate) fn ensure_python() -> Result<(), String> {
    match PROCESS.load(Ordering::Acquire) {
        READY => return Ok(()),
        EXITING | FINALIZED | ABANDONED => return Err("the process is exiting".into()),
        _ => {}
    }
    let mut g = lock(&START);
    loop {
        match PROCESS.load(Ordering::Acquire) {
            READY => return Ok(()),
            FAILED => return Err(g.error.clone().unwrap_or_default()),
            EXITING | FINALIZED | ABANDONED => return Err("the process is exiting".into()),
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
    if ffi::Py_IsInitialized() != 0 {
        // The host is Python (or embedded it itself): use it, own nothing.
        // Register a Python atexit callback so that we stop calling in when it
        // finalizes (C threads would otherwise enter a dead interpreter).
        let g = ffi::PyGILState_Ensure();
        register_host_atexit();
        ffi::PyGILState_Release(g);
        return Ok(());
    }
    let loc = first_location();
    let mut config: ffi::PyConfig = std::mem::zeroed();
    let status = (|| {
        let s = crate::location::init_config(&mut config, &loc);
        if ffi::PyStatus_Exception(s) != 0 {
            return s;
        }
        ffi::Py_InitializeFromConfig(&config)
    })();
    ffi::PyConfig_Clear(&mut config);
    if ffi::PyStatus_Exception(status) != 0 {
        let what = if ffi::PyStatus_IsExit(status) != 0 {
            format!("Python asked to exit with status {}", status.exitcode)
        } else {
            let func = text(status.func);
            let msg = text(status.err_msg);
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
            crate::location::describe(&loc),
        ));
    }
    crate::location::after_start(&loc);
    // Py_InitializeFromConfig left this thread holding the GIL with the main
    // thread state; release it (the thread state stays bound to this thread:
    // thread.rs pins it as `Pin::Main`, and it is never released by us).
    // Exit finalizes with it: see `at_exit`.
    let main = ffi::PyEval_SaveThread();
    MAIN_TSTATE.store(main, Ordering::SeqCst);
    STARTER.store(me() as usize, Ordering::SeqCst);
    // SAFETY: at_exit is an extern "C" fn with no arguments, as atexit wants.
    libc::atexit(at_exit);
    Ok(())
}

/// Where the first library that starts Python wants it from (location.rs).
fn first_location() -> crate::location::Location {
    lock(&FIRST_LOCATION).clone().unwrap_or_default()
}

/// Set by `ensure_lib` before starting Python: the library that triggers the
/// start decides which environment (venv, bundle) the interpreter uses.
static FIRST_LOCATION: Mutex<Option<crate::location::Location>> = Mutex::new(None);

/// Absolute path of the runtime shared object, for error context.
pub(crate) fn runtime_location() -> String {
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

enum Phase {
    NotStarted,
    Running(libc::pthread_t),
    Done,
    Failed,
}

/// One library's init state (see the module comment).
pub(crate) struct LibInit {
    ready: AtomicBool,
    phase: Mutex<Phase>,
    cv: Condvar,
    error: OnceLock<CString>,
}

impl LibInit {
    pub(crate) fn new() -> LibInit {
        LibInit {
            ready: AtomicBool::new(false),
            phase: Mutex::new(Phase::NotStarted),
            cv: Condvar::new(),
            error: OnceLock::new(),
        }
    }

    /// Hot path: has the init code completed successfully?
    #[inline]
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The failure text, if init failed.
    pub(crate) fn error(&self) -> Option<&CString> {
        self.error.get()
    }
}

/// Makes sure Python runs and `ls`'s init code has run (or is running on this
/// very thread). `Err(())` means it failed; the failure was already reported.
///
/// A caller holding the GIL (a call from Python code) releases it while it
/// waits for another thread's init, and takes it back afterwards.
pub(crate) fn ensure_lib(ls: &LibState) -> Result<(), ()> {
    if ls.init.is_ready() {
        return Ok(());
    }
    {
        let mut first = lock(&FIRST_LOCATION);
        if first.is_none() {
            *first = Some(crate::location::of(ls.lib, &ls.python_executable));
        }
    }
    if let Err(e) = ensure_python() {
        let mut ph = lock(&ls.init.phase);
        if !matches!(*ph, Phase::Failed) {
            *ph = Phase::Failed;
            let _ = ls.init.error.set(py::cstring_lossy(&e));
        }
        return Err(());
    }
    let mut ph = lock(&ls.init.phase);
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
                ph = ls.init.cv.wait(ph).unwrap_or_else(|e| e.into_inner());
                if !saved.is_null() {
                    // Re-take the GIL without holding our mutex (lock order:
                    // never wait for the GIL while holding `phase`).
                    drop(ph);
                    // SAFETY: `saved` is this thread's state from SaveThread.
                    unsafe { ffi::PyEval_RestoreThread(saved) };
                    ph = lock(&ls.init.phase);
                }
            }
            Phase::NotStarted => {
                *ph = Phase::Running(me());
                drop(ph);
                // As above: the waiting threads are woken even on a panic.
                let r = no_panic("running the init code", || run_init(ls));
                ph = lock(&ls.init.phase);
                match r {
                    Ok(()) => {
                        *ph = Phase::Done;
                        ls.init.ready.store(true, Ordering::Release);
                    }
                    Err(text) => {
                        let _ = ls.init.error.set(py::cstring_lossy(&text));
                        *ph = Phase::Failed;
                    }
                }
                ls.init.cv.notify_all();
            }
        }
    }
}

/// Runs `ls`'s init code with the GIL; `Err` is the (already printed) report.
fn run_init(ls: &LibState) -> Result<(), String> {
    if let Some(e) = &ls.table_error {
        let msg = format!(
            "cembed: library for module '{}' has malformed tables: {e}\n",
            ls.name.to_string_lossy()
        );
        py::c_stderr(&msg);
        return Err(msg);
    }
    let Some(_gate) = thread::enter() else {
        return Err("the process is exiting".into());
    };
    // SAFETY: inside the gate Python is running; Ensure/Release bracket all
    // Python work on this thread.
    unsafe {
        let g = ffi::PyGILState_Ensure();
        let r = run_init_code(ls).map_err(|()| report_init_failure(ls));
        ffi::PyGILState_Release(g);
        r
    }
}

/// # Safety
/// GIL held.
unsafe fn run_init_code(ls: &LibState) -> Result<(), ()> {
    crate::module::get_or_create_module(ls).map_err(|_| ())?;
    let Some(code) = &ls.init_code else {
        return Ok(());
    };
    let filename = py::cstring_lossy(&format!("<init code for '{}'>", ls.name.to_string_lossy()));
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
    let r = Owned::new(ffi::PyEval_EvalCode(
        compiled.ptr(),
        globals.ptr(),
        globals.ptr(),
    ))
    .ok_or(())?;
    drop(r);
    Ok(())
}

/// Prints (to `sys.stderr`) and returns the failure report; the current
/// exception is consumed. Mirrors CFFI's report, plus where we looked.
///
/// # Safety
/// GIL held.
unsafe fn report_init_failure(ls: &LibState) -> String {
    let tb = py::take_exception_text();
    let sys_path = sys_attr_text(c"path");
    let text = format!(
        "Failed to initialize the Python-cembed embedding logic:\n\n{tb}\n\
         From: {}\n\
         compiled with cembed version: {}\n\
         cembed runtime: {}\n\
         {}\
         sys.executable: {}\n\
         sys.path: {sys_path}\n\n",
        ls.name.to_string_lossy(),
        ls.cembed_version,
        runtime_location(),
        crate::location::describe(&crate::location::of(ls.lib, &ls.python_executable)),
        sys_attr_text(c"executable"),
    );
    py::write_stderr(&text);
    text
}

/// `repr(sys.<name>)`, or "(none)".
///
/// # Safety
/// GIL held.
unsafe fn sys_attr_text(name: &std::ffi::CStr) -> String {
    let p = ffi::PySys_GetObject(name.as_ptr());
    if p.is_null() {
        "(none)".to_string()
    } else {
        py::repr_text(p)
    }
}

// ---- exit ------------------------------------------------------------------

/// Our C `atexit` handler (registered only if we started Python).
extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(|| {
        if PROCESS
            .compare_exchange(READY, EXITING, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return;
        }
        let drained = wait_for_calls_to_drain();
        let main = MAIN_TSTATE.load(Ordering::SeqCst);
        // SAFETY: state EXITING: the gate admits no new call; if `drained`,
        // no host thread is inside Python.
        unsafe {
            if drained {
                // Finalize with the main thread state, whatever thread exits:
                // CPython (3.13 explicitly) expects Py_FinalizeEx to run on
                // the thread state that initialized it, and treats any other
                // as a daemon thread that must exit. Nobody else can be using
                // it: its thread is either us, or outside Python (drained).
                if STARTER.load(Ordering::SeqCst) == me() as usize || main.is_null() {
                    let _ = ffi::PyGILState_Ensure();
                } else {
                    ffi::PyEval_RestoreThread(main);
                }
                prepare_threading_for_finalize();
                ffi::Py_FinalizeEx();
                PROCESS.store(FINALIZED, Ordering::SeqCst);
            } else {
                // Our own thread state (this thread's pin, if any, was
                // released by its thread-local destructor, which glibc runs
                // before atexit handlers).
                let _ = ffi::PyGILState_Ensure();
                run_python_atexit_and_flush();
                // Keep the GIL: other host threads stay blocked at their next
                // GIL request until the process is gone, so no Python code
                // runs against a half torn-down C runtime.
                PROCESS.store(ABANDONED, Ordering::SeqCst);
            }
        }
    });
}

/// Waits up to EXIT_GRACE for host threads inside Python to leave. True if
/// none is inside.
fn wait_for_calls_to_drain() -> bool {
    let deadline = Instant::now() + EXIT_GRACE;
    loop {
        if !thread::anyone_inside() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `threading._shutdown()` (called by Py_FinalizeEx) must not wait for the
/// thread that started Python. Python calls "main thread" the thread that
/// imported `threading` first; for a library that is some host thread that
/// ran the init code, and on 3.9-3.12 `_shutdown` waits for that thread's
/// "tstate lock", which is only released when its thread state is deleted.
/// The thread that started Python owns the main thread state, which only
/// finalization deletes: finalization would wait for itself forever. So,
/// when the finalizing thread is not threading's main thread, we make it the
/// main thread (as CPython does after fork) and drop the old main thread's
/// lock from the set `_shutdown` joins. Non-daemon threads started by Python
/// code are still joined, as in a normal interpreter exit. 3.13 tracks the
/// main thread differently (`_thread._get_main_thread_ident`) and joins only
/// threads started by `threading`: nothing to do there.
///
/// # Safety
/// GIL held.
unsafe fn prepare_threading_for_finalize() {
    let modules = ffi::PyImport_GetModuleDict();
    if ffi::PyDict_GetItemString(modules, c"threading".as_ptr()).is_null() {
        return;
    }
    py::run_and_print(
        c"import threading as _t
if hasattr(_t, '_shutdown_locks') and _t._main_thread.ident != _t.get_ident():
    _old = _t._main_thread
    with _t._shutdown_locks_lock:
        _t._shutdown_locks.discard(_old._tstate_lock)
    _t._main_thread = _t._MainThread()
",
    );
}

/// The part of finalization that is safe with other threads still in
/// Python: atexit handlers and flushing the standard streams.
///
/// # Safety
/// GIL held.
unsafe fn run_python_atexit_and_flush() {
    if let Ok(f) = py::import_attr(c"atexit", c"_run_exitfuncs") {
        let r = ffi::PyObject_CallNoArgs(f.ptr());
        if r.is_null() {
            ffi::PyErr_Print();
        } else {
            ffi::Py_DECREF(r);
        }
    } else {
        ffi::PyErr_Clear();
    }
    py::flush_std_streams();
}

/// Host is Python: stop calling in when it finalizes.
///
/// # Safety
/// GIL held.
unsafe fn register_host_atexit() {
    static DEF: crate::module::StaticMethodDef = crate::module::StaticMethodDef::new(
        c"_cembed_host_exiting",
        host_exiting,
        c"cembed: stop host threads from entering Python during finalization",
    );
    let f = ffi::PyCFunction_NewEx(DEF.get(), std::ptr::null_mut(), std::ptr::null_mut());
    if f.is_null() {
        ffi::PyErr_Clear();
        return;
    }
    let f = Owned::new(f).expect("checked");
    match py::import_attr(c"atexit", c"register") {
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

unsafe extern "C" fn host_exiting(
    _slf: *mut ffi::PyObject,
    _args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let _ = std::panic::catch_unwind(|| {
        if PROCESS
            .compare_exchange(READY, EXITING, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            // Let C threads inside Python leave; they need the GIL to do so.
            // SAFETY: we hold the GIL (called from Python).
            let ts = unsafe { ffi::PyEval_SaveThread() };
            let drained = wait_for_calls_to_drain();
            // SAFETY: `ts` is this thread's state from SaveThread.
            unsafe { ffi::PyEval_RestoreThread(ts) };
            PROCESS.store(
                if drained { FINALIZED } else { ABANDONED },
                Ordering::SeqCst,
            );
        }
    });
    // SAFETY: GIL held.
    unsafe { py::new_ref(ffi::Py_None()) }
}

/// `f()`, with a panic turned into an error: used where other threads wait
/// for the outcome (a state left at "running" would block them forever).
fn no_panic(what: &str, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(format!(
            "cembed: internal error (panic) while {what}; this library's calls return 0"
        ))
    })
}
