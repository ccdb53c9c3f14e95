//! `ffi.new_allocator(alloc=None, free=None, should_clear_after_alloc=True)`:
//! an `ffi.new()` whose memory comes from elsewhere. The size and
//! initialisation rules are `ffi.new`'s (`toolbox::new_value_in`); only
//! where the bytes come from differs ([`Placement`]).

use crate::cdata::object::Own;
use crate::cdata::types::TKind;
use crate::cdata::Cx;
use crate::py::cell::StaticMethodDef;
use crate::py::guard::trampoline;
use crate::py::{self, raise, type_name, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ptr::null_mut;

/// Where `ffi.new`-style memory comes from.
pub(crate) enum Placement {
    /// `ffi.new`: zeroed memory owned by the cdata.
    Owned,
    /// `new_allocator()` with no `alloc`, `should_clear_after_alloc=False`:
    /// memory left as the allocator gave it (a bytes object's buffer, which
    /// the cdata keeps alive), as CFFI's plain `malloc()`.
    Uninit,
    /// `new_allocator(alloc, free)`: `alloc(size)` returns a cdata pointer
    /// (kept alive by the result); `free(that cdata)` runs when the result
    /// dies or is released (None: nothing runs).
    Custom {
        alloc: *mut ffi::PyObject,
        free: *mut ffi::PyObject,
        clear: bool,
    },
}

impl Placement {
    /// The data pointer and ownership of a new cdata of `size` bytes.
    ///
    /// # Safety
    /// GIL held; the objects of `Custom` alive.
    pub(crate) unsafe fn make(
        &self,
        cx: *mut Cx,
        size: usize,
        align: usize,
    ) -> PyResult<(*mut u8, Own)> {
        match self {
            Placement::Owned => Ok((null_mut(), Own::alloc(size, align)?)),
            Placement::Uninit => {
                let align = align.clamp(1, 64).next_power_of_two();
                let b = Owned::check(ffi::PyBytes_FromStringAndSize(
                    std::ptr::null(),
                    (size + align) as ffi::Py_ssize_t,
                ))?;
                let p = ffi::PyBytes_AsString(b.ptr()) as *mut u8;
                let data = p.add(p.align_offset(align));
                Ok((data, Own::Keep(b.into_ptr())))
            }
            Placement::Custom { alloc, free, clear } => {
                let n = Owned::check(ffi::PyLong_FromSize_t(size))?;
                let raw = Owned::check(ffi::PyObject_CallOneArg(*alloc, n.ptr()))?;
                let Some(cd) = crate::cdata::conv::as_cdata(cx, raw.ptr()) else {
                    return Err(raise(
                        ffi::PyExc_TypeError,
                        &format!(
                            "alloc() must return a cdata object (got {})",
                            type_name(raw.ptr())
                        ),
                    ));
                };
                let t = (*cx).reg.info(cd.tid);
                if !matches!(t.kind, TKind::Pointer { .. } | TKind::Array { .. }) {
                    return Err(raise(
                        ffi::PyExc_TypeError,
                        &format!("alloc() must return a cdata pointer, not '{}'", t.name),
                    ));
                }
                let data = cd.data;
                if data.is_null() {
                    return Err(raise(ffi::PyExc_MemoryError, "alloc() returned NULL"));
                }
                if *clear {
                    std::ptr::write_bytes(data, 0, size);
                }
                let own = if *free == ffi::Py_None() {
                    Own::Keep(raw.into_ptr())
                } else {
                    Own::Gc {
                        orig: raw.into_ptr(),
                        destructor: py::new_ref(*free),
                    }
                };
                Ok((data, own))
            }
        }
    }
}

/// `ffi.new_allocator(...)` (METH_VARARGS | METH_KEYWORDS).
pub(crate) unsafe extern "C" fn ffi_new_allocator(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(|| {
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
    trampoline(|| {
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
        let tid = crate::objects::ffi::type_arg(cx, cdecl, false)?;
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
