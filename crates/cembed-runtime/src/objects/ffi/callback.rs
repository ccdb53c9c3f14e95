//! `ffi.callback(cdecl, python_callable=None, error=None, onerror=None)`.
//!
//! No machine code is written at run time (W^X-safe, no libffi): codegen
//! compiles a pool of ordinary C functions per function-pointer type of the
//! declarations (cembed-codegen's `callbacks.rs`), each an `extern "Python"`
//! function named `_cembed_cb<type>_<k>`. A callback takes a free slot of
//! its type's pool, attaches the Python callable to it exactly as
//! `@ffi.def_extern()` would (same `error=`/`onerror=` conversions and error
//! reports), and returns a cdata function pointer to the slot's C function.
//! That cdata keeps a capsule whose destructor detaches the slot, so the
//! slot is free again once the callback is garbage.
//!
//! A slot is in use while its extern has a function attached (`func` set);
//! everything here runs with the GIL held, which serialises the search.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::object::{new_cdata, Own};
use crate::cdata::types::TKind;
use crate::desc::libstate::{is_pool_slot, LibState};
use crate::py::cell::StaticMethodDef;
use crate::py::guard::trampoline;
use crate::py::{self, raise, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_void, CStr};
use std::ptr::null_mut;
use std::sync::atomic::Ordering;

const CAPSULE_NAME: &CStr = c"cembed.callback_slot";

/// What a callback's capsule holds: the module (strong reference) and the
/// slot's index among the library's externs.
struct SlotRef {
    module: *mut ffi::PyObject,
    index: usize,
}

/// `ffi.callback(...)` (METH_VARARGS | METH_KEYWORDS).
pub(crate) unsafe extern "C" fn ffi_callback(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls the method with the GIL held, `slf` the ffi
    // object and the argument tuple and dict of a METH_VARARGS | METH_KEYWORDS
    // method; the parsed arguments are borrowed from them for the call.
    trampoline(|| unsafe {
        let [cdecl, func, error, onerror] = crate::objects::ffi::def_extern::parse_args(
            "callback",
            &["cdecl", "python_callable", "error", "onerror"],
            1,
            args,
            kwargs,
        )?;
        if func == ffi::Py_None() {
            // Used as a decorator: `@ffi.callback("int(int)")`.
            return crate::objects::ffi::def_extern::closure_function(
                &DECORATOR,
                &[slf, cdecl, error, onerror],
            );
        }
        make(slf, cdecl, func, error, onerror)
    })
}

static DECORATOR: StaticMethodDef = StaticMethodDef::new(
    c"callback_decorator",
    callback_decorator,
    c"Makes the decorated function a callback; returns the callback.",
)
.with_flags(ffi::METH_O);

unsafe extern "C" fn callback_decorator(
    closure: *mut ffi::PyObject,
    func: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls the function with the GIL held, `closure`
    // the 4-tuple ffi_callback made (ffi, cdecl, error, onerror), which keeps
    // its items alive during the call, and `func` live.
    trampoline(|| unsafe {
        let item = |i| ffi::PyTuple_GetItem(closure, i);
        make(item(0), item(1), func, item(2), item(3))
    })
}

/// The callback cdata of `ffi.callback(cdecl, func, error, onerror)`.
///
/// # Safety
/// GIL held; `slf` an ffi object; the other objects live (not NULL: the
/// optional arguments are None when absent).
unsafe fn make(
    slf: *mut ffi::PyObject,
    cdecl: *mut ffi::PyObject,
    func: *mut ffi::PyObject,
    error: *mut ffi::PyObject,
    onerror: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the GIL is held and the objects are live, not NULL (contract); `slf` is
    // an ffi object, so `owner_cx` finds our module, library and data model;
    // `index` is an extern of that library's table; the slot box is owned by
    // the capsule once it exists (released here otherwise).
    unsafe {
        let (m, ls, st, cx) = crate::objects::ffi::def_extern::owner_cx(slf)?;
        let tid = crate::objects::ffi::args::type_arg(cx, cdecl, false)?;
        let t = (*cx).reg.info(tid);
        let TKind::Func { table_fn, .. } = t.kind else {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("expected a function ctype, got '{}'", t.name),
            ));
        };
        let py = crate::py::gil::Python::assume_gil_acquired();
        crate::objects::ffi::def_extern::check_callables(
            crate::py::gil::Borrowed::from_ptr_non_null(py, func),
            crate::py::gil::Borrowed::from_ptr_non_null(py, onerror),
        )?;
        let Some(inst) = crate::objects::state::inst_of_module(m) else {
            return Err(raise(
                ffi::PyExc_RuntimeError,
                "cembed: the module was cleared",
            ));
        };
        let Some(index) = free_slot(py, ls, inst, table_fn, &t.name)? else {
            unreachable!("free_slot raises when there is none")
        };
        let es = &ls.externs[index];
        if let Err(e) = crate::objects::ffi::def_extern::attach(m, st, ls, es, func, error, onerror)
        {
            es.slot_owner.store(0, Ordering::Release);
            return Err(e);
        }
        let slot = Box::into_raw(Box::new(SlotRef {
            module: py::new_ref(m),
            index,
        }));
        let capsule = ffi::PyCapsule_New(slot as *mut c_void, CAPSULE_NAME.as_ptr(), Some(release));
        if capsule.is_null() {
            // The capsule does not own the slot: give it back here.
            release_slot(*Box::from_raw(slot));
            return Err(PyErrSet);
        }
        let fn_ = (**(*ls.lib).externs.add(index)).fn_;
        // The cdata owns the capsule: when it dies, the slot is released.
        let o = new_cdata(cx, tid, fn_ as *mut u8, Own::Keep(capsule))?;
        Ok(o.into_ptr())
    }
}

/// A free slot of the pool of function type `table_fn`, or the error that
/// says why there is none.
fn free_slot(
    _py: crate::py::gil::Python<'_>,
    ls: &LibState,
    inst: &crate::desc::libstate::Instance,
    table_fn: Option<u32>,
    name: &str,
) -> PyResult<Option<usize>> {
    // SAFETY: the GIL is held (`_py`); `ls.lib` is the library's
    // static table, whose `externs` has one descriptor per ExternState.
    unsafe {
        let mut pool = 0;
        if let Some(fty) = table_fn {
            for (i, es) in ls.externs.iter().enumerate() {
                let e = &**(*ls.lib).externs.add(i);
                if e.type_ as i64 != fty as i64 || !is_pool_slot(&es.name) {
                    continue;
                }
                pool += 1;
                // Claimed for this interpreter: a slot is one C function of
                // the process, so each is in use by one interpreter at most
                // (the call path sends its calls there, entry/call.rs).
                if es
                    .slot_owner
                    .compare_exchange(0, inst.index + 1, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    return Ok(Some(i));
                }
            }
        }
        if pool == 0 {
            return Err(raise(
                ffi::PyExc_NotImplementedError,
                &format!(
                    "ffi.callback(): cembed makes callbacks only for the function-pointer types \
                     named in the declarations (without libffi, each has a pool of C functions \
                     compiled into the library): declare '{name}' in cdef(), e.g. as a typedef \
                     or a parameter type"
                ),
            ));
        }
        Err(raise(
            ffi::PyExc_MemoryError,
            &format!(
                "ffi.callback(): all {pool} callbacks of type '{name}' are in use (the pool \
                 compiled into the library for this type); a callback is released when the \
                 last reference to the cdata ffi.callback() returned goes away"
            ),
        ))
    }
}

unsafe extern "C" fn release(capsule: *mut ffi::PyObject) {
    // SAFETY: CPython calls a capsule's destructor once, with the GIL
    // held; the capsule's pointer is the SlotRef box `make` gave it.
    crate::py::guard::c_entry("release", (), || unsafe {
        let p = ffi::PyCapsule_GetPointer(capsule, CAPSULE_NAME.as_ptr());
        if p.is_null() {
            ffi::PyErr_Clear();
            return;
        }
        release_slot(*Box::from_raw(p as *mut SlotRef));
    })
}

/// Detaches the slot's function (the slot is free again) and drops the
/// module reference. Runs during deallocation: keeps any exception that was
/// being raised.
///
/// # Safety
/// GIL held; `slot` came from `make`.
#[allow(deprecated)] // PyErr_Fetch/Restore: present on every version 3.9-3.13
unsafe fn release_slot(slot: SlotRef) {
    // SAFETY: the GIL is held (contract); the pending exception is taken
    // out and put back around the detach; `slot.module` is the one strong
    // reference the slot held, released once.
    unsafe {
        let (mut t, mut v, mut tb) = (null_mut(), null_mut(), null_mut());
        ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
        crate::objects::ffi::def_extern::release_slot(slot.module, slot.index);
        if !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
        }
        ffi::PyErr_Restore(t, v, tb);
        ffi::Py_DECREF(slot.module);
    }
}
