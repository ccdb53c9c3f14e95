//! Statics CPython keeps pointers to: method tables, getset tables, module
//! definitions.

use pyo3_ffi as ffi;
use std::cell::UnsafeCell;
use std::ffi::{c_int, CStr};

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
