//! `ffi.string` and `ffi.unpack`: C data read back as bytes, str or lists.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::conv::{cdata_of_module, read, Read};
use crate::cdata::object::CDataObj;
use crate::cdata::types::TKind;
use crate::cdata::Cx;
use crate::desc::ctypes::Prim;
use crate::objects::ffi::args::{cdata_arg, cx_of, info, CallArgs};
use crate::py::gil::Python;
use crate::py::guard::trampoline;
use crate::py::{cstring_lossy, raise, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;

/// A RuntimeError if `cd` points nowhere (NULL, or memory given back).
pub(crate) fn null_check(_py: Python<'_>, cd: &CDataObj, what: &str) -> PyResult<()> {
    // SAFETY: the token proves the GIL is held; `cd` is a live cdata (a
    // reference to it), so its object pointer is valid for repr.
    unsafe {
        if cd.data.get().is_null() {
            return Err(raise(
                ffi::PyExc_RuntimeError,
                &format!(
                    "cannot use {what}() on {}",
                    crate::py::repr_text(cd as *const CDataObj as *mut ffi::PyObject)
                ),
            ));
        }
        Ok(())
    }
}

/// `ffi.string(cdata, maxlen=-1)`, as CPython calls it (`METH_FASTCALL |
/// METH_KEYWORDS`).
///
/// The common call, `ffi.string(p)` on a non-NULL `char *` (what a `const
/// char *` argument is) of this module, is answered first: the bytes up to
/// the terminator, the same result as the general path ([`string_general`],
/// kept out of line). That check finds the module's context through the
/// cdata (one load) instead of through the module's state, which the
/// general path does ([`cx_of`]); every other call, and a module that was
/// cleared, takes the general path and its errors.
///
/// # Safety
/// Called by CPython with the GIL held and the arguments of a
/// `METH_FASTCALL | METH_KEYWORDS` method of the FFI type (or a subclass).
pub(crate) unsafe extern "C" fn ffi_string_entry(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython's METH_FASTCALL | METH_KEYWORDS convention (contract):
    // `slf` is live, `args` holds `nargs` live positionals; the FFI type and
    // its subclasses are heap types, whose `ht_module` is the module (NULL for
    // a Python subclass, which the fast path then skips); `cd` is a live
    // cdata of that module (`cdata_of_module`) of a `char *` type (or
    // signed/unsigned char), not NULL: CFFI reads such a pointer up to its
    // terminator, as `strlen` does. Nothing here can panic (the type lookups
    // are `get`, not indexing), so it needs no panic guard; the general path
    // has its own.
    unsafe {
        if nargs == 1 && kwnames.is_null() {
            let tp = ffi::Py_TYPE(slf) as *mut ffi::PyHeapTypeObject;
            if let Some((cx, cd)) = cdata_of_module((*tp).ht_module, *args) {
                let types = &(*cx).reg.types;
                // Read once: `data` is a cell, which the compiler would load
                // again after `strlen`.
                let data = cd.data.get();
                if let (false, Some(TKind::Pointer { item })) =
                    (data.is_null(), types.get(cd.tid as usize).map(|t| &t.kind))
                {
                    if let Some(TKind::Prim(Prim::Char | Prim::SInt(1) | Prim::UInt(1))) =
                        types.get(*item as usize).map(|t| &t.kind)
                    {
                        let n = libc::strlen(data as *const libc::c_char);
                        return ffi::PyBytes_FromStringAndSize(data as *const _, n as isize);
                    }
                }
            }
        }
        string_slow(slf, args, nargs, kwnames)
    }
}

/// [`ffi_string_entry`]'s general path, out of line (its frame and panic
/// guard are not paid by the common call).
///
/// # Safety
/// As [`ffi_string_entry`].
#[inline(never)]
unsafe fn string_slow(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: the arguments CPython passed to the method (contract), used
    // only during this call; `cx_of` gets the live `slf`.
    unsafe { trampoline(|| string_general(cx_of(slf)?, CallArgs::fast(args, nargs, kwnames))) }
}

/// `ffi.string` for every argument.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
#[inline(never)]
unsafe fn string_general(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `cd` is the live cdata `a[0]` and its type's kind says what
    // `cd.data` holds: a pointer or array checked non-NULL above and read only
    // up to `limit` (the array's length, the user's maxlen, or the terminator
    // as CFFI reads it), or a one-byte/wchar/enum value read whole; the token
    // made here is for the GIL this call holds.
    unsafe {
        let a = args.parse(
            crate::py::gil::Python::assume_gil_acquired(),
            "string()",
            &["cdata", "maxlen"],
            1,
        )?;
        let cd = cdata_arg(cx, a[0], "string")?;
        let maxlen = if a[1].is_null() {
            -1
        } else {
            let v = ffi::PyLong_AsSsize_t(a[1]);
            if v == -1 && !ffi::PyErr_Occurred().is_null() {
                return Err(PyErrSet);
            }
            v
        };
        let t = info(cx, cd.tid);
        let (item, limit) = match t.kind {
            TKind::Pointer { item } => {
                null_check(Python::assume_gil_acquired(), cd, "string")?;
                (item, if maxlen < 0 { isize::MAX } else { maxlen })
            }
            TKind::Array { item, .. } => {
                // `ffi.cast("char[5]", 0)` (CFFI checks this too).
                null_check(Python::assume_gil_acquired(), cd, "string")?;
                let n = cd.length.get().max(0);
                (item, if maxlen < 0 || maxlen > n { n } else { maxlen })
            }
            // Any one-byte character or integer is one byte (CFFI).
            TKind::Prim(Prim::Char | Prim::SInt(1) | Prim::UInt(1)) => {
                return Ok(ffi::PyBytes_FromStringAndSize(cd.data.get() as *const _, 1))
            }
            TKind::Prim(Prim::WChar16 | Prim::WChar32) => {
                return Ok(read(cx, cd.tid, cd.data.get(), Read::Copy))
            }
            TKind::Enum { ref values, prim } => {
                let v = Owned::check(read(cx, cd.tid, cd.data.get(), Read::Copy))?;
                let n = ffi::PyLong_AsLongLong(v.ptr()) as i128;
                let _ = prim;
                if let Some((name, _)) = values.iter().find(|(_, x)| *x == n) {
                    let s = cstring_lossy(name);
                    return Ok(ffi::PyUnicode_FromString(s.as_ptr()));
                }
                return Ok(ffi::PyObject_Str(v.ptr()));
            }
            _ => {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("string(): unexpected cdata '{}' argument", t.name),
                ))
            }
        };
        let it = info(cx, item);
        match it.kind {
            TKind::Prim(Prim::Char | Prim::SInt(1) | Prim::UInt(1)) | TKind::Void
                if !matches!(it.kind, TKind::Void) =>
            {
                // libc's vectorised scan (reads nothing past the terminator or
                // the limit), not a byte loop: ~200 instructions less for a
                // 43-byte string.
                let n = libc::strnlen(cd.data.get() as *const libc::c_char, limit as usize);
                Ok(ffi::PyBytes_FromStringAndSize(
                    cd.data.get() as *const _,
                    n as isize,
                ))
            }
            TKind::Prim(p @ (Prim::WChar16 | Prim::WChar32)) => {
                let w = p.size() as isize;
                let mut units = Vec::new();
                let mut n = 0isize;
                while n < limit {
                    let u = if w == 2 {
                        (cd.data.get().offset(n * 2) as *const u16).read_unaligned() as u32
                    } else {
                        (cd.data.get().offset(n * 4) as *const u32).read_unaligned()
                    };
                    if u == 0 {
                        break;
                    }
                    units.push(u);
                    n += 1;
                }
                wide_to_str(Python::assume_gil_acquired(), &units, p)
            }
            _ => Err(raise(
                ffi::PyExc_TypeError,
                &format!("string(): unexpected cdata '{}' argument", t.name),
            )),
        }
    }
}

/// A str from wchar_t units (UTF-16 or UTF-32 as `p` says).
fn wide_to_str(_py: Python<'_>, units: &[u32], p: Prim) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the token proves the GIL is held; `s` is valid UTF-8 of `s.len()`
    // bytes, alive during the call.
    unsafe {
        let s: String = if p == Prim::WChar16 {
            let u16s: Vec<u16> = units.iter().map(|&u| u as u16).collect();
            String::from_utf16_lossy(&u16s)
        } else {
            let mut s = String::new();
            for &u in units {
                match char::from_u32(u) {
                    Some(c) => s.push(c),
                    None => {
                        return Err(raise(
                            ffi::PyExc_ValueError,
                            &format!("wchar_t out of range for conversion to unicode: 0x{u:x}"),
                        ))
                    }
                }
            }
            s
        };
        Ok(ffi::PyUnicode_FromStringAndSize(
            s.as_ptr() as *const _,
            s.len() as _,
        ))
    }
}

/// `ffi.unpack(cdata, length)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_unpack(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `cd` is the live cdata `a[0]`, a pointer or array checked
    // non-NULL above; its `n` items are read as CFFI reads them (the length is
    // the caller's, as in CFFI); the token made here is for the GIL this call
    // holds.
    unsafe {
        let a = args.parse(
            crate::py::gil::Python::assume_gil_acquired(),
            "unpack()",
            &["cdata", "length"],
            2,
        )?;
        let cd = cdata_arg(cx, a[0], "unpack")?;
        let n = ffi::PyLong_AsSsize_t(a[1]);
        if n == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        if n < 0 {
            return Err(raise(ffi::PyExc_ValueError, "'length' cannot be negative"));
        }
        let t = info(cx, cd.tid);
        let item = match t.kind {
            TKind::Pointer { item } | TKind::Array { item, .. } => item,
            _ => {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("expected a pointer or array, got '{}'", t.name),
                ))
            }
        };
        null_check(Python::assume_gil_acquired(), cd, "unpack")?;
        let it = info(cx, item);
        match it.kind {
            TKind::Prim(Prim::Char) => {
                return Ok(ffi::PyBytes_FromStringAndSize(cd.data.get() as *const _, n))
            }
            TKind::Prim(p @ (Prim::WChar16 | Prim::WChar32)) => {
                let w = p.size();
                // Reserved before anything is read: a length too big for memory
                // is a MemoryError (collect() would abort the process).
                let mut units: Vec<u32> = Vec::new();
                if units.try_reserve_exact(n as usize).is_err() {
                    ffi::PyErr_NoMemory();
                    return Err(PyErrSet);
                }
                units.extend((0..n as usize).map(|i| {
                    if w == 2 {
                        (cd.data.get().add(i * 2) as *const u16).read_unaligned() as u32
                    } else {
                        (cd.data.get().add(i * 4) as *const u32).read_unaligned()
                    }
                }));
                return wide_to_str(Python::assume_gil_acquired(), &units, p);
            }
            TKind::Void => {
                return Err(raise(
                    ffi::PyExc_ValueError,
                    &format!("'{}' points to items of unknown size", t.name),
                ))
            }
            _ => {}
        }
        if it.size == 0 {
            return Err(raise(
                ffi::PyExc_ValueError,
                &format!("'{}' points to items of unknown size", t.name),
            ));
        }
        let list = Owned::check(ffi::PyList_New(n))?;
        for i in 0..n {
            let o = Owned::check(read(
                cx,
                item,
                cd.data.get().add(i as usize * it.size),
                Read::View(a[0]),
            ))?;
            ffi::PyList_SetItem(list.ptr(), i, o.into_ptr());
        }
        Ok(list.into_ptr())
    }
}
