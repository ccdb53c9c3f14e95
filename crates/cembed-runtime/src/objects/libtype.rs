//! The Lib heap type (`lib.<name>`, `dir(lib)`; what a name is: libobj.rs) and
//! the ExternFunction type of the Python-implemented functions found on `lib`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::convert::{from_py, to_py};
use crate::desc::ctypes::Conv;
use crate::desc::libstate::{ExternState, LibState};
use crate::objects::heap::{common_slots, owner, slot};
use crate::py::cell::SyncCell;
use crate::py::gil::Python;
use crate::py::guard::trampoline;
use crate::py::{self, cstring_lossy, raise, Owned, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_int, c_void};
use std::ptr::null_mut;

static LIB_METHODS: SyncCell<[ffi::PyMethodDef; 2]> = SyncCell::new([
    crate::py::method(c"__dir__", lib_dir, ffi::METH_NOARGS),
    ffi::PyMethodDef::zeroed(),
]);

pub(crate) fn lib_slots() -> Vec<ffi::PyType_Slot> {
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
    // SAFETY: CPython calls the slot with the GIL held and `slf` an
    // instance of the Lib type (so of one of our modules, whose state holds
    // the `funcs` dict); `name` is live for the call.
    trampoline(|| unsafe {
        let (_, ls, st) = owner(slf)?;
        crate::objects::libobj::getattr(ls, slf, (*st).funcs, name)
    })
}

unsafe extern "C" fn lib_setattro(
    slf: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: CPython calls the slot with the GIL held and `slf` an
    // instance of the Lib type; `name` and `value` are live for the call.
    py::guard::guard(-1, || unsafe {
        let (_, ls, _) = owner(slf)?;
        crate::objects::libobj::setattr(ls, name, value).map(|()| 0)
    })
}

unsafe extern "C" fn lib_repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls the slot with the GIL held and `slf` an
    // instance of the Lib type.
    trampoline(|| unsafe {
        let (_, ls, _) = owner(slf)?;
        let s = cstring_lossy(&format!("<Lib object for '{}'>", ls.name.to_string_lossy()));
        Owned::check(ffi::PyUnicode_FromString(s.as_ptr())).map(Owned::into_ptr)
    })
}

unsafe extern "C" fn lib_dir(
    slf: *mut ffi::PyObject,
    _a: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls the method with the GIL held and `slf` an
    // instance of the Lib type.
    trampoline(|| unsafe {
        let (_, ls, _) = owner(slf)?;
        crate::objects::libobj::dir(Python::assume_gil_acquired(), ls)
    })
}

// ---- functions on lib ----------------------------------------------------

/// `lib.<name>`: calls the extern like C would (running the init code first
/// if needed), converting arguments and result.
#[repr(C)]
pub(crate) struct FuncObject {
    pub(crate) ob_base: ffi::PyObject,
    pub(crate) es: *const ExternState,
}

/// A function found on `lib`, C or Python-implemented, as the data model
/// accepts it where a function pointer is expected (CFFI): its library,
/// function type index and address.
///
/// # Safety
/// GIL held; `obj` valid.
pub(crate) unsafe fn lib_function(
    obj: *mut ffi::PyObject,
) -> Option<(&'static LibState, u32, *mut c_void)> {
    // SAFETY: the GIL is held and `obj` is live (contract).
    unsafe { crate::objects::libobj::as_lib_function(obj).or_else(|| extern_function_target(obj)) }
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
    // SAFETY: the GIL is held and `obj` is live (contract); only our
    // ExternFunction type has this tp_call, so `obj` is a FuncObject whose `es`
    // points into a never-freed LibState, and `by_name` indexes its library's
    // `externs` table.
    unsafe {
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
}

pub(crate) fn func_slots() -> Vec<ffi::PyType_Slot> {
    let mut v = common_slots();
    v.push(slot(ffi::Py_tp_call, func_call as *mut c_void));
    v.push(slot(ffi::Py_tp_repr, func_repr as *mut c_void));
    v
}

unsafe extern "C" fn func_repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls the slot with the GIL held and `slf` an
    // ExternFunction, whose `es` points into a never-freed LibState.
    trampoline(|| unsafe {
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
    // SAFETY: CPython calls tp_call with the GIL held, `slf` an
    // ExternFunction (its `es` in a never-freed LibState), `args` a tuple and
    // `kwargs` NULL or a dict. Each argument is converted into a buffer sized
    // for its type, the result into one sized for the result type, kept until
    // after the call.
    unsafe {
        let es = &*(*(slf as *mut FuncObject)).es;
        // One buffer per value, sized by its type: a struct passed by value
        // can be larger than any primitive. Plain memory: nothing of Python's
        // is pending across the call.
        let prepared = crate::py::guard::piece(|| -> PyResult<_> {
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
                .map(|&(conv, t)| crate::calls::cfunc::value_buffer(ls.types.get(t), conv))
                .collect();
            let mut ptrs: Vec<*mut c_void> = Vec::with_capacity(n);
            for (i, &(conv, t)) in es.args.iter().enumerate() {
                let p = store[i].as_mut_ptr() as *mut c_void;
                from_py(
                    ls,
                    conv,
                    ls.type_name(t),
                    ffi::PyTuple_GetItem(args, i as _),
                    p,
                )?;
                ptrs.push(p);
            }
            let (rconv, rtype) = es.result;
            let result = if rconv == Conv::Void {
                Vec::new()
            } else {
                crate::calls::cfunc::value_buffer(ls.types.get(rtype), rconv)
            };
            Ok((store, ptrs, result))
        });
        // No destructor pending across the call (unwind.rs): the buffers are
        // freed after it.
        let mut bufs = match prepared {
            Some(Ok(p)) => std::mem::ManuallyDrop::new(p),
            Some(Err(_)) => return null_mut(),
            None => {
                return crate::py::guard::panicked(
                    crate::py::gil::Python::assume_gil_acquired(),
                    null_mut(),
                )
            }
        };
        let (_, ptrs, result) = &mut *bufs;
        let rp = if result.is_empty() {
            null_mut()
        } else {
            result.as_mut_ptr() as *mut c_void
        };
        crate::calls::invoke::call_from_python(es, ptrs.as_mut_ptr(), rp);
        let r = crate::py::guard::piece(|| {
            let (rconv, rtype) = es.result;
            let r = to_py(es.lib(), rconv, es.lib().type_name(rtype), rp);
            drop(std::mem::ManuallyDrop::into_inner(bufs));
            r
        });
        r.unwrap_or_else(|| {
            crate::py::guard::panicked(crate::py::gil::Python::assume_gil_acquired(), null_mut())
        })
    }
}
