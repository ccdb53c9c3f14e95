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
//! owned by the module state (`module.rs`); [`ExternState`] only caches
//! *borrowed* pointers to them for the hot path, and the module clears those
//! caches when it is cleared or freed, so nothing here can outlive the
//! interpreter. All cached pointers are read and written with the GIL held.

use crate::desc::ctypes::Conv;
use crate::desc::ctypes::TypeTable;
use crate::lifecycle::init::LibInit;
use crate::py::text;
use cembed_abi::{Extern, Kind, Lib, ABI_VERSION};
use pyo3_ffi as ffi;
use std::collections::HashMap;
use std::ffi::{c_void, CStr, CString};
use std::sync::atomic::{AtomicPtr, Ordering};

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
    pub(crate) init: LibInit,
    /// The module object for this library in the interpreter, borrowed: set by
    /// `Py_mod_exec`, cleared by the module's `m_free`. Read with the GIL held.
    pub(crate) module: AtomicPtr<ffi::PyObject>,
    /// The module this library keeps alive (module.rs, `exec_impl`): one
    /// strong reference, released when Python's exit begins
    /// ([`release_modules`]).
    pub(crate) owned_module: AtomicPtr<ffi::PyObject>,
    /// A malformed table: reported as this library's init error.
    pub(crate) table_error: Option<String>,
    /// `lib`'s name index (libobj.rs), built on first attribute access.
    pub(crate) libobj: std::sync::OnceLock<crate::objects::libobj::LibIndex>,
}

// SAFETY: the raw pointers in LibState point to the library's static tables
// (immutable, valid for the process) or to Python objects that are only
// touched with the GIL held; the mutable parts are atomics or behind a Mutex.
unsafe impl Send for LibState {}
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
    pub(crate) plan: crate::calls::plan::Plan,
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

// SAFETY: as for LibState; the atomics are only written with the GIL held.
unsafe impl Send for ExternState {}
unsafe impl Sync for ExternState {}

impl ExternState {
    pub(crate) fn lib(&self) -> &LibState {
        // SAFETY: LibState is never freed (module comment) and outlives this.
        unsafe { &*self.lib }
    }
}

/// Returns the state of `lib`, creating it on first use.
///
/// # Safety
/// `lib` points to a generated `cembed_lib` (its tables valid for the
/// process lifetime).
pub(crate) unsafe fn get_or_create(lib: *mut Lib) -> &'static LibState {
    let slot = &*(std::ptr::addr_of_mut!((*lib).runtime) as *const AtomicPtr<c_void>);
    let cur = slot.load(Ordering::Acquire);
    if !cur.is_null() {
        return &*(cur as *const LibState);
    }
    let fresh = Box::into_raw(LibState::new(lib));
    match slot.compare_exchange(
        std::ptr::null_mut(),
        fresh as *mut c_void,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => {
            let ls: &'static LibState = &*fresh;
            ALL.lock().unwrap_or_else(|e| e.into_inner()).push(ls);
            // Publish each extern's state only now that the LibState address
            // is final (the Box never moves).
            for (i, es) in ls.externs.iter().enumerate() {
                let ext = *(*lib).externs.add(i);
                let p = &*(std::ptr::addr_of_mut!((*ext).runtime) as *const AtomicPtr<c_void>);
                p.store(es as *const ExternState as *mut c_void, Ordering::Release);
            }
            ls
        }
        Err(winner) => {
            // Another thread created it first: ours was never published.
            drop(Box::from_raw(fresh));
            &*(winner as *const LibState)
        }
    }
}

/// Every library of the process (they are never freed).
static ALL: std::sync::Mutex<Vec<&'static LibState>> = std::sync::Mutex::new(Vec::new());

/// Drops the module reference each library keeps (see `owned_module`):
/// called when Python's exit begins, after the atexit handlers, so that
/// finalization frees the modules and what their functions hold (open
/// files are flushed and closed).
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn release_modules() {
    let all: Vec<&'static LibState> = ALL.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for ls in all {
        let m = ls.owned_module.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if !m.is_null() {
            ffi::Py_DECREF(m);
        }
    }
}

/// The state of `ext`, creating its library's state on first use.
///
/// # Safety
/// `ext` is one of the externs of a generated `cembed_lib`.
#[inline]
pub(crate) unsafe fn extern_state(ext: *mut Extern) -> &'static ExternState {
    let p = &*(std::ptr::addr_of_mut!((*ext).runtime) as *const AtomicPtr<c_void>);
    let es = p.load(Ordering::Acquire);
    if !es.is_null() {
        return &*(es as *const ExternState);
    }
    extern_state_slow(ext)
}

#[cold]
unsafe fn extern_state_slow(ext: *mut Extern) -> &'static ExternState {
    let ls = get_or_create((*ext).lib);
    let lib = &*ls.lib;
    for i in 0..lib.n_externs as usize {
        if *lib.externs.add(i) == ext {
            return &ls.externs[i];
        }
    }
    // The descriptor is not in its own library's table: generated code is
    // broken. Fall back to a state of its own so the call reports instead of
    // crashing (leaked once per such descriptor).
    let own = LibState::orphan_extern(ls, ext);
    Box::leak(Box::new(own))
}

impl LibState {
    unsafe fn new(lib: *mut Lib) -> Box<LibState> {
        let l = &*lib;
        let name = CString::new(text(l.module_name)).expect("came from a C string");
        let build = l.build.as_ref();
        let mut table_error = None;
        if l.abi_version != ABI_VERSION {
            table_error = Some(format!(
                "library ABI version {} is not the runtime's {}",
                l.abi_version, ABI_VERSION
            ));
        }
        let types = match crate::desc::ctypes::TypeTable::from_lib(l) {
            Ok(t) => t,
            Err(e) => {
                table_error.get_or_insert(e);
                TypeTable { types: Vec::new() }
            }
        };
        let mut ls = Box::new(LibState {
            // SAFETY: PyModuleDef is a plain C struct; zero is a valid
            // "empty" value for every field; filled in below.
            def: std::mem::zeroed(),
            slots: crate::objects::module::module_slots(),
            lib,
            init_code: (!l.init_code.is_null())
                .then(|| CString::new(text(l.init_code)).expect("came from a C string")),
            python_executable: build.map_or(String::new(), |b| text(b.python_executable)),
            cembed_version: build.map_or(String::new(), |b| text(b.cembed_version)),
            name,
            types,
            externs: Box::new([]),
            by_name: HashMap::new(),
            init: LibInit::new(),
            module: AtomicPtr::new(std::ptr::null_mut()),
            owned_module: AtomicPtr::new(std::ptr::null_mut()),
            table_error,
            libobj: std::sync::OnceLock::new(),
        });
        let lsp: *const LibState = &*ls;
        let mut externs = Vec::with_capacity(l.n_externs as usize);
        for i in 0..l.n_externs as usize {
            let ext = *l.externs.add(i);
            let es = prepare_extern(&ls, lsp, ext);
            ls.by_name.insert(es.name.clone(), i);
            externs.push(es);
        }
        ls.externs = externs.into_boxed_slice();
        crate::objects::module::fill_def(&mut ls);
        ls
    }

    /// CFFI's spelling of type `i` for messages; `u32::MAX` is `void`.
    pub(crate) fn type_name(&self, i: u32) -> &CStr {
        if i == u32::MAX {
            c"void"
        } else {
            &self.types.get(i).name
        }
    }

    unsafe fn orphan_extern(ls: &'static LibState, ext: *mut Extern) -> ExternState {
        prepare_extern(ls, ls, ext)
    }
}

/// Computes an extern's conversion plan from its FUNCTION type.
unsafe fn prepare_extern(ls: &LibState, lsp: *const LibState, ext: *mut Extern) -> ExternState {
    let e = &*ext;
    let name = text(e.name);
    let qualname = format!("{}.{}", ls.name.to_string_lossy(), name);
    let fty = (e.type_ >= 0 && (e.type_ as usize) < ls.types.types.len())
        .then(|| ls.types.get(e.type_ as u32))
        .filter(|t| t.kind == Kind::Function);
    let (args, result, bad) = match fty {
        Some(t) => {
            let args = t
                .params
                .iter()
                .map(|&p| (Conv::of(ls.types.get(p)), p))
                .collect();
            let result = match t.item {
                Some(r) => (Conv::of(ls.types.get(r)), r),
                None => (Conv::Void, u32::MAX),
            };
            (args, result, false)
        }
        None => (Box::default(), (Conv::Void, u32::MAX), true),
    };
    let name_of = |t: u32| -> Box<str> { ls.type_name(t).to_string_lossy().into() };
    let arg_names = args.iter().map(|&(_, t)| name_of(t)).collect();
    let result_name = name_of(result.1);
    let plan = crate::calls::plan::Plan::new(&args, result.0, bad);
    ExternState {
        lib: lsp,
        name,
        qualname,
        args,
        result,
        arg_names,
        result_name,
        plan,
        bad_signature: bad,
        func: AtomicPtr::new(std::ptr::null_mut()),
        onerror: AtomicPtr::new(std::ptr::null_mut()),
        error: AtomicPtr::new(std::ptr::null_mut()),
        owner: AtomicPtr::new(std::ptr::null_mut()),
    }
}
