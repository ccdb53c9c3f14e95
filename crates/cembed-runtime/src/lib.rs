//! cembed's runtime: the CPython extension module `cembed._runtime`, loaded
//! by every library cembed generates (through the loader in
//! `cembed_glue.h`), and the only crate with `unsafe` code.
//!
//! Two faces:
//! * for generated libraries, the C ABI of `cembed_abi.h`: the exported
//!   symbol `cembed_runtime_v1()` returns the `cembed_runtime_api` table
//!   (`call`, `start`, `module_init`, `init_error`, `configure`);
//! * for Python, the module `cembed._runtime` with `build(request) -> dict`
//!   (the builder's entry point into `cembed_build`).
//!
//! Layout, in layers (each uses only the ones before it; docs/runtime.md
//! has the file map, `tools/import_graph.py` checks it): `py/` (CPython
//! wrappers, the panic guard), `desc/` (the library's tables and Rust
//! state), `lifecycle/` (starting Python, init code, threads, exit),
//! `cdata/` (the data model), `calls/` (calls across the boundary),
//! `objects/` (each library's module, `ffi`, `lib`), `entry/` (what C
//! calls).
//!
//! Every function called from C or from CPython starts with the panic guard
//! (py/guard.rs): no panic ever unwinds into C. Forced unwinds
//! (`pthread_exit`) pass through the call paths py/unwind.rs names.

mod calls;
mod cdata;
mod desc;
mod entry;
mod lifecycle;
mod objects;
mod py;
mod pyjson;

use py::cell::SyncCell;
use pyo3_ffi as ffi;
use std::panic::catch_unwind;
use std::ptr::null_mut;

// ---- the `cembed._runtime` module ----------------------------------------

static RUNTIME_METHODS: SyncCell<[ffi::PyMethodDef; 2]> = SyncCell::new([
    ffi::PyMethodDef {
        ml_name: c"build".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: py_build,
        },
        ml_flags: ffi::METH_O,
        ml_doc: c"build(request: dict) -> dict\n--\n\n\
Runs one build request (a dict of the JSON document in docs/architecture.md) and returns the response as a dict."
            .as_ptr(),
    },
    ffi::PyMethodDef::zeroed(),
]);

// `_runtime` itself holds no Python state at all (build() is pure Rust), so
// it is safe in any interpreter, with a per-interpreter GIL, and without GIL.
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
    m_doc: c"cembed's native runtime and builder entry point.".as_ptr(),
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
    ffi::PyModuleDef_Init(RUNTIME_DEF.get())
}

unsafe extern "C" fn py_build(
    _m: *mut ffi::PyObject,
    request: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls us with the GIL held and a valid argument.
    py::guard::guard(null_mut(), || unsafe {
        if ffi::PyDict_Check(request) == 0 {
            return Err(py::raise(
                ffi::PyExc_TypeError,
                &format!(
                    "build() argument must be a dict, not {}",
                    py::type_name(request)
                ),
            ));
        }
        let req = pyjson::to_value(request, "request")?;
        // A build compiles C for a while: let other Python threads run. The
        // build is pure Rust: a panic in it is caught here, with the GIL
        // released, and reported once the GIL is back.
        let ts = ffi::PyEval_SaveThread();
        let resp = catch_unwind(|| cembed_build::run_value(req));
        ffi::PyEval_RestoreThread(ts);
        match resp {
            Ok(resp) => Ok(pyjson::from_value(&resp)?.into_ptr()),
            Err(_) => Err(py::raise(
                ffi::PyExc_SystemError,
                "cembed: internal error (panic) in build()",
            )),
        }
    })
}
