//! `ffi.new`, `cast`, `typeof`, `sizeof`, `alignof`, `offsetof` and `addressof`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::conv::{as_cdata, write};
use crate::cdata::object::{new_cdata, set_length, CDataObj, Own};
use crate::cdata::types::{TKind, Tid};
use crate::cdata::Cx;
use crate::desc::ctypes::Prim;
use crate::objects::ffi::args::{cdata_arg, info, type_arg, CallArgs};
use crate::py;
use crate::py::{raise, str_text, type_name, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ptr::null_mut;

/// `ffi.new(cdecl, init=None)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_new(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `a` are the call's arguments, alive during it.
    unsafe {
        let a = args.parse(
            crate::py::gil::Python::assume_gil_acquired(),
            "new()",
            &["cdecl", "init"],
            1,
        )?;
        let tid = type_arg(cx, a[0], false)?;
        let init = a[1];
        new_value(cx, tid, init)
    }
}

/// `ffi.new(T, init)` for a type already resolved.
///
/// # Safety
/// GIL held; `cx` live, `tid` one of its types, `init` NULL or live.
unsafe fn new_value(
    cx: *mut Cx,
    tid: Tid,
    init: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract), passed on unchanged.
    unsafe { new_value_in(cx, tid, init, &Placement::Owned) }
}

/// `ffi.new(T, init)` with the memory from `place` (`ffi.new_allocator`).
///
/// # Safety
/// GIL held; `cx` live, `tid` one of its types, `init` NULL or live, the
/// objects of `place` live.
pub(crate) unsafe fn new_value_in(
    cx: *mut Cx,
    tid: Tid,
    init: *mut ffi::PyObject,
    place: &Placement,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held, `cx` live, `tid` one of its types and `init` NULL or
    // live (contract); `o` is the cdata just made over `size` bytes
    // (`place.make`), so writing its fields through its object pointer writes a
    // CDataObj we own, and `d..d.add(size)` is its own memory (one past the end
    // at most); `var_alloc` is put back before any error is returned.
    unsafe {
        let t = info(cx, tid);
        let has_init = !init.is_null() && init != ffi::Py_None();
        match t.kind {
            TKind::Pointer { item } => {
                let it = info(cx, item);
                if it.size == 0 {
                    return Err(raise(
                        ffi::PyExc_TypeError,
                        &format!("cannot instantiate ctype '{}' of unknown size", it.name),
                    ));
                }
                // A struct with a flexible array member is sized by its
                // initializer (CFFI's CT_WITH_VAR_ARRAY).
                let mut size = it.size;
                // CFFI allocates one more character for a `char *` / `wchar_t *`
                // (char16_t, char32_t): the pointer is then a NUL-terminated
                // string, and ffi.string() on it stays inside the allocation.
                if it.is_char_prim() {
                    size *= 2;
                }
                if has_init && it.var_array {
                    crate::cdata::conv::var_struct_size(cx, item, init, &mut size)?;
                }
                let (data, own) = place.make(cx, size, it.align)?;
                let o = new_cdata(cx, tid, data, own)?;
                if has_init {
                    let d = (*(o.ptr() as *const CDataObj)).data.get();
                    // Saved and restored: converting an item may run Python
                    // code that calls ffi.new() again.
                    let outer = std::mem::replace(&mut (*cx).var_alloc, (d, d.add(size)));
                    let r = write(cx, item, init, d);
                    (*cx).var_alloc = outer;
                    r?;
                }
                Ok(o.into_ptr())
            }
            TKind::Array { item, len } => {
                let it = info(cx, item);
                let (n, init_obj) = match len {
                    Some(n) => (n, if has_init { init } else { null_mut() }),
                    // CFFI's get_new_array_length: a length, or the length of
                    // a list/tuple/bytes/str initializer (with its terminator).
                    None => {
                        let init = if init.is_null() { ffi::Py_None() } else { init };
                        let (n, only_length) =
                            crate::cdata::conv::new_array_length(cx, item, init)?;
                        (n, if only_length { null_mut() } else { init })
                    }
                };
                let size = crate::cdata::object::array_bytes(
                    crate::py::gil::Python::assume_gil_acquired(),
                    n,
                    it.size,
                )?;
                let (data, own) = place.make(cx, size, it.align)?;
                let o = new_cdata(cx, tid, data, own)?;
                set_length(o.ptr(), n as isize);
                (*(o.ptr() as *const CDataObj)).set_alloc(Some(size), None);
                if !init_obj.is_null() {
                    let d = (*(o.ptr() as *const CDataObj)).data.get();
                    // Written as the type asked for (`int[]` in messages), with
                    // room for exactly `n` items.
                    crate::cdata::conv::write_var_array(cx, tid, item, n, init_obj, d)?;
                }
                Ok(o.into_ptr())
            }
            _ => Err(raise(
                ffi::PyExc_TypeError,
                &format!("expected a pointer or array ctype, got '{}'", t.name),
            )),
        }
    }
}

/// `ffi.cast(cdecl, value)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_cast(
    cx: *mut Cx,
    a: &[*mut ffi::PyObject],
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `a` are the call's arguments, alive during it.
    unsafe {
        if a.len() != 2 {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("cast() takes exactly 2 arguments ({} given)", a.len()),
            ));
        }
        let tid = type_arg(cx, a[0], false)?;
        cast(cx, tid, a[1])
    }
}

/// The integer value of a cast source (CFFI's `_my_PyLong_AsUnsignedLongLong`
/// with wraparound): ints, objects with `__index__`/`__int__`, floats
/// truncated, pointers as their address, 1-char bytes/str as their ordinal.
///
/// # Safety
/// GIL held; `cx` live; `src` live.
unsafe fn cast_source_bits(cx: *mut Cx, src: *mut ffi::PyObject) -> PyResult<u64> {
    // SAFETY: GIL held, `cx` live and `src` live (contract): `src`'s type
    // object and its `tp_as_number` table are readable while it lives; a bytes
    // object checked to be of size 1 has that one byte to read.
    unsafe {
        if let Some(cd) = as_cdata(cx, src) {
            let st = info(cx, cd.tid);
            match st.kind {
                TKind::Pointer { .. } | TKind::Func { .. } | TKind::Array { .. } => {
                    return Ok(cd.data.get() as usize as u64)
                }
                TKind::Prim(Prim::F32 | Prim::F64 | Prim::LongDouble) => {
                    let f = Owned::check(ffi::PyNumber_Float(src))?;
                    let v = ffi::PyFloat_AsDouble(f.ptr());
                    return Ok(float_to_bits(v));
                }
                TKind::Prim(_) | TKind::Enum { .. } => {
                    let i = Owned::check(ffi::PyNumber_Long(src))?;
                    return Ok(ffi::PyLong_AsUnsignedLongLongMask(i.ptr()));
                }
                _ => {
                    return Err(raise(
                        ffi::PyExc_TypeError,
                        &format!("cannot cast cdata '{}' to an integer", st.name),
                    ))
                }
            }
        }
        // A C function of `lib` (or an extern "Python" function) casts as its
        // address, as in CFFI (`try_extract_directfnptr`).
        if let Some((_, _, addr)) = crate::objects::libobj::as_lib_function(src)
            .or_else(|| crate::objects::libtype::extern_function_target(src))
        {
            return Ok(addr as usize as u64);
        }
        if ffi::PyBytes_Check(src) != 0 && ffi::PyBytes_Size(src) == 1 {
            return Ok(*(ffi::PyBytes_AsString(src) as *const u8) as u64);
        }
        if ffi::PyUnicode_Check(src) != 0 && ffi::PyUnicode_GetLength(src) == 1 {
            return Ok(ffi::PyUnicode_ReadChar(src, 0) as u64);
        }
        if ffi::PyFloat_Check(src) != 0 {
            return Ok(float_to_bits(ffi::PyFloat_AsDouble(src)));
        }
        let i = ffi::PyNumber_Index(src);
        let i = if i.is_null() {
            ffi::PyErr_Clear();
            let nb = (*ffi::Py_TYPE(src)).tp_as_number;
            if nb.is_null() || (*nb).nb_int.is_none() {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("an integer is required, got {}", type_name(src)),
                ));
            }
            Owned::check(ffi::PyNumber_Long(src))?
        } else {
            Owned::new(i).expect("non-null")
        };
        let v = ffi::PyLong_AsUnsignedLongLongMask(i.ptr());
        if v == u64::MAX && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        Ok(v)
    }
}

/// The value `ffi.cast("double _Complex", src)` gives (CFFI's `do_cast`
/// for a complex target): a primitive cdata's Python value, or `src`
/// itself; a 1-char bytes/str is its ordinal; anything else is what
/// `PyComplex_AsCComplex` makes of it.
///
/// # Safety
/// GIL held; `cx` live; `src` live.
unsafe fn cast_complex_source(
    cx: *mut Cx,
    src: *mut ffi::PyObject,
    target: &str,
) -> PyResult<(f64, f64)> {
    // SAFETY: GIL held, `cx` live and `src` live (contract); a primitive
    // cdata's `data` holds one value of its type (16 bytes for a long double);
    // a bytes object checked to be of size 1 has that one byte to read.
    unsafe {
        let io = match as_cdata(cx, src) {
            Some(cd) => {
                let st = info(cx, cd.tid);
                match st.kind {
                    TKind::Prim(Prim::LongDouble) => {
                        let v = crate::cdata::convert::x87_to_f64(
                            (cd.data.get() as *const [u8; 16]).read_unaligned(),
                        );
                        Owned::check(ffi::PyFloat_FromDouble(v))?
                    }
                    TKind::Prim(_) | TKind::Enum { .. } => Owned::check(crate::cdata::conv::read(
                        cx,
                        cd.tid,
                        cd.data.get(),
                        crate::cdata::conv::Read::Copy,
                    ))?,
                    _ => {
                        return Err(raise(
                            ffi::PyExc_TypeError,
                            &format!("cannot cast ctype '{}' to ctype '{}'", st.name, target),
                        ))
                    }
                }
            }
            None => Owned::from_borrowed(src),
        };
        let o = io.ptr();
        if ffi::PyBytes_Check(o) != 0 || ffi::PyUnicode_Check(o) != 0 {
            let one = if ffi::PyBytes_Check(o) != 0 {
                (ffi::PyBytes_Size(o) == 1).then(|| *(ffi::PyBytes_AsString(o) as *const u8) as f64)
            } else {
                (ffi::PyUnicode_GetLength(o) == 1).then(|| ffi::PyUnicode_ReadChar(o, 0) as f64)
            };
            return match one {
                Some(v) => Ok((v, 0.0)),
                None => Err(raise(
                    ffi::PyExc_TypeError,
                    &format!(
                        "cannot cast {} object to ctype '{}'",
                        type_name(src),
                        target
                    ),
                )),
            };
        }
        let v = ffi::PyComplex_AsCComplex(o);
        if !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        Ok((v.real, v.imag))
    }
}

fn float_to_bits(v: f64) -> u64 {
    if v < 0.0 {
        (v as i64) as u64
    } else {
        v as u64
    }
}

/// `ffi.cast(T, src)` for a type already resolved.
///
/// # Safety
/// GIL held; `cx` live, `tid` one of its types, `src` live.
pub(crate) unsafe fn cast(
    cx: *mut Cx,
    tid: Tid,
    src: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held, `cx` live, `tid` one of its types and `src` live
    // (contract); a pointer-like cast makes a cdata owning nothing (its address
    // is only a value); a primitive one writes at most 16 bytes into its fresh
    // 16-byte, 16-aligned memory (`Own::alloc(16, 16)`); a complex source
    // cdata's `data` holds its value; a bytes object checked to be of size 1
    // has that one byte.
    unsafe {
        let t = info(cx, tid);
        match &t.kind {
            TKind::Pointer { .. } | TKind::Func { .. } | TKind::Array { .. } => {
                let bits = cast_source_bits(cx, src)?;
                let o = new_cdata(cx, tid, bits as usize as *mut u8, Own::None)?;
                Ok(o.into_ptr())
            }
            TKind::Prim(p) | TKind::Enum { prim: p, .. } => {
                let p = *p;
                let o = new_cdata(cx, tid, null_mut(), Own::alloc(16, 16)?)?;
                let d = (*(o.ptr() as *const CDataObj)).data.get();
                match p {
                    Prim::C64 | Prim::C128 => {
                        let (re, im) = cast_complex_source(cx, src, &t.name)?;
                        crate::cdata::convert::write_complex(p, d as *mut _, re, im);
                    }
                    Prim::F32 | Prim::F64 | Prim::LongDouble => {
                        let v = if let Some(cd) = as_cdata(cx, src) {
                            match info(cx, cd.tid).kind {
                                TKind::Prim(Prim::F32 | Prim::F64 | Prim::LongDouble) => {
                                    let f = Owned::check(ffi::PyNumber_Float(src))?;
                                    ffi::PyFloat_AsDouble(f.ptr())
                                }
                                // A complex has no real value (CFFI: "must be
                                // real number, not complex").
                                TKind::Prim(cp @ (Prim::C64 | Prim::C128)) => {
                                    let (re, im) = crate::cdata::convert::read_complex(
                                        cp,
                                        cd.data.get() as *const _,
                                    );
                                    let v = Owned::check(ffi::PyComplex_FromDoubles(re, im))?;
                                    let f = ffi::PyFloat_AsDouble(v.ptr());
                                    if f == -1.0 && !ffi::PyErr_Occurred().is_null() {
                                        return Err(PyErrSet);
                                    }
                                    f
                                }
                                // CFFI casts the source's value: an integer, or
                                // the ordinal of a char (float() of such a cdata
                                // is refused, so go through int()).
                                TKind::Prim(_) | TKind::Enum { .. } => {
                                    let i = Owned::check(ffi::PyNumber_Long(src))?;
                                    let v = ffi::PyLong_AsDouble(i.ptr());
                                    if v == -1.0 && !ffi::PyErr_Occurred().is_null() {
                                        return Err(PyErrSet);
                                    }
                                    v
                                }
                                _ => {
                                    return Err(raise(
                                        ffi::PyExc_TypeError,
                                        &format!(
                                            "cannot cast cdata '{}' to '{}'",
                                            info(cx, cd.tid).name,
                                            t.name
                                        ),
                                    ))
                                }
                            }
                        } else if ffi::PyBytes_Check(src) != 0 && ffi::PyBytes_Size(src) == 1 {
                            *(ffi::PyBytes_AsString(src) as *const u8) as f64
                        } else {
                            let v = ffi::PyFloat_AsDouble(src);
                            if v == -1.0 && !ffi::PyErr_Occurred().is_null() {
                                return Err(PyErrSet);
                            }
                            v
                        };
                        match p {
                            Prim::F32 => (d as *mut f32).write_unaligned(v as f32),
                            Prim::F64 => (d as *mut f64).write_unaligned(v),
                            _ => (d as *mut [u8; 16])
                                .write_unaligned(crate::cdata::convert::f64_to_x87(v)),
                        }
                    }
                    Prim::Bool if ffi::PyFloat_Check(src) != 0 => {
                        *d = (ffi::PyFloat_AsDouble(src) != 0.0) as u8;
                    }
                    Prim::Bool => {
                        let bits = cast_source_bits(cx, src)?;
                        *d = (bits != 0) as u8;
                    }
                    _ => {
                        let bits = cast_source_bits(cx, src)?;
                        let b = bits.to_le_bytes();
                        std::ptr::copy_nonoverlapping(b.as_ptr(), d, p.size().min(8));
                    }
                }
                Ok(o.into_ptr())
            }
            _ => Err(raise(
                ffi::PyExc_TypeError,
                &format!("cannot cast to ctype '{}'", t.name),
            )),
        }
    }
}

/// `ffi.typeof(cdecl_or_cdata)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_typeof(
    cx: *mut Cx,
    cdecl: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `cdecl` is the call's argument, alive during it.
    unsafe {
        let tid = type_arg(cx, cdecl, true)?;
        Cx::ctype(cx, tid)
    }
}

/// The size `ffi.sizeof` gives for a cdata or a type.
///
/// # Safety
/// GIL held; `cx` live; `obj` live.
unsafe fn size_of_arg(cx: *mut Cx, obj: *mut ffi::PyObject) -> PyResult<usize> {
    // SAFETY: GIL held, `cx` live and `obj` live (contract); a cdata found by
    // `as_cdata` is alive while `obj` is.
    unsafe {
        if let Some(cd) = as_cdata(cx, obj) {
            let t = info(cx, cd.tid);
            if let TKind::Array { item, .. } = t.kind {
                return Ok(cd.length.get().max(0) as usize * info(cx, item).size);
            }
            if t.is_record() {
                if let Some(n) = crate::cdata::access::var_byte_size(cd) {
                    return Ok(n);
                }
            }
            return Ok(t.size);
        }
        let tid = type_arg(cx, obj, false)?;
        let t = info(cx, tid);
        if t.size == 0 && !matches!(t.kind, TKind::Array { len: Some(0), .. }) {
            return Err(Cx::raise_error(
                cx,
                &format!("don't know the size of ctype '{}'", t.name),
            ));
        }
        Ok(t.size)
    }
}

/// `ffi.sizeof(cdecl_or_cdata)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_sizeof(
    cx: *mut Cx,
    cdecl: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `cdecl` is the call's argument, alive during it.
    unsafe { Ok(ffi::PyLong_FromSize_t(size_of_arg(cx, cdecl)?)) }
}

/// `ffi.alignof(cdecl)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_alignof(
    cx: *mut Cx,
    cdecl: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `cdecl` is the call's argument, alive during it.
    unsafe {
        let tid = type_arg(cx, cdecl, true)?;
        let t = info(cx, tid);
        if t.align == 0 || (t.size == 0 && !matches!(t.kind, TKind::Array { .. })) {
            return Err(raise(
                ffi::PyExc_ValueError,
                &format!("ctype '{}' is of unknown alignment", t.name),
            ));
        }
        Ok(ffi::PyLong_FromSize_t(t.align))
    }
}

/// CFFI's `_ffi_type_offsetof` chain: `(final type, offset)` of
/// `base.f1.f2[3]...`; a pointer base accepts an index or a field first.
///
/// # Safety
/// GIL held; `cx` live, `tid` one of its types, `fields` live.
unsafe fn offset_chain(
    cx: *mut Cx,
    mut tid: Tid,
    fields: &[*mut ffi::PyObject],
) -> PyResult<(Tid, usize)> {
    // SAFETY: GIL held, `cx` live, `tid` one of its types and `fields` live
    // objects (contract): only the registry is read and the objects examined.
    unsafe {
        // CFFI's `direct_typeoffsetof`, step by step (messages included): a
        // field name applies to a struct/union (or, first in the chain, to a
        // pointer to one); an index to an array or pointer of sized items, with
        // no bounds check (as in C's offsetof).
        let mut off: isize = 0;
        for (k, &f) in fields.iter().enumerate() {
            let mut t = info(cx, tid);
            if ffi::PyUnicode_Check(f) != 0 {
                if let (TKind::Pointer { item }, 0) = (&t.kind, k) {
                    t = info(cx, *item);
                }
                let TKind::Record { fields: fs, .. } = &t.kind else {
                    return Err(raise(
                        ffi::PyExc_TypeError,
                        "with a field name argument, expected a struct or union ctype",
                    ));
                };
                let Some(fs) = fs else {
                    return Err(raise(ffi::PyExc_TypeError, "struct/union is opaque"));
                };
                let name = str_text(f).ok_or(PyErrSet)?;
                let Some(fi) = fs.iter().find(|x| x.name == name) else {
                    ffi::PyErr_SetObject(ffi::PyExc_KeyError, f);
                    return Err(PyErrSet);
                };
                if fi.bitsize >= 0 {
                    return Err(raise(ffi::PyExc_TypeError, "not supported for bitfields"));
                }
                off = off.wrapping_add(fi.offset as isize);
                tid = fi.ty;
            } else {
                let i = ffi::PyLong_AsSsize_t(f);
                if i == -1 && !ffi::PyErr_Occurred().is_null() {
                    ffi::PyErr_Clear();
                    return Err(raise(
                        ffi::PyExc_TypeError,
                        "field name or array index expected",
                    ));
                }
                let item = match t.kind {
                    TKind::Array { item, .. } | TKind::Pointer { item } if info(cx, item).size > 0 => {
                        item
                    }
                    _ => return Err(raise(
                        ffi::PyExc_TypeError,
                        "with an integer argument, expected an array ctype or a pointer to non-opaque",
                    )),
                };
                let delta = i.checked_mul(info(cx, item).size as isize).ok_or_else(|| {
                    raise(
                        ffi::PyExc_OverflowError,
                        "array offset would overflow a Py_ssize_t",
                    )
                })?;
                off = off.wrapping_add(delta);
                tid = item;
            }
        }
        Ok((tid, off as usize))
    }
}

/// `ffi.offsetof(cdecl, *fields_or_indexes)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_offsetof(
    cx: *mut Cx,
    a: &[*mut ffi::PyObject],
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `a` are the call's arguments, alive during it.
    unsafe {
        let [cdecl, rest @ ..] = a else {
            return Err(raise(
                ffi::PyExc_TypeError,
                "offsetof() expects at least 2 arguments",
            ));
        };
        if rest.is_empty() {
            return Err(raise(
                ffi::PyExc_TypeError,
                "offsetof() expects at least 2 arguments",
            ));
        }
        let tid = type_arg(cx, *cdecl, false)?;
        let (_, off) = offset_chain(cx, tid, rest)?;
        Ok(ffi::PyLong_FromSsize_t(off as isize))
    }
}

/// `ffi.addressof(cdata, *fields_or_indexes)` or `ffi.addressof(lib, name)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_addressof(
    cx: *mut Cx,
    args: &[*mut ffi::PyObject],
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `args` are the call's arguments, alive during it; `(*cx).ls`
    // is the module's library, which outlives it, and `ty` indexes its own type
    // table (`table_map` has one entry per type); the address is computed with
    // `wrapping_add` (no access), and the new pointer cdata keeps `a[0]` alive
    // with the reference taken just before (Own::Keep).
    unsafe {
        let [first, rest @ ..] = args else {
            return Err(raise(
                ffi::PyExc_TypeError,
                "addressof() expects at least 1 argument",
            ));
        };
        let a = [*first];
        if as_cdata(cx, a[0]).is_none() && rest.len() == 1 && ffi::PyUnicode_Check(rest[0]) != 0 {
            // ffi.addressof(lib, "name"): a global's address or a function.
            let ls = &*(*cx).ls;
            let name = str_text(rest[0]).ok_or(PyErrSet)?;
            let (what, ty, addr) = crate::objects::libobj::address_of(ls, &name)
                .map_err(|msg| raise(ffi::PyExc_AttributeError, &msg))?;
            if addr.is_null() && what == crate::objects::libobj::AddressOf::Global {
                // A global that is a macro whose expression gave NULL.
                return Err(Cx::raise_error(
                    cx,
                    &format!("global variable '{name}' is at address NULL"),
                ));
            }
            let tid = (&(*cx).reg.table_map)[ty as usize];
            let t = match what {
                crate::objects::libobj::AddressOf::Global => (*cx).reg.pointer_to(tid),
                crate::objects::libobj::AddressOf::Function => tid,
            };
            return Ok(new_cdata(cx, t, addr as *mut u8, Own::None)?.into_ptr());
        }
        let cd = cdata_arg(cx, a[0], "addressof")?;
        let t = info(cx, cd.tid);
        let aggregate = matches!(t.kind, TKind::Record { .. } | TKind::Array { .. });
        if rest.is_empty() && !aggregate {
            return Err(raise(
                ffi::PyExc_TypeError,
                "expected a cdata struct/union/array object",
            ));
        }
        if !aggregate && !matches!(t.kind, TKind::Pointer { .. }) {
            return Err(raise(
                ffi::PyExc_TypeError,
                "expected a cdata struct/union/array/pointer object",
            ));
        }
        let (ft, off) = offset_chain(cx, cd.tid, rest)?;
        let pt = (*cx).reg.pointer_to(ft);
        ffi::Py_INCREF(a[0]);
        let o = new_cdata(cx, pt, cd.data.get().wrapping_add(off), Own::Keep(a[0]))?;
        Ok(o.into_ptr())
    }
}

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
        // SAFETY: GIL held and the objects of `Custom` alive (contract), `cx`
        // live; the bytes object has `size + align` bytes, so its
        // `align`-aligned start plus `size` stays inside it, and the new cdata
        // keeps it; a custom `alloc()` result is a pointer cdata checked
        // non-NULL, which the user's allocator answers for holding `size` bytes
        // (as in CFFI) and which the new cdata keeps alive.
        unsafe {
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
                    let data = cd.data.get();
                    if data.is_null() {
                        return Err(raise(ffi::PyExc_MemoryError, "alloc() returned NULL"));
                    }
                    if *clear {
                        std::ptr::write_bytes(data, 0, size);
                    }
                    // A gc cdata with or without a destructor, as CFFI's
                    // (`with` and `ffi.release` accept either).
                    let own = Own::Gc {
                        orig: raw.into_ptr(),
                        destructor: if *free == ffi::Py_None() {
                            null_mut()
                        } else {
                            py::new_ref(*free)
                        },
                    };
                    Ok((data, own))
                }
            }
        }
    }
}
