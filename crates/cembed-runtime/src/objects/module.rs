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
//! `Py_mod_multiple_interpreters` is declared NOT_SUPPORTED, honestly: C
//! calls enter the main interpreter through the PyGILState API, and the
//! attachment caches in `ExternState` are per library, not per interpreter.
//!
//! Issue 3 (cdata, `ffi.new`/`cast`/...) adds methods to the FFI type and
//! attributes to `lib` here, and new heap types in modules of their own; the
//! module state grows by new fields at its end.

use crate::desc::libstate::{ExternState, LibState};
use crate::objects::ffi::ffi_slots;
use crate::objects::libtype::{func_slots, lib_slots, FuncObject};
use crate::py::{self, cstring_lossy, raise, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_int, c_void, CStr};
use std::ptr::null_mut;
use std::sync::atomic::Ordering;
/// Per-module state (`m_size` bytes, zeroed by CPython). Every pointer is a
/// strong reference, visited by `m_traverse` and dropped by `m_clear`.
#[repr(C)]
pub(crate) struct ModState {
    pub(crate) ffi_type: *mut ffi::PyObject,
    pub(crate) lib_type: *mut ffi::PyObject,
    pub(crate) func_type: *mut ffi::PyObject,
    pub(crate) ffi: *mut ffi::PyObject,
    pub(crate) lib: *mut ffi::PyObject,
    /// `ffi.error`.
    pub(crate) error: *mut ffi::PyObject,
    /// name -> ExternFunction, what `lib.<name>` returns.
    pub(crate) funcs: *mut ffi::PyObject,
    /// name -> (fn, onerror or None, error bytes or None): owns what the
    /// ExternState caches borrow.
    pub(crate) attached: *mut ffi::PyObject,
    /// The data model (CType/CData types, type registry): owned, created by
    /// exec, its objects cleared by m_clear, freed by m_free.
    pub(crate) cdata: *mut crate::cdata::Cx,
}

/// The data model context of one of our modules (NULL if not created or
/// already freed).
///
/// # Safety
/// GIL held; `module` is a module made from a LibState's def.
pub(crate) unsafe fn cx_of_module(module: *mut ffi::PyObject) -> *mut crate::cdata::Cx {
    let st = state(module);
    if st.is_null() || (*st).ffi.is_null() {
        return null_mut();
    }
    (*st).cdata
}

impl ModState {
    fn fields(&mut self) -> [&mut *mut ffi::PyObject; 8] {
        [
            &mut self.ffi_type,
            &mut self.lib_type,
            &mut self.func_type,
            &mut self.ffi,
            &mut self.lib,
            &mut self.error,
            &mut self.funcs,
            &mut self.attached,
        ]
    }
}

/// `ffi.error` of one of our modules (borrowed), created on first use.
///
/// # Safety
/// GIL held; `module` is a module made from a LibState's def.
pub(crate) unsafe fn ffi_error(module: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    let st = state(module);
    if st.is_null() || (*st).ffi.is_null() {
        return Err(raise(
            ffi::PyExc_RuntimeError,
            "cembed: the module was cleared",
        ));
    }
    if (*st).error.is_null() {
        let e = ffi::PyErr_NewException(c"ffi.error".as_ptr(), null_mut(), null_mut());
        (*st).error = Owned::check(e)?.into_ptr();
    }
    Ok((*st).error)
}

pub(crate) unsafe fn state(module: *mut ffi::PyObject) -> *mut ModState {
    ffi::PyModule_GetState(module) as *mut ModState
}

pub(crate) unsafe fn lib_state_of(module: *mut ffi::PyObject) -> Option<&'static LibState> {
    let def = ffi::PyModule_GetDef(module);
    // SAFETY: our modules are only created from the `def` field, which is the
    // first field of a never-freed `repr(C)` LibState.
    (!def.is_null()).then(|| &*(def as *const LibState))
}

// ---- module definition ------------------------------------------------

pub(crate) fn module_slots() -> Box<[ffi::PyModuleDef_Slot]> {
    let mut v = vec![ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_exec,
        value: module_exec as *mut c_void,
    }];
    #[cfg(Py_3_12)]
    v.push(ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_multiple_interpreters,
        value: ffi::Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED,
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

pub(crate) unsafe extern "C" fn module_exec(module: *mut ffi::PyObject) -> c_int {
    // SAFETY: CPython calls Py_mod_exec with the GIL held and the new module.
    crate::py::guard::guard(-1, || unsafe { exec_impl(module) }.map(|()| 0))
}

pub(crate) unsafe fn exec_impl(module: *mut ffi::PyObject) -> PyResult<()> {
    let Some(ls) = lib_state_of(module) else {
        return Err(raise(
            ffi::PyExc_SystemError,
            "cembed: module without definition",
        ));
    };
    let st = &mut *state(module);
    st.ffi_type = new_type(module, c"_cembed.FFI", ffi_slots())?;
    st.lib_type = new_type(module, c"_cembed.Lib", lib_slots())?;
    // `ffi.error` is made on first use (`ffi_error`), like the cdata types:
    // a library whose code never raises or reads it does not pay for it.
    crate::cdata::hooks::register(crate::cdata::hooks::Hooks {
        cx_of_module,
        ffi_error,
        lib_function: crate::objects::libtype::lib_function,
        call_fnptr: crate::calls::cfunc::call_fnptr,
        buffer_new: crate::objects::ffi::buffers::ffi_buffer_new,
    });
    st.cdata = Box::into_raw(crate::cdata::Cx::new(module, ls)?);
    st.ffi = alloc_instance(st.ffi_type)?;
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
            st.func_type = new_type(module, c"_cembed.ExternFunction", func_slots())?;
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
    if ls
        .owned_module
        .compare_exchange(null_mut(), module, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        ffi::Py_INCREF(module);
    }
    ls.module.store(module, Ordering::Release);
    Ok(())
}

pub(crate) unsafe extern "C" fn module_traverse(
    module: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
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
}

pub(crate) unsafe extern "C" fn module_clear(module: *mut ffi::PyObject) -> c_int {
    let st = state(module);
    if st.is_null() {
        return 0;
    }
    if let Some(ls) = lib_state_of(module) {
        // The attachments die with this state: drop every cache that borrows
        // from it, so a later call reports "not attached" instead of using a
        // freed object.
        for es in ls.externs.iter() {
            if es.owner.load(Ordering::Relaxed) == module {
                detach(es);
            }
        }
        let _ = ls
            .module
            .compare_exchange(module, null_mut(), Ordering::AcqRel, Ordering::Relaxed);
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
}

pub(crate) unsafe extern "C" fn module_free(module: *mut c_void) {
    module_clear(module as *mut ffi::PyObject);
    let st = state(module as *mut ffi::PyObject);
    if !st.is_null() && !(*st).cdata.is_null() {
        drop(Box::from_raw(std::mem::replace(
            &mut (*st).cdata,
            null_mut(),
        )));
    }
}

pub(crate) fn detach(es: &ExternState) {
    es.func.store(null_mut(), Ordering::Relaxed);
    es.onerror.store(null_mut(), Ordering::Relaxed);
    es.error.store(null_mut(), Ordering::Relaxed);
    es.owner.store(null_mut(), Ordering::Relaxed);
}

/// The library's module in this interpreter: the one a running Python
/// imported, or a new one, created here and put in `sys.modules` (before the
/// init code runs, as CFFI does).
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn get_or_create_module(ls: &LibState) -> PyResult<*mut ffi::PyObject> {
    let modules = ffi::PyImport_GetModuleDict();
    let mut m = ls.module.load(Ordering::Acquire);
    if m.is_null() {
        // importlib.machinery.ModuleSpec is _frozen_importlib.ModuleSpec,
        // which every interpreter has loaded already; importing
        // importlib.machinery would read two modules from disk on the first
        // call (0.5 ms, 6% of an interpreter start).
        let spec_cls = py::import_attr(c"_frozen_importlib", c"ModuleSpec")?;
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

// ---- heap types -----------------------------------------------------------

/// Creates one heap type bound to `module`. Type names are `'static`
/// (3.9/3.10 keep `spec->name` as tp_name) and method/getset tables are
/// statics (CPython references them, it does not copy them).
pub(crate) unsafe fn new_type(
    module: *mut ffi::PyObject,
    name: &'static CStr,
    mut slots: Vec<ffi::PyType_Slot>,
) -> PyResult<*mut ffi::PyObject> {
    slots.push(ffi::PyType_Slot {
        slot: 0,
        pfunc: null_mut(),
    });
    let basicsize = if name == c"_cembed.ExternFunction" {
        std::mem::size_of::<FuncObject>()
    } else if name == c"_cembed.Lib" {
        std::mem::size_of::<crate::objects::libobj::LibObject>()
    } else {
        std::mem::size_of::<ffi::PyObject>()
    };
    let mut spec = ffi::PyType_Spec {
        name: name.as_ptr(),
        basicsize: basicsize as c_int,
        itemsize: 0,
        // FFI may be subclassed, as CFFI's (`class MyFFI(type(ffi))`).
        flags: (ffi::Py_TPFLAGS_DEFAULT
            | ffi::Py_TPFLAGS_HAVE_GC
            | if name == c"_cembed.FFI" {
                ffi::Py_TPFLAGS_BASETYPE
            } else {
                0
            }) as _,
        slots: slots.as_mut_ptr(),
    };
    // 3.10+ would also take Py_TPFLAGS_DISALLOW_INSTANTIATION; on 3.9 not
    // setting tp_new is what keeps Python code from making instances.
    let t = ffi::PyType_FromModuleAndSpec(module, &mut spec, null_mut());
    Owned::check(t).map(Owned::into_ptr)
}

pub(crate) unsafe fn alloc_instance(tp: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    Owned::check(ffi::PyType_GenericAlloc(tp as *mut ffi::PyTypeObject, 0)).map(Owned::into_ptr)
}

/// Instances only hold a reference to their (heap) type.
pub(crate) unsafe extern "C" fn inst_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    visit(ffi::Py_TYPE(slf) as *mut ffi::PyObject, arg)
}

pub(crate) unsafe extern "C" fn inst_dealloc(slf: *mut ffi::PyObject) {
    let tp = ffi::Py_TYPE(slf);
    ffi::PyObject_GC_UnTrack(slf as *mut c_void);
    if let Some(free) = (*tp).tp_free {
        free(slf as *mut c_void);
    }
    ffi::Py_DECREF(tp as *mut ffi::PyObject);
}

pub(crate) fn slot(slot: c_int, pfunc: *mut c_void) -> ffi::PyType_Slot {
    ffi::PyType_Slot { slot, pfunc }
}

pub(crate) fn common_slots() -> Vec<ffi::PyType_Slot> {
    vec![
        slot(ffi::Py_tp_traverse, inst_traverse as *mut c_void),
        slot(ffi::Py_tp_dealloc, inst_dealloc as *mut c_void),
    ]
}

/// The module an instance of one of our types belongs to, and its state.
pub(crate) unsafe fn owner(
    slf: *mut ffi::PyObject,
) -> PyResult<(*mut ffi::PyObject, &'static LibState, *mut ModState)> {
    let m = crate::py::type_module(slf);
    if m.is_null() {
        return Err(PyErrSet);
    }
    let ls = lib_state_of(m)
        .ok_or_else(|| raise(ffi::PyExc_SystemError, "cembed: object of a foreign module"))?;
    let st = state(m);
    if st.is_null() || (*st).ffi.is_null() {
        return Err(raise(
            ffi::PyExc_RuntimeError,
            "cembed: the module was cleared",
        ));
    }
    Ok((m, ls, st))
}

/// For `lib.rs`: a module def's address, for `module_init`.
pub(crate) fn def_ptr(ls: &LibState) -> *mut ffi::PyModuleDef {
    &ls.def as *const ffi::PyModuleDef as *mut ffi::PyModuleDef
}
