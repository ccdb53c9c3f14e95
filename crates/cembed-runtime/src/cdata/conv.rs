//! Reading and writing C values of any registry type: CFFI's
//! `convert_to_object` and `convert_from_object`.
//!
//! Primitives reuse `crate::cdata::convert` (one implementation of the integer,
//! float and character rules); this file adds pointers, arrays, records,
//! enums and bitfields.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use super::types::{FieldInfo, TInfo, TKind, Tid};
use super::Cx;
use crate::cdata::convert::{prim_from_py, prim_to_py};
use crate::cdata::object::{new_cdata, new_ptr_cdata, CDataObj, Own};
use crate::desc::ctypes::Prim;
use crate::py::{raise, str_text, type_name, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::c_void;
use std::ptr::null_mut;

/// How a record or array read from C memory becomes a Python object.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// A view of the memory (field access, `p[i]`, globals), keeping `keep`
    /// (the owner of that memory, may be NULL) alive.
    View(*mut ffi::PyObject),
    /// A copy owned by the new cdata (function results: the C storage is
    /// gone after the call); repr "owning N bytes".
    Copy,
    /// A copy too, shown as CFFI shows by-value arguments of callbacks
    /// (`'T &'`, a reference to the C argument).
    CopyRef,
}

/// C value of type `tid` at `src` -> new Python object (NULL + exception).
///
/// # Safety
/// GIL held; `src` readable for the type's size; `cx` alive.
#[inline]
pub(crate) unsafe fn read(cx: *mut Cx, tid: Tid, src: *const u8, how: Read) -> *mut ffi::PyObject {
    // SAFETY: `cx` alive and `tid` a type of its registry, `src` readable
    // for that type's size, GIL held (the contract), which is what
    // `prim_to_py` and `read_other` need; `t.name` lives as long as `cx`.
    unsafe {
        let t = (*cx).reg.info(tid);
        // The common case (a struct field, an array item of a primitive type)
        // inline; everything else, which makes a cdata, out of line.
        match t.kind {
            TKind::Prim(p) | TKind::Enum { prim: p, .. } if p != Prim::LongDouble => {
                prim_to_py(p, &t.name, src as *const c_void)
            }
            _ => read_other(cx, tid, t, src, how),
        }
    }
}

/// [`read`] for every type but the primitives other than `long double`
/// (it handles those too).
///
/// # Safety
/// As [`read`]; `t` the description of `tid`.
#[inline(never)]
pub(crate) unsafe fn read_other(
    cx: *mut Cx,
    tid: Tid,
    t: &TInfo,
    src: *const u8,
    how: Read,
) -> *mut ffi::PyObject {
    // SAFETY: `read`'s contract (`cx` alive, `t` the description of `tid`,
    // `src` readable for `t.size` bytes, GIL held). A new cdata made with
    // `Own::alloc(n)` owns `data`, `n` bytes, written once here; `keep` is
    // NULL or a live object, a new reference to which the view owns.
    unsafe {
        match &t.kind {
            TKind::Void => crate::py::new_ref(ffi::Py_None()),
            TKind::Prim(Prim::LongDouble) => {
                // CFFI keeps long double as a cdata (a float would lose precision).
                match Own::alloc(16, 16).and_then(|own| new_cdata(cx, tid, null_mut(), own)) {
                    Ok(o) => {
                        let d = (*(o.ptr() as *const CDataObj)).data.get();
                        std::ptr::copy_nonoverlapping(src, d, 16);
                        o.into_ptr()
                    }
                    Err(_) => null_mut(),
                }
            }
            TKind::Prim(p) | TKind::Enum { prim: p, .. } => {
                prim_to_py(*p, &t.name, src as *const c_void)
            }
            TKind::Pointer { .. } | TKind::Func { .. } => {
                let v = (src as *const *mut u8).read_unaligned();
                new_ptr_cdata(cx, tid, v).map_or(null_mut(), Owned::into_ptr)
            }
            TKind::Array { .. } | TKind::Record { .. } => match how {
                Read::View(keep) => {
                    let own = if keep.is_null() {
                        Own::None
                    } else {
                        ffi::Py_INCREF(keep);
                        Own::Keep(keep)
                    };
                    new_cdata(cx, tid, src as *mut u8, own).map_or(null_mut(), Owned::into_ptr)
                }
                Read::Copy | Read::CopyRef => {
                    let size = t.size;
                    match Own::alloc(size, t.align)
                        .and_then(|own| new_cdata(cx, tid, null_mut(), own))
                    {
                        Ok(o) => {
                            if how == Read::CopyRef {
                                super::object::set_shown(o.ptr(), false);
                            }
                            let d = (*(o.ptr() as *const CDataObj)).data.get();
                            std::ptr::copy_nonoverlapping(src, d, size);
                            o.into_ptr()
                        }
                        Err(_) => null_mut(),
                    }
                }
            },
        }
    }
}

/// The text of a `str` without copying it (CPython caches the UTF-8 form
/// in the object; for ASCII it is the object's own data), for the hot
/// lookups (`p.x`, keyword names) that `py::str_text` would allocate a
/// `String` for. `None` (exception set) if `obj` has no UTF-8 form.
///
/// # Safety
/// GIL held; `obj` a `str`, alive for `'a`.
pub(crate) unsafe fn str_ref<'a>(obj: *mut ffi::PyObject) -> Option<&'a str> {
    // SAFETY: GIL held and `obj` a live `str` for `'a` (caller): its
    // characters (the compact ASCII data, or the UTF-8 form CPython caches in
    // the object) live as long as it and are not changed (a str is
    // immutable).
    unsafe {
        // The common case, an ASCII name (what `p.x` passes): its characters
        // follow the object header, and ASCII is UTF-8 as it is. Half the
        // instructions of the general call plus a UTF-8 check.
        #[cfg(not(Py_3_14))]
        if ffi::PyUnicode_IS_COMPACT_ASCII(obj) != 0 {
            let data = (obj as *mut ffi::PyASCIIObject).add(1) as *const u8;
            let n = ffi::PyUnicode_GET_LENGTH(obj) as usize;
            // SAFETY: a compact ASCII str holds `n` ASCII bytes at `data`, and
            // ASCII is valid UTF-8.
            return Some(std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                data, n,
            )));
        }
        let mut len: ffi::Py_ssize_t = 0;
        let p = ffi::PyUnicode_AsUTF8AndSize(obj, &mut len);
        if p.is_null() {
            return None;
        }
        let bytes = std::slice::from_raw_parts(p as *const u8, len as usize);
        // CPython's UTF-8 form is valid UTF-8 (it refuses lone surrogates).
        std::str::from_utf8(bytes).ok()
    }
}

/// `obj` as a cdata of `module` (a live, not cleared module of the
/// runtime), with that module's context, without finding the context from
/// the module first: the cdata's own `cx` is read and its module compared.
/// The same answer as [`as_cdata`] with `module`'s context.
///
/// # Safety
/// GIL held; `obj` a live object, kept while the result is used.
#[inline(always)]
pub(crate) unsafe fn cdata_of_module(
    module: *mut ffi::PyObject,
    obj: *mut ffi::PyObject,
) -> Option<(*mut Cx, &'static CDataObj)> {
    // SAFETY: `obj` is live (caller), so its type is; only the CData types
    // have `cdata_dealloc`, so `obj` is then a `CDataObj`, whose `cx` is alive
    // as long as it is (the module owning the context outlives every
    // instance of its types). A context whose module was cleared has
    // `module` NULL, which no live module equals. `'static` as in `as_cdata`.
    unsafe {
        let tp = ffi::Py_TYPE(obj);
        #[allow(unpredictable_function_pointer_comparisons)]
        let is_cdata = (*tp).tp_dealloc
            == Some(crate::cdata::object::cdata_dealloc as unsafe extern "C" fn(_));
        if !is_cdata || module.is_null() {
            return None;
        }
        let cd = &*(obj as *const CDataObj);
        let cx = cd.cx;
        if (*cx).module != module || tp as *mut ffi::PyObject != (*cx).cdata_type {
            return None;
        }
        Some((cx, cd))
    }
}

/// `obj` as a cdata, if it is one of this module's.
///
/// # Safety
/// GIL held; `cx` alive; `obj` a live object, kept while the result is used.
pub(crate) unsafe fn as_cdata(cx: *mut Cx, obj: *mut ffi::PyObject) -> Option<&'static CDataObj> {
    // SAFETY: `cx` alive and `obj` a live object (caller); an object of this
    // module's exact CData type is a `CDataObj`. `'static` stands for "as long
    // as the caller keeps `obj`", as the callers use it (within the call that
    // borrowed `obj`).
    unsafe {
        if ffi::Py_TYPE(obj) as *mut ffi::PyObject == (*cx).cdata_type {
            Some(&*(obj as *const CDataObj))
        } else {
            None
        }
    }
}

/// CFFI's `_convert_error`.
///
/// # Safety
/// GIL held; `cx` alive; `tid` a type of its registry; `obj` a live object.
pub(crate) unsafe fn convert_error(
    cx: *mut Cx,
    tid: Tid,
    obj: *mut ffi::PyObject,
    expected: &str,
) -> PyErrSet {
    // SAFETY: `cx` alive, `tid` a type of its registry, `obj` a live object,
    // GIL held (caller).
    unsafe {
        let name = &(*cx).reg.info(tid).name;
        if let Some(cd) = as_cdata(cx, obj) {
            let other = &(*cx).reg.info(cd.tid).name;
            return raise(
                ffi::PyExc_TypeError,
                &format!(
                    "initializer for ctype '{name}' must be a {expected}, not cdata '{other}'"
                ),
            );
        }
        raise(
            ffi::PyExc_TypeError,
            &format!(
                "initializer for ctype '{name}' must be a {expected}, not {}",
                type_name(obj)
            ),
        )
    }
}

/// The pointer value a cdata gives when assigned to a pointer of type `tid`
/// (CFFI accepts the same type, `void *` either way, and arrays decaying to
/// a pointer to their item).
///
/// # Safety
/// GIL held; `cx` alive; `tid` a type of its registry; `obj` a live object.
unsafe fn pointer_value(cx: *mut Cx, tid: Tid, obj: *mut ffi::PyObject) -> PyResult<*mut u8> {
    // SAFETY: `cx` alive, `tid` a type of its registry, `obj` a live object,
    // GIL held (caller): what the `lib_function` hook needs, and `as_cdata`
    // checked the cdata read here.
    unsafe {
        let reg = &mut (*cx).reg;
        let Some(cd) = as_cdata(cx, obj) else {
            // A C function of `lib` is accepted as a function pointer (CFFI).
            let target = (crate::cdata::hooks::hooks().lib_function)(obj);
            if let Some((ls, fty, addr)) = target {
                if std::ptr::eq(ls, (*cx).ls) {
                    let ft = reg.table_map[fty as usize];
                    if ft == tid || is_void_ptr(cx, tid) {
                        return Ok(addr as *mut u8);
                    }
                }
            }
            return Err(convert_error(cx, tid, obj, "cdata pointer"));
        };
        let src = reg.info(cd.tid);
        let src_ptr = match src.kind {
            TKind::Pointer { .. } | TKind::Func { .. } => cd.tid,
            TKind::Array { item, .. } => reg.pointer_to(item),
            // CFFI's wording for a cdata that is neither.
            _ => return Err(convert_error(cx, tid, obj, "pointer or array")),
        };
        if src_ptr != tid && !is_void_ptr(cx, src_ptr) && !is_void_ptr(cx, tid) {
            let charish = |t: Tid| match reg.info(t).kind {
                TKind::Pointer { item } => matches!(
                    reg.info(item).kind,
                    TKind::Prim(Prim::Char)
                        | TKind::Prim(Prim::SInt(1))
                        | TKind::Prim(Prim::UInt(1))
                ),
                _ => false,
            };
            // CFFI accepts `char *` for any pointer (with a warning) only when
            // both sides point to single bytes: then it is silent.
            if !(charish(src_ptr) && charish(tid)) {
                // CFFI's wording for a pointer of another type.
                return Err(convert_error(cx, tid, obj, "pointer to same type"));
            }
        }
        Ok(cd.data.get())
    }
}

/// Whether `tid` is `void *`.
///
/// # Safety
/// `cx` alive; `tid` a type of its registry.
pub(crate) unsafe fn is_void_ptr(cx: *mut Cx, tid: Tid) -> bool {
    // SAFETY: `cx` alive and `tid` a type of its registry (caller).
    unsafe {
        let reg = &(*cx).reg;
        matches!(reg.info(tid).kind, TKind::Pointer { item } if matches!(reg.info(item).kind, TKind::Void))
    }
}

/// Writes `obj` converted to type `tid` at `dst` (CFFI's
/// `convert_from_object`): field and item assignment, `ffi.new`
/// initializers, struct-by-value arguments. On error an exception is set;
/// `dst` may be partially written only for aggregates (as in CFFI).
///
/// # Safety
/// GIL held; `cx` alive; `tid` a type of its registry; `obj` a live object;
/// `dst` writable for the type's size.
pub(crate) unsafe fn write(
    cx: *mut Cx,
    tid: Tid,
    obj: *mut ffi::PyObject,
    dst: *mut u8,
) -> PyResult<()> {
    // SAFETY: `cx` alive and `tid` a type of its registry, `dst` writable for
    // its size, `obj` a live object, GIL held (the contract). Every write is
    // within that size: a same-type cdata copies `t.size` bytes (`ptr::copy`
    // for records: the source may overlap), fields and items are within the
    // record and array; a cdata's `data` holds a value of its type
    // (`as_cdata` checked it).
    unsafe {
        let t = (*cx).reg.info(tid);
        match &t.kind {
            TKind::Void => Err(raise(
                ffi::PyExc_TypeError,
                &format!("cannot initialize cdata '{}'", t.name),
            )),
            TKind::Prim(p) => {
                if let Some(cd) = as_cdata(cx, obj) {
                    if cd.tid == tid {
                        // Same primitive cdata (e.g. a long double): copy bits.
                        std::ptr::copy_nonoverlapping(cd.data.get(), dst, t.size);
                        return Ok(());
                    }
                    if *p == Prim::LongDouble {
                        let v = ffi::PyFloat_AsDouble(obj);
                        if v == -1.0 && !ffi::PyErr_Occurred().is_null() {
                            return Err(PyErrSet);
                        }
                        (dst as *mut [u8; 16])
                            .write_unaligned(crate::cdata::convert::f64_to_x87(v));
                        return Ok(());
                    }
                    if *p == Prim::Char {
                        if let TKind::Prim(Prim::Char) = (*cx).reg.info(cd.tid).kind {
                            *dst = *cd.data.get();
                            return Ok(());
                        }
                    }
                }
                prim_from_py(*p, &t.name, obj, dst as *mut c_void)
            }
            // An enum converts as its integer type: CFFI (since 1.0) does not
            // take enumerator names as values ("an integer is required").
            TKind::Enum { prim, .. } => prim_from_py(*prim, &t.name, obj, dst as *mut c_void),
            TKind::Pointer { .. } | TKind::Func { .. } => {
                let v = pointer_value(cx, tid, obj)?;
                (dst as *mut *mut u8).write_unaligned(v);
                Ok(())
            }
            TKind::Array { item, len } => write_array(cx, tid, *item, *len, obj, dst),
            TKind::Record { fields, .. } => {
                if let Some(cd) = as_cdata(cx, obj) {
                    if cd.tid == tid {
                        std::ptr::copy(cd.data.get(), dst, t.size);
                        return Ok(());
                    }
                }
                let Some(fields) = fields else {
                    return Err(raise(
                        ffi::PyExc_TypeError,
                        &format!("'{}' is opaque", t.name),
                    ));
                };
                if ffi::PyList_Check(obj) != 0 || ffi::PyTuple_Check(obj) != 0 {
                    let seq = Owned::check(ffi::PySequence_Fast(obj, c"".as_ptr()))?;
                    let n = ffi::PySequence_Size(seq.ptr());
                    let usable: Vec<&FieldInfo> =
                        fields.iter().filter(|f| f.flags & 1 == 0).collect();
                    if n as usize > usable.len() {
                        return Err(raise(
                            ffi::PyExc_ValueError,
                            &format!("too many initializers for '{}' (got {n})", t.name),
                        ));
                    }
                    for (i, f) in usable.iter().enumerate().take(n as usize) {
                        let item = ffi::PySequence_GetItem(seq.ptr(), i as _);
                        let item = Owned::check(item)?;
                        write_vfield(cx, f, item.ptr(), dst)?;
                    }
                    return Ok(());
                }
                if ffi::PyDict_Check(obj) != 0 {
                    let mut pos: ffi::Py_ssize_t = 0;
                    let (mut k, mut v) = (null_mut(), null_mut());
                    while ffi::PyDict_Next(obj, &mut pos, &mut k, &mut v) != 0 {
                        let key = str_text(k);
                        let f = key
                            .as_ref()
                            .and_then(|key| fields.iter().find(|f| &f.name == key));
                        match f {
                            Some(f) => write_vfield(cx, f, v, dst)?,
                            None => {
                                ffi::PyErr_Clear();
                                ffi::PyErr_SetObject(ffi::PyExc_KeyError, k);
                                return Err(PyErrSet);
                            }
                        }
                    }
                    return Ok(());
                }
                Err(convert_error(
                    cx,
                    tid,
                    obj,
                    "list or tuple or dict or struct-cdata",
                ))
            }
        }
    }
}

/// Writes `obj` into a flexible array member of type `tid` (`T[]`) that has
/// room for `n` items (the allocation `ffi.new` made). CFFI writes past the
/// end here; cembed raises CFFI's IndexError for too many initializers.
///
/// # Safety
/// As [`write`], `dst` writable for `n` items of `item`.
pub(crate) unsafe fn write_var_array(
    cx: *mut Cx,
    tid: Tid,
    item: Tid,
    n: usize,
    obj: *mut ffi::PyObject,
    dst: *mut u8,
) -> PyResult<()> {
    // SAFETY: `dst` has room for `n` items of `item` (the contract), the rest
    // as `write`'s.
    unsafe { write_array(cx, tid, item, Some(n), obj, dst) }
}

/// [`write`] for an array type `tid` of `item` with room for `len` items.
///
/// # Safety
/// As [`write`], `dst` writable for `len` items (unbounded if `None`: the
/// type's own length).
unsafe fn write_array(
    cx: *mut Cx,
    tid: Tid,
    item: Tid,
    len: Option<usize>,
    obj: *mut ffi::PyObject,
    dst: *mut u8,
) -> PyResult<()> {
    // SAFETY: `cx` alive, `tid` an array of `item` with room at `dst` for
    // `len` items (unknown: the caller's room, `write_var_array`), `obj` live,
    // GIL held (caller). Each write is checked against `n` first (list, bytes
    // with or without the NUL, wide units); a bytes object's buffer has `k`
    // bytes plus its NUL.
    unsafe {
        let reg = &(*cx).reg;
        let it = reg.info(item);
        let name = &reg.info(tid).name;
        let n = len.unwrap_or(usize::MAX);
        if ffi::PyList_Check(obj) != 0 || ffi::PyTuple_Check(obj) != 0 {
            let k = ffi::PySequence_Size(obj) as usize;
            if k > n {
                return Err(raise(
                    ffi::PyExc_IndexError,
                    &format!("too many initializers for '{name}' (got {k})"),
                ));
            }
            for i in 0..k {
                let o = Owned::check(ffi::PySequence_GetItem(obj, i as _))?;
                write(cx, item, o.ptr(), dst.add(i * it.size))?;
            }
            return Ok(());
        }
        // CFFI's `convert_array_from_object`: arrays of one-byte characters or
        // integers (`_Bool` included) take bytes, arrays of wide characters a
        // str; the terminator is written when there is room for it.
        let expected =
            match it.kind {
                TKind::Prim(Prim::Char | Prim::Bool | Prim::SInt(1) | Prim::UInt(1)) => {
                    if ffi::PyBytes_Check(obj) != 0 {
                        let k = ffi::PyBytes_Size(obj) as usize;
                        if k > n {
                            return Err(raise(
                        ffi::PyExc_IndexError,
                        &format!("initializer bytes is too long for '{name}' (got {k} characters)"),
                    ));
                        }
                        let src = ffi::PyBytes_AsString(obj) as *const u8;
                        let with_nul = if k < n { k + 1 } else { k };
                        if matches!(it.kind, TKind::Prim(Prim::Bool))
                            && std::slice::from_raw_parts(src, with_nul)
                                .iter()
                                .any(|&b| b > 1)
                        {
                            return Err(raise(
                                ffi::PyExc_ValueError,
                                "an array of _Bool can only contain \\x00 or \\x01",
                            ));
                        }
                        // The bytes object's buffer always has its terminating NUL.
                        std::ptr::copy_nonoverlapping(src, dst, with_nul);
                        return Ok(());
                    }
                    "bytes or list or tuple"
                }
                TKind::Prim(p @ (Prim::WChar16 | Prim::WChar32)) => {
                    if ffi::PyUnicode_Check(obj) != 0 {
                        let units = wide_units(obj, p)?;
                        if units.len() > n {
                            return Err(raise(
                                ffi::PyExc_IndexError,
                                &format!(
                            "initializer unicode is too long for '{name}' (got {} characters)",
                            units.len()
                        ),
                            ));
                        }
                        let w = p.size();
                        for (i, u) in units.iter().enumerate() {
                            write_wide(dst.add(i * w), *u, p);
                        }
                        if units.len() < n {
                            write_wide(dst.add(units.len() * w), 0, p);
                        }
                        return Ok(());
                    }
                    "unicode or list or tuple"
                }
                _ => "list or tuple",
            };
        if let Some(cd) = as_cdata(cx, obj) {
            if cd.tid == tid {
                std::ptr::copy(cd.data.get(), dst, reg.info(tid).size);
                return Ok(());
            }
        }
        Err(convert_error(cx, tid, obj, expected))
    }
}

/// The code units of a `str` for a wide-char array (UTF-16 with surrogates
/// for 2-byte wchar).
///
/// # Safety
/// GIL held; `obj` a live `str`.
pub(crate) unsafe fn wide_units(obj: *mut ffi::PyObject, p: Prim) -> PyResult<Vec<u32>> {
    // SAFETY: GIL held and `obj` a live `str` (caller); indices below its
    // length.
    unsafe {
        let n = ffi::PyUnicode_GetLength(obj);
        if n < 0 {
            return Err(PyErrSet);
        }
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            let c = ffi::PyUnicode_ReadChar(obj, i);
            if p == Prim::WChar16 && c > 0xFFFF {
                let c = c - 0x10000;
                out.push(0xD800 | (c >> 10));
                out.push(0xDC00 | (c & 0x3FF));
            } else {
                out.push(c);
            }
        }
        Ok(out)
    }
}

/// Writes one wide-character unit.
///
/// # Safety
/// `dst` writable for one unit of `p`.
unsafe fn write_wide(dst: *mut u8, u: u32, p: Prim) {
    // SAFETY: `dst` writable for one unit of `p` (caller); unaligned write.
    unsafe {
        if p == Prim::WChar16 {
            (dst as *mut u16).write_unaligned(u as u16);
        } else {
            (dst as *mut u32).write_unaligned(u);
        }
    }
}

/// CFFI's `get_new_array_length`: the length of a new `T[]` made from
/// `obj` (a list/tuple, bytes or str with room for the terminator, or a
/// length) and whether `obj` was only that length (nothing to copy).
///
/// # Safety
/// GIL held; `cx` alive; `item` a type of its registry; `obj` a live object.
pub(crate) unsafe fn new_array_length(
    cx: *mut Cx,
    item: Tid,
    obj: *mut ffi::PyObject,
) -> PyResult<(usize, bool)> {
    // SAFETY: `cx` alive, `item` a type of its registry, `obj` a live
    // object, GIL held (caller).
    unsafe {
        if ffi::PyList_Check(obj) != 0 || ffi::PyTuple_Check(obj) != 0 {
            return Ok((ffi::PySequence_Size(obj) as usize, false));
        }
        if ffi::PyBytes_Check(obj) != 0 {
            return Ok((ffi::PyBytes_Size(obj) as usize + 1, false));
        }
        if ffi::PyUnicode_Check(obj) != 0 {
            // Counted as CFFI does: UTF-16 units for 2-byte items, code points
            // otherwise.
            let p = if (*cx).reg.info(item).size == 2 {
                Prim::WChar16
            } else {
                Prim::WChar32
            };
            return Ok((wide_units(obj, p)?.len() + 1, false));
        }
        let n = ffi::PyNumber_AsSsize_t(obj, ffi::PyExc_OverflowError);
        if n == -1 && !ffi::PyErr_Occurred().is_null() {
            if ffi::PyErr_ExceptionMatches(ffi::PyExc_TypeError) != 0 {
                ffi::PyErr_Clear();
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!(
                        "expected new array length or list/tuple/str, not {}",
                        type_name(obj)
                    ),
                ));
            }
            return Err(PyErrSet);
        }
        if n < 0 {
            return Err(raise(ffi::PyExc_ValueError, "negative array length"));
        }
        Ok((n as usize, true))
    }
}

/// CFFI's `convert_vfield_from_object`: a field of a struct initializer. A
/// flexible array member (`T items[]`) may be given as a bare length, which
/// only sized the allocation (see `var_struct_size`): nothing to write then.
///
/// # Safety
/// As [`write_field`].
unsafe fn write_vfield(
    cx: *mut Cx,
    f: &FieldInfo,
    obj: *mut ffi::PyObject,
    base: *mut u8,
) -> PyResult<()> {
    // SAFETY: `base` is a record holding field `f` (`write`'s contract for
    // the record); a flexible array member is written only within the room
    // `var_alloc` says `ffi.new` allocated (none elsewhere).
    unsafe {
        if let TKind::Array { item, len: None } = (*cx).reg.info(f.ty).kind {
            if f.bitsize < 0 && new_array_length(cx, item, obj)?.1 {
                return Ok(());
            }
            if f.bitsize < 0 {
                // Only as many items as the memory has room for: all that
                // ffi.new() allocated for this initializer (`var_alloc`), none
                // past the declared size anywhere else (`p[0] = {...}`, an
                // array element), where CFFI would write past the end.
                let at = base.add(f.offset);
                let (start, end) = (*cx).var_alloc;
                let room = if start.is_null() || at < start || at > end {
                    0
                } else {
                    end as usize - at as usize
                };
                let n = room / (*cx).reg.info(item).size.max(1);
                return write_var_array(cx, f.ty, item, n, obj, at);
            }
        }
        write_field(cx, f, obj, base)
    }
}

/// CFFI's `convert_struct_from_object` in its sizing mode: the size `ffi.new`
/// must allocate for the record `tid` (which has a flexible array member)
/// so that the initializer `obj` fits; `size` starts at `sizeof` and only
/// grows. Initializers of the wrong shape are left for `write` to report.
///
/// # Safety
/// GIL held; `cx` alive; `tid` a type of its registry; `obj` a live object.
pub(crate) unsafe fn var_struct_size(
    cx: *mut Cx,
    tid: Tid,
    obj: *mut ffi::PyObject,
    size: &mut usize,
) -> PyResult<()> {
    // SAFETY: `cx` alive, `tid` a type of its registry, `obj` a live object,
    // GIL held (caller); items are got from the sequence (new references),
    // dict values borrowed while the dict is held by the caller.
    unsafe {
        let t = (*cx).reg.info(tid);
        let TKind::Record {
            fields: Some(fields),
            ..
        } = &t.kind
        else {
            return Ok(());
        };
        let mut vfield = |f: &FieldInfo, v: *mut ffi::PyObject| -> PyResult<()> {
            if f.bitsize >= 0 {
                return Ok(());
            }
            let ft = (*cx).reg.info(f.ty);
            let need = match ft.kind {
                TKind::Array { item, len: None } => {
                    let (n, _) = new_array_length(cx, item, v)?;
                    let isz = (*cx).reg.info(item).size;
                    n.checked_mul(isz).and_then(|b| b.checked_add(f.offset))
                }
                TKind::Record { .. } if ft.var_array && as_cdata(cx, v).is_none() => {
                    let mut sub = ft.size;
                    var_struct_size(cx, f.ty, v, &mut sub)?;
                    sub.checked_add(f.offset)
                }
                _ => return Ok(()),
            };
            let need = need
                .filter(|&b| b <= isize::MAX as usize)
                .ok_or_else(|| raise(ffi::PyExc_OverflowError, super::types::ARRAY_TOO_BIG))?;
            *size = (*size).max(need);
            Ok(())
        };
        if ffi::PyList_Check(obj) != 0 || ffi::PyTuple_Check(obj) != 0 {
            let usable = fields.iter().filter(|f| f.flags & 1 == 0);
            let n = ffi::PySequence_Size(obj).max(0) as usize;
            for (i, f) in usable.enumerate().take(n) {
                let v = Owned::check(ffi::PySequence_GetItem(obj, i as _))?;
                vfield(f, v.ptr())?;
            }
        } else if ffi::PyDict_Check(obj) != 0 {
            let mut pos: ffi::Py_ssize_t = 0;
            let (mut k, mut v) = (null_mut(), null_mut());
            while ffi::PyDict_Next(obj, &mut pos, &mut k, &mut v) != 0 {
                let key = str_text(k);
                ffi::PyErr_Clear();
                if let Some(f) = key.and_then(|key| fields.iter().find(|f| f.name == key)) {
                    vfield(f, v)?;
                }
            }
        }
        Ok(())
    }
}

/// Writes one field of the record at `base` (bitfields included).
///
/// # Safety
/// GIL held; `cx` alive; `f` a field of one of its records, at `base`
/// (writable); `obj` a live object.
pub(crate) unsafe fn write_field(
    cx: *mut Cx,
    f: &FieldInfo,
    obj: *mut ffi::PyObject,
    base: *mut u8,
) -> PyResult<()> {
    // SAFETY: `base` is a record holding field `f` (caller), so its bytes at
    // `f.offset` are writable for the field's size (a bitfield: its storage
    // unit, at most 8 bytes); `cx` alive, `obj` live, GIL held (caller).
    unsafe {
        if f.bitsize < 0 {
            return write(cx, f.ty, obj, base.add(f.offset));
        }
        let t = (*cx).reg.info(f.ty);
        let signed = matches!(t.prim(), Some(Prim::SInt(_)));
        let w = f.bitsize as u32;
        let o = Owned::check(ffi::PyNumber_Index(obj)).map_err(|_| {
            ffi::PyErr_Clear();
            raise(ffi::PyExc_TypeError, "an integer is required")
        })?;
        let mut of = 0;
        let v = ffi::PyLong_AsLongLongAndOverflow(o.ptr(), &mut of) as i128;
        if v == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        let (lo, hi): (i128, i128) = if signed {
            (-(1i128 << (w - 1)), (1i128 << (w - 1)) - 1)
        } else {
            (0, (1i128 << w) - 1)
        };
        if of != 0 || v < lo || v > hi {
            let s = crate::py::repr_text(o.ptr());
            return Err(raise(
                ffi::PyExc_OverflowError,
                &format!(
                    "value {s} outside the range allowed by the bit field width: {lo} <= x <= {hi}"
                ),
            ));
        }
        let size = t.size.clamp(1, 8);
        let p = base.add(f.offset);
        let mut raw = [0u8; 8];
        std::ptr::copy_nonoverlapping(p, raw.as_mut_ptr(), size);
        let mut word = u64::from_le_bytes(raw);
        let mask = if w >= 64 { u64::MAX } else { (1u64 << w) - 1 } << f.bitshift;
        word = (word & !mask) | (((v as u64) << f.bitshift) & mask);
        std::ptr::copy_nonoverlapping(word.to_le_bytes().as_ptr(), p, size);
        Ok(())
    }
}

/// Reads one field of the record at `base`; records and arrays are views
/// keeping `keep` alive.
///
/// # Safety
/// GIL held; `cx` alive; `f` a field of one of its records, at `base`
/// (readable); `keep` NULL or a live object.
pub(crate) unsafe fn read_field(
    cx: *mut Cx,
    f: &FieldInfo,
    base: *mut u8,
    keep: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: `base` is a record holding field `f` (caller), readable at
    // `f.offset` for the field's size (a bitfield: its storage unit, at most
    // 8 bytes); `cx` alive, `keep` NULL or live, GIL held (caller).
    unsafe {
        if f.bitsize < 0 {
            return read(cx, f.ty, base.add(f.offset), Read::View(keep));
        }
        let t = (*cx).reg.info(f.ty);
        let size = t.size.clamp(1, 8);
        let mut raw = [0u8; 8];
        std::ptr::copy_nonoverlapping(base.add(f.offset), raw.as_mut_ptr(), size);
        let word = u64::from_le_bytes(raw);
        let w = f.bitsize as u32;
        let v = (word >> f.bitshift) & if w >= 64 { u64::MAX } else { (1u64 << w) - 1 };
        match t.prim() {
            Some(Prim::SInt(_)) => {
                let shift = 64 - w;
                ffi::PyLong_FromLongLong(((v << shift) as i64) >> shift)
            }
            // A `_Bool` bitfield reads as the int 0/1 in CFFI (a plain `_Bool`
            // field is a bool).
            _ => ffi::PyLong_FromUnsignedLongLong(v),
        }
    }
}
