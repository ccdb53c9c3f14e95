//! Host threads: one pinned Python thread state per OS thread, and the
//! "inside Python" gate that lets process exit know when it may finalize.
//!
//! ## Pinned thread states
//! `PyGILState_Ensure()` on a thread without a thread state creates one, and
//! the matching `PyGILState_Release()` destroys it again: a host thread
//! calling in a loop would allocate and free a thread state (and run the
//! thread-state setup) on every call, ~100x the cost of the call. So the
//! first call on a thread does one extra `PyGILState_Ensure()` that is only
//! released when the thread exits ("the pin"): the thread state's gilstate
//! counter never drops to zero, and every later call takes and drops the
//! GIL with that thread state (`PyEval_RestoreThread`/`SaveThread`, see
//! [`enter_python`]), with no allocation.
//!
//! The thread that started Python owns the main thread state, which lives
//! until process exit finalizes: it is used the same way (`Pin::Main`),
//! with nothing to release. A thread that already has another thread state
//! when it first calls in (a Python thread calling C) is "foreign": its
//! thread state is owned by someone else, so we do not pin it, and its calls
//! use `PyGILState_Ensure`/`Release`.
//!
//! The pin is released by the destructor of a thread-local, which runs when
//! the thread exits — unless Python is exiting or finalized (the gate below
//! says so), in which case the destructor does nothing: touching a finalized
//! interpreter would crash, and the process is ending anyway.
//!
//! ## The gate
//! Process exit (`init.rs`) must not finalize Python while a host thread is
//! inside it, and no host thread may enter Python once finalization began.
//! Each thread has its own `inside` flag (its own cache line, so threads do
//! not contend); entering is
//!     inside = true (SeqCst); if process state != READY { inside = false; refuse }
//! and exit is
//!     state = EXITING (SeqCst); wait until every inside flag is false.
//! This is Dekker's protocol: either the entering thread sees EXITING, or the
//! exiting thread sees the flag, never neither. Cost per call: one store
//! and one load on thread-private memory, no lock, no contention. The full
//! barrier the protocol needs between the store and the load is moved to
//! the exiting side with `membarrier()` where Linux offers it (see
//! `gate_enter`); otherwise the store is a SeqCst swap.

use crate::init;
use pyo3_ffi as ffi;
use std::cell::{Cell, OnceCell};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One thread's "inside Python" flag, alone in its cache line.
#[repr(align(64))]
pub(crate) struct SlotShared {
    inside: AtomicBool,
}

#[derive(Copy, Clone, PartialEq, Eq)]
enum Pin {
    /// Not decided yet (no call got through the gate on this thread).
    Unknown,
    /// We own one gilstate reference, released at thread exit; `ts` is the
    /// thread state it keeps alive (this thread's, used by [`enter_python`]).
    Pinned {
        ts: *mut ffi::PyThreadState,
        state: ffi::PyGILState_STATE,
    },
    /// The thread that started Python: its thread state is the main thread
    /// state, which we own and which lives until process exit finalizes
    /// (after the gate closed). Used like a pinned one; nothing to release.
    Main { ts: *mut ffi::PyThreadState },
    /// The thread state belongs to someone else; never pinned.
    Foreign,
}

struct ThreadSlot {
    shared: Arc<SlotShared>,
    pin: Cell<Pin>,
}

/// Every live thread's flag, scanned by process exit. Locked only when a
/// thread first calls in, when it exits, and at process exit.
static REGISTRY: Mutex<Vec<Arc<SlotShared>>> = Mutex::new(Vec::new());

/// Calls made while this thread's thread-local is already destroyed (a call
/// from another library's thread-local destructor): counted globally instead.
static UNSLOTTED: AtomicUsize = AtomicUsize::new(0);

/// Everything the call path keeps per thread, in ONE thread-local: the
/// runtime is a `dlopen()`ed shared object, so each thread-local access is a
/// `__tls_get_addr` call (general-dynamic TLS model); a call from C makes
/// exactly one.
pub(crate) struct Tls {
    /// `ffi.errno`: CFFI's saved errno of this thread (cfunc.rs).
    pub(crate) errno: Cell<i32>,
    /// Created on the first call through the gate (it registers the thread).
    slot: OnceCell<ThreadSlot>,
}

thread_local! {
    static TLS: Tls = const {
        Tls {
            errno: Cell::new(0),
            slot: OnceCell::new(),
        }
    };
}

impl Tls {
    #[inline(always)]
    fn slot(&self) -> &ThreadSlot {
        self.slot.get_or_init(ThreadSlot::new)
    }
}

/// `ffi.errno` of this thread (0 while the thread-local is being destroyed).
pub(crate) fn errno_get() -> i32 {
    TLS.try_with(|t| t.errno.get()).unwrap_or(0)
}

/// Sets `ffi.errno` of this thread.
pub(crate) fn errno_set(v: i32) {
    let _ = TLS.try_with(|t| t.errno.set(v));
}

/// This thread's `errno`.
pub(crate) fn errno_location() -> *mut i32 {
    // SAFETY: no preconditions; the pointer is valid for this thread.
    unsafe { libc::__errno_location() }
}

/// A call from C in progress: CFFI's errno rule (the caller's errno is
/// saved on entry, what `ffi.errno` reads; C calls made from Python update
/// the saved value; `ffi.errno = x` sets it; errno holds it when this is
/// dropped; a nested entry gives the outer Python code its saved value
/// back), and this thread's [`Tls`] for [`CallEntry::enter_python`].
pub(crate) struct CallEntry {
    /// NULL while the thread-local is being destroyed (a call from another
    /// library's thread-local destructor).
    tls: *const Tls,
    loc: *mut i32,
    outer: i32,
}

/// Starts a call from C (the one thread-local access of the call).
#[inline(always)]
pub(crate) fn c_entry() -> CallEntry {
    let loc = errno_location();
    // SAFETY: `loc` is this thread's errno.
    let now = unsafe { *loc };
    // The pointer does not leave this thread, and the thread-local lives
    // until the thread exits, past the call.
    match TLS.try_with(|t| (t as *const Tls, t.errno.replace(now))) {
        Ok((tls, outer)) => CallEntry { tls, loc, outer },
        Err(_) => CallEntry {
            tls: std::ptr::null(),
            loc,
            outer: now,
        },
    }
}

impl Drop for CallEntry {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: see c_entry: `tls` is this thread's live thread-local (or
        // NULL), `loc` this thread's errno.
        unsafe {
            match self.tls.as_ref() {
                Some(t) => {
                    *self.loc = t.errno.get();
                    t.errno.set(self.outer);
                }
                None => *self.loc = self.outer,
            }
        }
    }
}

impl ThreadSlot {
    fn new() -> ThreadSlot {
        let shared = Arc::new(SlotShared {
            inside: AtomicBool::new(false),
        });
        lock_registry().push(shared.clone());
        ThreadSlot {
            shared,
            pin: Cell::new(Pin::Unknown),
        }
    }
}

fn lock_registry() -> std::sync::MutexGuard<'static, Vec<Arc<SlotShared>>> {
    // A panic while holding this lock cannot leave the Vec inconsistent.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for ThreadSlot {
    fn drop(&mut self) {
        if let Pin::Pinned { state, .. } = self.pin.get() {
            self.shared.inside.store(true, Ordering::SeqCst);
            if init::python_usable() {
                // SAFETY: this thread holds one gilstate reference (the pin)
                // and Python is running (checked through the gate, so exit
                // cannot finalize it meanwhile). Ensure takes the GIL (count
                // 2); Release(LOCKED) drops the count to 1 keeping the GIL;
                // releasing the pin drops it to 0, which clears and deletes
                // this thread state and releases the GIL.
                unsafe {
                    let _ = ffi::PyGILState_Ensure();
                    ffi::PyGILState_Release(ffi::PyGILState_STATE::PyGILState_LOCKED);
                    ffi::PyGILState_Release(state);
                }
            }
            self.shared.inside.store(false, Ordering::Release);
        }
        let mut reg = lock_registry();
        if let Some(i) = reg.iter().position(|s| Arc::ptr_eq(s, &self.shared)) {
            reg.swap_remove(i);
        }
    }
}

/// Proof that this thread passed the gate; leaving drops it.
pub(crate) struct Gate {
    shared: Option<*const SlotShared>,
    /// The flag's value before this entry. Entries nest (Python code calls a
    /// C function, which calls back into Python on the same thread: the GIL
    /// is released around C calls, cfunc.rs), and leaving the inner one must
    /// not mark the thread as outside while the outer call still runs Python.
    was_inside: bool,
}

impl Drop for Gate {
    fn drop(&mut self) {
        match self.shared {
            // SAFETY: the slot's Arc lives in this thread's thread-local,
            // which outlives the Gate (a Gate never leaves the call).
            Some(s) => unsafe { (*s).inside.store(self.was_inside, Ordering::Release) },
            None => {
                UNSLOTTED.fetch_sub(1, Ordering::Release);
            }
        }
    }
}

/// Enters the gate: `None` if Python is not (or no longer) usable, in which
/// case the caller must not touch Python. On the first successful entry of a
/// thread, pins its thread state (see the module comment).
#[inline]
pub(crate) fn enter() -> Option<Gate> {
    let r = TLS.try_with(|t| {
        let slot = t.slot();
        let was_inside = gate_enter(&slot.shared.inside);
        if !init::python_usable() {
            slot.shared.inside.store(was_inside, Ordering::Release);
            return None;
        }
        if slot.pin.get() == Pin::Unknown {
            slot.pin.set(pin_this_thread());
        }
        Some(Gate {
            shared: Some(&*slot.shared as *const SlotShared),
            was_inside,
        })
    });
    match r {
        Ok(g) => g,
        Err(_) => {
            UNSLOTTED.fetch_add(1, Ordering::SeqCst);
            if !init::python_usable() {
                UNSLOTTED.fetch_sub(1, Ordering::Release);
                return None;
            }
            Some(Gate {
                shared: None,
                was_inside: false,
            })
        }
    }
}

#[cold]
fn pin_this_thread() -> Pin {
    // SAFETY: Python is initialised (we are inside the gate) and this thread
    // does not hold the GIL through us. GetThisThreadState only reads the
    // thread's TSS slot.
    unsafe {
        let cur = ffi::PyGILState_GetThisThreadState();
        if !cur.is_null() {
            if cur == init::main_tstate() {
                return Pin::Main { ts: cur };
            }
            return Pin::Foreign;
        }
        let state = ffi::PyGILState_Ensure();
        // Keep the new thread state (count 1) but drop the GIL: from now on
        // each call takes and drops the GIL with this thread state.
        let ts = ffi::PyEval_SaveThread();
        Pin::Pinned { ts, state }
    }
}

/// True if some host thread is inside Python (or entering it). Only
/// meaningful after the process state left READY (see the gate protocol).
pub(crate) fn anyone_inside() -> bool {
    // The other side of the asymmetric barrier of `gate_enter`: the caller
    // stored the new process state; after this every thread's earlier
    // `inside` store is visible to the scan below (or that thread will see
    // the new state).
    gate_barrier();
    if UNSLOTTED.load(Ordering::SeqCst) != 0 {
        return true;
    }
    let me = TLS
        .try_with(|t| t.slot.get().map(|s| Arc::as_ptr(&s.shared)))
        .ok()
        .flatten();
    lock_registry().iter().any(|s| {
        // The exiting thread itself is not "inside" (it is running the exit
        // handler, outside any call), whatever its flag says.
        Some(Arc::as_ptr(s)) != me && s.inside.load(Ordering::SeqCst)
    })
}

/// Whether the current thread holds the GIL, without the pitfalls of
/// `PyGILState_Check` (which answers 1 when it cannot tell, e.g. once a
/// subinterpreter exists on 3.9-3.11).
///
/// # Safety
/// Python is initialised.
pub(crate) unsafe fn holds_gil() -> bool {
    // 3.12+: the "current thread state" is thread-local: non-NULL means this
    // thread holds the GIL (of its interpreter).
    #[cfg(Py_3_13)]
    {
        extern "C" {
            fn PyThreadState_GetUnchecked() -> *mut ffi::PyThreadState;
        }
        !PyThreadState_GetUnchecked().is_null()
    }
    #[cfg(all(Py_3_12, not(Py_3_13)))]
    {
        extern "C" {
            fn _PyThreadState_UncheckedGet() -> *mut ffi::PyThreadState;
        }
        !_PyThreadState_UncheckedGet().is_null()
    }
    // 3.9-3.11: the "current thread state" is process-wide (whoever holds
    // the GIL), so it must also be *this* thread's state.
    #[cfg(not(Py_3_12))]
    {
        extern "C" {
            fn _PyThreadState_UncheckedGet() -> *mut ffi::PyThreadState;
        }
        let cur = _PyThreadState_UncheckedGet();
        !cur.is_null() && cur == ffi::PyGILState_GetThisThreadState()
    }
}

// ---- the gate's barrier ------------------------------------------------------
//
// Dekker's protocol needs a full barrier between the entering thread's store
// to its `inside` flag and its load of the process state. A SeqCst store
// (`xchg`) costs ~4 ns per call on this class of machine, ~5% of a whole
// call. With Linux's `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` the
// barrier moves to the rare side: entering is a plain store and a compiler
// fence, and the exiting thread, after publishing the new state, makes every
// other thread of the process run a full barrier before it scans the flags.
// Registration happens once, before the process state first becomes READY,
// so every thread that passes the gate already sees the final mode; where
// the kernel refuses (old kernel, seccomp, valgrind) the gate keeps the
// SeqCst store.

/// Set (once, before READY) when the process is registered for expedited
/// private membarriers.
static MEMBARRIER: AtomicBool = AtomicBool::new(false);

#[cfg(target_os = "linux")]
mod membarrier {
    // linux/membarrier.h
    const CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    fn sys(cmd: libc::c_long) -> bool {
        // SAFETY: membarrier takes (cmd, flags, cpu_id) by value and touches
        // no memory of ours.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                cmd,
                0 as libc::c_long,
                0 as libc::c_long,
            ) == 0
        }
    }

    pub(super) fn register() -> bool {
        sys(CMD_REGISTER_PRIVATE_EXPEDITED)
    }

    pub(super) fn run() -> bool {
        sys(CMD_PRIVATE_EXPEDITED)
    }
}

#[cfg(not(target_os = "linux"))]
mod membarrier {
    pub(super) fn register() -> bool {
        false
    }
    pub(super) fn run() -> bool {
        false
    }
}

/// Chooses the gate's barrier mode. Called by `init.rs` once, just before
/// the process state becomes READY (no thread can be inside the gate yet).
pub(crate) fn register_membarrier() {
    if !MEMBARRIER.load(Ordering::SeqCst) && membarrier::register() {
        MEMBARRIER.store(true, Ordering::SeqCst);
    }
}

/// Marks this thread inside (the hot side of the barrier). Returns the
/// previous value of the flag (entries nest).
#[inline(always)]
fn gate_enter(inside: &AtomicBool) -> bool {
    if MEMBARRIER.load(Ordering::Relaxed) {
        let was = inside.load(Ordering::Relaxed);
        inside.store(true, Ordering::Relaxed);
        // Keeps the compiler from moving the caller's load of the process
        // state above the store; the CPU side is `gate_barrier`'s job.
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
        was
    } else {
        inside.swap(true, Ordering::SeqCst)
    }
}

/// The exiting side of the barrier: after the process state was changed,
/// before the flags are read.
fn gate_barrier() {
    if MEMBARRIER.load(Ordering::SeqCst) && !membarrier::run() {
        // Cannot happen once registered; if it does, the flags may be
        // stale for an instant: the caller polls them again anyway, but a
        // thread that entered with a plain store could be missed. Tell.
        crate::py::c_stderr("cembed: membarrier() failed at exit\n");
    }
}

// ---- the call from C -----------------------------------------------------------

/// This thread's current Python thread state if it holds the GIL with it
/// (3.12+: thread-local), or the process-wide GIL holder's (3.9-3.11): in
/// both cases `current_tstate() == ts` for this thread's own `ts` means
/// "this thread holds the GIL through ts", because only this thread ever
/// runs with `ts`.
#[inline(always)]
unsafe fn current_tstate() -> *mut ffi::PyThreadState {
    #[cfg(Py_3_13)]
    {
        extern "C" {
            fn PyThreadState_GetUnchecked() -> *mut ffi::PyThreadState;
        }
        PyThreadState_GetUnchecked()
    }
    #[cfg(not(Py_3_13))]
    {
        extern "C" {
            fn _PyThreadState_UncheckedGet() -> *mut ffi::PyThreadState;
        }
        _PyThreadState_UncheckedGet()
    }
}

/// How [`enter_python`] took the GIL, so it gives it back the same way.
#[derive(Copy, Clone)]
enum Held {
    /// Took the GIL with this thread's pinned state (`PyEval_RestoreThread`).
    Restored,
    /// The thread already held the GIL with its pinned state: nothing to do.
    Already,
    /// Foreign thread (or no thread-local left): the PyGILState API.
    GilState(ffi::PyGILState_STATE),
}

/// Leaves Python on drop, also when `f` panics: gives the GIL back and
/// restores the gate flag, so a panic (reported by the C entry) can neither
/// keep the GIL nor make process exit wait forever.
pub(crate) struct Leave {
    inside: *const AtomicBool,
    was_inside: bool,
    held: Held,
}

impl Drop for Leave {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: we hold the GIL as recorded in `held`; `inside` is this
        // thread's flag (or null for an unslotted call), alive for the call.
        unsafe {
            match self.held {
                Held::Restored => {
                    ffi::PyEval_SaveThread();
                }
                Held::Already => {}
                Held::GilState(g) => ffi::PyGILState_Release(g),
            }
            if self.inside.is_null() {
                UNSLOTTED.fetch_sub(1, Ordering::Release);
            } else {
                (*self.inside).store(self.was_inside, Ordering::Release);
            }
        }
    }
}

/// Enters Python for a call from C: passes the exit gate and takes the GIL;
/// dropping the returned [`Leave`] gives the GIL back and leaves the gate
/// (also when unwinding). `None` (Python untouched) if Python is not or no
/// longer usable.
///
/// The GIL: a pinned thread owns its thread state, so it takes the GIL with
/// `PyEval_RestoreThread(ts)` / `PyEval_SaveThread()` — what
/// `PyGILState_Ensure`/`Release` do for it too, minus their thread-specific
/// storage lookups and counter. If the thread already holds the GIL with
/// that state (the host took it, e.g. with `PyGILState_Ensure`, and calls
/// us), it must not be taken again: `PyGILState_Ensure` tests exactly
/// `current thread state == ts`, and so do we. Other threads (a Python
/// thread calling C, the thread that started Python) keep the PyGILState
/// API.
///
/// # Safety
/// Python was started (the library's init passed).
#[inline(always)]
pub(crate) unsafe fn enter_python(entry: &CallEntry) -> Option<Leave> {
    let Some(tls) = entry.tls.as_ref() else {
        return enter_python_unslotted();
    };
    let slot = tls.slot();
    let inside = &slot.shared.inside;
    let was_inside = gate_enter(inside);
    if !init::python_usable() {
        inside.store(was_inside, Ordering::Release);
        return None;
    }
    let mut pin = slot.pin.get();
    if pin == Pin::Unknown {
        pin = pin_this_thread();
        slot.pin.set(pin);
    }
    let held = match pin {
        Pin::Pinned { ts, .. } | Pin::Main { ts } => {
            if current_tstate() == ts {
                Held::Already
            } else {
                ffi::PyEval_RestoreThread(ts);
                Held::Restored
            }
        }
        Pin::Foreign | Pin::Unknown => Held::GilState(ffi::PyGILState_Ensure()),
    };
    // The flag lives in the slot's Arc, which the thread-local keeps alive
    // past the call.
    Some(Leave {
        inside: inside as *const AtomicBool,
        was_inside,
        held,
    })
}

/// [`enter_python`] for a call made while this thread's thread-local is
/// already destroyed (from another library's thread-local destructor).
#[cold]
#[inline(never)]
unsafe fn enter_python_unslotted() -> Option<Leave> {
    UNSLOTTED.fetch_add(1, Ordering::SeqCst);
    if !init::python_usable() {
        UNSLOTTED.fetch_sub(1, Ordering::Release);
        return None;
    }
    Some(Leave {
        inside: std::ptr::null(),
        was_inside: false,
        held: Held::GilState(ffi::PyGILState_Ensure()),
    })
}
