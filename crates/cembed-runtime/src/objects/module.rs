//! The Python module of each library: `ffi` and `lib`, PEP 489 style.
//!
//! Model: CPython's `Modules/xxlimited.c`. Each library's `PyModuleDef` lives
//! in its `LibState` (so a module leads back to its library through
//! `PyModule_GetDef`), with multi-phase init (`Py_mod_exec`), per-module state
//! holding every Python object the module needs (heap types made with
//! `PyType_FromModuleAndSpec`, the `ffi` and `lib` instances, the `ffi.error`
//! exception, the attached functions), traversed and cleared for the GC. No
//! Python object is process-global.
//!
//! `Py_mod_multiple_interpreters` is declared PER_INTERPRETER_GIL_SUPPORTED:
//! every Python object is in the module state, the attachment caches are
//! per interpreter (`Instance`), and C calls enter the interpreter of the
//! library's instance (lifecycle/interp.rs). The module execs only in an
//! interpreter the library runs in: a shared library's in the main
//! interpreter, an isolated library's or a pool's in its own
//! subinterpreters; elsewhere the import is an ImportError that says why.
//!
//! The module state and the heap types are in state.rs and heap.rs; the
//! types' behaviour in ffi/, libtype.rs and cdata/.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::desc::libstate::LibState;
use crate::objects::ffi::ffi_slots;
use crate::objects::heap::{alloc_instance, new_type};
use crate::objects::libtype::{func_slots, lib_slots, FuncObject};
use crate::objects::state::{detach, ffi_error, inst_of_module, lib_state_of, state, ModState};
use crate::py::{self, cstring_lossy, raise, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_int, c_void};
use std::ptr::null_mut;
use std::sync::atomic::Ordering;

// ---- module definition ------------------------------------------------

pub(crate) fn module_slots() -> Box<[ffi::PyModuleDef_Slot]> {
    let mut v = vec![ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_exec,
        value: module_exec as *mut c_void,
    }];
    #[cfg(Py_3_12)]
    v.push(ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_multiple_interpreters,
        value: ffi::Py_MOD_PER_INTERPRETER_GIL_SUPPORTED,
    });
    #[cfg(Py_3_13)]
    v.push(ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_gil,
        value: ffi::Py_MOD_GIL_USED,
    });
    v.push(ffi::PyModuleDef_Slot {
        slot: 0,
        value: null_mut(),
    });
    v.into_boxed_slice()
}

pub(crate) fn fill_def(ls: &mut LibState) {
    ls.def = ffi::PyModuleDef {
        m_base: ffi::PyModuleDef_HEAD_INIT,
        m_name: ls.name.as_ptr(),
        m_doc: c"cembed library module: `ffi` and `lib`".as_ptr(),
        m_size: std::mem::size_of::<ModState>() as ffi::Py_ssize_t,
        m_methods: null_mut(),
        m_slots: ls.slots.as_mut_ptr(),
        m_traverse: Some(module_traverse),
        m_clear: Some(module_clear),
        m_free: Some(module_free),
    };
}

unsafe extern "C" fn module_exec(module: *mut ffi::PyObject) -> c_int {
    // SAFETY: CPython calls Py_mod_exec with the GIL held and the new module.
    crate::py::guard::guard(-1, || unsafe { exec_impl(module) }.map(|()| 0))
}

pub(crate) unsafe fn exec_impl(module: *mut ffi::PyObject) -> PyResult<()> {
    // SAFETY: the GIL is held and `module` is being executed from a
    // LibState's def (contract): its state is a zeroed ModState this function
    // fills, each field one strong reference it owns; the library's tables
    // (`ls.lib`) are static and `externs` has `n_externs` descriptors.
    unsafe {
        let Some(ls) = lib_state_of(module) else {
            return Err(raise(
                ffi::PyExc_SystemError,
                "cembed: module without definition",
            ));
        };
        let Some(inst) = ls.inst_here() else {
            return Err(raise(
                ffi::PyExc_ImportError,
                &format!(
                    "cembed: library '{}' runs in interpreters of its own \
                     (embedding_isolation('{}')): its module cannot be imported \
                     into another interpreter",
                    ls.name.to_string_lossy(),
                    crate::lifecycle::interp::mode_name(ls.mode)
                ),
            ));
        };
        if ls.mode == cembed_abi::Isolation::Shared
            && ffi::PyInterpreterState_Get() != crate::lifecycle::tstates::main_interp()
        {
            return Err(raise(
                ffi::PyExc_ImportError,
                &format!(
                    "cembed: library '{}' runs in the main interpreter \
                     (embedding_isolation('shared')): its module cannot be imported \
                     into a subinterpreter",
                    ls.name.to_string_lossy()
                ),
            ));
        }
        let st = &mut *state(module);
        st.inst = inst;
        st.ffi_type = new_type(
            module,
            c"_cembed.FFI",
            crate::objects::ffi::FFI_BASICSIZE,
            ffi_slots(),
        )?;
        let ffi_type = st.ffi_type;
        crate::objects::ffi::class_attrs::add_class_attrs(st, ffi_type)?;
        st.lib_type = new_type(
            module,
            c"_cembed.Lib",
            std::mem::size_of::<crate::objects::libobj::LibObject>(),
            lib_slots(),
        )?;
        // `ffi.error` is made on first use (`ffi_error`), like the cdata types:
        // a library whose code never raises or reads it does not pay for it.
        crate::cdata::hooks::register(crate::cdata::hooks::Hooks {
            ffi_error,
            lib_function: crate::objects::libtype::lib_function,
            call_fnptr: crate::calls::cfunc::call_fnptr,
            buffer_new: crate::objects::ffi::buffers::ffi_buffer_new,
        });
        st.cdata = Box::into_raw(crate::cdata::Cx::new(module, ls)?);
        st.ffi = crate::objects::ffi::new_ffi_object(st.ffi_type as *mut ffi::PyTypeObject)?;
        st.lib = alloc_instance(st.lib_type)?;
        st.attached = Owned::check(ffi::PyDict_New())?.into_ptr();
        st.funcs = Owned::check(ffi::PyDict_New())?.into_ptr();
        for (i, es) in ls.externs.iter().enumerate() {
            // `lib.<name>` of a Python-implemented function is, as in CFFI, a
            // cdata function pointer to its generated C function (libobj.rs);
            // this direct callable only stands in for libraries whose tables
            // lack that function's address.
            if !(**(*ls.lib).externs.add(i)).fn_.is_null() {
                continue;
            }
            // Made here, not up front: generated libraries give every function's
            // address, so the type is usually never needed (first-call latency).
            if st.func_type.is_null() {
                st.func_type = new_type(
                    module,
                    c"_cembed.ExternFunction",
                    std::mem::size_of::<FuncObject>(),
                    func_slots(),
                )?;
            }
            let f = ffi::PyType_GenericAlloc(st.func_type as *mut ffi::PyTypeObject, 0);
            let f = Owned::check(f)?;
            (*(f.ptr() as *mut FuncObject)).es = es;
            let key = cstring_lossy(&es.name);
            if ffi::PyDict_SetItemString(st.funcs, key.as_ptr(), f.ptr()) < 0 {
                return Err(PyErrSet);
            }
        }
        py::module_add(module, c"ffi", st.ffi)?;
        py::module_add(module, c"lib", st.lib)?;
        // `from <module>.lib import name` (CFFI registers "<module>.lib" too).
        let lib_name = cstring_lossy(&format!("{}.lib", ls.name.to_string_lossy()));
        if ffi::PyDict_SetItemString(ffi::PyImport_GetModuleDict(), lib_name.as_ptr(), st.lib) < 0 {
            return Err(PyErrSet);
        }
        // The library keeps its first module alive for as long as it exists
        // (the process): its attached functions live in this module's state,
        // and C may call them whatever Python does with `sys.modules` (a
        // `del sys.modules[...]`, or a second library of the same module name
        // taking its place there). CFFI's attachments are C statics and never
        // die either.
        // The reference is released when Python's exit begins
        // (`libstate::release_modules`), so that finalization frees what the
        // functions hold (open files get flushed).
        if inst
            .owned_module
            .compare_exchange(null_mut(), module, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            ffi::Py_INCREF(module);
        }
        inst.cx.store(st.cdata as *mut c_void, Ordering::Release);
        inst.module.store(module, Ordering::Release);
        Ok(())
    }
}

unsafe extern "C" fn module_traverse(
    module: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: CPython calls m_traverse with the GIL held, one of our modules
    // and its own visit function; the state's fields are NULL or strong
    // references, and the data-model context is live until m_free.
    crate::py::guard::c_entry("module_traverse", 0, || unsafe {
        let st = state(module);
        if st.is_null() {
            return 0;
        }
        for f in (*st).fields() {
            if !f.is_null() {
                let r = visit(*f, arg);
                if r != 0 {
                    return r;
                }
            }
        }
        if !(*st).cdata.is_null() {
            return (*(*st).cdata).traverse(visit, arg);
        }
        0
    })
}

unsafe extern "C" fn module_clear(module: *mut ffi::PyObject) -> c_int {
    // SAFETY: CPython calls m_clear with the GIL held and one of our
    // modules; each strong reference of the state is released once (its
    // field set to NULL first).
    crate::py::guard::c_entry("module_clear", 0, || unsafe {
        let st = state(module);
        if st.is_null() {
            return 0;
        }
        if let Some(inst) = inst_of_module(module) {
            // The attachments die with this state: drop every cache that borrows
            // from it, so a later call reports "not attached" instead of using a
            // freed object.
            for c in inst.caches.iter() {
                if c.owner.load(Ordering::Relaxed) == module {
                    detach(c);
                }
            }
            let _ = inst.module.compare_exchange(
                module,
                null_mut(),
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
            // This module's context (if it is the one cached): from here on
            // `cx_of_lib` reports the module gone, as it did through the
            // module's state, before the context is cleared and freed.
            let _ = inst.cx.compare_exchange(
                (*st).cdata as *mut c_void,
                null_mut(),
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
        for f in (*st).fields() {
            let p = std::mem::replace(f, null_mut());
            if !p.is_null() {
                ffi::Py_DECREF(p);
            }
        }
        // Only the references: the registry stays until m_free (cdata of this
        // module may still be deallocated after a GC clear; they never read it
        // while dying, but their type's module state must stay valid).
        if !(*st).cdata.is_null() {
            (*(*st).cdata).clear();
        }
        0
    })
}

unsafe extern "C" fn module_free(module: *mut c_void) {
    // SAFETY: CPython calls m_free once, with the GIL held, when the module
    // dies; the data-model context was made by Box::into_raw in exec and is
    // freed once here (its pointer set to NULL first).
    crate::py::guard::c_entry("module_free", (), || unsafe {
        module_clear(module as *mut ffi::PyObject);
        let st = state(module as *mut ffi::PyObject);
        if !st.is_null() && !(*st).cdata.is_null() {
            drop(Box::from_raw(std::mem::replace(
                &mut (*st).cdata,
                null_mut(),
            )));
        }
    })
}

/// For entry/mod.rs: a module def's address, for `module_init`.
pub(crate) fn def_ptr(ls: &LibState) -> *mut ffi::PyModuleDef {
    &ls.def as *const ffi::PyModuleDef as *mut ffi::PyModuleDef
}
