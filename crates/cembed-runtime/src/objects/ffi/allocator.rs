//! `ffi.new_allocator(alloc=None, free=None, should_clear_after_alloc=True)`:
//! an `ffi.new()` whose memory comes from elsewhere. The size and
//! initialisation rules are `ffi.new`'s (`new::new_value_in`); only
//! where the bytes come from differs ([`Placement`]).

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::objects::ffi::new::Placement;
use crate::py::cell::StaticMethodDef;
use crate::py::guard::trampoline;
use crate::py::{raise, PyErrSet};
use pyo3_ffi as ffi;

/// `ffi.new_allocator(...)` (METH_VARARGS | METH_KEYWORDS).
pub(crate) unsafe extern "C" fn ffi_new_allocator(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls the method with the GIL held, `slf` the ffi
    // object and the argument tuple and dict of a METH_VARARGS | METH_KEYWORDS
    // method; the parsed arguments are borrowed from them for the call.
    trampoline(|| unsafe {
        let [alloc, free, clear] = crate::objects::ffi::def_extern::parse_args(
            "new_allocator",
            &["alloc", "free", "should_clear_after_alloc"],
            0,
            args,
            kwargs,
        )?;
        if alloc == ffi::Py_None() && free != ffi::Py_None() {
            return Err(raise(
                ffi::PyExc_TypeError,
                "cannot pass 'free' without 'alloc'",
            ));
        }
        // None (not given) means the default, True.
        let clear = if clear == ffi::Py_None() {
            ffi::Py_True()
        } else {
            match ffi::PyObject_IsTrue(clear) {
                -1 => return Err(PyErrSet),
                0 => ffi::Py_False(),
                _ => ffi::Py_True(),
            }
        };
        crate::objects::ffi::def_extern::closure_function(&ALLOCATOR, &[slf, alloc, free, clear])
    })
}

static ALLOCATOR: StaticMethodDef = StaticMethodDef::new_keywords(
    c"allocator",
    allocator_call,
    c"allocator(cdecl, init=None): like ffi.new(), with the memory of new_allocator().",
);

unsafe extern "C" fn allocator_call(
    closure: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls the function with the GIL held, `closure`
    // the 4-tuple new_allocator made (ffi, alloc, free, clear), which keeps its
    // items alive during the call, and the call's arguments.
    trampoline(|| unsafe {
        let item = |i| ffi::PyTuple_GetItem(closure, i);
        let (ffi_obj, alloc, free, clear) = (item(0), item(1), item(2), item(3) == ffi::Py_True());
        let [cdecl, init] = crate::objects::ffi::def_extern::parse_args(
            "allocator",
            &["cdecl", "init"],
            1,
            args,
            kwargs,
        )?;
        let (_, _, _, cx) = crate::objects::ffi::def_extern::owner_cx(ffi_obj)?;
        let tid = crate::objects::ffi::args::type_arg(cx, cdecl, false)?;
        let place = if alloc != ffi::Py_None() {
            Placement::Custom { alloc, free, clear }
        } else if clear {
            Placement::Owned
        } else {
            Placement::Uninit
        };
        crate::objects::ffi::new::new_value_in(cx, tid, init, &place)
    })
}
