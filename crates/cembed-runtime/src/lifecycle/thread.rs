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

use pyo3_ffi as ffi;
use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// One thread's "inside Python" flag, alone in its cache line.
#[repr(align(64))]
struct SlotShared {
    inside: AtomicBool,
}

#[derive(Copy, Clone, PartialEq, Eq)]
enum Pin {
    /// Not decided yet (no call got through the gate on this thread).
    Unknown,
    /// We own one gilstate reference, released at thread exit; `ts` is the
    /// thread state it keeps alive (this thread's, used by [`enter_python`]).
    Pinned { ts: *mut ffi::PyThreadState },
    /// The thread that started Python: its thread state is the main thread
    /// state, which we own and which lives until process exit finalizes
    /// (after the gate closed). Used like a pinned one; nothing to release.
    Main { ts: *mut ffi::PyThreadState },
    /// The thread state belongs to someone else; never pinned.
    Foreign,
}

/// One host thread's state, created by its first call through the gate and
/// freed by the destructor of [`slot_key`] when the thread exits.
struct ThreadSlot {
    shared: Arc<SlotShared>,
    pin: Cell<Pin>,
    /// This thread's thread states in subinterpreters (lifecycle/interp.rs).
    subs: std::cell::RefCell<Vec<SubPin>>,
    /// Pools this thread is bound to: (library, instance index).
    binds: std::cell::RefCell<Vec<(*const crate::desc::libstate::LibState, usize)>>,
}

/// A thread state of this thread in a subinterpreter.
#[derive(Copy, Clone)]
struct SubPin {
    interp: *mut ffi::PyInterpreterState,
    ts: *mut ffi::PyThreadState,
    /// Made by us (deleted when the thread exits); else the thread's own
    /// (a Python thread of that interpreter calling C).
    owned: bool,
}

/// Every live thread's flag, scanned by process exit. Locked only when a
/// thread first calls in, when it exits, and at process exit. In a cell so
/// that the child of a `fork()` can replace it ([`after_fork_child`]).
static REGISTRY: Registry = Registry(UnsafeCell::new(Mutex::new(Vec::new())));

struct Registry(UnsafeCell<Mutex<Vec<Arc<SlotShared>>>>);
// SAFETY: the Mutex inside is shared as usual; the cell is only written by
// `after_fork_child`, when the process has a single thread.
unsafe impl Sync for Registry {}

/// Everything the call path keeps per thread, in ONE thread-local: the
/// runtime is a `dlopen()`ed shared object, so each thread-local access is a
/// `__tls_get_addr` call (general-dynamic TLS model); a call from C makes
/// exactly one.
///
/// It has no destructor, so Rust registers none and it is usable at any
/// point of a thread's life, including from another library's thread-local
/// or pthread-key destructor. The slot it points to is owned by a pthread
/// key instead ([`slot_key`]), whose destructor glibc runs at thread exit
/// *after* every C++/Rust thread-local destructor, and runs again (up to
/// `PTHREAD_DESTRUCTOR_ITERATIONS` rounds) when another key's destructor
/// made a first call and so set the key anew: a thread whose first call
/// comes from a destructor still releases its thread state.
pub(crate) struct Tls {
    /// `ffi.errno`: CFFI's saved errno of this thread (cfunc.rs).
    pub(crate) errno: Cell<i32>,
    /// NULL until the first call through the gate (which registers the
    /// thread), and again after the key's destructor freed it.
    slot: Cell<*const ThreadSlot>,
    /// Argument buffers of C calls made from Python ([`scratch_alloc`]).
    scratch: UnsafeCell<[u128; SCRATCH_SLOTS]>,
    scratch_top: Cell<usize>,
}

/// 16-byte slots of [`Tls::scratch`] (4 KiB a thread).
const SCRATCH_SLOTS: usize = 256;

/// Takes `n` 16-byte, 16-aligned slots of this thread's scratch stack:
/// `(memory, mark)`, or `None` when they do not fit (the caller uses the
/// heap). Released with [`scratch_release`] in reverse order of taking
/// (calls nest: Python -> C -> Python -> C). Why a stack beside the C
/// stack: these buffers (a C call's arguments, a Python call's argument
/// vector) must live while the callee runs, and on the C stack they would
/// be paid at every level of a deep Python -> C -> Python recursion (threads
/// of hosts often have small stacks). A thread that ends inside a call
/// (unwind.rs) never releases: it has no later call.
pub(crate) fn scratch_alloc(n: usize) -> Option<(*mut u128, usize)> {
    TLS.with(|t| t.scratch_take(n))
}

/// Releases what [`scratch_alloc`] took (and everything taken after it).
pub(crate) fn scratch_release(mark: usize) {
    TLS.with(|t| t.scratch_back(mark));
}

impl Tls {
    /// [`scratch_alloc`] on this (the current thread's) thread-local.
    #[inline(always)]
    pub(crate) fn scratch_take(&self, n: usize) -> Option<(*mut u128, usize)> {
        let top = self.scratch_top.get();
        if n > SCRATCH_SLOTS - top {
            return None;
        }
        self.scratch_top.set(top + n);
        // SAFETY: `top + n` is within the array; this range is handed out
        // once until released.
        Some((unsafe { (self.scratch.get() as *mut u128).add(top) }, top))
    }

    /// [`scratch_release`] on this thread-local.
    #[inline(always)]
    pub(crate) fn scratch_back(&self, mark: usize) {
        self.scratch_top.set(mark);
    }
}

/// This thread's thread-local (for the call path, which already has it).
pub(crate) fn tls() -> *const Tls {
    TLS.with(|t| t as *const Tls)
}

thread_local! {
    static TLS: Tls = const {
        Tls {
            errno: Cell::new(0),
            slot: Cell::new(std::ptr::null()),
            scratch: UnsafeCell::new([0; SCRATCH_SLOTS]),
            scratch_top: Cell::new(0),
        }
    };
}

impl Tls {
    #[inline(always)]
    fn slot(&self) -> &ThreadSlot {
        let p = self.slot.get();
        if p.is_null() {
            return self.new_slot();
        }
        // SAFETY: a non-NULL `slot` is this thread's live ThreadSlot: only
        // the key destructor frees it, on this thread, after clearing it.
        unsafe { &*p }
    }

    #[cold]
    #[inline(never)]
    fn new_slot(&self) -> &ThreadSlot {
        let shared = Arc::new(SlotShared {
            inside: AtomicBool::new(false),
        });
        lock_registry().push(shared.clone());
        let p = Box::into_raw(Box::new(ThreadSlot {
            shared,
            pin: Cell::new(Pin::Unknown),
            subs: std::cell::RefCell::new(Vec::new()),
            binds: std::cell::RefCell::new(Vec::new()),
        }));
        self.slot.set(p);
        // SAFETY: the key exists (slot_key creates it once); setting this
        // thread's value has no other precondition. If it fails (ENOMEM) the
        // slot simply lives as long as the process.
        unsafe { libc::pthread_setspecific(slot_key(), p as *const libc::c_void) };
        // SAFETY: just allocated; freed only by the key destructor.
        unsafe { &*p }
    }
}

/// The pthread key whose destructor frees a thread's [`ThreadSlot`].
fn slot_key() -> libc::pthread_key_t {
    static KEY: OnceLock<libc::pthread_key_t> = OnceLock::new();
    *KEY.get_or_init(|| {
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: `key` is a valid out-pointer; the destructor is an
        // extern "C" fn taking the value.
        unsafe { libc::pthread_key_create(&mut key, Some(slot_destructor)) };
        key
    })
}

/// Thread exit: releases the thread's pinned thread state and unregisters
/// its flag.
unsafe extern "C" fn slot_destructor(p: *mut libc::c_void) {
    crate::py::guard::c_entry("a thread-exit destructor", (), || {
        let p = p as *mut ThreadSlot;
        TLS.with(|t| {
            if std::ptr::eq(t.slot.get(), p) {
                t.slot.set(std::ptr::null());
            }
        });
        // SAFETY: `p` came from Box::into_raw in new_slot; glibc calls the
        // destructor once per value set, and the thread-local no longer
        // points to it.
        drop(unsafe { Box::from_raw(p) });
    });
}

/// `ffi.errno` of this thread.
pub(crate) fn errno_get() -> i32 {
    TLS.with(|t| t.errno.get())
}

/// Sets `ffi.errno` of this thread.
pub(crate) fn errno_set(v: i32) {
    TLS.with(|t| t.errno.set(v));
}

/// This thread's `errno`.
pub(crate) fn errno_location() -> *mut i32 {
    // SAFETY: no preconditions; the pointer is valid for this thread.
    unsafe { libc::__errno_location() }
}

/// A call from C in progress: CFFI's errno rule (the caller's errno is
/// saved on entry, what `ffi.errno` reads; C calls made from Python update
/// the saved value; `ffi.errno = x` sets it; errno holds it when the call
/// [finishes](CallEntry::finish); a nested entry gives the outer Python code
/// its saved value back), and this thread's [`Tls`] for [`enter_python`].
pub(crate) struct CallEntry {
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
    // as long as the thread, past the call.
    let (tls, outer) = TLS.with(|t| (t as *const Tls, t.errno.replace(now)));
    CallEntry { tls, loc, outer }
}

impl CallEntry {
    /// What an out-of-line part of the call needs to make a second handle
    /// on this entry ([`CallEntry::from_parts`]): two registers, where a
    /// reference would make the caller keep the entry in its stack frame,
    /// which a deep Python -> C -> Python recursion pays per level.
    #[inline(always)]
    pub(crate) fn parts(&self) -> (*const Tls, i32) {
        (self.tls, self.outer)
    }

    /// A second handle on an entry from its [`parts`](CallEntry::parts), on
    /// the thread that made it. Only the original is finished.
    pub(crate) fn from_parts(tls: *const Tls, outer: i32) -> CallEntry {
        CallEntry {
            tls,
            loc: errno_location(),
            outer,
        }
    }

    /// This thread's thread-local, found when the call started.
    #[inline(always)]
    pub(crate) fn tls(&self) -> &Tls {
        // SAFETY: see c_entry.
        unsafe { &*self.tls }
    }

    /// Ends the call: errno gets its value (see the type). Not a `Drop`: a
    /// forced unwind passing the call (unwind.rs) must find no destructor.
    #[inline(always)]
    pub(crate) fn finish(self) {
        // SAFETY: see c_entry: `tls` is this thread's thread-local, `loc`
        // this thread's errno.
        unsafe {
            let t = &*self.tls;
            *self.loc = t.errno.get();
            t.errno.set(self.outer);
        }
    }
}

fn lock_registry() -> std::sync::MutexGuard<'static, Vec<Arc<SlotShared>>> {
    // SAFETY: the cell is only replaced while the process has one thread.
    let m = unsafe { &*REGISTRY.0.get() };
    // A panic while holding this lock cannot leave the Vec inconsistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for ThreadSlot {
    fn drop(&mut self) {
        let subs = std::mem::take(&mut *self.subs.borrow_mut());
        let binds = std::mem::take(&mut *self.binds.borrow_mut());
        for (ls, i) in binds {
            // SAFETY: a LibState is never freed.
            let ls = unsafe { &*ls };
            if let Some(inst) = ls.insts().get(i) {
                inst.bound.fetch_sub(1, Ordering::AcqRel);
            }
        }
        // This thread's own thread states: those it made in
        // subinterpreters, then its pinned main one. Deleted directly, as
        // PyGILState_Release would at count zero: at this point of the
        // thread's exit glibc may already have cleared CPython's own
        // thread-specific slot (pthread keys are emptied in one sweep before
        // their destructors run), so the PyGILState API would no longer
        // find them.
        let mut own: Vec<*mut ffi::PyThreadState> =
            subs.iter().filter(|p| p.owned).map(|p| p.ts).collect();
        if let Pin::Pinned { ts, .. } = self.pin.get() {
            own.push(ts);
        }
        if !own.is_empty() {
            // Through the gate, so exit cannot end an interpreter or
            // finalize Python meanwhile.
            if let Some(was) = pass_gate(&self.shared.inside) {
                for ts in own {
                    crate::lifecycle::tstates::forget_pin(ts);
                    // SAFETY: `ts` is this thread's own thread state, not
                    // current (no call of this thread is running), in an
                    // interpreter that lives while Python is usable
                    // (subinterpreters end only after the gate closed, and
                    // a fork child forgets them, see after_fork_child).
                    unsafe {
                        ffi::PyEval_RestoreThread(ts);
                        ffi::PyThreadState_Clear(ts);
                        ffi::PyThreadState_DeleteCurrent();
                    }
                }
                self.shared.inside.store(was, Ordering::Release);
            }
        }
        let mut reg = lock_registry();
        if let Some(i) = reg.iter().position(|s| Arc::ptr_eq(s, &self.shared)) {
            reg.swap_remove(i);
        }
    }
}

/// Proof that this thread passed the gate; leaving drops it.
pub(crate) struct Gate {
    shared: *const SlotShared,
    /// The flag's value before this entry. Entries nest (Python code calls a
    /// C function, which calls back into Python on the same thread: the GIL
    /// is released around C calls, cfunc.rs), and leaving the inner one must
    /// not mark the thread as outside while the outer call still runs Python.
    was_inside: bool,
}

impl Drop for Gate {
    fn drop(&mut self) {
        // SAFETY: the slot lives until this thread exits, which is after
        // the Gate (a Gate never leaves the call). Only a flag is touched,
        // never Python, so a forced unwind may run this.
        unsafe {
            (*self.shared)
                .inside
                .store(self.was_inside, Ordering::Release)
        }
    }
}

/// Passes the gate on `inside` (this thread's flag): `Some(was_inside)`
/// (the flag's previous value, for entries that nest) if Python may be
/// entered, else `None` with the flag as it was.
#[inline(always)]
fn pass_gate(inside: &AtomicBool) -> Option<bool> {
    let was_inside = gate_enter(inside);
    if !crate::lifecycle::state::python_usable() {
        inside.store(was_inside, Ordering::Release);
        return None;
    }
    Some(was_inside)
}

/// Enters the gate without choosing this thread's main-interpreter thread
/// state (a thread that only calls isolated libraries never needs one).
pub(crate) fn enter_gate() -> Option<Gate> {
    TLS.with(|t| {
        let slot = t.slot();
        let was_inside = pass_gate(&slot.shared.inside)?;
        Some(Gate {
            shared: &*slot.shared as *const SlotShared,
            was_inside,
        })
    })
}

/// This thread's thread state in `interp` (made on first use).
///
/// # Safety
/// Python runs, `interp` is live, and this thread is inside the gate.
pub(crate) unsafe fn sub_tstate_here(
    interp: *mut ffi::PyInterpreterState,
) -> *mut ffi::PyThreadState {
    // SAFETY: contract.
    TLS.with(|t| unsafe { sub_tstate(t.slot(), interp) })
}

#[cold]
fn pin_this_thread() -> Pin {
    // SAFETY: Python is initialised (we are inside the gate) and this thread
    // does not hold the GIL through us. GetThisThreadState only reads the
    // thread's TSS slot.
    unsafe {
        let cur = ffi::PyGILState_GetThisThreadState();
        if !cur.is_null() && crate::lifecycle::tstates::in_main_interp(cur) {
            if cur == crate::lifecycle::state::main_tstate() {
                return Pin::Main { ts: cur };
            }
            return Pin::Foreign;
        }
        if !cur.is_null() {
            // The thread's PyGILState thread state is in a subinterpreter
            // (CPython binds the last one a thread activated): it needs a
            // main-interpreter thread state of its own, made directly (the
            // PyGILState API would pick the subinterpreter's).
            let ts = ffi::PyThreadState_New(ffi::PyInterpreterState_Main());
            return Pin::Pinned { ts };
        }
        let _ = crate::py::unwind::PyGILState_Ensure();
        // Keep the new thread state (count 1) but drop the GIL: from now on
        // each call takes and drops the GIL with this thread state.
        let ts = ffi::PyEval_SaveThread();
        Pin::Pinned { ts }
    }
}

/// Identifies one thread's slot, to leave it out of [`drained`].
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct SlotId(*const SlotShared);
// SAFETY: only compared, never dereferenced.
unsafe impl Send for SlotId {}

/// This thread's slot, if it ever called in.
pub(crate) fn current_slot() -> Option<SlotId> {
    let p = TLS.with(|t| t.slot.get());
    // SAFETY: a non-NULL slot is this thread's live ThreadSlot.
    (!p.is_null()).then(|| SlotId(unsafe { Arc::as_ptr(&(*p).shared) }))
}

/// Waits up to `grace` until no host thread but `exiting` (the thread in
/// `exit()`, which is not running a call whatever its flag says) is inside
/// Python. Only meaningful after the process state left READY (see the gate
/// protocol). True if none is inside.
pub(crate) fn drained(grace: std::time::Duration, exiting: Option<SlotId>) -> bool {
    let deadline = std::time::Instant::now() + grace;
    loop {
        // The other side of the asymmetric barrier of `gate_enter`: the
        // caller stored the new process state; after this every thread's
        // earlier `inside` store is visible to the scan below (or that
        // thread will see the new state).
        gate_barrier();
        let inside = lock_registry()
            .iter()
            .any(|s| Some(SlotId(Arc::as_ptr(s))) != exiting && s.inside.load(Ordering::SeqCst));
        if !inside {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// After `fork()`, in the child: only the forking thread exists. Every
/// other thread's flag goes (its thread state was deleted by
/// `PyOS_AfterFork_Child`, or will be), and when `main` is set the forking
/// thread's state becomes the one that finalizes (`init.rs`), which its
/// thread-local must then never release.
///
/// # Safety
/// Called in the child of fork() only, before anything else runs.
pub(crate) unsafe fn after_fork_child(main: *mut ffi::PyThreadState) {
    // The registry's mutex may have been held by a thread that does not
    // exist in the child: never lock it here, replace it.
    let me = TLS.with(|t| t.slot.get());
    let mut keep = Vec::new();
    if !me.is_null() {
        // SAFETY: a non-NULL `slot` is this thread's live ThreadSlot (only the
        // key destructor frees it, on this thread).
        let slot = unsafe { &*me };
        keep.push(slot.shared.clone());
        // CPython deleted every subinterpreter in the child, with their
        // thread states; the pool bindings go with them (interp.rs starts
        // fresh instances).
        slot.subs.borrow_mut().clear();
        slot.binds.borrow_mut().clear();
        if let Pin::Pinned { .. } | Pin::Main { .. } = slot.pin.get() {
            if !main.is_null() {
                // The forking thread's state is the child's main thread
                // state; any other state of this thread was deleted by
                // PyOS_AfterFork_Child (a fork taken with a temporary
                // thread state, exit.rs).
                slot.pin.set(Pin::Main { ts: main });
            }
        }
    }
    // The old registry (and its lock state) is leaked, not dropped: a
    // thread of the parent may have been changing it at the moment of fork.
    // SAFETY: the child runs only this thread (contract), so nothing else
    // reads or writes the registry while it is replaced.
    unsafe { std::ptr::write(REGISTRY.0.get(), Mutex::new(keep)) };
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
        // SAFETY: reads a thread-local of CPython's; no precondition once
        // Python is initialised (contract).
        !unsafe { PyThreadState_GetUnchecked() }.is_null()
    }
    #[cfg(all(Py_3_12, not(Py_3_13)))]
    {
        extern "C" {
            fn _PyThreadState_UncheckedGet() -> *mut ffi::PyThreadState;
        }
        // SAFETY: as above.
        !unsafe { _PyThreadState_UncheckedGet() }.is_null()
    }
    // 3.9-3.11: the "current thread state" is process-wide (whoever holds
    // the GIL), so it must also be *this* thread's state.
    #[cfg(not(Py_3_12))]
    {
        extern "C" {
            fn _PyThreadState_UncheckedGet() -> *mut ffi::PyThreadState;
        }
        // SAFETY: both read CPython's runtime state without locking; valid
        // once Python is initialised (contract).
        let (cur, mine) = unsafe {
            (
                _PyThreadState_UncheckedGet(),
                ffi::PyGILState_GetThisThreadState(),
            )
        };
        !cur.is_null() && cur == mine
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
/// The thread state current for this thread (3.12+) or the process
/// (3.9-3.11), NULL if none.
///
/// # Safety
/// Python is initialised.
pub(crate) unsafe fn current_tstate() -> *mut ffi::PyThreadState {
    #[cfg(Py_3_13)]
    {
        extern "C" {
            fn PyThreadState_GetUnchecked() -> *mut ffi::PyThreadState;
        }
        // SAFETY: a plain read of CPython's state; Python is initialised
        // (contract).
        unsafe { PyThreadState_GetUnchecked() }
    }
    #[cfg(not(Py_3_13))]
    {
        extern "C" {
            fn _PyThreadState_UncheckedGet() -> *mut ffi::PyThreadState;
        }
        // SAFETY: as above.
        unsafe { _PyThreadState_UncheckedGet() }
    }
}

/// How [`enter_python`] took the GIL, so it gives it back the same way.
#[derive(Copy, Clone)]
enum Held {
    /// Took the GIL with this thread's pinned state (`PyEval_RestoreThread`).
    Restored,
    /// 3.12+: as `Restored`, but the thread held another interpreter's GIL
    /// before: that thread state was given up and pushed on the thread's
    /// `switched` stack, and is taken back on leaving. (Not a payload here:
    /// the call path keeps `Held` on the C stack across the Python call, and
    /// a deep Python -> C -> Python recursion pays each byte per level.)
    Switched,
    /// The thread already held the GIL with its pinned state: nothing to do.
    Already,
    /// Foreign thread (or no thread-local left): the PyGILState API.
    GilState(ffi::PyGILState_STATE),
}

/// A call inside Python: [`Leave::leave`] gives the GIL back and restores the
/// gate flag. Not a `Drop`: a forced unwind (unwind.rs) must not run it (the
/// dying thread does not hold the GIL then; its thread-local destructor
/// clears the flag), and the call path catches its panics in pieces, so the
/// explicit call is always reached otherwise.
pub(crate) struct Leave {
    inside: *const AtomicBool,
    was_inside: bool,
    held: Held,
}

impl Leave {
    #[inline(always)]
    pub(crate) fn leave(self) {
        // SAFETY: we hold the GIL as recorded in `held`; `inside` is this
        // thread's flag, alive for the call.
        unsafe {
            match self.held {
                Held::Restored => {
                    ffi::PyEval_SaveThread();
                }
                Held::Switched => switch_back(),
                Held::Already => {}
                Held::GilState(g) => ffi::PyGILState_Release(g),
            }
            (*self.inside).store(self.was_inside, Ordering::Release);
        }
    }
}

/// Takes the GIL of `ts`'s interpreter with `ts`, this thread's own thread
/// state there, unless this thread already runs with it (a nested call).
/// 3.12+: a thread that holds another interpreter's GIL (current thread
/// states are per thread there) gives it up first and takes it back when
/// it leaves: at most one interpreter's GIL at a time per thread.
///
/// # Safety
/// Python runs; `ts` is this thread's thread state, alive while the gate is
/// open.
#[inline(always)]
unsafe fn take_gil_with(ts: *mut ffi::PyThreadState) -> Held {
    // SAFETY: as for this function.
    unsafe {
        let cur = current_tstate();
        if cur == ts {
            return Held::Already;
        }
        if cfg!(Py_3_12) && !cur.is_null() {
            return switch_to(ts);
        }
        crate::py::unwind::PyEval_RestoreThread(ts);
        Held::Restored
    }
}

/// [`take_gil_with`] for a thread that holds another interpreter's GIL
/// (3.12+): gives it up (remembered on the thread's `switched` stack) and
/// takes `ts`'s.
///
/// # Safety
/// As for `take_gil_with`; this thread holds a GIL with its current
/// thread state, which is not `ts`.
#[cold]
#[inline(never)]
unsafe fn switch_to(ts: *mut ffi::PyThreadState) -> Held {
    // SAFETY: contract.
    unsafe {
        let saved = ffi::PyEval_SaveThread();
        SWITCHED.with(|v| v.borrow_mut().push(saved));
        crate::py::unwind::PyEval_RestoreThread(ts);
    }
    Held::Switched
}

/// Leaves a call entered with [`switch_to`]: the GIL of the call goes, the
/// one held before comes back.
///
/// # Safety
/// This thread holds the GIL it took in `switch_to`.
#[cold]
#[inline(never)]
unsafe fn switch_back() {
    // SAFETY: contract; the popped thread state is the one `switch_to`
    // gave up on this thread (calls nest, so the stack is in call order).
    unsafe {
        ffi::PyEval_SaveThread();
        if let Some(saved) = SWITCHED.with(|v| v.borrow_mut().pop()) {
            ffi::PyEval_RestoreThread(saved);
        }
    }
}

thread_local! {
    /// The thread states [`switch_to`] gave up, innermost last.
    static SWITCHED: std::cell::RefCell<Vec<*mut ffi::PyThreadState>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Enters a subinterpreter for a call from C: passes the exit gate and
/// takes `interp`'s GIL with this thread's thread state there (made on the
/// thread's first call into `interp`, or the thread's own when it is a
/// Python thread of that interpreter). `None` (nothing touched) if Python
/// is not or no longer usable.
///
/// # Safety
/// Python runs; `interp` is a live subinterpreter of one of our libraries
/// (its instance's init ran or is running on this thread).
#[inline]
pub(crate) unsafe fn enter_sub(
    entry: &CallEntry,
    interp: *mut ffi::PyInterpreterState,
) -> Option<Leave> {
    // SAFETY: `entry.tls` is this thread's thread-local (c_entry).
    let slot = unsafe { (*entry.tls).slot() };
    let inside = &slot.shared.inside;
    let was_inside = pass_gate(inside)?;
    // SAFETY: inside the gate the interpreter lives (contract).
    let ts = unsafe { sub_tstate(slot, interp) };
    // SAFETY: `ts` is this thread's thread state in `interp`.
    let held = unsafe { take_gil_with(ts) };
    Some(Leave {
        inside: inside as *const AtomicBool,
        was_inside,
        held,
    })
}

/// This thread's thread state in `interp`, made on first use.
///
/// # Safety
/// Python runs and `interp` is live.
unsafe fn sub_tstate(
    slot: &ThreadSlot,
    interp: *mut ffi::PyInterpreterState,
) -> *mut ffi::PyThreadState {
    if let Some(p) = slot.subs.borrow().iter().find(|p| p.interp == interp) {
        return p.ts;
    }
    // SAFETY: as for this function; GetThisThreadState only reads the
    // thread's TSS slot; PyThreadState_New needs no GIL.
    let (ts, owned) = unsafe {
        let own = ffi::PyGILState_GetThisThreadState();
        if !own.is_null() && crate::lifecycle::tstates::interp_of(own) == interp {
            (own, false)
        } else {
            (ffi::PyThreadState_New(interp), true)
        }
    };
    if owned {
        crate::lifecycle::tstates::remember_pin(interp, ts);
    }
    slot.subs.borrow_mut().push(SubPin { interp, ts, owned });
    ts
}

/// The pool member this thread is bound to for `ls` (an index into its
/// instances), if any.
pub(crate) fn bound_to(entry: &CallEntry, ls: &crate::desc::libstate::LibState) -> Option<usize> {
    // SAFETY: `entry.tls` is this thread's thread-local (c_entry).
    let slot = unsafe { (*entry.tls).slot() };
    let binds = slot.binds.borrow();
    binds
        .iter()
        .find(|(l, _)| std::ptr::eq(*l, ls))
        .map(|&(_, i)| i)
}

/// Binds this thread to member `i` of `ls`'s pool (counted in its `bound`).
pub(crate) fn bind(entry: &CallEntry, ls: &crate::desc::libstate::LibState, i: usize) {
    // SAFETY: `entry.tls` is this thread's thread-local (c_entry).
    let slot = unsafe { (*entry.tls).slot() };
    slot.binds.borrow_mut().push((ls as *const _, i));
}

/// Enters Python for a call from C: passes the exit gate and takes the GIL;
/// [`Leave::leave`] gives the GIL back and leaves the gate. `None` (Python
/// untouched) if Python is not or no longer usable.
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
    // SAFETY: as for this function.
    unsafe { enter_main_with(entry.tls) }
}

/// [`enter_python`] outside a call from C (the init code of a shared
/// library): the main interpreter's GIL with this thread's own thread
/// state there, never through the PyGILState API, whose thread state may be
/// a subinterpreter's on 3.12+.
///
/// # Safety
/// Python was started.
pub(crate) unsafe fn enter_main() -> Option<Leave> {
    let tls = TLS.with(|t| t as *const Tls);
    // SAFETY: as for this function; `tls` is this thread's thread-local.
    unsafe { enter_main_with(tls) }
}

/// # Safety
/// Python was started; `tls` is this thread's thread-local.
#[inline(always)]
unsafe fn enter_main_with(tls: *const Tls) -> Option<Leave> {
    // SAFETY: `tls` is this thread's thread-local, alive as long as the
    // thread (contract).
    let slot = unsafe { (*tls).slot() };
    let inside = &slot.shared.inside;
    let was_inside = pass_gate(inside)?;
    let mut pin = slot.pin.get();
    if pin == Pin::Unknown {
        pin = pin_this_thread();
        slot.pin.set(pin);
    }
    let held = match pin {
        // SAFETY: Python runs (contract, and the gate just said it is
        // usable); `ts` is this thread's own pinned (or the main) thread
        // state, alive while the gate is open, so it may take the GIL with it.
        Pin::Pinned { ts, .. } | Pin::Main { ts } => unsafe { take_gil_with(ts) },
        Pin::Foreign | Pin::Unknown => {
            // SAFETY: Python runs; the PyGILState API works on any thread.
            Held::GilState(unsafe { crate::py::unwind::PyGILState_Ensure() })
        }
    };
    // The flag lives in the slot's Arc, which the thread-local keeps alive
    // past the call.
    Some(Leave {
        inside: inside as *const AtomicBool,
        was_inside,
        held,
    })
}
