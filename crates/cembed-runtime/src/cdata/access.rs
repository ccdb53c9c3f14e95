//! What a CData gives access to: items and slices, struct fields, calls of
//! function pointers, and its methods (`__enter__`/`__exit__`, `__dir__`).

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::conv::{self, as_cdata, read, read_field, write, write_field, Read};
use crate::cdata::convert::prim_to_py;
use crate::cdata::fieldcache::cacheable as fieldcache_ok;
use crate::cdata::object::{array_bytes, cd, new_cdata, release, tinfo, CDataObj, Own};
use crate::cdata::types::{FieldInfo, TInfo, TKind, Tid};
use crate::cdata::Cx;
use crate::desc::ctypes::Prim;
use crate::py::cell::SyncCell;
use crate::py::guard::{guard, trampoline};
use crate::py::{cstring_lossy, raise, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_int, c_void};
use std::ptr::null_mut;

pub(crate) unsafe extern "C" fn cdata_len(slf: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    // SAFETY: CPython calls mp_length with the GIL held on a live CData.
    guard(-1, || unsafe {
        let c = cd(slf);
        let t = tinfo(c);
        match t.kind {
            TKind::Array { .. } => Ok(c.length.get().max(0)),
            _ => Err(raise(
                ffi::PyExc_TypeError,
                &format!("cdata of type '{}' has no len()", t.name),
            )),
        }
    })
}

/// Address of item `i` (bounds-checked for arrays), with the item type.
unsafe fn item_ptr(c: &CDataObj, i: isize) -> PyResult<(Tid, *mut u8)> {
    // SAFETY: `c` is a live CData (caller; its module keeps `c.cx` alive) and
    // the GIL is held (caller); `item` is a type of its registry. The address
    // is computed with `wrapping_offset`: it is only formed here, the bounds
    // checked above for arrays. The reference from `own()` is used only in
    // the `matches!`, which runs no code.
    unsafe {
        let t = tinfo(c);
        let item = match t.kind {
            TKind::Array { item, .. } => {
                if i < 0 {
                    return Err(raise(ffi::PyExc_IndexError, "negative index"));
                }
                if i >= c.length.get() {
                    return Err(raise(
                        ffi::PyExc_IndexError,
                        &format!(
                            "index too large for cdata '{}' (expected {i} < {})",
                            t.name,
                            c.length.get()
                        ),
                    ));
                }
                item
            }
            // A pointer that owns its memory (`ffi.new("T *")`, a handle)
            // points to exactly one item (CFFI's CDataOwn_Check).
            TKind::Pointer { .. }
                if i != 0 && matches!(c.own(), Own::Alloc { .. } | Own::Handle(_)) =>
            {
                return Err(raise(
                    ffi::PyExc_IndexError,
                    &format!("cdata '{}' can only be indexed by 0", t.name),
                ));
            }
            TKind::Pointer { item } => {
                if c.data.get().is_null() {
                    return Err(raise(
                        ffi::PyExc_RuntimeError,
                        &format!("cannot dereference null pointer from cdata '{}'", t.name),
                    ));
                }
                item
            }
            _ => {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("cdata of type '{}' cannot be indexed", t.name),
                ))
            }
        };
        let it = (*c.cx).reg.info(item);
        if it.size == 0 && !matches!(it.kind, TKind::Pointer { .. }) {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("cdata of type '{}' cannot be indexed", t.name),
            ));
        }
        Ok((item, c.data.get().wrapping_offset(i * it.size as isize)))
    }
}

/// `(start, stop)` of a slice on `c`, with CFFI's checks.
unsafe fn slice_bounds(c: &CDataObj, key: *mut ffi::PyObject) -> PyResult<(isize, isize)> {
    // SAFETY: GIL held, `c` a live CData and `key` a live slice object
    // (caller: PySlice_Check), whose start/stop/step are live objects.
    unsafe {
        let sl = key as *mut ffi::PySliceObject;
        let (start, stop, step) = ((*sl).start, (*sl).stop, (*sl).step);
        if step != ffi::Py_None() {
            return Err(raise(
                ffi::PyExc_IndexError,
                "slice with step not supported",
            ));
        }
        let t = tinfo(c);
        let is_array = matches!(t.kind, TKind::Array { .. });
        if !is_array && !matches!(t.kind, TKind::Pointer { .. }) {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("cdata of type '{}' cannot be indexed", t.name),
            ));
        }
        let get = |o: *mut ffi::PyObject, what: &str| -> PyResult<isize> {
            if o == ffi::Py_None() {
                return Err(raise(
                    ffi::PyExc_IndexError,
                    &format!("slice {what} must be specified"),
                ));
            }
            let v = ffi::PyNumber_AsSsize_t(o, ffi::PyExc_IndexError);
            if v == -1 && !ffi::PyErr_Occurred().is_null() {
                return Err(PyErrSet);
            }
            Ok(v)
        };
        let a = get(start, "start")?;
        let b = get(stop, "stop")?;
        if a > b {
            return Err(raise(ffi::PyExc_IndexError, "slice start > stop"));
        }
        if is_array {
            if a < 0 {
                return Err(raise(ffi::PyExc_IndexError, "negative index"));
            }
            if b > c.length.get() {
                return Err(raise(
                    ffi::PyExc_IndexError,
                    &format!("index too large (expected {b} <= {})", c.length.get()),
                ));
            }
        }
        Ok((a, b))
    }
}

pub(crate) unsafe fn index_of(key: *mut ffi::PyObject) -> PyResult<isize> {
    // SAFETY: GIL held and `key` a live object (caller).
    unsafe {
        let v = ffi::PyNumber_AsSsize_t(key, ffi::PyExc_IndexError);
        if v == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        Ok(v)
    }
}

pub(crate) unsafe extern "C" fn cdata_getitem(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls mp_subscript with the GIL held on a live CData
    // (whose module keeps `cx` alive) and a live key; a slice is checked by
    // `slice_bounds` and an index by `item_ptr` before memory is used, and
    // the slice's new cdata, ours alone, gets its length; views keep `slf`
    // alive (the new reference each takes).
    trampoline(|| unsafe {
        let c = cd(slf);
        let cx = c.cx;
        if ffi::PySlice_Check(key) != 0 {
            let (a, b) = slice_bounds(c, key)?;
            let item = match tinfo(c).kind {
                TKind::Array { item, .. } | TKind::Pointer { item } => item,
                _ => unreachable!("checked by slice_bounds"),
            };
            let open = (*cx).reg.array_of(item, None);
            let isz = (*cx).reg.info(item).size as isize;
            ffi::Py_INCREF(slf);
            let o = new_cdata(
                cx,
                open,
                c.data.get().wrapping_offset(a * isz),
                Own::Keep(slf),
            )?;
            (*(o.ptr() as *const CDataObj)).length.set(b - a);
            return Ok(o.into_ptr());
        }
        let i = index_of(key)?;
        let (item, p) = item_ptr(c, i)?;
        Ok(read(cx, item, p, Read::View(slf)))
    })
}

/// Where a cdata pointed when an assignment into it began: its data
/// pointer and length.
#[derive(Clone, Copy, PartialEq)]
struct Target(*mut u8, isize);

impl Target {
    fn of(c: &CDataObj) -> Target {
        Target(c.data.get(), c.length.get())
    }
}

/// Stores into the `size` bytes at `dst`, inside the memory of `c`, what
/// `convert` writes into a copy of them. Converting can run Python code
/// (`__index__`, `__float__`, a generator giving a slice's items, an
/// initializer's fields), and that code can `ffi.release()` `c`: the object
/// a `from_buffer()` cdata points into may then free or move its memory,
/// and a store through the address taken before would write freed memory
/// (CFFI's does). So the bytes are copied in and out only while `c` still
/// points where it did when the assignment began (`before`); otherwise the
/// assignment raises and nothing is written.
///
/// # Safety
/// GIL held; `c` a live CData; `dst..dst + size` inside the memory `c`
/// pointed to at `before`.
unsafe fn store_converted(
    c: &CDataObj,
    before: Target,
    dst: *mut u8,
    size: usize,
    convert: impl FnOnce(*mut u8) -> PyResult<()>,
) -> PyResult<()> {
    let still = |c: &CDataObj| -> PyResult<()> {
        if c.released.get() || Target::of(c) != before {
            // SAFETY: GIL held (caller); PyExc_ValueError is initialised
            // before any code can call us; `c` is live.
            return Err(unsafe {
                raise(
                    ffi::PyExc_ValueError,
                    &format!(
                        "cdata '{}' was released while the value assigned to it was converted",
                        tinfo(c).name
                    ),
                )
            });
        }
        Ok(())
    };
    // 16-byte aligned, as any C value: `convert` writes values in place.
    // On the stack for an item or field up to 64 bytes (`p[i] = x` in a
    // loop pays no allocation), on the heap beyond.
    let mut small = [0u128; 4];
    let mut big = Vec::new();
    let tmp = if size <= std::mem::size_of_val(&small) {
        small.as_mut_ptr() as *mut u8
    } else {
        big.resize(size.div_ceil(16), 0u128);
        big.as_mut_ptr() as *mut u8
    };
    still(c)?;
    // SAFETY: `c` still points where it did (checked just above, no Python
    // code run since), so `dst..dst + size` is its memory (contract); `tmp`
    // holds at least `size` bytes and does not overlap it.
    unsafe { std::ptr::copy_nonoverlapping(dst, tmp, size) };
    convert(tmp)?;
    still(c)?;
    // SAFETY: as for the copy in, checked again after `convert` ran.
    unsafe { std::ptr::copy_nonoverlapping(tmp, dst, size) };
    Ok(())
}

pub(crate) unsafe extern "C" fn cdata_setitem(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: CPython calls mp_ass_subscript with the GIL held on a live
    // CData (whose module keeps `cx` alive), a live key and value (or NULL,
    // refused); a slice is checked by `slice_bounds` (an array's against its
    // length) and its source's length against the slice's before any copy
    // (`ptr::copy`: the memory may overlap), an index by `item_ptr`.
    guard(-1, || unsafe {
        let c = cd(slf);
        let cx = c.cx;
        let before = Target::of(c);
        if value.is_null() {
            return Err(raise(
                ffi::PyExc_TypeError,
                "'cdata' object does not support item deletion",
            ));
        }
        if ffi::PySlice_Check(key) != 0 {
            let (a, b) = slice_bounds(c, key)?;
            let item = match tinfo(c).kind {
                TKind::Array { item, .. } | TKind::Pointer { item } => item,
                _ => unreachable!("checked by slice_bounds"),
            };
            let isz = (*cx).reg.info(item).size;
            let n = (b - a) as usize;
            let base = c.data.get().wrapping_offset(a * isz as isize);
            // A cdata array of the same item type: memmove.
            if let Some(src) = as_cdata(cx, value) {
                if let TKind::Array { item: si, .. } = tinfo(src).kind {
                    if si == item {
                        if src.length.get() as usize != n {
                            return Err(raise(
                                ffi::PyExc_ValueError,
                                &format!("need a cdata of length {n}, got {}", src.length.get()),
                            ));
                        }
                        std::ptr::copy(src.data.get(), base, n * isz);
                        return Ok(0);
                    }
                }
            }
            // `buf[0:n] = b"..."` (or a bytearray) into chars: iterating
            // would give ints, which a char refuses; CFFI copies the bytes.
            if matches!((*cx).reg.info(item).kind, TKind::Prim(Prim::Char)) {
                let src = if ffi::PyBytes_Check(value) != 0 {
                    Some((
                        ffi::PyBytes_AsString(value) as *const u8,
                        ffi::PyBytes_Size(value),
                    ))
                } else if ffi::PyByteArray_Check(value) != 0 {
                    Some((
                        ffi::PyByteArray_AsString(value) as *const u8,
                        ffi::PyByteArray_Size(value),
                    ))
                } else {
                    None
                };
                if let Some((src, len)) = src {
                    if len as usize != n {
                        return Err(raise(
                            ffi::PyExc_ValueError,
                            &format!("need a string of length {n}, got {len}"),
                        ));
                    }
                    std::ptr::copy(src, base, n);
                    return Ok(0);
                }
            }
            let seq = Owned::check(ffi::PySequence_Fast(
                value,
                c"expected a sequence for slice assignment".as_ptr(),
            ))?;
            let k = ffi::PySequence_Size(seq.ptr()) as usize;
            if k != n {
                return Err(raise(
                    ffi::PyExc_ValueError,
                    &format!("need {n} values to unpack, got {k}"),
                ));
            }
            store_converted(c, before, base, n * isz, |tmp| {
                for i in 0..n {
                    let o = Owned::check(ffi::PySequence_GetItem(seq.ptr(), i as _))?;
                    write(cx, item, o.ptr(), tmp.add(i * isz))?;
                }
                Ok(())
            })?;
            return Ok(0);
        }
        let i = index_of(key)?;
        let before = Target::of(c);
        let (item, p) = item_ptr(c, i)?;
        let size = (*cx).reg.info(item).size;
        store_converted(c, before, p, size, |tmp| write(cx, item, value, tmp))?;
        Ok(0)
    })
}

pub(crate) unsafe extern "C" fn cdata_iter(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls tp_iter with the GIL held on a live CData; items
    // are read at indices below its length (`item_ptr` checks them), each a
    // new list item (PyList_SetItem steals it into the new list).
    trampoline(|| unsafe {
        let c = cd(slf);
        let t = tinfo(c);
        if !matches!(t.kind, TKind::Array { .. }) {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("cdata '{}' does not support iteration", t.name),
            ));
        }
        // A list of the items (views keep `slf` alive), iterated.
        let n = c.length.get().max(0);
        let list = Owned::check(ffi::PyList_New(n))?;
        for i in 0..n {
            let (item, p) = item_ptr(c, i)?;
            let o = Owned::check(read(c.cx, item, p, Read::View(slf)))?;
            ffi::PyList_SetItem(list.ptr(), i, o.into_ptr());
        }
        Ok(ffi::PyObject_GetIter(list.ptr()))
    })
}

// ---- fields --------------------------------------------------------------------

/// The record type and base address for field access on `c` (a struct or a
/// pointer to one).
unsafe fn record_of(c: &CDataObj) -> Option<(&TInfo, *mut u8, bool)> {
    // SAFETY: `c` is a live CData (caller), whose module keeps `c.cx` alive;
    // `item` is a type of its registry.
    unsafe {
        let t = tinfo(c);
        match t.kind {
            TKind::Record { .. } => Some((t, c.data.get(), false)),
            TKind::Pointer { item } => {
                let it = (*c.cx).reg.info(item);
                it.is_record().then_some((it, c.data.get(), true))
            }
            _ => None,
        }
    }
}

fn find_field<'a>(t: &'a TInfo, name: &str) -> Option<&'a FieldInfo> {
    match &t.kind {
        TKind::Record {
            fields: Some(fs), ..
        } => fs.iter().find(|f| f.name == name),
        _ => None,
    }
}

/// CFFI's `_cdata_var_byte_size`: for a struct with a flexible array member
/// (or a pointer to one) whose memory `ffi.new` allocated, the size really
/// allocated (the initializer decided it); `None` for anything else.
/// `p[0]` of an owning `T *` counts as owning, as in CFFI (where it is the
/// very object that owns the memory).
///
/// # Safety
/// GIL held; `c.cx` alive.
pub(crate) unsafe fn var_byte_size(c: &CDataObj) -> Option<usize> {
    // SAFETY: `c.cx` alive and the GIL held (caller); `item` is a type of its
    // registry; `k` is the live object `c` keeps, checked by `as_cdata`. No
    // Python code runs while the references from `own()` are used.
    unsafe {
        let t = tinfo(c);
        let rec = match t.kind {
            TKind::Pointer { item } => (*c.cx).reg.info(item),
            _ => t,
        };
        if !rec.var_array || !rec.is_record() {
            return None;
        }
        match c.own() {
            Own::Alloc { size, .. } => Some(*size),
            Own::Keep(k) if t.is_record() => {
                let parent = as_cdata(c.cx, *k)?;
                match *parent.own() {
                    Own::Alloc { size, ptr, .. }
                        if ptr == c.data.get()
                            && matches!(tinfo(parent).kind, TKind::Pointer { item } if item == c.tid) =>
                    {
                        Some(size)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// Reads a flexible array member `f` (`T items[]`) of the record `c` is (or
/// points to), as CFFI does: a `T[]` of the allocated length when the
/// memory came from `ffi.new` (see `var_byte_size`), else a `T *`.
unsafe fn read_var_array(
    c: &CDataObj,
    slf: *mut ffi::PyObject,
    f: &FieldInfo,
    item: Tid,
    base: *mut u8,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held, `c` the live CData `slf` whose record (at `base`)
    // holds field `f` (caller). The `T[]` view is given only the length the
    // allocation has room for (`var_byte_size`) and keeps `slf` alive (the new
    // reference); the new cdata is ours alone when its length is set.
    unsafe {
        let cx = c.cx;
        let data = base.wrapping_add(f.offset);
        match var_byte_size(c) {
            Some(size) if size >= f.offset => {
                let isz = (*cx).reg.info(item).size.max(1);
                ffi::Py_INCREF(slf);
                let o = new_cdata(cx, f.ty, data, Own::Keep(slf))?;
                (*(o.ptr() as *const CDataObj))
                    .length
                    .set(((size - f.offset) / isz) as isize);
                Ok(o.into_ptr())
            }
            _ => {
                let pt = (*cx).reg.pointer_to(item);
                new_cdata(cx, pt, data, Own::None).map(Owned::into_ptr)
            }
        }
    }
}

pub(crate) unsafe extern "C" fn cdata_getattro(
    slf: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls tp_getattro with the GIL held on a live CData and
    // a `str` name; a field is read at its offset in the record the cdata is
    // (or points to, NULL refused), whose memory `slf` (kept by a view)
    // keeps alive.
    trampoline(|| unsafe {
        let c = cd(slf);
        // A primitive field read before through this very name object
        // (fieldcache.rs): no type description, name text or field search.
        if let Some(s) = Cx::cached_field(c.cx, name, c.tid) {
            if !(s.via_ptr && c.data.get().is_null()) {
                let src = c.data.get().add(s.offset);
                // `int` and `double` fields inline (what `prim_to_py` makes of
                // them, without its dispatch); the others through it.
                return Ok(match s.prim {
                    Prim::SInt(4) => {
                        ffi::PyLong_FromLong((src as *const i32).read_unaligned() as _)
                    }
                    Prim::F64 => ffi::PyFloat_FromDouble((src as *const f64).read_unaligned()),
                    p => prim_to_py(p, "", src as *const c_void),
                });
            }
        }
        if let Some((rt, base, via_ptr)) = record_of(c) {
            let n = conv::str_ref(name).ok_or(PyErrSet)?;
            if let Some(f) = find_field(rt, n) {
                if via_ptr && base.is_null() {
                    return Err(raise(
                        ffi::PyExc_RuntimeError,
                        &format!(
                            "cannot dereference null pointer from cdata '{}'",
                            tinfo(c).name
                        ),
                    ));
                }
                // `T x[]` and `T x[0]` (CFFI's BS_EMPTY_ARRAY) both read as
                // the memory that follows: a `T *` (or a sized `T[]`).
                if let TKind::Array {
                    item,
                    len: None | Some(0),
                } = (*c.cx).reg.info(f.ty).kind
                {
                    return read_var_array(c, slf, f, item, base);
                }
                if f.bitsize < 0 && ffi::PyUnicode_CheckExact(name) != 0 {
                    if let TKind::Prim(p) | TKind::Enum { prim: p, .. } =
                        (*c.cx).reg.info(f.ty).kind
                    {
                        if fieldcache_ok(p) {
                            Cx::remember_field(c.cx, name, c.tid, via_ptr, f.offset, p);
                        }
                    }
                }
                return Ok(read_field(c.cx, f, base, slf));
            }
            let r = ffi::PyObject_GenericGetAttr(slf, name);
            if r.is_null() && ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) != 0 {
                ffi::PyErr_Clear();
                let msg = if matches!(rt.kind, TKind::Record { fields: None, .. }) {
                    format!(
                        "cdata '{}' points to an opaque type: cannot read fields",
                        tinfo(c).name
                    )
                } else {
                    format!("cdata '{}' has no field '{n}'", tinfo(c).name)
                };
                return Err(raise(ffi::PyExc_AttributeError, &msg));
            }
            return Ok(r);
        }
        Ok(ffi::PyObject_GenericGetAttr(slf, name))
    })
}

pub(crate) unsafe extern "C" fn cdata_setattro(
    slf: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: CPython calls tp_setattro with the GIL held on a live CData, a
    // `str` name and a live value (or NULL, refused for fields); a field is
    // written at its offset in the record the cdata is (or points to, NULL
    // refused); a flexible array member only within the allocated size
    // (`var_byte_size`).
    guard(-1, || unsafe {
        let c = cd(slf);
        if let Some((rt, base, via_ptr)) = record_of(c) {
            let n = conv::str_ref(name).ok_or(PyErrSet)?;
            if let Some(f) = find_field(rt, n) {
                if value.is_null() {
                    return Err(raise(
                        ffi::PyExc_AttributeError,
                        "cannot delete struct field",
                    ));
                }
                if via_ptr && base.is_null() {
                    return Err(raise(
                        ffi::PyExc_RuntimeError,
                        &format!(
                            "cannot dereference null pointer from cdata '{}'",
                            tinfo(c).name
                        ),
                    ));
                }
                let before = Target::of(c);
                if let TKind::Array { item, len: None } = (*c.cx).reg.info(f.ty).kind {
                    if let Some(size) = var_byte_size(c) {
                        let isz = (*c.cx).reg.info(item).size.max(1);
                        let n = size.saturating_sub(f.offset) / isz;
                        let dst = base.add(f.offset);
                        store_converted(c, before, dst, n * isz, |tmp| {
                            conv::write_var_array(c.cx, f.ty, item, n, value, tmp)
                        })?;
                        return Ok(0);
                    }
                }
                // The record's bytes up to the field's end (a bitfield is
                // written within its storage unit at `f.offset`).
                let end = f.offset + (*c.cx).reg.info(f.ty).size;
                store_converted(c, before, base, end, |tmp| write_field(c.cx, f, value, tmp))?;
                return Ok(0);
            }
            return Err(raise(
                ffi::PyExc_AttributeError,
                &format!("cdata '{}' has no field '{n}'", tinfo(c).name),
            ));
        }
        if ffi::PyObject_GenericSetAttr(slf, name, value) < 0 {
            return Err(PyErrSet);
        }
        Ok(0)
    })
}

// ---- calls (function pointers) ------------------------------------------------------

/// Calling a function pointer: `"C-unwind"`, and the C call made outside
/// any `catch_unwind` (`cfunc::call_fnptr` guards the rest; unwind.rs).
pub(crate) unsafe extern "C-unwind" fn cdata_call(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let target = crate::py::guard::piece(|| -> PyResult<_> {
        // SAFETY: CPython calls tp_call with the GIL held on a live CData,
        // whose module keeps `cx` (and its library, `ls`) alive.
        unsafe {
            let c = cd(slf);
            let t = tinfo(c);
            let TKind::Func { table_fn, .. } = &t.kind else {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("cdata '{}' is not callable", t.name),
                ));
            };
            let Some(fty) = table_fn else {
                // NotImplementedError: CFFI's class for a call it cannot make.
                return Err(raise(
                    ffi::PyExc_NotImplementedError,
                    &format!(
                        "cembed: cannot call a function pointer of type '{}': this function type \
                     does not appear in the library's declarations, so no call thunk was \
                     generated for it (declare it in the cdef)",
                        t.name
                    ),
                ));
            };
            Ok((
                &*(*c.cx).ls,
                *fty,
                cstring_lossy(&t.name),
                c.data.get() as *mut c_void,
            ))
        }
    });
    match target {
        Some(Ok((ls, fty, name, fnptr))) => {
            // No destructor pending across the call (unwind.rs).
            let name = std::mem::ManuallyDrop::new(name);
            // SAFETY: GIL held (tp_call); `fnptr` is the cdata's value, a
            // function of type `fty` of `ls` (its C type's table function);
            // `args` and `kwargs` are CPython's (a tuple, a dict or NULL).
            let r = unsafe {
                (crate::cdata::hooks::hooks().call_fnptr)(ls, fty, &name, fnptr, args, kwargs)
            };
            drop(std::mem::ManuallyDrop::into_inner(name));
            r
        }
        Some(Err(_)) => std::ptr::null_mut(),
        // SAFETY: GIL held (tp_call).
        None => crate::py::guard::panicked(
            unsafe { crate::py::gil::Python::assume_gil_acquired() },
            std::ptr::null_mut(),
        ),
    }
}

/// Converts a function-call argument: like [`write`], plus CFFI's call-only
/// conveniences (`bytes` for `char *`, a list/tuple for `T *` as a
/// temporary array). Temporaries are pushed to `keep` and must live until
/// the call returns.
///
/// # Safety
/// GIL held; `dst` writable for the parameter type.
pub(crate) unsafe fn arg_from_py(
    cx: *mut Cx,
    tid: Tid,
    obj: *mut ffi::PyObject,
    dst: *mut u8,
    keep: &mut Vec<Owned>,
) -> PyResult<()> {
    // SAFETY: `cx` alive, `tid` a type of its registry, `obj` a live object,
    // `dst` writable for a `tid` (a pointer when it is one), GIL held
    // (caller). What a written pointer points to is kept alive in `keep` (the
    // bytes object, the temporary array owning its memory, sized for the
    // items written to it).
    unsafe {
        if let TKind::Pointer { item } = (*cx).reg.info(tid).kind {
            let it = (*cx).reg.info(item);
            let charish = matches!(
                it.kind,
                TKind::Prim(Prim::Char)
                    | TKind::Prim(Prim::SInt(1))
                    | TKind::Prim(Prim::UInt(1))
                    | TKind::Void
            );
            if charish && ffi::PyBytes_Check(obj) != 0 {
                keep.push(Owned::from_borrowed(obj));
                (dst as *mut *mut u8).write_unaligned(ffi::PyBytes_AsString(obj) as *mut u8);
                return Ok(());
            }
            if ffi::PyUnicode_Check(obj) != 0 {
                if let TKind::Prim(p @ (Prim::WChar16 | Prim::WChar32)) = it.kind {
                    let units = conv::wide_units(obj, p)?;
                    let arr = (*cx).reg.array_of(item, Some(units.len() + 1));
                    let tmp = new_cdata(
                        cx,
                        arr,
                        null_mut(),
                        Own::alloc(
                            array_bytes(
                                crate::py::gil::Python::assume_gil_acquired(),
                                units.len() + 1,
                                p.size(),
                            )?,
                            p.size(),
                        )?,
                    )?;
                    write(cx, arr, obj, (*(tmp.ptr() as *const CDataObj)).data.get())?;
                    (dst as *mut *mut u8)
                        .write_unaligned((*(tmp.ptr() as *const CDataObj)).data.get());
                    keep.push(tmp);
                    return Ok(());
                }
            }
            if (ffi::PyList_Check(obj) != 0 || ffi::PyTuple_Check(obj) != 0) && it.size > 0 {
                let n = ffi::PySequence_Size(obj) as usize;
                let arr = (*cx).reg.array_of(item, Some(n));
                let tmp = new_cdata(
                    cx,
                    arr,
                    null_mut(),
                    Own::alloc(
                        array_bytes(crate::py::gil::Python::assume_gil_acquired(), n, it.size)?,
                        it.align,
                    )?,
                )?;
                write(cx, arr, obj, (*(tmp.ptr() as *const CDataObj)).data.get())?;
                (dst as *mut *mut u8).write_unaligned((*(tmp.ptr() as *const CDataObj)).data.get());
                keep.push(tmp);
                return Ok(());
            }
        }
        write(cx, tid, obj, dst)
    }
}

// ---- methods -------------------------------------------------------------------------

unsafe extern "C" fn cdata_enter(
    slf: *mut ffi::PyObject,
    _a: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: a METH_NOARGS method: CPython calls it with the GIL held on a
    // live CData.
    trampoline(|| unsafe {
        super::object::check_releasable(cd(slf))?;
        Ok(crate::py::new_ref(slf))
    })
}

unsafe extern "C" fn cdata_exit(
    slf: *mut ffi::PyObject,
    _a: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: a METH_VARARGS method: CPython calls it with the GIL held on a
    // live CData.
    trampoline(|| unsafe {
        release(cd(slf))?;
        Ok(crate::py::new_ref(ffi::Py_None()))
    })
}

unsafe extern "C" fn cdata_dir(
    slf: *mut ffi::PyObject,
    _a: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: a METH_NOARGS method: CPython calls it with the GIL held on a
    // live CData; objects made are checked before use.
    trampoline(|| unsafe {
        let c = cd(slf);
        let list = Owned::check(ffi::PyList_New(0))?;
        if let Some((rt, _, _)) = record_of(c) {
            if let TKind::Record {
                fields: Some(fs), ..
            } = &rt.kind
            {
                for f in fs {
                    let s = cstring_lossy(&f.name);
                    let o = Owned::check(ffi::PyUnicode_FromString(s.as_ptr()))?;
                    ffi::PyList_Append(list.ptr(), o.ptr());
                }
            }
        }
        Ok(list.into_ptr())
    })
}

pub(crate) static CDATA_METHODS: SyncCell<[ffi::PyMethodDef; 5]> = SyncCell::new([
    crate::py::method(
        c"__complex__",
        crate::cdata::value::cdata_complex,
        ffi::METH_NOARGS,
    ),
    crate::py::method(c"__enter__", cdata_enter, ffi::METH_NOARGS),
    crate::py::method(c"__exit__", cdata_exit, ffi::METH_VARARGS),
    crate::py::method(c"__dir__", cdata_dir, ffi::METH_NOARGS),
    ffi::PyMethodDef::zeroed(),
]);
