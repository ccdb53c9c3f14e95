//! The buffer type (`ffi.buffer`): a CData's memory as a Python buffer.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::access::index_of;
use crate::cdata::object::{drop_ref, free_instance, BufferObj, TypeKindObj};
use crate::cdata::Cx;
use crate::py::cell::SyncCell;
use crate::py::guard::{guard, trampoline};
use crate::py::{raise, type_name, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_int, c_void};

/// `ffi.buffer(cdata, size)`.
///
/// # Safety
/// GIL held; `cx` alive; `data` valid for `size` bytes while `keep` lives.
pub(crate) unsafe fn new_buffer(
    cx: *mut Cx,
    data: *mut u8,
    size: usize,
    keep: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the GIL is held and `cx` alive (caller); the buffer type is a
    // GC heap type whose instances are `BufferObj`.
    let o = unsafe {
        Owned::check(ffi::PyType_GenericAlloc(
            Cx::heap_type(cx, TypeKindObj::Buffer)?,
            0,
        ))?
    };
    let b = o.ptr() as *mut BufferObj;
    // SAFETY: `o` was just allocated as a `BufferObj` (zeroed, ours alone);
    // `keep` is a live object or NULL and the GIL is held (caller).
    unsafe {
        (*b).data = data;
        (*b).size = size;
        (*b).keep = crate::py::new_ref(keep);
    }
    Ok(o.into_ptr())
}

pub(crate) unsafe extern "C" fn buffer_dealloc(slf: *mut ffi::PyObject) {
    // SAFETY: CPython calls tp_dealloc once, with the GIL held, on a buffer
    // nobody references any more: untracked, its reference dropped, freed.
    crate::py::guard::c_entry("buffer_dealloc", (), || unsafe {
        ffi::PyObject_GC_UnTrack(slf as *mut c_void);
        drop_ref(&mut (*(slf as *mut BufferObj)).keep);
        free_instance(slf);
    })
}

pub(crate) unsafe extern "C" fn buffer_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: CPython calls tp_traverse on a live buffer (a `BufferObj`);
    // `keep` is NULL or a live reference it holds.
    crate::py::guard::c_entry("buffer_traverse", 0, || unsafe {
        let b = slf as *mut BufferObj;
        if !(*b).keep.is_null() {
            let r = visit((*b).keep, arg);
            if r != 0 {
                return r;
            }
        }
        visit(ffi::Py_TYPE(slf) as *mut ffi::PyObject, arg)
    })
}

pub(crate) unsafe extern "C" fn buffer_len(slf: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    // SAFETY: CPython calls sq_length/mp_length on a live buffer object.
    crate::py::guard::raising(-1, || unsafe {
        (*(slf as *mut BufferObj)).size as ffi::Py_ssize_t
    })
}

/// The bytes `a..a + n` of the buffer.
///
/// # Safety
/// GIL held; `a + n <= b.size`.
unsafe fn buffer_bytes(b: &BufferObj, a: usize, n: usize) -> *mut ffi::PyObject {
    // SAFETY: `b.data` is valid for `b.size` bytes while the buffer lives
    // (its `keep`), and `a + n <= b.size` (caller); GIL held (caller).
    unsafe { ffi::PyBytes_FromStringAndSize(b.data.add(a) as *const _, n as _) }
}

pub(crate) unsafe extern "C" fn buffer_getitem(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls mp_subscript with the GIL held on a live buffer
    // object; the indices are clamped to its size (PySlice_AdjustIndices,
    // the range check) before its memory is read.
    trampoline(|| unsafe {
        let b = &*(slf as *mut BufferObj);
        let len = b.size as ffi::Py_ssize_t;
        if ffi::PySlice_Check(key) != 0 {
            let (mut start, mut stop, mut step) = (0, 0, 0);
            if ffi::PySlice_Unpack(key, &mut start, &mut stop, &mut step) < 0 {
                return Err(PyErrSet);
            }
            let n = ffi::PySlice_AdjustIndices(len, &mut start, &mut stop, step);
            if step == 1 {
                return Ok(buffer_bytes(b, start as usize, n as usize));
            }
            if step != 1 {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    "only 1 is supported as the step of a buffer slice",
                ));
            }
            let mut v = Vec::with_capacity(n as usize);
            let mut i = start;
            for _ in 0..n {
                v.push(*b.data.offset(i));
                i += step;
            }
            return Ok(ffi::PyBytes_FromStringAndSize(v.as_ptr() as *const _, n));
        }
        let mut i = index_of(key)?;
        if i < 0 {
            i += len;
        }
        if i < 0 || i >= len {
            return Err(raise(ffi::PyExc_IndexError, "buffer index out of range"));
        }
        Ok(buffer_bytes(b, i as usize, 1))
    })
}

pub(crate) unsafe extern "C" fn buffer_setitem(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: CPython calls mp_ass_subscript with the GIL held on a live
    // buffer object; the indices are clamped to its size and the source
    // length checked against the slice's before its memory is written; the
    // view is released on every path after it was got.
    guard(-1, || unsafe {
        let b = &*(slf as *mut BufferObj);
        let len = b.size as ffi::Py_ssize_t;
        if value.is_null() {
            return Err(raise(ffi::PyExc_TypeError, "cannot delete buffer items"));
        }
        let mut view: ffi::Py_buffer = std::mem::zeroed();
        let (start, n, step) = if ffi::PySlice_Check(key) != 0 {
            let (mut start, mut stop, mut step) = (0, 0, 0);
            if ffi::PySlice_Unpack(key, &mut start, &mut stop, &mut step) < 0 {
                return Err(PyErrSet);
            }
            let n = ffi::PySlice_AdjustIndices(len, &mut start, &mut stop, step);
            (start, n, step)
        } else {
            let mut i = index_of(key)?;
            if i < 0 {
                i += len;
            }
            if i < 0 || i >= len {
                return Err(raise(
                    ffi::PyExc_IndexError,
                    "buffer assignment index out of range",
                ));
            }
            // CFFI's mb_ass_item: exactly one byte.
            if ffi::PyBytes_Check(value) == 0 || ffi::PyBytes_Size(value) != 1 {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("must assign a bytes of length 1, not {}", type_name(value)),
                ));
            }
            *b.data.offset(i) = *(ffi::PyBytes_AsString(value) as *const u8);
            return Ok(0);
        };
        if ffi::PyObject_GetBuffer(value, &mut view, ffi::PyBUF_SIMPLE) < 0 {
            return Err(PyErrSet);
        }
        let got = view.len;
        if got != n {
            ffi::PyBuffer_Release(&mut view);
            return Err(raise(
                ffi::PyExc_ValueError,
                "right operand length must match slice length",
            ));
        }
        let src = view.buf as *const u8;
        let mut i = start;
        for k in 0..n {
            *b.data.offset(i) = *src.offset(k);
            i += step;
        }
        ffi::PyBuffer_Release(&mut view);
        Ok(0)
    })
}

pub(crate) unsafe extern "C" fn buffer_getbuffer(
    slf: *mut ffi::PyObject,
    view: *mut ffi::Py_buffer,
    flags: c_int,
) -> c_int {
    // SAFETY: CPython calls bf_getbuffer with the GIL held on a live buffer
    // object and a view to fill; its memory lives while `slf` does, which
    // the view references.
    crate::py::guard::raising(-1, || unsafe {
        let b = &*(slf as *mut BufferObj);
        ffi::PyBuffer_FillInfo(view, slf, b.data as *mut c_void, b.size as _, 0, flags)
    })
}

unsafe extern "C" fn buffer_tobytes(
    slf: *mut ffi::PyObject,
    _a: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: a METH_NOARGS method: CPython calls it with the GIL held on a
    // live buffer object; `0 + size` bytes are its memory.
    crate::py::guard::raising(std::ptr::null_mut(), || unsafe {
        let b = &*(slf as *mut BufferObj);
        buffer_bytes(b, 0, b.size)
    })
}

pub(crate) static BUFFER_METHODS: SyncCell<[ffi::PyMethodDef; 2]> = SyncCell::new([
    crate::py::method(c"__bytes__", buffer_tobytes, ffi::METH_NOARGS),
    ffi::PyMethodDef::zeroed(),
]);
