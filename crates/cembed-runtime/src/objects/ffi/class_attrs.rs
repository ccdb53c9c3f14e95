//! `FFI.NULL`, `FFI.CData`, `FFI.CType`: attributes of the FFI class
//! itself (CFFI's `_cffi_backend.FFI.NULL`), as descriptors that find the
//! library from the class they are read from.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::object::{new_cdata, Own, TypeKindObj};
use crate::cdata::Cx;
use crate::py::guard::trampoline;
use crate::py::{raise, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::c_void;
use std::ptr::null_mut;

/// `FFI.NULL`, `FFI.CData`, `FFI.CType`: attributes of the FFI class, so
/// that `type(ffi).NULL` works as CFFI's `_cffi_backend.FFI.NULL`. They are
/// descriptors rather than values because the values are made on first use
/// (the cdata types cost a type creation each; see `Cx::heap_type`). The
/// descriptor type is made once per module (the module state owns it: a
/// type made in one interpreter must not be used in another); a descriptor
/// finds its library from the class it is read from (a subclass of FFI too).
#[repr(C)]
struct ClassAttr {
    ob_base: ffi::PyObject,
    /// 0: NULL, 1: CData, 2: CType.
    which: u8,
}

/// Sets `NULL`, `CData` and `CType` on the FFI type `ffi_type`, making the
/// descriptor type into `st.class_attr_type`.
///
/// # Safety
/// GIL held; `st` the state and `ffi_type` the FFI heap type of a module
/// being executed.
pub(crate) unsafe fn add_class_attrs(
    st: &mut crate::objects::state::ModState,
    ffi_type: *mut ffi::PyObject,
) -> PyResult<()> {
    // SAFETY: the GIL is held (contract); the spec and slots live across
    // PyType_FromSpec; each descriptor is a new instance of that type (a
    // `ClassAttr`), owned by `Owned` until the class holds it.
    unsafe {
        let mut tp = st.class_attr_type;
        if tp.is_null() {
            let mut slots = [
                ffi::PyType_Slot {
                    slot: ffi::Py_tp_descr_get,
                    pfunc: class_attr_get as *mut c_void,
                },
                ffi::PyType_Slot {
                    slot: ffi::Py_tp_dealloc,
                    pfunc: class_attr_dealloc as *mut c_void,
                },
                ffi::PyType_Slot {
                    slot: 0,
                    pfunc: null_mut(),
                },
            ];
            let mut spec = ffi::PyType_Spec {
                name: c"_cembed.classattr".as_ptr(),
                basicsize: std::mem::size_of::<ClassAttr>() as std::ffi::c_int,
                itemsize: 0,
                flags: ffi::Py_TPFLAGS_DEFAULT as _,
                slots: slots.as_mut_ptr(),
            };
            // The module state keeps this reference (m_clear drops it).
            tp = Owned::check(ffi::PyType_FromSpec(&mut spec))?.into_ptr();
            st.class_attr_type = tp;
        }
        for (which, name) in [(0u8, c"NULL"), (1, c"CData"), (2, c"CType")] {
            let obj = Owned::check(ffi::PyType_GenericAlloc(tp as *mut ffi::PyTypeObject, 0))?;
            // SAFETY: a new instance of the descriptor type: a `ClassAttr`.
            (*(obj.ptr() as *mut ClassAttr)).which = which;
            if ffi::PyObject_SetAttrString(ffi_type, name.as_ptr(), obj.ptr()) < 0 {
                return Err(PyErrSet);
            }
        }
        Ok(())
    }
}

unsafe extern "C" fn class_attr_dealloc(slf: *mut ffi::PyObject) {
    // SAFETY: CPython calls tp_dealloc once, with the GIL held, on an
    // instance nobody references: freed with its type's tp_free, and the
    // reference it held to its heap type released.
    crate::py::guard::c_entry("class_attr_dealloc", (), || unsafe {
        let tp = ffi::Py_TYPE(slf);
        if let Some(free) = (*tp).tp_free {
            free(slf as *mut c_void);
        }
        ffi::Py_DECREF(tp as *mut ffi::PyObject);
    })
}

/// `tp_descr_get`: `owner` is the class the attribute is read from (an
/// instance's class for `ffi.NULL`), `obj` the instance or NULL.
unsafe extern "C" fn class_attr_get(
    slf: *mut ffi::PyObject,
    obj: *mut ffi::PyObject,
    owner: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls tp_descr_get with the GIL held, `slf` a
    // descriptor of ours (a `ClassAttr`), `owner` NULL or a type and `obj`
    // NULL or an instance; the types on the `tp_base` chain are live; the
    // module found is one of ours (made from an FFI type's module), whose
    // data-model context is live while it is not cleared (checked).
    trampoline(|| unsafe {
        let mut t = if owner.is_null() && !obj.is_null() {
            ffi::Py_TYPE(obj)
        } else {
            owner as *mut ffi::PyTypeObject
        };
        // The library's module: that of the FFI type this class is or
        // derives from (as `py::type_module` does for an instance).
        let module = loop {
            if t.is_null() || ffi::PyType_HasFeature(t, ffi::Py_TPFLAGS_HEAPTYPE) == 0 {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    "cembed: not the FFI class of a cembed library",
                ));
            }
            let m = ffi::PyType_GetModule(t);
            if !m.is_null() {
                break m;
            }
            ffi::PyErr_Clear();
            t = (*t).tp_base;
        };
        let cx = crate::objects::state::cx_of_module(module);
        if cx.is_null() {
            return Err(raise(
                ffi::PyExc_RuntimeError,
                "cembed: the module was cleared",
            ));
        }
        // SAFETY: `slf` is an instance of the descriptor type, whose
        // objects are `ClassAttr`s (`add_class_attrs`).
        match (*(slf as *mut ClassAttr)).which {
            0 => {
                let vp = (*cx)
                    .reg
                    .parse("void *")
                    .map_err(|e| Cx::raise_error(cx, &e))?;
                Ok(new_cdata(cx, vp, null_mut(), Own::None)?.into_ptr())
            }
            1 => Ok(crate::py::new_ref(
                Cx::heap_type(cx, TypeKindObj::CData)? as *mut ffi::PyObject
            )),
            _ => Ok(crate::py::new_ref(
                Cx::heap_type(cx, TypeKindObj::CType)? as *mut ffi::PyObject
            )),
        }
    })
}
