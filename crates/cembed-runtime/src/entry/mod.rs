//! The entry points: what C calls. The `cembed_runtime_api` table the
//! glue finds through `cembed_runtime_v1()` (`call`, `start`, `module_init`,
//! `init_error`, `configure`) and the C -> Python call itself (`call.rs`).
//! Each starts with the panic guard (py/guard.rs); `call` guards each Rust
//! piece of its path instead, so that forced unwinds pass (py/unwind.rs).

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub(crate) mod call;
pub(crate) mod libs;

use crate::lifecycle::{init, location, thread};
use crate::objects::module;
use crate::py;
use crate::py::cell::SyncCell;
use cembed_abi::{Extern, Lib, Location, RuntimeApi, ABI_MINOR, ABI_VERSION};
use pyo3_ffi as ffi;
use std::ffi::{c_char, c_void};
use std::ptr::null_mut;

static API: RuntimeApi = RuntimeApi {
    abi_version: ABI_VERSION,
    struct_size: std::mem::size_of::<RuntimeApi>() as u32,
    call: api_call,
    start: api_start,
    module_init: api_module_init,
    init_error: api_init_error,
    abi_minor: ABI_MINOR,
    configure: api_configure,
};

/// The runtime's entry point for the glue (`CEMBED_RUNTIME_ENTRY`).
#[no_mangle]
pub extern "C" fn cembed_runtime_v1() -> *const RuntimeApi {
    crate::py::guard::c_entry("cembed_runtime_v1", std::ptr::null(), || &API)
}

/// Runs `f` with panics reported, never unwound, and CFFI's errno rule:
/// the caller's errno is saved on entry (what `ffi.errno` reads), C calls
/// made from Python update the saved value (`cfunc::errno`), `ffi.errno = x`
/// sets it, and errno holds it on return. Without any of those errno is
/// unchanged across the call.
fn c_entry<R>(what: &str, fallback: R, f: impl FnOnce() -> R) -> R {
    // The errno rule is the call path's own (thread::c_entry): restored by
    // `finish`, after the panic guard.
    let errno = thread::c_entry();
    let r = py::guard::c_entry(what, fallback, f);
    errno.finish();
    r
}

/// The hot path. `"C-unwind"` and without a `catch_unwind` around the whole
/// call: a forced unwind from the Python code's C calls must pass through
/// to the host (unwind.rs); `call::call` guards each Rust piece itself.
unsafe extern "C-unwind" fn api_call(
    ext: *mut Extern,
    args: *mut *mut c_void,
    result: *mut c_void,
) {
    // SAFETY: the glue passes a generated descriptor and its argument/result
    // buffers (ABI contract of cembed_runtime_api.call).
    unsafe { call::call(ext, args, result) }
}

unsafe extern "C" fn api_start(lib: *mut Lib) -> i32 {
    c_entry("cembed_start_python", -1, || {
        // SAFETY: the glue passes its own cembed_lib.
        let ls = unsafe { libs::get_or_create(lib) };
        match init::ensure_lib(ls) {
            Ok(()) => 0,
            Err(()) => -1,
        }
    })
}

unsafe extern "C" fn api_module_init(lib: *mut Lib) -> *mut c_void {
    // Called by a running Python importing the library (GIL held).
    c_entry("module_init", null_mut(), || {
        // SAFETY: the glue passes its own cembed_lib; the GIL is held.
        unsafe {
            let ls = libs::get_or_create(lib);
            ffi::PyModuleDef_Init(module::def_ptr(ls)) as *mut c_void
        }
    })
}

unsafe extern "C" fn api_init_error(lib: *mut Lib) -> *const c_char {
    c_entry("cembed_init_error", std::ptr::null(), || {
        // SAFETY: the glue passes its own cembed_lib.
        let ls = unsafe { libs::get_or_create(lib) };
        // The first failure among the library's interpreters.
        ls.insts()
            .iter()
            .find_map(|i| i.init.error())
            .map_or(std::ptr::null(), |e| e.as_ptr())
    })
}

unsafe extern "C" fn api_configure(lib: *mut Lib, loc: *const Location) {
    c_entry("configure", (), || {
        // SAFETY: the glue passes its own cembed_lib and a cembed_location
        // of NUL-terminated strings in its static storage.
        unsafe { location::record(lib, loc) }
    })
}

// ---- the `cembed._runtime` module ----------------------------------------

static RUNTIME_METHODS: SyncCell<[ffi::PyMethodDef; 1]> =
    SyncCell::new([ffi::PyMethodDef::zeroed()]);

// `_runtime` itself holds no Python state at all, so it is safe in any
// interpreter, with a per-interpreter GIL, and without GIL.
static RUNTIME_SLOTS: SyncCell<[ffi::PyModuleDef_Slot; 3]> = SyncCell::new([
    #[cfg(Py_3_12)]
    ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_multiple_interpreters,
        value: ffi::Py_MOD_PER_INTERPRETER_GIL_SUPPORTED,
    },
    #[cfg(not(Py_3_12))]
    ffi::PyModuleDef_Slot {
        slot: 0,
        value: null_mut(),
    },
    #[cfg(Py_3_13)]
    ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_gil,
        value: ffi::Py_MOD_GIL_NOT_USED,
    },
    #[cfg(not(Py_3_13))]
    ffi::PyModuleDef_Slot {
        slot: 0,
        value: null_mut(),
    },
    ffi::PyModuleDef_Slot {
        slot: 0,
        value: null_mut(),
    },
]);

static RUNTIME_DEF: SyncCell<ffi::PyModuleDef> = SyncCell::new(ffi::PyModuleDef {
    m_base: ffi::PyModuleDef_HEAD_INIT,
    m_name: c"cembed._runtime".as_ptr(),
    m_doc: c"cembed's native runtime (loaded by every cembed library).".as_ptr(),
    m_size: 0,
    m_methods: RUNTIME_METHODS.get() as *mut ffi::PyMethodDef,
    m_slots: RUNTIME_SLOTS.get() as *mut ffi::PyModuleDef_Slot,
    m_traverse: None,
    m_clear: None,
    m_free: None,
});

/// `import cembed._runtime` (multi-phase init).
///
/// # Safety
/// Called by CPython's import machinery with the GIL held.
#[no_mangle]
#[allow(non_snake_case)]
pub unsafe extern "C" fn PyInit__runtime() -> *mut ffi::PyObject {
    crate::py::guard::c_entry("PyInit__runtime", null_mut(), || {
        // SAFETY: the GIL is held (contract); the definition is a static
        // that CPython may write to (PyModuleDef_Init), hence the cell.
        unsafe { ffi::PyModuleDef_Init(RUNTIME_DEF.get()) }
    })
}
