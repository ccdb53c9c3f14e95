//! Per-library and per-extern Rust state, hung off `cembed_lib.runtime` and
//! `cembed_extern.runtime`.
//!
//! Lifetime: a [`LibState`] is created once per library (first call, first
//! `cembed_start_python()`, or first import), published with a
//! compare-and-swap, and never freed: the library's static data points to it,
//! and a library may be `dlclose()`d without telling us, so freeing would
//! race with nothing gained (a few hundred bytes per library per process).
//!
//! Python objects: LibState owns none. The attached Python functions are
//! owned by the module state (`module.rs`) of each interpreter; the
//! [`ExternCache`]s of that interpreter's [`Instance`] only cache *borrowed*
//! pointers to them for the hot path, and the module clears those caches
//! when it is cleared or freed, so nothing here can outlive the
//! interpreter. All cached pointers are read and written with that
//! interpreter's GIL held.

use crate::desc::ctypes::{Conv, TypeTable};
use crate::py::gil::Python;
use cembed_abi::{Isolation, Lib};
use pyo3_ffi as ffi;
use std::collections::HashMap;
use std::ffi::{c_void, CStr, CString};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

/// Per-library state. `repr(C)` with the module definition first, so the
/// `PyModuleDef*` CPython hands back (`PyModule_GetDef`) leads to its library.
#[repr(C)]
pub(crate) struct LibState {
    pub(crate) def: ffi::PyModuleDef,
    pub(crate) slots: Box<[ffi::PyModuleDef_Slot]>,
    pub(crate) lib: *mut Lib,
    /// `set_source()` module name, e.g. "my_plugin" or "pkg.my_plugin".
    pub(crate) name: CString,
    pub(crate) init_code: Option<CString>,
    pub(crate) python_executable: String,
    pub(crate) cembed_version: String,
    pub(crate) types: TypeTable,
    pub(crate) externs: Box<[ExternState]>,
    pub(crate) by_name: HashMap<String, usize>,
    /// Where the init code and calls run (`cembed_lib.isolation`).
    pub(crate) mode: Isolation,
    /// The library's interpreters: one for a shared library (the main
    /// interpreter) or an isolated one, `pool_size` for a pool. Replaced
    /// as a whole (the old array leaked) only in the child of a `fork()`,
    /// where CPython has deleted every subinterpreter (lifecycle/interp.rs).
    pub(crate) insts: AtomicPtr<Instance>,
    pub(crate) n_insts: usize,
    /// A malformed table: reported as this library's init error.
    pub(crate) table_error: Option<String>,
    /// A shared library whose init code ran: the hot path's one check
    /// (entry/call.rs); everything else takes the slower path.
    pub(crate) shared_ready: AtomicBool,
    /// `lib`'s name index, built on first attribute access and typed by
    /// objects/libobj.rs (what `lib` makes of the library's names is no
    /// part of its description).
    pub(crate) lib_index: std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>>,
}

// SAFETY: the raw pointers in LibState point to the library's static tables
// (immutable, valid for the process) or to Python objects that are only
// touched with the GIL held; the mutable parts are atomics or behind a Mutex.
unsafe impl Send for LibState {}
// SAFETY: as for Send: shared access only reads immutable data, atomics or
// locks, or touches Python objects with the GIL held.
unsafe impl Sync for LibState {}

/// Per-extern state: the prepared signature and the cached attachment.
pub(crate) struct ExternState {
    pub(crate) lib: *const LibState,
    pub(crate) name: String,
    /// "module.name": how CFFI (>= 1.10) names an extern in its messages.
    pub(crate) qualname: String,
    pub(crate) args: Box<[(Conv, u32)]>,
    pub(crate) result: (Conv, u32),
    /// Type names of `args` and `result`, as `&str` for the hot path.
    pub(crate) arg_names: Box<[Box<str>]>,
    pub(crate) result_name: Box<str>,
    /// Set when the extern's type is not a function type (malformed table).
    pub(crate) bad_signature: bool,
    /// The hot path's converters (plan.rs), derived from `args`/`result`.
    pub(crate) plan: Plan,
    /// Its position in `LibState::externs` (and in each instance's caches).
    pub(crate) index: usize,
    /// For a slot of the callback pool: 0 if free, else 1 + the index of
    /// the instance (interpreter) whose `ffi.callback()` holds it.
    pub(crate) slot_owner: AtomicUsize,
    /// A shared library's one cache of this extern (in its main
    /// instance), for the hot path: one load instead of two and a bounds
    /// check. NULL for other libraries.
    pub(crate) main_cache: AtomicPtr<ExternCache>,
}

/// What one interpreter attached to one extern (`@ffi.def_extern`): the
/// hot path's borrowed pointers. Per interpreter, because each interpreter
/// of a library runs the init code and attaches its own functions.
pub(crate) struct ExternCache {
    /// Borrowed from the module state's `attached` dict; NULL if nothing is
    /// attached. Written by def_extern and module clear, with the GIL held.
    pub(crate) func: AtomicPtr<ffi::PyObject>,
    pub(crate) onerror: AtomicPtr<ffi::PyObject>,
    /// The `error=` value already converted to the result type, pointing into
    /// a bytes object owned by the same attachment tuple; NULL = zeros.
    pub(crate) error: AtomicPtr<u8>,
    /// The module whose state owns the attachment (so clearing an older
    /// module instance does not drop a newer attachment's cache).
    pub(crate) owner: AtomicPtr<ffi::PyObject>,
}

/// The cache of an extern missing from its library's table (broken
/// generated code, entry/libs.rs): never attached.
static NO_CACHE: ExternCache = ExternCache::new();

impl ExternCache {
    /// A cache with nothing attached.
    pub(crate) fn none() -> &'static ExternCache {
        &NO_CACHE
    }

    const fn new() -> ExternCache {
        ExternCache {
            func: AtomicPtr::new(std::ptr::null_mut()),
            onerror: AtomicPtr::new(std::ptr::null_mut()),
            error: AtomicPtr::new(std::ptr::null_mut()),
            owner: AtomicPtr::new(std::ptr::null_mut()),
        }
    }
}

/// One interpreter of a library: the main interpreter for a shared
/// library, an own-GIL subinterpreter for an isolated one or a pool's
/// member. Everything Python of the library that is per interpreter is
/// here (borrowed or owned module references, the attachment caches), and
/// the init state machine: each interpreter runs the init code once.
pub(crate) struct Instance {
    pub(crate) lib: *const LibState,
    /// Its position in the library's instances.
    pub(crate) index: usize,
    /// The subinterpreter (NULL until started; always NULL for a shared
    /// library's instance, which is the main interpreter). A C struct of
    /// CPython's, not a Python object.
    pub(crate) interp: AtomicPtr<ffi::PyInterpreterState>,
    /// The subinterpreter's first thread state, kept (unused) until exit
    /// ends the interpreter with it: an interpreter whose every thread
    /// state was deleted cannot make a new one on CPython 3.12.1 (it
    /// reuses the first one's memory without resetting it), and
    /// `Py_EndInterpreter` needs one anyway.
    pub(crate) keeper: AtomicPtr<ffi::PyThreadState>,
    pub(crate) init: LibInit,
    /// The module object for this library in this interpreter, borrowed:
    /// set by `Py_mod_exec`, cleared by the module's `m_free`. Read with
    /// the GIL held.
    pub(crate) module: AtomicPtr<ffi::PyObject>,
    /// The data-model context of `module` (its state's `cdata`), set and
    /// cleared with it: every pointer argument of a call into Python needs
    /// it, and reading it here saves going through the module's state.
    /// Owned by that module, not by this. Untyped: the data model sits
    /// above this layer (cdata/mod.rs's `cx_of_lib` gives it its type).
    pub(crate) cx: AtomicPtr<c_void>,
    /// The module this library keeps alive (module.rs, `exec_impl`): one
    /// strong reference, released when the interpreter's exit begins
    /// ([`release_modules`]).
    pub(crate) owned_module: AtomicPtr<ffi::PyObject>,
    /// One per extern, same order.
    pub(crate) caches: Box<[ExternCache]>,
    /// Host threads bound to this interpreter (a pool balances on it).
    pub(crate) bound: AtomicUsize,
}

// SAFETY: as for LibState: `lib` points to a never-freed LibState; the
// Python pointers are only dereferenced with this interpreter's GIL held.
unsafe impl Send for Instance {}
// SAFETY: as for Send.
unsafe impl Sync for Instance {}

impl Instance {
    fn new(lib: *const LibState, index: usize, n_externs: usize) -> Instance {
        Instance {
            lib,
            index,
            interp: AtomicPtr::new(std::ptr::null_mut()),
            keeper: AtomicPtr::new(std::ptr::null_mut()),
            init: LibInit::new(),
            module: AtomicPtr::new(std::ptr::null_mut()),
            cx: AtomicPtr::new(std::ptr::null_mut()),
            owned_module: AtomicPtr::new(std::ptr::null_mut()),
            caches: (0..n_externs).map(|_| ExternCache::new()).collect(),
            bound: AtomicUsize::new(0),
        }
    }

    pub(crate) fn lib(&self) -> &LibState {
        // SAFETY: LibState is never freed (module comment).
        unsafe { &*self.lib }
    }

    /// The cache of extern `es` in this interpreter.
    #[inline(always)]
    pub(crate) fn cache(&self, es: &ExternState) -> &ExternCache {
        self.caches.get(es.index).unwrap_or(&NO_CACHE)
    }
}

// SAFETY: as for LibState; the atomics are only written with the GIL held.
unsafe impl Send for ExternState {}
// SAFETY: as for LibState.
unsafe impl Sync for ExternState {}

impl ExternState {
    pub(crate) fn lib(&self) -> &LibState {
        // SAFETY: LibState is never freed (module comment) and outlives this.
        unsafe { &*self.lib }
    }
}

/// Every library of the process (they are never freed).
pub(crate) static ALL: std::sync::Mutex<Vec<&'static LibState>> = std::sync::Mutex::new(Vec::new());

/// Every library of the process, copied out of the lock.
pub(crate) fn all_libs() -> Vec<&'static LibState> {
    ALL.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Drops the module reference each library keeps in interpreter `interp`
/// (see `owned_module`; NULL: the main interpreter's, i.e. the shared
/// libraries'): called when that interpreter's exit begins, after its
/// atexit handlers, so that finalization frees the modules and what their
/// functions hold (open files are flushed and closed).
pub(crate) fn release_modules(_py: Python<'_>, interp: *mut ffi::PyInterpreterState) {
    for ls in all_libs() {
        for inst in ls.insts() {
            if inst.interp.load(Ordering::Acquire) != interp {
                continue;
            }
            let m = inst
                .owned_module
                .swap(std::ptr::null_mut(), Ordering::AcqRel);
            if !m.is_null() {
                // SAFETY: the GIL of `interp` is held (`_py`, contract);
                // `m` is the one strong reference the library kept there,
                // taken out of the slot above so it is released once.
                unsafe { ffi::Py_DECREF(m) };
            }
        }
    }
}

impl LibState {
    /// The library's interpreters (see `insts`).
    #[inline(always)]
    pub(crate) fn insts(&self) -> &[Instance] {
        // SAFETY: `insts` points to `n_insts` instances that are never
        // freed (a fork child replaces the array and leaks the old one).
        unsafe { std::slice::from_raw_parts(self.insts.load(Ordering::Acquire), self.n_insts) }
    }

    /// Makes the library's instances (once, by entry/libs.rs, and again in
    /// a fork child for an isolated library or a pool).
    pub(crate) fn set_fresh_instances(&self) {
        let v: Box<[Instance]> = (0..self.n_insts)
            .map(|i| Instance::new(self, i, self.externs.len()))
            .collect();
        // The old array (if any) is leaked: host code may still hold
        // references from before the fork (the forking thread's own frames).
        let v = Box::leak(v);
        if self.mode == Isolation::Shared {
            for (es, c) in self.externs.iter().zip(v[0].caches.iter()) {
                es.main_cache.store(
                    c as *const ExternCache as *mut ExternCache,
                    Ordering::Release,
                );
            }
        }
        self.insts.store(v.as_mut_ptr(), Ordering::Release);
    }

    /// The shared library's one instance (the main interpreter).
    #[inline(always)]
    pub(crate) fn main_inst(&self) -> &Instance {
        &self.insts()[0]
    }

    /// This library's instance in the interpreter of the calling thread,
    /// `None` if the library has none there.
    ///
    /// # Safety
    /// A GIL is held (the current thread state is this thread's).
    pub(crate) unsafe fn inst_here(&self) -> Option<&Instance> {
        if self.mode == Isolation::Shared {
            return Some(self.main_inst());
        }
        // SAFETY: a thread state is current (contract).
        let here = unsafe { ffi::PyInterpreterState_Get() };
        self.insts()
            .iter()
            .find(|i| i.interp.load(Ordering::Acquire) == here)
    }

    /// CFFI's spelling of type `i` for messages; `u32::MAX` is `void`.
    pub(crate) fn type_name(&self, i: u32) -> &CStr {
        if i == u32::MAX {
            c"void"
        } else {
            &self.types.get(i).name
        }
    }
}

// ---- the library's init state (run by lifecycle/init.rs) -------------------

pub(crate) enum Phase {
    NotStarted,
    Running(libc::pthread_t),
    Done,
    Failed,
}

/// One library's init state: the state machine lifecycle/init.rs runs
/// (NOT_STARTED -> RUNNING(thread) -> DONE or FAILED).
pub(crate) struct LibInit {
    pub(crate) ready: AtomicBool,
    pub(crate) phase: Mutex<Phase>,
    pub(crate) cv: Condvar,
    pub(crate) error: OnceLock<CString>,
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

/// Whether extern `name` is a slot of the callback pool (hidden from `lib`
/// and from `def_extern`).
pub(crate) fn is_pool_slot(name: &str) -> bool {
    name.starts_with(cembed_abi::CALLBACK_PREFIX)
}

// ---- the call path's plan (made by calls/plan.rs) --------------------------

/// Arguments converted without a heap allocation (plus the vectorcall slot).
pub(crate) const INLINE_ARGS: usize = 8;

/// A C argument at `src` to a new Python object (NULL + exception set on
/// failure). `arg` is the argument's own entry of the plan: the primitive
/// converters ignore it, the data-model one reads the type and the library
/// from it. Contract of the converters: the GIL is held and `src` points to
/// a readable value of the C type the converter was chosen for.
pub(crate) type ToPy = unsafe fn(src: *const c_void, arg: &ArgConv) -> *mut ffi::PyObject;

/// What a converter of the plan is given besides the value: the argument's
/// conversion and the library whose extern this is (the plan is part of
/// that library's state, so the pointer is to its owner, never freed).
#[derive(Copy, Clone)]
pub(crate) struct ArgConv {
    pub(crate) conv: Conv,
    pub(crate) lib: *const LibState,
}

impl ArgConv {
    pub(crate) fn lib(&self) -> &LibState {
        // SAFETY: a LibState is never freed, and outlives the plans of its
        // externs (the module comment).
        unsafe { &*self.lib }
    }
}

/// Writes `obj` to the C result at `dst` (NULL: nothing to write) if it is
/// the simple case; `false` (no exception set, nothing written) otherwise.
/// Contract of the writers: the GIL is held, `obj` is live and `dst` is NULL
/// or writable storage of the C type the writer was chosen for.
pub(crate) type FromPy = unsafe fn(obj: *mut ffi::PyObject, dst: *mut c_void) -> bool;

pub(crate) struct Plan {
    /// Every argument has a converter in `to_py` and there is a result writer.
    pub(crate) fast: bool,
    pub(crate) n: u8,
    pub(crate) to_py: [ToPy; INLINE_ARGS],
    /// What `to_py[i]` is given besides the value.
    pub(crate) conv: [ArgConv; INLINE_ARGS],
    pub(crate) from_py: FromPy,
}
