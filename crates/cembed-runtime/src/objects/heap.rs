//! The heap types of a library's module (`PyType_FromModuleAndSpec`): how
//! they are made, the slots they share, and how an instance finds its module,
//! library and module state.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::desc::libstate::LibState;
use crate::objects::state::{lib_state_of, state, ModState};
use crate::py::{raise, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_int, c_void, CStr};
use std::ptr::null_mut;

/// Creates one heap type bound to `module`. Type names are `'static`
/// (3.9/3.10 keep `spec->name` as tp_name) and method/getset tables are
/// statics (CPython references them, it does not copy them).
pub(crate) unsafe fn new_type(
    module: *mut ffi::PyObject,
    name: &'static CStr,
    basicsize: usize,
    mut slots: Vec<ffi::PyType_Slot>,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the GIL is held and `module` is live (contract); the spec and
    // its slots live across the call (CPython copies what it keeps but the name,
    // which is 'static); the new type is a new reference owned by `Owned`.
    unsafe {
        slots.push(ffi::PyType_Slot {
            slot: 0,
            pfunc: null_mut(),
        });
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
}

pub(crate) unsafe fn alloc_instance(tp: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the GIL is held and `tp` is one of the module's heap types
    // (contract); the instance is a new reference.
    unsafe {
        Owned::check(ffi::PyType_GenericAlloc(tp as *mut ffi::PyTypeObject, 0)).map(Owned::into_ptr)
    }
}

/// Instances only hold a reference to their (heap) type.
unsafe extern "C" fn inst_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: CPython calls tp_traverse with a live instance and its own
    // visit function; an instance of a heap type holds a reference to it.
    crate::py::guard::c_entry("inst_traverse", 0, || unsafe {
        visit(ffi::Py_TYPE(slf) as *mut ffi::PyObject, arg)
    })
}

unsafe extern "C" fn inst_dealloc(slf: *mut ffi::PyObject) {
    // SAFETY: CPython calls tp_dealloc once, with the GIL held, on an
    // instance nobody references any more (what `dealloc_heap_instance` needs).
    crate::py::guard::c_entry("inst_dealloc", (), || unsafe {
        dealloc_heap_instance(slf, || {})
    })
}

/// The end of a heap-type instance's `tp_dealloc`: untracked, `drop_fields`
/// run (what the instance holds beyond its type), freed with its type's
/// `tp_free`, then the reference it held to its heap type released (a
/// Python subclass's dealloc leaves that to its heap base).
///
/// # Safety
/// GIL held; `slf` an instance of one of the module's GC heap types that
/// nobody references any more, deallocated once.
pub(crate) unsafe fn dealloc_heap_instance(slf: *mut ffi::PyObject, drop_fields: impl FnOnce()) {
    // SAFETY: the contract; `tp` is read before the memory is freed.
    unsafe {
        let tp = ffi::Py_TYPE(slf);
        ffi::PyObject_GC_UnTrack(slf as *mut c_void);
        drop_fields();
        if let Some(free) = (*tp).tp_free {
            free(slf as *mut c_void);
        }
        ffi::Py_DECREF(tp as *mut ffi::PyObject);
    }
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
    // SAFETY: the GIL is held and `slf` is a live instance of one of the
    // module's types (contract); its module is one of ours (checked through
    // its definition).
    unsafe {
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
}
