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

use crate::convert::{from_py, to_py, Conv};
use crate::libstate::{ExternState, LibState};
use crate::py::{self, cstring_lossy, raise, type_name, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::cell::UnsafeCell;
use std::ffi::{c_int, c_void, CStr};
use std::ptr::null_mut;
use std::sync::atomic::Ordering;

/// A C struct CPython keeps a pointer to forever (method tables, getset
/// tables, module definitions): it must be a static, and CPython may write
/// to some of them (PyModuleDef_Init), hence the cell.
pub(crate) struct SyncCell<T>(UnsafeCell<T>);
// SAFETY: only CPython touches the contents, with the GIL held.
unsafe impl<T> Sync for SyncCell<T> {}
impl<T> SyncCell<T> {
    pub(crate) const fn new(v: T) -> Self {
        SyncCell(UnsafeCell::new(v))
    }
    pub(crate) const fn get(&self) -> *mut T {
        self.0.get()
    }
}

/// A single `PyMethodDef` for `PyCFunction_NewEx`.
pub(crate) struct StaticMethodDef(SyncCell<ffi::PyMethodDef>);
impl StaticMethodDef {
    pub(crate) const fn new(
        name: &'static CStr,
        f: unsafe extern "C" fn(*mut ffi::PyObject, *mut ffi::PyObject) -> *mut ffi::PyObject,
        doc: &'static CStr,
    ) -> Self {
        StaticMethodDef(SyncCell::new(ffi::PyMethodDef {
            ml_name: name.as_ptr(),
            ml_meth: ffi::PyMethodDefPointer { PyCFunction: f },
            ml_flags: ffi::METH_NOARGS,
            ml_doc: doc.as_ptr(),
        }))
    }
    /// A `METH_VARARGS | METH_KEYWORDS` function.
    pub(crate) const fn new_keywords(
        name: &'static CStr,
        f: unsafe extern "C" fn(
            *mut ffi::PyObject,
            *mut ffi::PyObject,
            *mut ffi::PyObject,
        ) -> *mut ffi::PyObject,
        doc: &'static CStr,
    ) -> Self {
        StaticMethodDef(SyncCell::new(ffi::PyMethodDef {
            ml_name: name.as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunctionWithKeywords: f,
            },
            ml_flags: ffi::METH_VARARGS | ffi::METH_KEYWORDS,
            ml_doc: doc.as_ptr(),
        }))
    }
    pub(crate) const fn with_flags(mut self, flags: c_int) -> Self {
        self.0 .0.get_mut().ml_flags = flags;
        self
    }
    pub(crate) fn get(&self) -> *mut ffi::PyMethodDef {
        self.0.get()
    }
}

/// Per-module state (`m_size` bytes, zeroed by CPython). Every pointer is a
/// strong reference, visited by `m_traverse` and dropped by `m_clear`.
#[repr(C)]
pub(crate) struct ModState {
    ffi_type: *mut ffi::PyObject,
    lib_type: *mut ffi::PyObject,
    func_type: *mut ffi::PyObject,
    ffi: *mut ffi::PyObject,
    lib: *mut ffi::PyObject,
    /// `ffi.error`.
    error: *mut ffi::PyObject,
    /// name -> ExternFunction, what `lib.<name>` returns.
    funcs: *mut ffi::PyObject,
    /// name -> (fn, onerror or None, error bytes or None): owns what the
    /// ExternState caches borrow.
    attached: *mut ffi::PyObject,
    /// The data model (CType/CData types, type registry): owned, created by
    /// exec, its objects cleared by m_clear, freed by m_free.
    cdata: *mut crate::cdata::Cx,
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

unsafe fn state(module: *mut ffi::PyObject) -> *mut ModState {
    ffi::PyModule_GetState(module) as *mut ModState
}

unsafe fn lib_state_of(module: *mut ffi::PyObject) -> Option<&'static LibState> {
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

unsafe extern "C" fn module_exec(module: *mut ffi::PyObject) -> c_int {
    match std::panic::catch_unwind(|| unsafe { exec_impl(module) }) {
        Ok(Ok(())) => 0,
        Ok(Err(PyErrSet)) => -1,
        Err(_) => {
            raise(
                ffi::PyExc_SystemError,
                "cembed: panic while creating the module",
            );
            -1
        }
    }
}

unsafe fn exec_impl(module: *mut ffi::PyObject) -> PyResult<()> {
    let Some(ls) = lib_state_of(module) else {
        return Err(raise(
            ffi::PyExc_SystemError,
            "cembed: module without definition",
        ));
    };
    let st = &mut *state(module);
    st.ffi_type = new_type(module, c"_cembed.FFI", ffi_slots())?;
    crate::toolbox::add_class_attrs(st.ffi_type)?;
    st.lib_type = new_type(module, c"_cembed.Lib", lib_slots())?;
    // `ffi.error` is made on first use (`ffi_error`), like the cdata types:
    // a library whose code never raises or reads it does not pay for it.
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

unsafe extern "C" fn module_traverse(
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

unsafe extern "C" fn module_clear(module: *mut ffi::PyObject) -> c_int {
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

unsafe extern "C" fn module_free(module: *mut c_void) {
    module_clear(module as *mut ffi::PyObject);
    let st = state(module as *mut ffi::PyObject);
    if !st.is_null() && !(*st).cdata.is_null() {
        drop(Box::from_raw(std::mem::replace(
            &mut (*st).cdata,
            null_mut(),
        )));
    }
}

fn detach(es: &ExternState) {
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
unsafe fn new_type(
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
        std::mem::size_of::<crate::libobj::LibObject>()
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

unsafe fn alloc_instance(tp: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    Owned::check(ffi::PyType_GenericAlloc(tp as *mut ffi::PyTypeObject, 0)).map(Owned::into_ptr)
}

/// Instances only hold a reference to their (heap) type.
unsafe extern "C" fn inst_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    visit(ffi::Py_TYPE(slf) as *mut ffi::PyObject, arg)
}

unsafe extern "C" fn inst_dealloc(slf: *mut ffi::PyObject) {
    let tp = ffi::Py_TYPE(slf);
    ffi::PyObject_GC_UnTrack(slf as *mut c_void);
    if let Some(free) = (*tp).tp_free {
        free(slf as *mut c_void);
    }
    ffi::Py_DECREF(tp as *mut ffi::PyObject);
}

fn slot(slot: c_int, pfunc: *mut c_void) -> ffi::PyType_Slot {
    ffi::PyType_Slot { slot, pfunc }
}

fn common_slots() -> Vec<ffi::PyType_Slot> {
    vec![
        slot(ffi::Py_tp_traverse, inst_traverse as *mut c_void),
        slot(ffi::Py_tp_dealloc, inst_dealloc as *mut c_void),
    ]
}

/// Whether `obj` is the `ffi` object of `module` (not another `FFI()`).
///
/// # Safety
/// GIL held; `module` one of our modules.
pub(crate) unsafe fn is_main_ffi(module: *mut ffi::PyObject, obj: *mut ffi::PyObject) -> bool {
    let st = state(module);
    !st.is_null() && (*st).ffi == obj
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

// ---- ffi ------------------------------------------------------------------

static FFI_METHODS: SyncCell<[ffi::PyMethodDef; 5]> = SyncCell::new([
    ffi::PyMethodDef {
        ml_name: c"new_allocator".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionWithKeywords: crate::allocator::ffi_new_allocator,
        },
        ml_flags: ffi::METH_VARARGS | ffi::METH_KEYWORDS,
        ml_doc: c"new_allocator(alloc=None, free=None, should_clear_after_alloc=True)\n--\n\n\
Return a new allocator, i.e. a function that behaves like ffi.new() but uses \
the provided low-level 'alloc' and 'free' functions."
            .as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"integer_const".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: ffi_integer_const,
        },
        ml_flags: ffi::METH_O,
        ml_doc: c"integer_const(name)\n--\n\n\
Get the value of an integer constant: a #define, a 'static const int', \
or an enumerator of the declarations."
            .as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"callback".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionWithKeywords: crate::callback::ffi_callback,
        },
        ml_flags: ffi::METH_VARARGS | ffi::METH_KEYWORDS,
        ml_doc: c"callback(cdecl, python_callable=None, error=None, onerror=None)\n--\n\n\
Return a callback object or a decorator making such a callback object. \
'cdecl' must name a C function pointer type. The callback invokes the \
specified 'python_callable' and returns its result. If the callback \
raises an exception, the 'error' value is returned (or 0) and 'onerror' \
is called."
            .as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"def_extern".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionWithKeywords: ffi_def_extern,
        },
        ml_flags: ffi::METH_VARARGS | ffi::METH_KEYWORDS,
        ml_doc: c"def_extern(name=None, error=None, onerror=None)\n--\n\n\
Decorator attaching a Python function to an extern \"Python\" function \
(or an embedding_api function) of this library."
            .as_ptr(),
    },
    ffi::PyMethodDef::zeroed(),
]);

static FFI_GETSET: SyncCell<[ffi::PyGetSetDef; 2]> = SyncCell::new([
    ffi::PyGetSetDef {
        name: c"error".as_ptr(),
        get: Some(ffi_get_error),
        set: None,
        doc: c"The exception raised by this ffi's operations.".as_ptr(),
        closure: null_mut(),
    },
    ffi::PyGetSetDef {
        name: std::ptr::null(),
        get: None,
        set: None,
        doc: std::ptr::null(),
        closure: null_mut(),
    },
]);

fn ffi_slots() -> Vec<ffi::PyType_Slot> {
    let mut v = common_slots();
    // The toolbox (`ffi.new`, `cast`, ...) adds its methods and attributes
    // to def_extern and error.
    v.push(slot(
        ffi::Py_tp_methods,
        crate::toolbox::ffi_methods(FFI_METHODS.get() as *const ffi::PyMethodDef) as *mut c_void,
    ));
    v.push(slot(
        ffi::Py_tp_getset,
        crate::toolbox::ffi_getset(FFI_GETSET.get() as *const ffi::PyGetSetDef) as *mut c_void,
    ));
    v.push(slot(
        ffi::Py_tp_doc,
        c"The ffi object of a cembed library.".as_ptr() as *mut c_void,
    ));
    v.push(slot(
        ffi::Py_tp_getattro,
        crate::toolbox::ffi_getattro as *mut c_void,
    ));
    v
}

pub(crate) unsafe extern "C" fn ffi_get_error(
    slf: *mut ffi::PyObject,
    _c: *mut c_void,
) -> *mut ffi::PyObject {
    trampoline(|| {
        let (m, _, _) = owner(slf)?;
        Ok(py::new_ref(ffi_error(m)?))
    })
}

/// Runs a Python-facing function body: a panic becomes SystemError, never an
/// unwind into CPython.
pub(crate) fn trampoline(f: impl FnOnce() -> PyResult<*mut ffi::PyObject>) -> *mut ffi::PyObject {
    py::guard(null_mut(), f)
}

/// Parses `(name=None, error=None, onerror=None)`, positional or keyword.
pub(crate) unsafe fn parse_args<const N: usize>(
    fname: &str,
    names: &[&str; N],
    required: usize,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> PyResult<[*mut ffi::PyObject; N]> {
    let mut out = [null_mut(); N];
    let n = ffi::PyTuple_Size(args);
    if n as usize > N {
        return Err(raise(
            ffi::PyExc_TypeError,
            &format!("{fname}() takes at most {N} arguments ({n} given)"),
        ));
    }
    for (i, o) in out.iter_mut().enumerate().take(n as usize) {
        *o = ffi::PyTuple_GetItem(args, i as ffi::Py_ssize_t);
    }
    if !kwargs.is_null() {
        let mut pos: ffi::Py_ssize_t = 0;
        let (mut k, mut v) = (null_mut(), null_mut());
        while ffi::PyDict_Next(kwargs, &mut pos, &mut k, &mut v) != 0 {
            let key = py::str_text(k).unwrap_or_default();
            match names.iter().position(|&nm| nm == key) {
                Some(i) if (i as ffi::Py_ssize_t) < n => {
                    return Err(raise(
                        ffi::PyExc_TypeError,
                        &format!("{fname}() got multiple values for argument '{key}'"),
                    ))
                }
                Some(i) => out[i] = v,
                None => {
                    return Err(raise(
                        ffi::PyExc_TypeError,
                        &format!("{fname}() got an unexpected keyword argument '{key}'"),
                    ))
                }
            }
        }
    }
    for (i, o) in out.iter_mut().enumerate() {
        if o.is_null() {
            if i < required {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!(
                        "{fname}() missing required argument '{}' (pos {})",
                        names[i],
                        i + 1
                    ),
                ));
            }
            *o = ffi::Py_None();
        }
    }
    Ok(out)
}

unsafe extern "C" fn ffi_def_extern(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(|| {
        let (m, _, _) = owner(slf)?;
        let [name, error, onerror] =
            parse_args("def_extern", &["name", "error", "onerror"], 0, args, kwargs)?;
        // The decorator closes over (module, name, error, onerror); the
        // arguments are checked when it is applied, as in CFFI, so
        // `ffi.def_extern(42)` itself succeeds and `@` it raises.
        closure_function(&DECORATOR, &[m, name, error, onerror])
    })
}

/// A builtin function running `def` with `items` (a tuple) as its `self`:
/// the decorators and allocators that ffi methods return.
///
/// # Safety
/// GIL held; `items` live objects.
pub(crate) unsafe fn closure_function(
    def: &'static StaticMethodDef,
    items: &[*mut ffi::PyObject],
) -> PyResult<*mut ffi::PyObject> {
    let closure = Owned::check(ffi::PyTuple_New(items.len() as ffi::Py_ssize_t))?;
    for (i, &o) in items.iter().enumerate() {
        // PyTuple_SetItem steals the new reference.
        ffi::PyTuple_SetItem(closure.ptr(), i as ffi::Py_ssize_t, py::new_ref(o));
    }
    Owned::check(ffi::PyCFunction_NewEx(def.get(), closure.ptr(), null_mut())).map(Owned::into_ptr)
}

/// CFFI's checks of what `def_extern` / `ffi.callback` attach: the function
/// must be callable, `onerror` None or callable.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn check_callables(
    func: *mut ffi::PyObject,
    onerror: *mut ffi::PyObject,
) -> PyResult<()> {
    if ffi::PyCallable_Check(func) == 0 {
        return Err(raise(
            ffi::PyExc_TypeError,
            &format!("expected a callable object, not {}", type_name(func)),
        ));
    }
    if onerror != ffi::Py_None() && ffi::PyCallable_Check(onerror) == 0 {
        return Err(raise(
            ffi::PyExc_TypeError,
            &format!(
                "expected a callable object for 'onerror', not {}",
                type_name(onerror)
            ),
        ));
    }
    Ok(())
}

/// `owner` plus the module's data-model context, for ffi methods that
/// parse types.
///
/// # Safety
/// GIL held; `slf` an object of one of the module's types.
pub(crate) unsafe fn owner_cx(
    slf: *mut ffi::PyObject,
) -> PyResult<(
    *mut ffi::PyObject,
    &'static LibState,
    *mut ModState,
    *mut crate::cdata::Cx,
)> {
    let (m, ls, st) = owner(slf)?;
    let cx = cx_of_module(m);
    if cx.is_null() {
        return Err(raise(
            ffi::PyExc_RuntimeError,
            "cembed: the module was cleared",
        ));
    }
    Ok((m, ls, st, cx))
}

static DECORATOR: StaticMethodDef = StaticMethodDef::new(
    c"def_extern_decorator",
    def_extern_decorator,
    c"Attaches the decorated function; returns it unchanged.",
)
.with_flags(ffi::METH_O);

unsafe extern "C" fn def_extern_decorator(
    closure: *mut ffi::PyObject,
    func: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(|| {
        let m = ffi::PyTuple_GetItem(closure, 0);
        let name = ffi::PyTuple_GetItem(closure, 1);
        let error = ffi::PyTuple_GetItem(closure, 2);
        let onerror = ffi::PyTuple_GetItem(closure, 3);
        check_callables(func, onerror)?;
        let n;
        let name = if name == ffi::Py_None() {
            n = Owned::check(ffi::PyObject_GetAttrString(func, c"__name__".as_ptr()))?;
            n.ptr()
        } else {
            name
        };
        if ffi::PyUnicode_Check(name) == 0 {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("def_extern(): name must be a str, not {}", type_name(name)),
            ));
        }
        let name_text = py::str_text(name).ok_or(PyErrSet)?;
        let ls = lib_state_of(m).ok_or_else(|| {
            raise(
                ffi::PyExc_SystemError,
                "cembed: ffi object of a foreign module",
            )
        })?;
        let st = state(m);
        if (*st).attached.is_null() {
            return Err(raise(
                ffi::PyExc_RuntimeError,
                "cembed: the module was cleared",
            ));
        }
        let found = ls
            .by_name
            .get(&name_text)
            .filter(|_| !crate::callback::is_pool_slot(&name_text));
        let Some(&i) = found else {
            return Err(raise(
                ffi_error(m)?,
                &format!(
                    "ffi.def_extern('{name_text}'): no 'extern \"Python\"' function with this name"
                ),
            ));
        };
        let es = &ls.externs[i];
        attach(m, st, ls, es, func, error, onerror)?;
        Ok(py::new_ref(func))
    })
}

/// Records the attachment in the module state (which owns it) and points the
/// extern's caches at it.
pub(crate) unsafe fn attach(
    m: *mut ffi::PyObject,
    st: *mut ModState,
    ls: &LibState,
    es: &ExternState,
    func: *mut ffi::PyObject,
    error: *mut ffi::PyObject,
    onerror: *mut ffi::PyObject,
) -> PyResult<()> {
    let (rconv, rtype) = es.result;
    let err_bytes = if rconv == Conv::Void || rconv.size() == 0 {
        None
    } else {
        let b = Owned::check(ffi::PyBytes_FromStringAndSize(
            std::ptr::null(),
            rconv.size() as ffi::Py_ssize_t,
        ))?;
        let data = ffi::PyBytes_AsString(b.ptr()) as *mut u8;
        std::ptr::write_bytes(data, 0, rconv.size());
        if error != ffi::Py_None() {
            from_py(rconv, ls.type_name(rtype), error, data as *mut c_void)?;
        }
        Some(b)
    };
    let none = ffi::Py_None();
    let entry = Owned::check(ffi::PyTuple_Pack(
        3,
        func,
        onerror,
        err_bytes.as_ref().map_or(none, |b| b.ptr()),
    ))?;
    let key = cstring_lossy(&es.name);
    if ffi::PyDict_SetItemString((*st).attached, key.as_ptr(), entry.ptr()) < 0 {
        return Err(PyErrSet);
    }
    // The dict now owns `entry`, which owns func/onerror/bytes.
    es.func.store(func, Ordering::Relaxed);
    es.onerror.store(
        if onerror == none { null_mut() } else { onerror },
        Ordering::Relaxed,
    );
    es.error.store(
        err_bytes.map_or(null_mut(), |b| ffi::PyBytes_AsString(b.ptr()) as *mut u8),
        Ordering::Relaxed,
    );
    es.owner.store(m, Ordering::Relaxed);
    Ok(())
}

/// `ffi.integer_const(name)`: the value of an integer constant or
/// enumerator of the declarations.
unsafe extern "C" fn ffi_integer_const(
    slf: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(|| {
        let (m, ls, _) = owner(slf)?;
        let text = py::str_text(name).ok_or(PyErrSet)?;
        match crate::libobj::integer_const(ls, &text)? {
            Some(v) => Ok(v.into_ptr()),
            None => Err(raise(
                ffi_error(m)?,
                &format!("integer constant '{text}' not found"),
            )),
        }
    })
}

/// Undoes `attach` for extern `index` of the module's library (a callback
/// slot being released). Any error is left set for the caller.
pub(crate) unsafe fn release_slot(m: *mut ffi::PyObject, index: usize) {
    let Some(ls) = lib_state_of(m) else { return };
    let Some(es) = ls.externs.get(index) else {
        return;
    };
    let st = state(m);
    if st.is_null() || (*st).attached.is_null() {
        return; // cleared: nothing is attached any more
    }
    if es.owner.load(Ordering::Relaxed) == m {
        detach(es);
    }
    let key = cstring_lossy(&es.name);
    ffi::PyDict_DelItemString((*st).attached, key.as_ptr());
}

// ---- lib ------------------------------------------------------------------

static LIB_METHODS: SyncCell<[ffi::PyMethodDef; 2]> = SyncCell::new([
    crate::py::method(c"__dir__", lib_dir, ffi::METH_NOARGS),
    ffi::PyMethodDef::zeroed(),
]);

fn lib_slots() -> Vec<ffi::PyType_Slot> {
    let mut v = common_slots();
    v.push(slot(ffi::Py_tp_getattro, lib_getattro as *mut c_void));
    v.push(slot(ffi::Py_tp_setattro, lib_setattro as *mut c_void));
    v.push(slot(ffi::Py_tp_repr, lib_repr as *mut c_void));
    v.push(slot(ffi::Py_tp_methods, LIB_METHODS.get() as *mut c_void));
    v.push(slot(
        ffi::Py_tp_doc,
        c"The lib object of a cembed library: its functions.".as_ptr() as *mut c_void,
    ));
    v
}

unsafe extern "C" fn lib_getattro(
    slf: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // Name resolution and caching: libobj.rs. `funcs` is the cache.
    trampoline(|| {
        let (_, ls, st) = owner(slf)?;
        crate::libobj::getattr(ls, slf, (*st).funcs, name)
    })
}

unsafe extern "C" fn lib_setattro(
    slf: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    py::guard(-1, || {
        let (_, ls, _) = owner(slf)?;
        crate::libobj::setattr(ls, name, value).map(|()| 0)
    })
}

unsafe extern "C" fn lib_repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    trampoline(|| {
        let (_, ls, _) = owner(slf)?;
        let s = cstring_lossy(&format!("<Lib object for '{}'>", ls.name.to_string_lossy()));
        Owned::check(ffi::PyUnicode_FromString(s.as_ptr())).map(Owned::into_ptr)
    })
}

unsafe extern "C" fn lib_dir(
    slf: *mut ffi::PyObject,
    _a: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(|| {
        let (_, ls, _) = owner(slf)?;
        crate::libobj::dir(ls)
    })
}

// ---- functions on lib ----------------------------------------------------

/// `lib.<name>`: calls the extern like C would (running the init code first
/// if needed), converting arguments and result.
#[repr(C)]
pub(crate) struct FuncObject {
    ob_base: ffi::PyObject,
    es: *const ExternState,
}

/// If `obj` is a `lib.<extern "Python" function>` object: its library, its
/// FUNCTION type index and the generated C function's address (CFFI accepts
/// it wherever a function pointer is expected). For the data model.
///
/// # Safety
/// GIL held; `obj` valid.
pub(crate) unsafe fn extern_function_target(
    obj: *mut ffi::PyObject,
) -> Option<(&'static LibState, u32, *mut c_void)> {
    let tp = ffi::Py_TYPE(obj);
    // Our ExternFunction type is the only one with this tp_call.
    let ours = (*tp).tp_call.map(|f| f as usize) == Some(func_call as *const () as usize);
    if !ours {
        return None;
    }
    let es = &*(*(obj as *mut FuncObject)).es;
    let ls: &'static LibState = &*es.lib;
    let i = *ls.by_name.get(&es.name)?;
    let ext = &**(*ls.lib).externs.add(i);
    (ext.type_ >= 0 && !ext.fn_.is_null()).then_some((ls, ext.type_ as u32, ext.fn_))
}

fn func_slots() -> Vec<ffi::PyType_Slot> {
    let mut v = common_slots();
    v.push(slot(ffi::Py_tp_call, func_call as *mut c_void));
    v.push(slot(ffi::Py_tp_repr, func_repr as *mut c_void));
    v
}

unsafe extern "C" fn func_repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    trampoline(|| {
        let es = &*(*(slf as *mut FuncObject)).es;
        let s = cstring_lossy(&format!("<cembed function {}>", es.qualname));
        Ok(ffi::PyUnicode_FromString(s.as_ptr()))
    })
}

/// `lib.<extern "Python" function>(...)`: `"C-unwind"`, and the call into
/// Python made between two guarded pieces, as on the C entry (unwind.rs).
unsafe extern "C-unwind" fn func_call(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let es = &*(*(slf as *mut FuncObject)).es;
    // One buffer per value, sized by its type: a struct passed by value
    // can be larger than any primitive. Plain memory: nothing of Python's
    // is pending across the call.
    let prepared = crate::unwind::piece(|| -> PyResult<_> {
        if !kwargs.is_null() && ffi::PyDict_Size(kwargs) != 0 {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("{}() takes no keyword arguments", es.name),
            ));
        }
        let n = ffi::PyTuple_Size(args) as usize;
        if n != es.args.len() {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!(
                    "{}() takes exactly {} argument{} ({n} given)",
                    es.name,
                    es.args.len(),
                    if es.args.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        let ls = es.lib();
        let mut store: Vec<_> = es
            .args
            .iter()
            .map(|&(conv, t)| crate::cfunc::value_buffer(ls.types.get(t), conv))
            .collect();
        let mut ptrs: Vec<*mut c_void> = Vec::with_capacity(n);
        for (i, &(conv, t)) in es.args.iter().enumerate() {
            let p = store[i].as_mut_ptr() as *mut c_void;
            from_py(conv, ls.type_name(t), ffi::PyTuple_GetItem(args, i as _), p)?;
            ptrs.push(p);
        }
        let (rconv, rtype) = es.result;
        let result = if rconv == Conv::Void {
            Vec::new()
        } else {
            crate::cfunc::value_buffer(ls.types.get(rtype), rconv)
        };
        Ok((store, ptrs, result))
    });
    // No destructor pending across the call (unwind.rs): the buffers are
    // freed after it.
    let mut bufs = match prepared {
        Some(Ok(p)) => std::mem::ManuallyDrop::new(p),
        Some(Err(_)) => return null_mut(),
        None => return crate::unwind::panicked(null_mut()),
    };
    let (_, ptrs, result) = &mut *bufs;
    let rp = if result.is_empty() {
        null_mut()
    } else {
        result.as_mut_ptr() as *mut c_void
    };
    crate::call::call_from_python(es, ptrs.as_mut_ptr(), rp);
    let r = crate::unwind::piece(|| {
        let (rconv, rtype) = es.result;
        let r = to_py(rconv, es.lib().type_name(rtype), rp);
        drop(std::mem::ManuallyDrop::into_inner(bufs));
        r
    });
    r.unwrap_or_else(|| crate::unwind::panicked(null_mut()))
}

/// For `lib.rs`: a module def's address, for `module_init`.
pub(crate) fn def_ptr(ls: &LibState) -> *mut ffi::PyModuleDef {
    &ls.def as *const ffi::PyModuleDef as *mut ffi::PyModuleDef
}
