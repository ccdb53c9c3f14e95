//! The state of a library's module (PEP 489 module state): every Python
//! object the module needs, how to find it from the module, and what the
//! data model and `ffi` get from it (`ffi.error`, the data-model context).

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::desc::libstate::{ExternCache, Instance, LibState};
use crate::py::{raise, Owned, PyResult};
use pyo3_ffi as ffi;
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
    /// The library's instance this module belongs to (its interpreter's):
    /// never freed; not a Python object.
    pub(crate) inst: *const Instance,
    /// The descriptor type of `FFI.NULL`/`CData`/`CType` (class_attrs.rs).
    pub(crate) class_attr_type: *mut ffi::PyObject,
}

/// The data model context of one of our modules (NULL if not created or
/// already freed).
///
/// # Safety
/// GIL held; `module` is a module made from a LibState's def.
pub(crate) unsafe fn cx_of_module(module: *mut ffi::PyObject) -> *mut crate::cdata::Cx {
    // SAFETY: the GIL is held and `module` is one of the runtime's modules
    // (contract): its state is a ModState (m_size) and its def the first field
    // of a never-freed LibState.
    unsafe {
        let st = state(module);
        if st.is_null() || (*st).ffi.is_null() {
            return null_mut();
        }
        (*st).cdata
    }
}

impl ModState {
    pub(crate) fn fields(&mut self) -> [&mut *mut ffi::PyObject; 9] {
        [
            &mut self.class_attr_type,
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
    // SAFETY: the GIL is held and `module` is one of the runtime's modules
    // (contract): its state is a ModState (m_size) and its def the first field
    // of a never-freed LibState. `ffi.error` is made once, owned by the state.
    unsafe {
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
}

/// The state of one of the runtime's modules.
///
/// # Safety
/// GIL held; `module` is a module made from a LibState's def.
pub(crate) unsafe fn state(module: *mut ffi::PyObject) -> *mut ModState {
    // SAFETY: the GIL is held and `module` is one of the runtime's modules
    // (contract): its state is a ModState (m_size) and its def the first field
    // of a never-freed LibState.
    unsafe { ffi::PyModule_GetState(module) as *mut ModState }
}

/// The library of one of the runtime's modules (`None` for a module
/// without a definition).
///
/// # Safety
/// GIL held; `module` is a live module.
pub(crate) unsafe fn lib_state_of(module: *mut ffi::PyObject) -> Option<&'static LibState> {
    // SAFETY: the GIL is held and `module` is live (contract).
    let def = unsafe { ffi::PyModule_GetDef(module) };
    // SAFETY: our modules are only created from the `def` field, which is the
    // first field of a never-freed `repr(C)` LibState.
    (!def.is_null()).then(|| unsafe { &*(def as *const LibState) })
}

pub(crate) fn detach(c: &ExternCache) {
    c.func.store(null_mut(), Ordering::Relaxed);
    c.onerror.store(null_mut(), Ordering::Relaxed);
    c.error.store(null_mut(), Ordering::Relaxed);
    c.owner.store(null_mut(), Ordering::Relaxed);
}

/// The library instance of one of our modules (`None` if the state is
/// gone).
///
/// # Safety
/// GIL held; `module` is a module made from a LibState's def.
pub(crate) unsafe fn inst_of_module(module: *mut ffi::PyObject) -> Option<&'static Instance> {
    // SAFETY: as for `state`; `inst` is NULL or a never-freed Instance.
    unsafe {
        let st = state(module);
        if st.is_null() || (*st).inst.is_null() {
            return None;
        }
        Some(&*(*st).inst)
    }
}
