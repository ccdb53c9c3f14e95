//! The CType and CField types: `ffi.typeof()` results and their attributes.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::object::{CTypeObj, FieldObj, TypeKindObj};
use crate::cdata::types::{TInfo, TKind, Tid};
use crate::cdata::Cx;
use crate::py::cell::SyncCell;
use crate::py::gil::Python;
use crate::py::guard::trampoline;
use crate::py::{cstring_lossy, raise, Owned, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_void, CStr};
use std::ptr::null_mut;

/// A new CType object for `tid` (use `Cx::ctype`, which caches).
///
/// # Safety
/// GIL held; `cx` alive.
pub(crate) unsafe fn new_ctype_obj(cx: *mut Cx, tid: Tid) -> PyResult<Owned> {
    // SAFETY: the GIL is held and `cx` alive (caller); the CType type is a
    // heap type whose instances are `CTypeObj`.
    let o = unsafe {
        Owned::check(ffi::PyType_GenericAlloc(
            Cx::heap_type(cx, TypeKindObj::CType)?,
            0,
        ))?
    };
    let p = o.ptr() as *mut CTypeObj;
    // SAFETY: `o` was just allocated as a `CTypeObj`, ours alone.
    unsafe {
        (*p).cx = cx;
        (*p).tid = tid;
    }
    Ok(o)
}

/// The CType object `slf` and its type's description.
///
/// # Safety
/// GIL held; `slf` a live CType object (whose context outlives it).
unsafe fn ct<'a>(slf: *mut ffi::PyObject) -> (&'a CTypeObj, &'static TInfo) {
    // SAFETY: `slf` is a live `CTypeObj` (caller); its `cx` lives as long as
    // its module, which the CType's heap type keeps alive; `tid` is a type
    // of that registry.
    unsafe {
        let c = &*(slf as *const CTypeObj);
        (c, (*c.cx).reg.info(c.tid))
    }
}

pub(crate) unsafe extern "C" fn ctype_repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls tp_repr with the GIL held on a live CType.
    trampoline(|| unsafe {
        let (_, t) = ct(slf);
        let s = cstring_lossy(&format!("<ctype '{}'>", t.name));
        Ok(ffi::PyUnicode_FromString(s.as_ptr()))
    })
}

#[derive(Copy, Clone)]
#[repr(usize)]
pub(crate) enum CtAttr {
    Kind,
    Cname,
    Item,
    Length,
    Fields,
    Args,
    Result,
    Ellipsis,
    Abi,
    Elements,
    Relements,
}

unsafe extern "C" fn ctype_get(
    slf: *mut ffi::PyObject,
    closure: *mut c_void,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a getter with the GIL held on a live CType, with
    // the closure of its `getter` entry: a `CtAttr` discriminant. Objects
    // made here are checked (`Owned::check`) before use; a new CField is a
    // `FieldObj` of the same context.
    trampoline(|| unsafe {
        let py = Python::assume_gil_acquired();
        let (c, t) = ct(slf);
        let cx = c.cx;
        let which: CtAttr = std::mem::transmute::<usize, CtAttr>(closure as usize);
        // CFFI's `nosuchattr`: the message is the attribute name alone.
        let no_attr = |what: &str| -> PyResult<*mut ffi::PyObject> {
            Err(raise(ffi::PyExc_AttributeError, what))
        };
        match which {
            CtAttr::Kind => Ok(str_obj(py, t.kind_name())),
            CtAttr::Cname => Ok(str_obj(py, &t.name)),
            CtAttr::Item => match t.kind {
                TKind::Pointer { item } | TKind::Array { item, .. } => super::Cx::ctype(cx, item),
                _ => no_attr("item"),
            },
            CtAttr::Length => match t.kind {
                TKind::Array { len: Some(n), .. } => Ok(ffi::PyLong_FromSize_t(n)),
                TKind::Array { len: None, .. } => Ok(crate::py::new_ref(ffi::Py_None())),
                _ => no_attr("length"),
            },
            CtAttr::Fields => match &t.kind {
                TKind::Record { fields: None, .. } => Ok(crate::py::new_ref(ffi::Py_None())),
                TKind::Record {
                    fields: Some(fs), ..
                } => {
                    let list = Owned::check(ffi::PyList_New(0))?;
                    for (i, f) in fs.iter().enumerate() {
                        let fo = Owned::check(ffi::PyType_GenericAlloc(
                            Cx::heap_type(cx, TypeKindObj::Field)?,
                            0,
                        ))?;
                        let p = fo.ptr() as *mut FieldObj;
                        (*p).cx = cx;
                        (*p).rec = c.tid;
                        (*p).index = i;
                        let name = Owned::check(str_obj(py, &f.name))?;
                        let tup = Owned::check(ffi::PyTuple_Pack(2, name.ptr(), fo.ptr()))?;
                        ffi::PyList_Append(list.ptr(), tup.ptr());
                    }
                    Ok(list.into_ptr())
                }
                _ => no_attr("fields"),
            },
            CtAttr::Args => match &t.kind {
                TKind::Func { params, .. } => {
                    let tup = Owned::check(ffi::PyTuple_New(params.len() as _))?;
                    for (i, &p) in params.iter().enumerate() {
                        ffi::PyTuple_SetItem(tup.ptr(), i as _, super::Cx::ctype(cx, p)?);
                    }
                    Ok(tup.into_ptr())
                }
                _ => no_attr("args"),
            },
            CtAttr::Result => match &t.kind {
                TKind::Func { result, .. } => super::Cx::ctype(cx, *result),
                _ => no_attr("result"),
            },
            CtAttr::Ellipsis => match &t.kind {
                TKind::Func { variadic, .. } => Ok(ffi::PyBool_FromLong(*variadic as _)),
                _ => no_attr("ellipsis"),
            },
            CtAttr::Abi => match &t.kind {
                TKind::Func { .. } => Ok(ffi::PyLong_FromLong(2)),
                _ => no_attr("abi"),
            },
            CtAttr::Elements | CtAttr::Relements => match &t.kind {
                TKind::Enum { values, .. } => {
                    let d = Owned::check(ffi::PyDict_New())?;
                    for (name, v) in values {
                        let k = Owned::check(str_obj(py, name))?;
                        let n = Owned::check(ffi::PyLong_FromLongLong(*v as i64))?;
                        let (a, b) = if matches!(which, CtAttr::Elements) {
                            (&n, &k)
                        } else {
                            (&k, &n)
                        };
                        // elements: first name wins for a repeated value.
                        if matches!(which, CtAttr::Elements)
                            && !ffi::PyDict_GetItem(d.ptr(), a.ptr()).is_null()
                        {
                            continue;
                        }
                        ffi::PyDict_SetItem(d.ptr(), a.ptr(), b.ptr());
                    }
                    Ok(d.into_ptr())
                }
                _ => no_attr(if matches!(which, CtAttr::Elements) {
                    "elements"
                } else {
                    "relements"
                }),
            },
        }
    })
}

/// A new str from `s` (NULL with an exception set on failure).
fn str_obj(_py: Python<'_>, s: &str) -> *mut ffi::PyObject {
    // SAFETY: the token proves the GIL is held; `s` is valid UTF-8 for
    // `s.len()` bytes.
    unsafe { ffi::PyUnicode_FromStringAndSize(s.as_ptr() as *const _, s.len() as _) }
}

pub(crate) const fn getter(name: &'static CStr, which: CtAttr) -> ffi::PyGetSetDef {
    ffi::PyGetSetDef {
        name: name.as_ptr(),
        get: Some(ctype_get),
        set: None,
        doc: std::ptr::null(),
        closure: which as usize as *mut c_void,
    }
}

const GETSET_END: ffi::PyGetSetDef = ffi::PyGetSetDef {
    name: std::ptr::null(),
    get: None,
    set: None,
    doc: std::ptr::null(),
    closure: null_mut(),
};

pub(crate) static CTYPE_GETSET: SyncCell<[ffi::PyGetSetDef; 12]> = SyncCell::new([
    getter(c"kind", CtAttr::Kind),
    getter(c"cname", CtAttr::Cname),
    getter(c"item", CtAttr::Item),
    getter(c"length", CtAttr::Length),
    getter(c"fields", CtAttr::Fields),
    getter(c"args", CtAttr::Args),
    getter(c"result", CtAttr::Result),
    getter(c"ellipsis", CtAttr::Ellipsis),
    getter(c"abi", CtAttr::Abi),
    getter(c"elements", CtAttr::Elements),
    getter(c"relements", CtAttr::Relements),
    GETSET_END,
]);

unsafe extern "C" fn ctype_dir(
    slf: *mut ffi::PyObject,
    _a: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: a METH_NOARGS method: CPython calls it with the GIL held on a
    // live CType; objects made here are checked before use.
    trampoline(|| unsafe {
        let py = Python::assume_gil_acquired();
        let (_, t) = ct(slf);
        let names: &[&str] = match t.kind {
            TKind::Void | TKind::Prim(_) => &["kind", "cname"],
            TKind::Enum { .. } => &["kind", "cname", "elements", "relements"],
            TKind::Pointer { .. } => &["kind", "cname", "item"],
            TKind::Array { .. } => &["kind", "cname", "item", "length"],
            TKind::Record { .. } => &["kind", "cname", "fields"],
            TKind::Func { .. } => &["kind", "cname", "args", "result", "ellipsis", "abi"],
        };
        let list = Owned::check(ffi::PyList_New(0))?;
        for n in names {
            let o = Owned::check(str_obj(py, n))?;
            ffi::PyList_Append(list.ptr(), o.ptr());
        }
        Ok(list.into_ptr())
    })
}

pub(crate) static CTYPE_METHODS: SyncCell<[ffi::PyMethodDef; 2]> = SyncCell::new([
    crate::py::method(c"__dir__", ctype_dir, ffi::METH_NOARGS),
    ffi::PyMethodDef::zeroed(),
]);

// ---- CField ----------------------------------------------------------------------------

#[derive(Copy, Clone)]
#[repr(usize)]
enum FAttr {
    Type,
    Offset,
    Bitshift,
    Bitsize,
    Flags,
}

unsafe extern "C" fn field_get(
    slf: *mut ffi::PyObject,
    closure: *mut c_void,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a getter with the GIL held on a live CField (a
    // `FieldObj` whose `rec` is a record of its context, kept alive by the
    // module its heap type holds, and `index` one of its fields), with the
    // closure of its `fgetter` entry: an `FAttr` discriminant.
    trampoline(|| unsafe {
        let fo = &*(slf as *const FieldObj);
        let rt = (*fo.cx).reg.info(fo.rec);
        let TKind::Record {
            fields: Some(fs), ..
        } = &rt.kind
        else {
            return Err(raise(
                ffi::PyExc_SystemError,
                "cembed: field of a non-record",
            ));
        };
        let f = &fs[fo.index];
        let which: FAttr = std::mem::transmute::<usize, FAttr>(closure as usize);
        Ok(match which {
            FAttr::Type => super::Cx::ctype(fo.cx, f.ty)?,
            FAttr::Offset => ffi::PyLong_FromSize_t(f.offset),
            FAttr::Bitshift => ffi::PyLong_FromLong(f.bitshift as _),
            FAttr::Bitsize => ffi::PyLong_FromLong(f.bitsize as _),
            FAttr::Flags => ffi::PyLong_FromLong(f.flags as _),
        })
    })
}

const fn fgetter(name: &'static CStr, which: FAttr) -> ffi::PyGetSetDef {
    ffi::PyGetSetDef {
        name: name.as_ptr(),
        get: Some(field_get),
        set: None,
        doc: std::ptr::null(),
        closure: which as usize as *mut c_void,
    }
}

pub(crate) static FIELD_GETSET: SyncCell<[ffi::PyGetSetDef; 6]> = SyncCell::new([
    fgetter(c"type", FAttr::Type),
    fgetter(c"offset", FAttr::Offset),
    fgetter(c"bitshift", FAttr::Bitshift),
    fgetter(c"bitsize", FAttr::Bitsize),
    fgetter(c"flags", FAttr::Flags),
    GETSET_END,
]);
