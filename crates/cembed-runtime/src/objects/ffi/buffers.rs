//! `ffi.buffer` (the buffer type's constructor), `from_buffer` and `memmove`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::buffer::new_buffer;
use crate::cdata::conv::as_cdata;
use crate::cdata::object::{new_cdata, set_length, Own};
use crate::cdata::types::{TKind, Tid};
use crate::cdata::Cx;
use crate::objects::ffi::args::{cdata_arg, info, type_arg, CallArgs};
use crate::objects::ffi::strings::null_check;
use crate::py::gil::Python;
use crate::py::guard::trampoline;
use crate::py::{raise, PyErrSet, PyResult};
use pyo3_ffi as ffi;

/// The buffer type's `tp_new`: `ffi.buffer(cdata, size=-1)`.
///
/// # Safety
/// Called by CPython as `tp_new` (GIL held).
pub(crate) unsafe extern "C" fn ffi_buffer_new(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this as the buffer type's tp_new with the GIL held,
    // `slf` the type and `args`/`kwargs` a tuple and NULL or a dict (what
    // CallArgs::tuple needs); the Cx comes from the type's module and was
    // checked non-NULL; every pointer read (`cd.data`, items) comes from a live
    // cdata `a[0]`, which the new buffer keeps alive.
    unsafe {
        trampoline(|| {
            // `slf` is the buffer type (tp_new); its module leads to the Cx.
            let m = ffi::PyType_GetModule(slf as *mut ffi::PyTypeObject);
            if m.is_null() {
                return Err(PyErrSet);
            }
            let cx = crate::objects::state::cx_of_module(m);
            if cx.is_null() {
                return Err(raise(
                    ffi::PyExc_RuntimeError,
                    "cembed: the module was cleared",
                ));
            }
            let a = CallArgs::tuple(args, kwargs).parse(
                crate::py::gil::Python::assume_gil_acquired(),
                "buffer()",
                &["cdata", "size"],
                1,
            )?;
            let cd = cdata_arg(cx, a[0], "buffer")?;
            let t = info(cx, cd.tid);
            let mut size = if a[1].is_null() {
                -1
            } else {
                let v = ffi::PyLong_AsSsize_t(a[1]);
                if v == -1 && !ffi::PyErr_Occurred().is_null() {
                    return Err(PyErrSet);
                }
                v
            };
            if size < 0 {
                size = match t.kind {
                    TKind::Pointer { .. } if crate::cdata::access::var_byte_size(cd).is_some() => {
                        crate::cdata::access::var_byte_size(cd).unwrap_or(0) as isize
                    }
                    TKind::Pointer { item } => info(cx, item).size as isize,
                    TKind::Array { item, .. } => {
                        cd.length.get().max(0) * info(cx, item).size as isize
                    }
                    _ => {
                        return Err(raise(
                            ffi::PyExc_TypeError,
                            &format!("expected a pointer or array cdata, got cdata '{}'", t.name),
                        ))
                    }
                };
                if size <= 0 && !matches!(t.kind, TKind::Array { .. }) {
                    return Err(raise(
                        ffi::PyExc_TypeError,
                        &format!("don't know the size pointed to by '{}'", t.name),
                    ));
                }
            } else if !t.is_ptr_like() {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("expected a pointer or array cdata, got cdata '{}'", t.name),
                ));
            }
            // A buffer over address 0 crashes at its first use (CFFI makes
            // one); refused like string() and unpack() refuse NULL.
            if size > 0 {
                null_check(Python::assume_gil_acquired(), cd, "buffer")?;
            }
            new_buffer(cx, cd.data.get(), size as usize, a[0])
        })
    }
}

/// `ffi.from_buffer([cdecl,] python_buffer, require_writable=False)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_from_buffer(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `a` are the call's arguments, alive during it.
    unsafe {
        let a = args.parse(
            crate::py::gil::Python::assume_gil_acquired(),
            "from_buffer()",
            &["cdecl", "python_buffer", "require_writable"],
            1,
        )?;
        // from_buffer(obj) or from_buffer(cdecl, obj), as CFFI: with two
        // positional arguments the first is the type (`from_buffer(obj, True)`
        // is a TypeError there too).
        let (tid, obj) = if a[1].is_null() {
            let t = (*cx)
                .reg
                .parse("char[]")
                .map_err(|e| Cx::raise_error(cx, &e))?;
            (t, a[0])
        } else {
            (type_arg(cx, a[0], false)?, a[1])
        };
        from_buffer(cx, tid, obj, a[2])
    }
}

/// A cdata of type `tid` over `obj`'s buffer, which it holds.
///
/// # Safety
/// GIL held; `cx` live, `tid` one of its types, `obj` live, `writable` NULL
/// or live.
pub(crate) unsafe fn from_buffer(
    cx: *mut Cx,
    tid: Tid,
    obj: *mut ffi::PyObject,
    writable: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held, `cx` live and `tid` one of its types (contract); `obj`
    // is alive for the call; the view's memory is owned by the new cdata
    // (Own::Buffer) and released on every error path before it is made;
    // `length` fits in the view (checked against `nbytes`).
    unsafe {
        let t = info(cx, tid);
        let (item, len) = match t.kind {
            TKind::Array { item, len } => (item, len),
            TKind::Pointer { item } => (item, None),
            _ => {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("expected a pointer or array ctype, got '{}'", t.name),
                ))
            }
        };
        let want_w = !writable.is_null() && ffi::PyObject_IsTrue(writable) == 1;
        if ffi::PyUnicode_Check(obj) != 0 {
            return Err(raise(
                ffi::PyExc_TypeError,
                "from_buffer() cannot return the address of a unicode object",
            ));
        }
        let mut view: Box<ffi::Py_buffer> = Box::new(std::mem::zeroed());
        let flags = if want_w {
            ffi::PyBUF_WRITABLE
        } else {
            ffi::PyBUF_SIMPLE
        };
        if ffi::PyObject_GetBuffer(obj, &mut *view, flags) < 0 {
            return Err(PyErrSet);
        }
        let isz = info(cx, item).size.max(1);
        let nbytes = view.len as usize;
        let data = view.buf as *mut u8;
        let length = match len {
            Some(n) => {
                // The type's size was checked against isize::MAX when it was
                // made; saturating anyway: a wrapped product would pass.
                let need = n.saturating_mul(isz);
                if need > nbytes {
                    ffi::PyBuffer_Release(&mut *view);
                    return Err(raise(
                        ffi::PyExc_ValueError,
                        &format!(
                            "buffer is too small ({nbytes} bytes) for '{}' ({need} bytes)",
                            t.name,
                        ),
                    ));
                }
                n as isize
            }
            None => (nbytes / isz) as isize,
        };
        let o = new_cdata(cx, tid, data, Own::Buffer(view))?;
        set_length(o.ptr(), length);
        Ok(o.into_ptr())
    }
}

/// Address (and writability) of a memmove operand.
///
/// # Safety
/// GIL held; `cx` live; `obj` live. A view taken is pushed to `views`, for
/// the caller to release.
unsafe fn mem_operand(
    cx: *mut Cx,
    obj: *mut ffi::PyObject,
    writable: bool,
    views: &mut Vec<ffi::Py_buffer>,
) -> PyResult<*mut u8> {
    // SAFETY: GIL held, `cx` live (contract); `obj` is alive for the call; a
    // view filled by PyObject_GetBuffer is pushed to `views` so the caller
    // releases it.
    unsafe {
        if let Some(cd) = as_cdata(cx, obj) {
            if !info(cx, cd.tid).is_ptr_like() {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!(
                        "expected a pointer or array cdata, got cdata '{}'",
                        info(cx, cd.tid).name
                    ),
                ));
            }
            return Ok(cd.data.get());
        }
        let mut v: ffi::Py_buffer = std::mem::zeroed();
        let flags = if writable {
            ffi::PyBUF_WRITABLE
        } else {
            ffi::PyBUF_SIMPLE
        };
        if ffi::PyObject_GetBuffer(obj, &mut v, flags) < 0 {
            return Err(PyErrSet);
        }
        let p = v.buf as *mut u8;
        views.push(v);
        Ok(p)
    }
}

/// `ffi.memmove(dest, src, n)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_memmove(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` live (contract); both operands are a cdata's
    // memory or a buffer view held until after the copy; `n` bytes is the
    // user's length, as in CFFI (the caller of ffi.memmove answers for it);
    // NULL is refused; `ptr::copy` allows overlap.
    unsafe {
        let a = args.parse(
            crate::py::gil::Python::assume_gil_acquired(),
            "function",
            &["dest", "src", "n"],
            3,
        )?;
        let n = ffi::PyLong_AsSsize_t(a[2]);
        if n == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        if n < 0 {
            return Err(raise(ffi::PyExc_ValueError, "negative size"));
        }
        let mut views = Vec::new();
        let r = (|| {
            let d = mem_operand(cx, a[0], true, &mut views)?;
            let s = mem_operand(cx, a[1], false, &mut views)?;
            // A NULL cdata (or one whose memory ffi.release() gave back) has
            // no memory at all: refused rather than a crash.
            if n > 0 && (d.is_null() || s.is_null()) {
                return Err(raise(
                    ffi::PyExc_ValueError,
                    "memmove() with a NULL (or released) pointer",
                ));
            }
            if n > 0 {
                std::ptr::copy(s, d, n as usize);
            }
            Ok(crate::py::new_ref(ffi::Py_None()))
        })();
        for mut v in views {
            ffi::PyBuffer_Release(&mut v);
        }
        r
    }
}
