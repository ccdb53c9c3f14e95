//! A CData as a value: repr, hash, comparisons and the number protocol.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::conv::{as_cdata, read, Read};
use crate::cdata::object::{cd, cdata_dealloc, new_cdata, tinfo, CDataObj, Own};
use crate::cdata::types::{TInfo, TKind, Tid};
use crate::cdata::Cx;
use crate::desc::ctypes::Prim;
use crate::py::guard::{guard, trampoline};
use crate::py::{cstring_lossy, raise, repr_text, type_name, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::c_int;

pub(crate) unsafe extern "C" fn cdata_repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls tp_repr with the GIL held on a live CData.
    trampoline(|| unsafe {
        let c = cd(slf);
        let t = tinfo(c);
        let body = repr_body(c, t)?;
        let s = cstring_lossy(&format!("<cdata '{}{}", t.name, body));
        Ok(ffi::PyUnicode_FromString(s.as_ptr()))
    })
}

/// Everything after the type name in a cdata repr (from the closing quote).
unsafe fn repr_body(c: &CDataObj, t: &TInfo) -> PyResult<String> {
    // SAFETY: `c` is a live CData (caller) whose module keeps `c.cx` alive;
    // `item` is a type of its registry; the objects read (`Handle`'s, the
    // buffer's, `Keep`'s) are the live references the cdata holds; GIL held
    // (caller). The references from `own()` are not used across Python code
    // (a handle's object is copied out before its repr runs).
    unsafe {
        match c.own() {
            Own::Alloc {
                size, shown: true, ..
            } if !matches!(t.kind, TKind::Prim(_) | TKind::Enum { .. }) => {
                // A `char *` / `wchar_t *` from ffi.new has room for a NUL
                // after its character, which CFFI does not count.
                let size = match t.kind {
                    TKind::Pointer { item } if (*c.cx).reg.info(item).is_char_prim() => size / 2,
                    _ => *size,
                };
                return Ok(format!("' owning {size} bytes>"));
            }
            Own::Handle(o) => {
                // Its own reference: the object's repr is Python code, which
                // may drop every other one.
                let target = Owned::new(crate::py::new_ref(*o)).expect("non-null");
                return Ok(format!("' handle to {}>", repr_text(target.ptr())));
            }
            Own::Buffer(b) => {
                let src = if b.obj.is_null() {
                    "?".to_string()
                } else {
                    type_name(b.obj)
                };
                // Arrays show their length, pointers do not (CFFI).
                return Ok(match t.kind {
                    TKind::Array { .. } => {
                        format!(
                            "' buffer len {} from '{src}' object>",
                            c.length.get().max(0)
                        )
                    }
                    _ => format!("' buffer from '{src}' object>"),
                });
            }
            Own::Keep(k) if t.is_record() => {
                // `p[0]` of an owning `T *` from ffi.new shows as owning too
                // (not a first field at the same address: its parent is `T`).
                if let Some(parent) = as_cdata(c.cx, *k) {
                    if let Own::Alloc { size, ptr, .. } = *parent.own() {
                        let item_of_parent =
                            matches!(tinfo(parent).kind, TKind::Pointer { item } if item == c.tid);
                        if ptr == c.data.get() && item_of_parent {
                            return Ok(format!("' owning {size} bytes>"));
                        }
                    }
                }
            }
            _ => {}
        }
        // A released ffi.gc() cdata keeps its value and shows it (CFFI).
        if c.released.get() && c.data.get().is_null() {
            return Ok("' (released)>".to_string());
        }
        match &t.kind {
            TKind::Prim(_) | TKind::Enum { .. } => {
                let v = prim_value_repr(c, t)?;
                Ok(format!("' {v}>"))
            }
            TKind::Array { len: None, .. } => {
                Ok(format!("' sliced length {}>", c.length.get().max(0)))
            }
            TKind::Record { .. } => Ok(format!(" &' {:p}>", c.data.get())),
            _ if c.data.get().is_null() => Ok("' NULL>".to_string()),
            _ => Ok(format!("' {:p}>", c.data.get())),
        }
    }
}

/// The value part of a primitive's repr.
///
/// # Safety
/// GIL held; `c` a live primitive CData with its value, `t` its type.
unsafe fn prim_value_repr(c: &CDataObj, t: &TInfo) -> PyResult<String> {
    // SAFETY: `c` is a live primitive CData (caller) whose `data` a release
    // did not clear (checked by `repr_body`, the only caller), so it holds a
    // value of its type, `t` its description; GIL held (caller).
    unsafe {
        if let TKind::Prim(Prim::LongDouble) = t.kind {
            let v = crate::cdata::convert::x87_to_f64(
                (c.data.get() as *const [u8; 16]).read_unaligned(),
            );
            return Ok(format_long_double(v));
        }
        let v = Owned::check(read(c.cx, c.tid, c.data.get(), Read::Copy))?;
        let mut s = repr_text(v.ptr());
        if let TKind::Enum { values, .. } = &t.kind {
            let n = ffi::PyLong_AsLongLong(v.ptr());
            ffi::PyErr_Clear();
            if let Some((name, _)) = values.iter().find(|(_, x)| *x == n as i128) {
                s = format!("{s}: {name}");
            }
        }
        Ok(s)
    }
}

/// C's `%LE` as CFFI prints long doubles: `2.000000E+00`.
fn format_long_double(v: f64) -> String {
    if v.is_nan() {
        return "NAN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "INF".into() } else { "-INF".into() };
    }
    let s = format!("{v:.6E}");
    // Rust: "2.000000E0" -> C: "2.000000E+00".
    match s.split_once('E') {
        Some((m, e)) => {
            let e: i32 = e.parse().unwrap_or(0);
            let sign = if e < 0 { '-' } else { '+' };
            format!("{m}E{sign}{:02}", e.abs())
        }
        None => s,
    }
}

/// The value a primitive cdata compares and hashes as. A long double has
/// none (its Python value is a cdata again): CFFI hashes it by address and
/// refuses to compare it (see `cdata_richcompare`).
unsafe fn prim_py(c: &CDataObj) -> PyResult<Option<Owned>> {
    // SAFETY: `c` is a live CData (caller); a primitive's `data` holds a
    // value of its type, read as that type; GIL held (caller).
    unsafe {
        let t = tinfo(c);
        match t.kind {
            TKind::Prim(Prim::LongDouble) => Ok(None),
            TKind::Prim(_) | TKind::Enum { .. } => Ok(Some(Owned::check(read(
                c.cx,
                c.tid,
                c.data.get(),
                Read::Copy,
            ))?)),
            _ => Ok(None),
        }
    }
}

/// The Python number of a primitive cdata for int()/float()/bool(): as
/// `prim_py`, and a long double as the nearest float.
unsafe fn num_py(c: &CDataObj) -> PyResult<Owned> {
    // SAFETY: `c` is a live CData (caller); a long double's `data` holds its
    // 16 bytes (read unaligned); GIL held (caller).
    unsafe {
        if let TKind::Prim(Prim::LongDouble) = tinfo(c).kind {
            let v = crate::cdata::convert::x87_to_f64(
                (c.data.get() as *const [u8; 16]).read_unaligned(),
            );
            return Owned::check(ffi::PyFloat_FromDouble(v));
        }
        match prim_py(c)? {
            Some(v) => Ok(v),
            None => Err(raise(
                ffi::PyExc_SystemError,
                "cembed: not a primitive cdata",
            )),
        }
    }
}

pub(crate) unsafe extern "C" fn cdata_hash(slf: *mut ffi::PyObject) -> ffi::Py_hash_t {
    // SAFETY: CPython calls tp_hash with the GIL held on a live CData.
    guard(-1, || unsafe {
        let c = cd(slf);
        if let Some(v) = prim_py(c)? {
            let h = ffi::PyObject_Hash(v.ptr());
            return if h == -1 { Err(PyErrSet) } else { Ok(h) };
        }
        let a = c.data.get() as usize as u64;
        let h = a.rotate_right(4) as ffi::Py_hash_t;
        Ok(if h == -1 { -2 } else { h })
    })
}

pub(crate) unsafe extern "C" fn cdata_richcompare(
    a: *mut ffi::PyObject,
    b: *mut ffi::PyObject,
    op: c_int,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls tp_richcompare with the GIL held, `a` a live CData
    // (its slot) and `b` a live object, checked by `as_cdata` before it is
    // used as a CData.
    trampoline(|| unsafe {
        let ca = cd(a);
        let cx = ca.cx;
        // Primitive cdata compare as their Python values; a long double
        // cdata has no such value (CFFI's message).
        for c in [Some(ca), as_cdata(cx, b)].into_iter().flatten() {
            if let TKind::Prim(Prim::LongDouble) = tinfo(c).kind {
                let other_is_ptr = [Some(ca), as_cdata(cx, b)]
                    .into_iter()
                    .flatten()
                    .any(|o| !matches!(tinfo(o).kind, TKind::Prim(_) | TKind::Enum { .. }));
                if other_is_ptr {
                    return Ok(crate::py::new_ref(ffi::Py_NotImplemented()));
                }
                return Err(raise(
                    ffi::PyExc_NotImplementedError,
                    &format!("cannot use <cdata '{}'> in a comparison", tinfo(c).name),
                ));
            }
        }
        if let Some(va) = prim_py(ca)? {
            // Primitives compare by value, with Python numbers too.
            let vb = match as_cdata(cx, b) {
                Some(cb) => match prim_py(cb)? {
                    Some(v) => v,
                    None => return Ok(crate::py::new_ref(ffi::Py_NotImplemented())),
                },
                None => Owned::from_borrowed(b),
            };
            return Ok(ffi::PyObject_RichCompare(va.ptr(), vb.ptr(), op));
        }
        let Some(cb) = as_cdata(cx, b) else {
            return Ok(crate::py::new_ref(ffi::Py_NotImplemented()));
        };
        if prim_py(cb)?.is_some() {
            return Ok(crate::py::new_ref(ffi::Py_NotImplemented()));
        }
        let (x, y) = (ca.data.get() as usize, cb.data.get() as usize);
        let r = match op {
            ffi::Py_EQ => x == y,
            ffi::Py_NE => x != y,
            ffi::Py_LT => x < y,
            ffi::Py_LE => x <= y,
            ffi::Py_GT => x > y,
            _ => x >= y,
        };
        Ok(ffi::PyBool_FromLong(r as _))
    })
}

// ---- numbers ----------------------------------------------------------------

/// CFFI's `cdata_complex`: only a complex cdata converts; `complex()` of an
/// int or float cdata is refused, as `float()` of an int cdata is.
pub(crate) unsafe extern "C" fn cdata_complex(
    slf: *mut ffi::PyObject,
    _noarg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: a METH_NOARGS method: CPython calls it with the GIL held on a
    // live CData, whose `data` holds a value of its (complex) type.
    trampoline(|| unsafe {
        let c = cd(slf);
        let t = tinfo(c);
        match t.kind {
            TKind::Prim(p @ (Prim::C64 | Prim::C128)) => {
                let (re, im) = crate::cdata::convert::read_complex(p, c.data.get() as *const _);
                Ok(ffi::PyComplex_FromDoubles(re, im))
            }
            _ => Err(raise(
                ffi::PyExc_TypeError,
                &format!("complex() not supported on cdata '{}'", t.name),
            )),
        }
    })
}

pub(crate) unsafe extern "C" fn cdata_bool(slf: *mut ffi::PyObject) -> c_int {
    // SAFETY: CPython calls nb_bool with the GIL held on a live CData, whose
    // `data` holds a value of its type when it is a primitive.
    guard(-1, || unsafe {
        let c = cd(slf);
        let t = tinfo(c);
        match t.kind {
            TKind::Prim(p @ (Prim::C64 | Prim::C128)) => {
                let (re, im) = crate::cdata::convert::read_complex(p, c.data.get() as *const _);
                Ok((re != 0.0 || im != 0.0) as c_int)
            }
            TKind::Prim(Prim::F32 | Prim::F64 | Prim::LongDouble) => {
                let v = num_py(c)?;
                Ok((ffi::PyFloat_AsDouble(v.ptr()) != 0.0) as c_int)
            }
            TKind::Prim(_) | TKind::Enum { .. } => {
                let v = Owned::check(cdata_int(slf))?;
                Ok(ffi::PyObject_IsTrue(v.ptr()))
            }
            _ => Ok((!c.data.get().is_null()) as c_int),
        }
    })
}

/// Whether this platform's 32-bit wchar_t is signed (glibc: `int`).
const WCHAR_SIGNED: bool = cfg!(all(target_os = "linux", not(target_arch = "aarch64")));

pub(crate) unsafe extern "C" fn cdata_int(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls nb_int with the GIL held on a live CData; the
    // reads are of its primitive type, at `data`, which holds such a value
    // (unaligned reads: a cdata may view packed memory).
    trampoline(|| unsafe {
        let c = cd(slf);
        let t = tinfo(c);
        match t.kind {
            TKind::Prim(Prim::Char) => Ok(ffi::PyLong_FromLong(*c.data.get() as _)),
            TKind::Prim(Prim::WChar16) => Ok(ffi::PyLong_FromLong(
                (c.data.get() as *const u16).read_unaligned() as _,
            )),
            // wchar_t is signed where C says so (WCHAR_MIN < 0: Linux),
            // char32_t never is; CFFI reads them the same way.
            TKind::Prim(Prim::WChar32) if WCHAR_SIGNED && t.name == "wchar_t" => Ok(
                ffi::PyLong_FromLong((c.data.get() as *const i32).read_unaligned() as _),
            ),
            TKind::Prim(Prim::WChar32) => Ok(ffi::PyLong_FromLong(
                (c.data.get() as *const u32).read_unaligned() as _,
            )),
            TKind::Prim(Prim::F32 | Prim::F64 | Prim::LongDouble) => {
                let v = num_py(c)?;
                Ok(ffi::PyNumber_Long(v.ptr()))
            }
            TKind::Prim(Prim::Bool) => Ok(ffi::PyLong_FromLong((*c.data.get() != 0) as _)),
            TKind::Prim(Prim::C64 | Prim::C128) => Err(raise(
                ffi::PyExc_TypeError,
                &format!("int() not supported on cdata '{}'", t.name),
            )),
            TKind::Prim(_) | TKind::Enum { .. } => Ok(num_py(c)?.into_ptr()),
            _ => Err(raise(
                ffi::PyExc_TypeError,
                &format!("int() not supported on cdata '{}'", t.name),
            )),
        }
    })
}

pub(crate) unsafe extern "C" fn cdata_float(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls nb_float with the GIL held on a live CData.
    trampoline(|| unsafe {
        let c = cd(slf);
        let t = tinfo(c);
        match t.kind {
            TKind::Prim(Prim::F32 | Prim::F64 | Prim::LongDouble) => Ok(num_py(c)?.into_ptr()),
            _ => Err(raise(
                ffi::PyExc_TypeError,
                &format!("float() not supported on cdata '{}'", t.name),
            )),
        }
    })
}

/// The item size for pointer arithmetic on `t`, or a TypeError.
unsafe fn arith_item(cx: *mut Cx, t: &TInfo) -> PyResult<(Tid, usize)> {
    // SAFETY: `cx` alive and `t` a type of its registry (caller), so `item`
    // is one too; GIL held (caller).
    unsafe {
        let (ptr_t, item) = match t.kind {
            TKind::Pointer { item } => (None, item),
            TKind::Array { item, .. } => (Some(item), item),
            _ => {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("cannot add a cdata '{}' and a number", t.name),
                ))
            }
        };
        let it = (*cx).reg.info(item);
        let size = match it.kind {
            TKind::Void => 1, // CFFI allows arithmetic on void * (byte steps)
            _ if it.size == 0 => {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("ctype '{}' has unknown size", it.name),
                ))
            }
            _ => it.size,
        };
        let rt = match ptr_t {
            Some(item) => (*cx).reg.pointer_to(item),
            None => {
                let _ = item;
                u32::MAX
            }
        };
        Ok((rt, size))
    }
}

unsafe fn add_impl(
    a: *mut ffi::PyObject,
    b: *mut ffi::PyObject,
    sign: isize,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: `a` and `b` are live objects and the GIL is held (caller);
    // `a` is used as a CData only once its type is checked to be its
    // module's CData type, `b` only through `as_cdata`, which checks it.
    unsafe {
        let Some(ca) = (ffi::PyObject_TypeCheck(a, ffi::Py_TYPE(a)) != 0)
            .then(|| cd(a))
            .filter(|c| ffi::Py_TYPE(a) as *mut ffi::PyObject == (*c.cx).cdata_type)
        else {
            return Ok(crate::py::new_ref(ffi::Py_NotImplemented()));
        };
        let cx = ca.cx;
        let t = tinfo(ca);
        if sign < 0 {
            if let Some(cb) = as_cdata(cx, b) {
                // p - q: both pointers to the same type.
                let (_, size) = arith_item(cx, t)?;
                let tb = tinfo(cb);
                let same = ca.tid == cb.tid
                    || match (&t.kind, &tb.kind) {
                        (TKind::Pointer { item: x }, TKind::Array { item: y, .. })
                        | (TKind::Array { item: x, .. }, TKind::Pointer { item: y })
                        | (TKind::Array { item: x, .. }, TKind::Array { item: y, .. }) => x == y,
                        _ => false,
                    };
                if !same {
                    return Err(raise(
                        ffi::PyExc_TypeError,
                        &format!("cannot subtract cdata '{}' and cdata '{}'", t.name, tb.name),
                    ));
                }
                let diff =
                    (ca.data.get() as isize).wrapping_sub(cb.data.get() as isize) / size as isize;
                return Ok(ffi::PyLong_FromSsize_t(diff));
            }
        }
        if ffi::PyLong_Check(b) == 0 && ffi::PyIndex_Check(b) == 0 {
            return Ok(crate::py::new_ref(ffi::Py_NotImplemented()));
        }
        let n = ffi::PyNumber_AsSsize_t(b, ffi::PyExc_OverflowError);
        if n == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        let (rt, size) = arith_item(cx, t)?;
        let rt = if rt == u32::MAX { ca.tid } else { rt };
        let p = (ca.data.get() as isize).wrapping_add(sign * n * size as isize) as *mut u8;
        new_cdata(cx, rt, p, Own::None).map(Owned::into_ptr)
    }
}

pub(crate) unsafe extern "C" fn cdata_add(
    a: *mut ffi::PyObject,
    b: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls nb_add with the GIL held on two live objects;
    // `add_impl` gets as its first the one whose type is the CData type.
    trampoline(|| unsafe {
        // Either operand may be the cdata (n + p).
        let (x, y) = if ffi::Py_TYPE(a) == ffi::Py_TYPE(b) || is_cdata_type(a) {
            (a, b)
        } else {
            (b, a)
        };
        if !is_cdata_type(x) || is_cdata_type(y) && x != a {
            return Ok(crate::py::new_ref(ffi::Py_NotImplemented()));
        }
        if is_cdata_type(y) {
            return Err(raise(
                ffi::PyExc_TypeError,
                "unsupported operand type(s) for +: two cdata objects",
            ));
        }
        add_impl(x, y, 1)
    })
}

/// The character a `char`/`wchar_t`/`char16_t`/`char32_t` cdata holds, for
/// conversions that take such a cdata where a one-character bytes/str is
/// expected (CFFI's `_convert_to_char` / `_convert_to_unichar`); any
/// module's cdata qualifies.
///
/// # Safety
/// GIL held; `o` a live object.
pub(crate) unsafe fn char_cdata_value(o: *mut ffi::PyObject) -> Option<(Prim, u32)> {
    // SAFETY: `o` is a live object (caller), used as a CData once
    // `is_cdata_type` checked it; a character cdata's `data` holds its
    // character, read as its type (unaligned); GIL held (caller).
    unsafe {
        if !is_cdata_type(o) {
            return None;
        }
        let c = cd(o);
        match tinfo(c).kind {
            TKind::Prim(Prim::Char) => Some((Prim::Char, *c.data.get() as u32)),
            TKind::Prim(Prim::WChar16) => Some((
                Prim::WChar16,
                (c.data.get() as *const u16).read_unaligned() as u32,
            )),
            TKind::Prim(Prim::WChar32) => {
                Some((Prim::WChar32, (c.data.get() as *const u32).read_unaligned()))
            }
            _ => None,
        }
    }
}

/// Whether `o` is a CData (of any module).
///
/// # Safety
/// `o` a live object.
unsafe fn is_cdata_type(o: *mut ffi::PyObject) -> bool {
    // SAFETY: `o` is a live object (caller): its type is alive and readable.
    unsafe {
        let tp = ffi::Py_TYPE(o);
        // Our CData type is the only one with this dealloc function.
        #[allow(unpredictable_function_pointer_comparisons)]
        let same = (*tp).tp_dealloc == Some(cdata_dealloc as unsafe extern "C" fn(_));
        same
    }
}

pub(crate) unsafe extern "C" fn cdata_sub(
    a: *mut ffi::PyObject,
    b: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls nb_subtract with the GIL held on two live objects;
    // `add_impl` gets `a` only if it is a CData.
    trampoline(|| unsafe {
        if !is_cdata_type(a) {
            return Ok(crate::py::new_ref(ffi::Py_NotImplemented()));
        }
        add_impl(a, b, -1)
    })
}
