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
//! counter never drops to zero, so every later call is one
//! Ensure/Release pair that only takes and drops the GIL, with no allocation.
//!
//! A thread that already has a thread state when it first calls in (a Python
//! thread calling C, or the thread that initialised Python, which owns the
//! main thread state) is "foreign": its thread state is owned by someone
//! else, so we do not pin it.
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
//! exiting thread sees the flag, never neither. Cost per call: one SeqCst
//! store and one load on thread-private memory, no lock, no contention.

use crate::init;
use pyo3_ffi as ffi;
use std::cell::Cell;
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
    /// We own one gilstate reference, released at thread exit.
    Pinned(ffi::PyGILState_STATE),
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

thread_local! {
    static SLOT: ThreadSlot = ThreadSlot::new();
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
        if let Pin::Pinned(state) = self.pin.get() {
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
    let r = SLOT.try_with(|slot| {
        let was_inside = slot.shared.inside.swap(true, Ordering::SeqCst);
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
        if !ffi::PyGILState_GetThisThreadState().is_null() {
            return Pin::Foreign;
        }
        let state = ffi::PyGILState_Ensure();
        // Keep the new thread state (count 1) but drop the GIL: from now on
        // each call is an Ensure/Release pair on top of this reference.
        ffi::PyEval_SaveThread();
        Pin::Pinned(state)
    }
}

/// True if some host thread is inside Python (or entering it). Only
/// meaningful after the process state left READY (see the gate protocol).
pub(crate) fn anyone_inside() -> bool {
    if UNSLOTTED.load(Ordering::SeqCst) != 0 {
        return true;
    }
    let me = SLOT.try_with(|s| Arc::as_ptr(&s.shared)).ok();
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
