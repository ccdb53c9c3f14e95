//! The CData, CType, CField and buffer heap types and their behaviour
//! (CFFI's `cdata_*`, `ctypedescr_*`, `cfield_*` and `mb_*` slots).
//!
//! A CData is a C address plus a type: for pointers and function pointers
//! `data` is the pointer value; for everything else it is the address of
//! the value (primitives made by `ffi.cast` own a small buffer). What the
//! object owns (memory, a kept-alive object, a destructor) is [`Own`].

use super::conv::{self, as_cdata, read, read_field, write, write_field, Read};
use super::types::{FieldInfo, TInfo, TKind, Tid};
use super::Cx;
use crate::ctypes::Prim;
use crate::module::{trampoline, SyncCell};
use crate::py::{cstring_lossy, guard, raise, repr_text, type_name, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_int, c_void, CStr};
use std::ptr::null_mut;

/// What a CData owns.
pub(crate) enum Own {
    /// Nothing: a pointer value or a view of memory owned elsewhere.
    None,
    /// Memory from `ffi.new` (or a copy of a by-value struct), zeroed,
    /// freed with the object. `shown`: repr says "owning N bytes".
    Alloc {
        ptr: *mut u8,
        size: usize,
        align: usize,
        shown: bool,
    },
    /// A view keeping its owner alive.
    Keep(*mut ffi::PyObject),
    /// `ffi.gc(orig, destructor)`: calls destructor(orig) once.
    Gc {
        orig: *mut ffi::PyObject,
        destructor: *mut ffi::PyObject,
    },
    /// `ffi.new_handle(obj)`.
    Handle(*mut ffi::PyObject),
    /// `ffi.from_buffer(obj)`: the buffer is released with the object.
    Buffer(Box<ffi::Py_buffer>),
}

impl Own {
    /// Zeroed memory of `size` bytes (at least 1, so the address is unique).
    /// MemoryError when the allocator refuses, or when no allocation can
    /// have that size (above isize::MAX): Python code asking for too much
    /// gets an exception, the host process goes on.
    ///
    /// # Safety
    /// GIL held (the error is set on failure).
    pub(crate) unsafe fn alloc(size: usize, align: usize) -> PyResult<Own> {
        let align = align.clamp(1, 64).next_power_of_two();
        let Ok(layout) = std::alloc::Layout::from_size_align(size.max(1), align.max(16)) else {
            ffi::PyErr_NoMemory();
            return Err(PyErrSet);
        };
        // SAFETY: non-zero size layout.
        let ptr = std::alloc::alloc_zeroed(layout);
        if ptr.is_null() {
            ffi::PyErr_NoMemory();
            return Err(PyErrSet);
        }
        Ok(Own::Alloc {
            ptr,
            size,
            align,
            shown: true,
        })
    }
}

/// The byte size of `n` items of `item_size` bytes, or CFFI's
/// OverflowError when it exceeds what a `Py_ssize_t` holds.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn array_bytes(n: usize, item_size: usize) -> PyResult<usize> {
    match n.checked_mul(item_size) {
        Some(s) if s <= isize::MAX as usize => Ok(s),
        _ => Err(raise(ffi::PyExc_OverflowError, super::types::ARRAY_TOO_BIG)),
    }
}

#[repr(C)]
pub(crate) struct CDataObj {
    ob_base: ffi::PyObject,
    pub(crate) cx: *mut Cx,
    /// Strong reference to the CType object (keeps the module alive).
    ctype: *mut ffi::PyObject,
    pub(crate) tid: Tid,
    pub(crate) data: *mut u8,
    /// Number of items of an open array (`int[]`), else -1.
    pub(crate) length: isize,
    pub(crate) own: Own,
    /// Set by `ffi.release` / `__exit__`.
    released: bool,
}

#[repr(C)]
pub(crate) struct CTypeObj {
    ob_base: ffi::PyObject,
    pub(crate) cx: *mut Cx,
    pub(crate) tid: Tid,
    /// Weak references to this ctype (`weakref.ref(ffi.typeof(...))`, as
    /// with CFFI); CPython manages the list through `__weaklistoffset__`.
    weakrefs: *mut ffi::PyObject,
}

/// `__weaklistoffset__` of the CType type (the one member: how heap types
/// made from a spec declare weak-reference support on 3.9-3.13).
static CTYPE_MEMBERS: SyncCell<[ffi::PyMemberDef; 2]> = SyncCell::new([
    ffi::PyMemberDef {
        name: c"__weaklistoffset__".as_ptr(),
        type_code: ffi::structmember::T_PYSSIZET,
        offset: std::mem::offset_of!(CTypeObj, weakrefs) as ffi::Py_ssize_t,
        flags: ffi::structmember::READONLY,
        doc: null_mut(),
    },
    ffi::PyMemberDef {
        name: null_mut(),
        type_code: 0,
        offset: 0,
        flags: 0,
        doc: null_mut(),
    },
]);

unsafe extern "C" fn ctype_dealloc(slf: *mut ffi::PyObject) {
    ffi::PyObject_GC_UnTrack(slf as *mut c_void);
    if !(*(slf as *mut CTypeObj)).weakrefs.is_null() {
        ffi::PyObject_ClearWeakRefs(slf);
    }
    free_instance(slf);
}

#[repr(C)]
struct FieldObj {
    ob_base: ffi::PyObject,
    cx: *mut Cx,
    rec: Tid,
    index: usize,
}

#[repr(C)]
pub(crate) struct BufferObj {
    ob_base: ffi::PyObject,
    pub(crate) data: *mut u8,
    pub(crate) size: usize,
    /// The cdata whose memory this is (strong).
    keep: *mut ffi::PyObject,
}

#[derive(Clone, Copy)]
pub(crate) enum TypeKindObj {
    CType,
    CData,
    Field,
    Buffer,
}

fn slot(slot: c_int, pfunc: *mut c_void) -> ffi::PyType_Slot {
    ffi::PyType_Slot { slot, pfunc }
}

/// Creates one of the heap types, bound to `module`.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn make_type(
    module: *mut ffi::PyObject,
    which: TypeKindObj,
) -> PyResult<*mut ffi::PyObject> {
    let (name, size, mut slots): (&'static CStr, usize, Vec<ffi::PyType_Slot>) = match which {
        TypeKindObj::CData => (
            c"_cembed.CData",
            std::mem::size_of::<CDataObj>(),
            vec![
                slot(ffi::Py_tp_dealloc, cdata_dealloc as *mut c_void),
                slot(ffi::Py_tp_new, no_new as *mut c_void),
                slot(ffi::Py_tp_traverse, cdata_traverse as *mut c_void),
                slot(ffi::Py_tp_repr, cdata_repr as *mut c_void),
                slot(ffi::Py_tp_hash, cdata_hash as *mut c_void),
                slot(ffi::Py_tp_richcompare, cdata_richcompare as *mut c_void),
                slot(ffi::Py_tp_getattro, cdata_getattro as *mut c_void),
                slot(ffi::Py_tp_setattro, cdata_setattro as *mut c_void),
                slot(ffi::Py_tp_iter, cdata_iter as *mut c_void),
                slot(ffi::Py_tp_call, cdata_call as *mut c_void),
                slot(ffi::Py_tp_methods, CDATA_METHODS.get() as *mut c_void),
                slot(ffi::Py_nb_bool, cdata_bool as *mut c_void),
                slot(ffi::Py_nb_int, cdata_int as *mut c_void),
                slot(ffi::Py_nb_float, cdata_float as *mut c_void),
                slot(ffi::Py_nb_add, cdata_add as *mut c_void),
                slot(ffi::Py_nb_subtract, cdata_sub as *mut c_void),
                slot(ffi::Py_mp_length, cdata_len as *mut c_void),
                slot(ffi::Py_mp_subscript, cdata_getitem as *mut c_void),
                slot(ffi::Py_mp_ass_subscript, cdata_setitem as *mut c_void),
            ],
        ),
        TypeKindObj::CType => (
            c"_cembed.CType",
            std::mem::size_of::<CTypeObj>(),
            vec![
                slot(ffi::Py_tp_dealloc, ctype_dealloc as *mut c_void),
                slot(ffi::Py_tp_new, no_new as *mut c_void),
                slot(ffi::Py_tp_traverse, plain_traverse as *mut c_void),
                slot(ffi::Py_tp_members, CTYPE_MEMBERS.get() as *mut c_void),
                slot(ffi::Py_tp_repr, ctype_repr as *mut c_void),
                slot(ffi::Py_tp_getset, CTYPE_GETSET.get() as *mut c_void),
                slot(ffi::Py_tp_methods, CTYPE_METHODS.get() as *mut c_void),
            ],
        ),
        TypeKindObj::Field => (
            c"_cembed.CField",
            std::mem::size_of::<FieldObj>(),
            vec![
                slot(ffi::Py_tp_dealloc, plain_dealloc as *mut c_void),
                slot(ffi::Py_tp_new, no_new as *mut c_void),
                slot(ffi::Py_tp_traverse, plain_traverse as *mut c_void),
                slot(ffi::Py_tp_getset, FIELD_GETSET.get() as *mut c_void),
            ],
        ),
        TypeKindObj::Buffer => (
            c"_cembed.buffer",
            std::mem::size_of::<BufferObj>(),
            vec![
                slot(ffi::Py_tp_dealloc, buffer_dealloc as *mut c_void),
                slot(
                    ffi::Py_tp_new,
                    crate::toolbox::ffi_buffer_new as *mut c_void,
                ),
                slot(ffi::Py_tp_traverse, buffer_traverse as *mut c_void),
                slot(ffi::Py_mp_length, buffer_len as *mut c_void),
                slot(ffi::Py_sq_length, buffer_len as *mut c_void),
                slot(ffi::Py_mp_subscript, buffer_getitem as *mut c_void),
                slot(ffi::Py_mp_ass_subscript, buffer_setitem as *mut c_void),
                slot(ffi::Py_tp_methods, BUFFER_METHODS.get() as *mut c_void),
                #[cfg(Py_3_9)]
                slot(ffi::Py_bf_getbuffer, buffer_getbuffer as *mut c_void),
            ],
        ),
    };
    slots.push(slot(0, null_mut()));
    let mut spec = ffi::PyType_Spec {
        name: name.as_ptr(),
        basicsize: size as c_int,
        itemsize: 0,
        flags: (ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_HAVE_GC) as _,
        slots: slots.as_mut_ptr(),
    };
    let t = ffi::PyType_FromModuleAndSpec(module, &mut spec, null_mut());
    Owned::check(t).map(Owned::into_ptr)
}

/// `tp_new` of the types only the runtime instantiates. Without it they
/// would inherit `object.__new__`, and `ffi.CData()` would make an
/// instance with none of its fields set, which every use dereferences.
/// CFFI's TypeError and message.
unsafe extern "C" fn no_new(
    tp: *mut ffi::PyTypeObject,
    _args: *mut ffi::PyObject,
    _kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython passes the type being instantiated, whose tp_name is
    // a NUL-terminated string that lives as long as the type.
    let name = CStr::from_ptr((*tp).tp_name).to_string_lossy();
    raise(
        ffi::PyExc_TypeError,
        &format!("cannot create '{name}' instances"),
    );
    null_mut()
}

unsafe extern "C" fn plain_dealloc(slf: *mut ffi::PyObject) {
    ffi::PyObject_GC_UnTrack(slf as *mut c_void);
    free_instance(slf);
}

/// The end of every dealloc here: frees the object and drops the reference
/// each instance of a heap type holds to its type.
///
/// # Safety
/// GIL held; `slf` untracked, with nothing left to release.
unsafe fn free_instance(slf: *mut ffi::PyObject) {
    let tp = ffi::Py_TYPE(slf);
    if let Some(free) = (*tp).tp_free {
        free(slf as *mut c_void);
    }
    ffi::Py_DECREF(tp as *mut ffi::PyObject);
}

/// Drops the strong reference in `slot` (if any) and clears it.
///
/// # Safety
/// GIL held; `slot` NULL or a strong reference.
unsafe fn drop_ref(slot: &mut *mut ffi::PyObject) {
    let o = std::mem::replace(slot, null_mut());
    if !o.is_null() {
        ffi::Py_DECREF(o);
    }
}

unsafe extern "C" fn plain_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    visit(ffi::Py_TYPE(slf) as *mut ffi::PyObject, arg)
}

// ---- construction ----------------------------------------------------------

/// A new CData of type `tid`. For `Own::Alloc`, `data` is ignored and the
/// allocation is used.
///
/// # Safety
/// GIL held; `cx` alive.
pub(crate) unsafe fn new_cdata(cx: *mut Cx, tid: Tid, data: *mut u8, own: Own) -> PyResult<Owned> {
    let ctype = match super::Cx::ctype(cx, tid) {
        Ok(c) => c,
        Err(e) => {
            drop_own(own);
            return Err(e);
        }
    };
    let tp = match Cx::heap_type(cx, TypeKindObj::CData) {
        Ok(tp) => tp,
        Err(e) => {
            ffi::Py_DECREF(ctype);
            drop_own(own);
            return Err(e);
        }
    };
    // Not `PyType_GenericAlloc`: it zeroes the object (every field is
    // written below) and always links it into the GC. A cdata that holds no
    // Python reference of its own (a pointer value, memory it owns) cannot
    // be part of a reference cycle: its only references are its type and
    // its CType, and neither refers to instances. Leaving it untracked saves
    // the GC link/unlink on every pointer passed to Python (the call path);
    // one that keeps an object alive (`Keep`, `Gc`, `Handle`, `Buffer`) is
    // tracked, so the GC can traverse it. `own` never goes from the first
    // group to the second after creation (`ffi.gc(p, None)` turns a `Gc`
    // into a `Keep`; `release` into `None`), and an untracked instance of a
    // GC type is valid (CPython untracks tuples and dicts the same way;
    // `PyObject_GC_UnTrack` in dealloc accepts it).
    let track = match own {
        Own::None | Own::Alloc { .. } => false,
        Own::Keep(_) | Own::Gc { .. } | Own::Handle(_) | Own::Buffer(_) => true,
    };
    // Also counts the allocation for the GC's generation 0 and takes a
    // reference to the heap type (`PyObject_Init`), as GenericAlloc does.
    let mut o = if track {
        null_mut()
    } else {
        Cx::take_free_cdata(cx, tp)
    };
    if o.is_null() {
        o = ffi::_PyObject_GC_New(tp);
    }
    if o.is_null() {
        ffi::Py_DECREF(ctype);
        drop_own(own);
        return Err(PyErrSet);
    }
    let data = match &own {
        Own::Alloc { ptr, .. } => *ptr,
        _ => data,
    };
    let t = (*cx).reg.info(tid);
    let length = match t.kind {
        TKind::Array { len: Some(n), .. } => n as isize,
        _ => -1,
    };
    std::ptr::write(
        o as *mut CDataObj,
        CDataObj {
            ob_base: std::ptr::read(o),
            cx,
            ctype,
            tid,
            data,
            length,
            own,
            released: false,
        },
    );
    if track {
        ffi::PyObject_GC_Track(o as *mut c_void);
    }
    Ok(Owned::new(o).expect("non-null"))
}

/// Frees what an `Own` holds.
///
/// # Safety
/// GIL held.
unsafe fn drop_own(own: Own) {
    match own {
        Own::None => {}
        Own::Alloc {
            ptr, size, align, ..
        } => {
            let layout = std::alloc::Layout::from_size_align(size.max(1), align.max(16))
                .expect("valid layout");
            std::alloc::dealloc(ptr, layout);
        }
        Own::Keep(o) | Own::Handle(o) => ffi::Py_DECREF(o),
        Own::Gc { orig, destructor } => {
            let r = ffi::PyObject_CallOneArg(destructor, orig);
            if r.is_null() {
                ffi::PyErr_WriteUnraisable(destructor);
            } else {
                ffi::Py_DECREF(r);
            }
            ffi::Py_DECREF(destructor);
            ffi::Py_DECREF(orig);
        }
        Own::Buffer(mut b) => ffi::PyBuffer_Release(&mut *b),
    }
}

/// Releases what the cdata owns now (`ffi.release`, `__exit__`).
///
/// # Safety
/// GIL held; `cd` a CData.
pub(crate) unsafe fn release(cd: *mut CDataObj) -> PyResult<()> {
    if (*cd).released {
        return Ok(());
    }
    match &(*cd).own {
        // As CFFI: memory from ffi.new() lives as long as the object. Views
        // of it (buffers, slices, fields, pointers taken from it, a
        // from_buffer() over it) hold no reference the release could
        // check, so freeing it here would leave them dangling.
        Own::Alloc { .. } => return Ok(()),
        Own::Gc { .. } | Own::Buffer(_) => {}
        Own::Handle(_) => {}
        Own::None | Own::Keep(_) => {
            return Err(raise(
                ffi::PyExc_ValueError,
                "ffi.release() or 'with' statement used on a cdata that does not own memory",
            ));
        }
    }
    if (*cd).released {
        return Ok(());
    }
    (*cd).released = true;
    if let Own::Gc { orig, destructor } = (*cd).own {
        // As CFFI: the destructor runs now, and the cdata keeps its value.
        // `orig` stays alive with it: a primitive's value lives in orig's
        // memory (with orig gone it would be read after free).
        (*cd).own = Own::Keep(orig);
        let r = ffi::PyObject_CallOneArg(destructor, orig);
        ffi::Py_DECREF(destructor);
        if r.is_null() {
            return Err(PyErrSet);
        }
        ffi::Py_DECREF(r);
        return Ok(());
    }
    if let Own::Buffer(b) = &(*cd).own {
        // The buffer is released (the object may be resized again), but
        // the object itself stays alive as long as this cdata: slices and
        // buffers made from it still point into its memory, which would
        // be freed with the last reference.
        let obj = b.obj;
        if !obj.is_null() {
            ffi::Py_INCREF(obj);
            let own = std::mem::replace(&mut (*cd).own, Own::Keep(obj));
            drop_own(own);
            (*cd).data = null_mut();
            (*cd).length = (*cd).length.min(0);
            return Ok(());
        }
    }
    let own = std::mem::replace(&mut (*cd).own, Own::None);
    let keep_data = matches!(own, Own::Handle(_));
    drop_own(own);
    if !keep_data {
        // The cdata's own accessors see a null pointer (refused) or an
        // empty array (every index out of range) from now on.
        (*cd).data = null_mut();
        if (*cd).length > 0 {
            (*cd).length = 0;
        }
    }
    Ok(())
}

unsafe extern "C" fn cdata_dealloc(slf: *mut ffi::PyObject) {
    ffi::PyObject_GC_UnTrack(slf as *mut c_void);
    let cd = slf as *mut CDataObj;
    if let Own::Handle(_) = (*cd).own {
        // The module (and its Cx) outlive every instance of its types.
        (*(*cd).cx).handles.remove(&(slf as usize));
    }
    let own = std::mem::replace(&mut (*cd).own, Own::None);
    // Untracked (never tracked, see new_cdata; or untracked above): its
    // memory may be reused (freelist.rs).
    let plain = matches!(own, Own::None | Own::Alloc { .. });
    // A destructor may run Python code: keep any exception it finds intact.
    drop_own(own);
    drop_ref(&mut (*cd).ctype);
    if plain && Cx::keep_free_cdata((*cd).cx, slf) {
        return;
    }
    free_instance(slf);
}

unsafe extern "C" fn cdata_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let cd = slf as *mut CDataObj;
    let mut objs = [null_mut(); 3];
    objs[0] = ffi::Py_TYPE(slf) as *mut ffi::PyObject;
    objs[1] = (*cd).ctype;
    match &(*cd).own {
        Own::Keep(o) | Own::Handle(o) => objs[2] = *o,
        Own::Gc { orig, .. } => objs[2] = *orig,
        _ => {}
    }
    for o in objs {
        if !o.is_null() {
            let r = visit(o, arg);
            if r != 0 {
                return r;
            }
        }
    }
    if let Own::Gc { destructor, .. } = &(*cd).own {
        return visit(*destructor, arg);
    }
    0
}

/// The CData behind `slf` (our own type, checked by CPython's dispatch).
unsafe fn cd<'a>(slf: *mut ffi::PyObject) -> &'a mut CDataObj {
    &mut *(slf as *mut CDataObj)
}

fn tinfo(cd: &CDataObj) -> &'static TInfo {
    // SAFETY: the cdata keeps its module (and the registry) alive.
    unsafe { (*cd.cx).reg.info(cd.tid) }
}

// ---- repr / hash / compare --------------------------------------------------

unsafe extern "C" fn cdata_repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    trampoline(|| {
        let c = cd(slf);
        let t = tinfo(c);
        let body = repr_body(c, t)?;
        let s = cstring_lossy(&format!("<cdata '{}{}", t.name, body));
        Ok(ffi::PyUnicode_FromString(s.as_ptr()))
    })
}

/// Everything after the type name in a cdata repr (from the closing quote).
unsafe fn repr_body(c: &CDataObj, t: &TInfo) -> PyResult<String> {
    match &c.own {
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
        Own::Handle(o) => return Ok(format!("' handle to {}>", repr_text(*o))),
        Own::Buffer(b) => {
            let src = if b.obj.is_null() {
                "?".to_string()
            } else {
                type_name(b.obj)
            };
            // Arrays show their length, pointers do not (CFFI).
            return Ok(match t.kind {
                TKind::Array { .. } => {
                    format!("' buffer len {} from '{src}' object>", c.length.max(0))
                }
                _ => format!("' buffer from '{src}' object>"),
            });
        }
        Own::Keep(k) if t.is_record() => {
            // `p[0]` of an owning `T *` from ffi.new shows as owning too
            // (not a first field at the same address: its parent is `T`).
            if let Some(parent) = as_cdata(c.cx, *k) {
                if let Own::Alloc { size, ptr, .. } = parent.own {
                    let item_of_parent =
                        matches!(tinfo(parent).kind, TKind::Pointer { item } if item == c.tid);
                    if ptr == c.data && item_of_parent {
                        return Ok(format!("' owning {size} bytes>"));
                    }
                }
            }
        }
        _ => {}
    }
    // A released ffi.gc() cdata keeps its value and shows it (CFFI).
    if c.released && c.data.is_null() {
        return Ok("' (released)>".to_string());
    }
    match &t.kind {
        TKind::Prim(_) | TKind::Enum { .. } => {
            let v = prim_value_repr(c, t)?;
            Ok(format!("' {v}>"))
        }
        TKind::Array { len: None, .. } => Ok(format!("' sliced length {}>", c.length.max(0))),
        TKind::Record { .. } => Ok(format!(" &' {:p}>", c.data)),
        _ if c.data.is_null() => Ok("' NULL>".to_string()),
        _ => Ok(format!("' {:p}>", c.data)),
    }
}

unsafe fn prim_value_repr(c: &CDataObj, t: &TInfo) -> PyResult<String> {
    if let TKind::Prim(Prim::LongDouble) = t.kind {
        let v = crate::convert::x87_to_f64((c.data as *const [u8; 16]).read_unaligned());
        return Ok(format_long_double(v));
    }
    let v = Owned::check(read(c.cx, c.tid, c.data, Read::Copy))?;
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
    let t = tinfo(c);
    match t.kind {
        TKind::Prim(Prim::LongDouble) => Ok(None),
        TKind::Prim(_) | TKind::Enum { .. } => {
            Ok(Some(Owned::check(read(c.cx, c.tid, c.data, Read::Copy))?))
        }
        _ => Ok(None),
    }
}

/// The Python number of a primitive cdata for int()/float()/bool(): as
/// `prim_py`, and a long double as the nearest float.
unsafe fn num_py(c: &CDataObj) -> PyResult<Owned> {
    if let TKind::Prim(Prim::LongDouble) = tinfo(c).kind {
        let v = crate::convert::x87_to_f64((c.data as *const [u8; 16]).read_unaligned());
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

unsafe extern "C" fn cdata_hash(slf: *mut ffi::PyObject) -> ffi::Py_hash_t {
    guard(-1, || {
        let c = cd(slf);
        if let Some(v) = prim_py(c)? {
            let h = ffi::PyObject_Hash(v.ptr());
            return if h == -1 { Err(PyErrSet) } else { Ok(h) };
        }
        let a = c.data as usize as u64;
        let h = a.rotate_right(4) as ffi::Py_hash_t;
        Ok(if h == -1 { -2 } else { h })
    })
}

unsafe extern "C" fn cdata_richcompare(
    a: *mut ffi::PyObject,
    b: *mut ffi::PyObject,
    op: c_int,
) -> *mut ffi::PyObject {
    trampoline(|| {
        let ca = cd(a);
        let cx = ca.cx;
        // Primitive cdata compare as their Python values; a long double
        // cdata has no such value (CFFI's message).
        for c in [Some(&*ca), as_cdata(cx, b)].into_iter().flatten() {
            if let TKind::Prim(Prim::LongDouble) = tinfo(c).kind {
                let other_is_ptr = [Some(&*ca), as_cdata(cx, b)]
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
        let (x, y) = (ca.data as usize, cb.data as usize);
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
unsafe extern "C" fn cdata_complex(
    slf: *mut ffi::PyObject,
    _noarg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(|| {
        let c = cd(slf);
        let t = tinfo(c);
        match t.kind {
            TKind::Prim(p @ (Prim::C64 | Prim::C128)) => {
                let (re, im) = crate::convert::read_complex(p, c.data as *const _);
                Ok(ffi::PyComplex_FromDoubles(re, im))
            }
            _ => Err(raise(
                ffi::PyExc_TypeError,
                &format!("complex() not supported on cdata '{}'", t.name),
            )),
        }
    })
}

unsafe extern "C" fn cdata_bool(slf: *mut ffi::PyObject) -> c_int {
    guard(-1, || {
        let c = cd(slf);
        let t = tinfo(c);
        match t.kind {
            TKind::Prim(p @ (Prim::C64 | Prim::C128)) => {
                let (re, im) = crate::convert::read_complex(p, c.data as *const _);
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
            _ => Ok((!c.data.is_null()) as c_int),
        }
    })
}

/// Whether this platform's 32-bit wchar_t is signed (glibc: `int`).
const WCHAR_SIGNED: bool = cfg!(all(target_os = "linux", not(target_arch = "aarch64")));

unsafe extern "C" fn cdata_int(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    trampoline(|| {
        let c = cd(slf);
        let t = tinfo(c);
        match t.kind {
            TKind::Prim(Prim::Char) => Ok(ffi::PyLong_FromLong(*c.data as _)),
            TKind::Prim(Prim::WChar16) => Ok(ffi::PyLong_FromLong(
                (c.data as *const u16).read_unaligned() as _,
            )),
            // wchar_t is signed where C says so (WCHAR_MIN < 0: Linux),
            // char32_t never is; CFFI reads them the same way.
            TKind::Prim(Prim::WChar32) if WCHAR_SIGNED && t.name == "wchar_t" => Ok(
                ffi::PyLong_FromLong((c.data as *const i32).read_unaligned() as _),
            ),
            TKind::Prim(Prim::WChar32) => Ok(ffi::PyLong_FromLong(
                (c.data as *const u32).read_unaligned() as _,
            )),
            TKind::Prim(Prim::F32 | Prim::F64 | Prim::LongDouble) => {
                let v = num_py(c)?;
                Ok(ffi::PyNumber_Long(v.ptr()))
            }
            TKind::Prim(Prim::Bool) => Ok(ffi::PyLong_FromLong((*c.data != 0) as _)),
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

unsafe extern "C" fn cdata_float(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    trampoline(|| {
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

unsafe fn add_impl(
    a: *mut ffi::PyObject,
    b: *mut ffi::PyObject,
    sign: isize,
) -> PyResult<*mut ffi::PyObject> {
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
            let diff = (ca.data as isize).wrapping_sub(cb.data as isize) / size as isize;
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
    let p = (ca.data as isize).wrapping_add(sign * n * size as isize) as *mut u8;
    new_cdata(cx, rt, p, Own::None).map(Owned::into_ptr)
}

unsafe extern "C" fn cdata_add(a: *mut ffi::PyObject, b: *mut ffi::PyObject) -> *mut ffi::PyObject {
    trampoline(|| {
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
/// GIL held.
pub(crate) unsafe fn char_cdata_value(o: *mut ffi::PyObject) -> Option<(Prim, u32)> {
    if !is_cdata_type(o) {
        return None;
    }
    let c = cd(o);
    match tinfo(c).kind {
        TKind::Prim(Prim::Char) => Some((Prim::Char, *c.data as u32)),
        TKind::Prim(Prim::WChar16) => Some((
            Prim::WChar16,
            (c.data as *const u16).read_unaligned() as u32,
        )),
        TKind::Prim(Prim::WChar32) => {
            Some((Prim::WChar32, (c.data as *const u32).read_unaligned()))
        }
        _ => None,
    }
}

unsafe fn is_cdata_type(o: *mut ffi::PyObject) -> bool {
    let tp = ffi::Py_TYPE(o);
    // Our CData type is the only one with this dealloc function.
    #[allow(unpredictable_function_pointer_comparisons)]
    let same = (*tp).tp_dealloc == Some(cdata_dealloc as unsafe extern "C" fn(_));
    same
}

unsafe extern "C" fn cdata_sub(a: *mut ffi::PyObject, b: *mut ffi::PyObject) -> *mut ffi::PyObject {
    trampoline(|| {
        if !is_cdata_type(a) {
            return Ok(crate::py::new_ref(ffi::Py_NotImplemented()));
        }
        add_impl(a, b, -1)
    })
}

// ---- items -------------------------------------------------------------------

unsafe extern "C" fn cdata_len(slf: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    guard(-1, || {
        let c = cd(slf);
        let t = tinfo(c);
        match t.kind {
            TKind::Array { .. } => Ok(c.length.max(0)),
            _ => Err(raise(
                ffi::PyExc_TypeError,
                &format!("cdata of type '{}' has no len()", t.name),
            )),
        }
    })
}

/// Address of item `i` (bounds-checked for arrays), with the item type.
unsafe fn item_ptr(c: &CDataObj, i: isize) -> PyResult<(Tid, *mut u8)> {
    let t = tinfo(c);
    let item = match t.kind {
        TKind::Array { item, .. } => {
            if i < 0 {
                return Err(raise(ffi::PyExc_IndexError, "negative index"));
            }
            if i >= c.length {
                return Err(raise(
                    ffi::PyExc_IndexError,
                    &format!(
                        "index too large for cdata '{}' (expected {i} < {})",
                        t.name, c.length
                    ),
                ));
            }
            item
        }
        // A pointer that owns its memory (`ffi.new("T *")`, a handle)
        // points to exactly one item (CFFI's CDataOwn_Check).
        TKind::Pointer { .. } if i != 0 && matches!(c.own, Own::Alloc { .. } | Own::Handle(_)) => {
            return Err(raise(
                ffi::PyExc_IndexError,
                &format!("cdata '{}' can only be indexed by 0", t.name),
            ));
        }
        TKind::Pointer { item } => {
            if c.data.is_null() {
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
    Ok((item, c.data.wrapping_offset(i * it.size as isize)))
}

/// `(start, stop)` of a slice on `c`, with CFFI's checks.
unsafe fn slice_bounds(c: &CDataObj, key: *mut ffi::PyObject) -> PyResult<(isize, isize)> {
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
        if b > c.length {
            return Err(raise(
                ffi::PyExc_IndexError,
                &format!("index too large (expected {b} <= {})", c.length),
            ));
        }
    }
    Ok((a, b))
}

unsafe fn index_of(key: *mut ffi::PyObject) -> PyResult<isize> {
    let v = ffi::PyNumber_AsSsize_t(key, ffi::PyExc_IndexError);
    if v == -1 && !ffi::PyErr_Occurred().is_null() {
        return Err(PyErrSet);
    }
    Ok(v)
}

unsafe extern "C" fn cdata_getitem(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(|| {
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
            let o = new_cdata(cx, open, c.data.wrapping_offset(a * isz), Own::Keep(slf))?;
            (*(o.ptr() as *mut CDataObj)).length = b - a;
            return Ok(o.into_ptr());
        }
        let i = index_of(key)?;
        let (item, p) = item_ptr(c, i)?;
        Ok(read(cx, item, p, Read::View(slf)))
    })
}

unsafe extern "C" fn cdata_setitem(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    guard(-1, || {
        let c = cd(slf);
        let cx = c.cx;
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
            let base = c.data.wrapping_offset(a * isz as isize);
            // A cdata array of the same item type: memmove.
            if let Some(src) = as_cdata(cx, value) {
                if let TKind::Array { item: si, .. } = tinfo(src).kind {
                    if si == item {
                        if src.length as usize != n {
                            return Err(raise(
                                ffi::PyExc_ValueError,
                                &format!("need a cdata of length {n}, got {}", src.length),
                            ));
                        }
                        std::ptr::copy(src.data, base, n * isz);
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
            for i in 0..n {
                let o = Owned::check(ffi::PySequence_GetItem(seq.ptr(), i as _))?;
                write(cx, item, o.ptr(), base.add(i * isz))?;
            }
            return Ok(0);
        }
        let i = index_of(key)?;
        let (item, p) = item_ptr(c, i)?;
        write(cx, item, value, p)?;
        Ok(0)
    })
}

unsafe extern "C" fn cdata_iter(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    trampoline(|| {
        let c = cd(slf);
        let t = tinfo(c);
        if !matches!(t.kind, TKind::Array { .. }) {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("cdata '{}' does not support iteration", t.name),
            ));
        }
        // A list of the items (views keep `slf` alive), iterated.
        let n = c.length.max(0);
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
unsafe fn record_of(c: &CDataObj) -> Option<(&'static TInfo, *mut u8, bool)> {
    let t = tinfo(c);
    match t.kind {
        TKind::Record { .. } => Some((t, c.data, false)),
        TKind::Pointer { item } => {
            let it = (*c.cx).reg.info(item);
            it.is_record().then_some((it, c.data, true))
        }
        _ => None,
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
    let t = tinfo(c);
    let rec = match t.kind {
        TKind::Pointer { item } => (*c.cx).reg.info(item),
        _ => t,
    };
    if !rec.var_array || !rec.is_record() {
        return None;
    }
    match &c.own {
        Own::Alloc { size, .. } => Some(*size),
        Own::Keep(k) if t.is_record() => {
            let parent = as_cdata(c.cx, *k)?;
            match parent.own {
                Own::Alloc { size, ptr, .. }
                    if ptr == c.data
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
    let cx = c.cx;
    let data = base.wrapping_add(f.offset);
    match var_byte_size(c) {
        Some(size) if size >= f.offset => {
            let isz = (*cx).reg.info(item).size.max(1);
            ffi::Py_INCREF(slf);
            let o = new_cdata(cx, f.ty, data, Own::Keep(slf))?;
            (*(o.ptr() as *mut CDataObj)).length = ((size - f.offset) / isz) as isize;
            Ok(o.into_ptr())
        }
        _ => {
            let pt = (*cx).reg.pointer_to(item);
            new_cdata(cx, pt, data, Own::None).map(Owned::into_ptr)
        }
    }
}

unsafe extern "C" fn cdata_getattro(
    slf: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(|| {
        let c = cd(slf);
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

unsafe extern "C" fn cdata_setattro(
    slf: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    guard(-1, || {
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
                if let TKind::Array { item, len: None } = (*c.cx).reg.info(f.ty).kind {
                    if let Some(size) = var_byte_size(c) {
                        let isz = (*c.cx).reg.info(item).size.max(1);
                        let n = size.saturating_sub(f.offset) / isz;
                        conv::write_var_array(c.cx, f.ty, item, n, value, base.add(f.offset))?;
                        return Ok(0);
                    }
                }
                write_field(c.cx, f, value, base)?;
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
unsafe extern "C-unwind" fn cdata_call(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let target = crate::unwind::piece(|| -> PyResult<_> {
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
            c.data as *mut c_void,
        ))
    });
    match target {
        Some(Ok((ls, fty, name, fnptr))) => {
            // No destructor pending across the call (unwind.rs).
            let name = std::mem::ManuallyDrop::new(name);
            let r = crate::cfunc::call_fnptr(ls, fty, &name, fnptr, args, kwargs);
            drop(std::mem::ManuallyDrop::into_inner(name));
            r
        }
        Some(Err(_)) => std::ptr::null_mut(),
        None => crate::unwind::panicked(std::ptr::null_mut()),
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
                    Own::alloc(array_bytes(units.len() + 1, p.size())?, p.size())?,
                )?;
                write(cx, arr, obj, (*(tmp.ptr() as *mut CDataObj)).data)?;
                (dst as *mut *mut u8).write_unaligned((*(tmp.ptr() as *mut CDataObj)).data);
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
                Own::alloc(array_bytes(n, it.size)?, it.align)?,
            )?;
            write(cx, arr, obj, (*(tmp.ptr() as *mut CDataObj)).data)?;
            (dst as *mut *mut u8).write_unaligned((*(tmp.ptr() as *mut CDataObj)).data);
            keep.push(tmp);
            return Ok(());
        }
    }
    write(cx, tid, obj, dst)
}

// ---- methods -------------------------------------------------------------------------

unsafe extern "C" fn cdata_enter(
    slf: *mut ffi::PyObject,
    _a: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    crate::py::new_ref(slf)
}

unsafe extern "C" fn cdata_exit(
    slf: *mut ffi::PyObject,
    _a: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(|| {
        release(slf as *mut CDataObj)?;
        Ok(crate::py::new_ref(ffi::Py_None()))
    })
}

unsafe extern "C" fn cdata_dir(
    slf: *mut ffi::PyObject,
    _a: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(|| {
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

static CDATA_METHODS: SyncCell<[ffi::PyMethodDef; 5]> = SyncCell::new([
    crate::py::method(c"__complex__", cdata_complex, ffi::METH_NOARGS),
    crate::py::method(c"__enter__", cdata_enter, ffi::METH_NOARGS),
    crate::py::method(c"__exit__", cdata_exit, ffi::METH_VARARGS),
    crate::py::method(c"__dir__", cdata_dir, ffi::METH_NOARGS),
    ffi::PyMethodDef::zeroed(),
]);

// ---- CType -------------------------------------------------------------------------------

/// A new CType object for `tid` (use `Cx::ctype`, which caches).
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn new_ctype_obj(cx: *mut Cx, tid: Tid) -> PyResult<Owned> {
    let o = Owned::check(ffi::PyType_GenericAlloc(
        Cx::heap_type(cx, TypeKindObj::CType)?,
        0,
    ))?;
    let p = o.ptr() as *mut CTypeObj;
    (*p).cx = cx;
    (*p).tid = tid;
    Ok(o)
}

unsafe fn ct<'a>(slf: *mut ffi::PyObject) -> (&'a CTypeObj, &'static TInfo) {
    let c = &*(slf as *const CTypeObj);
    (c, (*c.cx).reg.info(c.tid))
}

unsafe extern "C" fn ctype_repr(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    trampoline(|| {
        let (_, t) = ct(slf);
        let s = cstring_lossy(&format!("<ctype '{}'>", t.name));
        Ok(ffi::PyUnicode_FromString(s.as_ptr()))
    })
}

#[derive(Copy, Clone)]
#[repr(usize)]
enum CtAttr {
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
    trampoline(|| {
        let (c, t) = ct(slf);
        let cx = c.cx;
        let which: CtAttr = std::mem::transmute::<usize, CtAttr>(closure as usize);
        // CFFI's `nosuchattr`: the message is the attribute name alone.
        let no_attr = |what: &str| -> PyResult<*mut ffi::PyObject> {
            Err(raise(ffi::PyExc_AttributeError, what))
        };
        match which {
            CtAttr::Kind => Ok(str_obj(t.kind_name())),
            CtAttr::Cname => Ok(str_obj(&t.name)),
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
                        let name = Owned::check(str_obj(&f.name))?;
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
                        let k = Owned::check(str_obj(name))?;
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

unsafe fn str_obj(s: &str) -> *mut ffi::PyObject {
    ffi::PyUnicode_FromStringAndSize(s.as_ptr() as *const _, s.len() as _)
}

const fn getter(name: &'static CStr, which: CtAttr) -> ffi::PyGetSetDef {
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

static CTYPE_GETSET: SyncCell<[ffi::PyGetSetDef; 12]> = SyncCell::new([
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
    trampoline(|| {
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
            let o = Owned::check(str_obj(n))?;
            ffi::PyList_Append(list.ptr(), o.ptr());
        }
        Ok(list.into_ptr())
    })
}

static CTYPE_METHODS: SyncCell<[ffi::PyMethodDef; 2]> = SyncCell::new([
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
    trampoline(|| {
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

static FIELD_GETSET: SyncCell<[ffi::PyGetSetDef; 6]> = SyncCell::new([
    fgetter(c"type", FAttr::Type),
    fgetter(c"offset", FAttr::Offset),
    fgetter(c"bitshift", FAttr::Bitshift),
    fgetter(c"bitsize", FAttr::Bitsize),
    fgetter(c"flags", FAttr::Flags),
    GETSET_END,
]);

// ---- buffer ------------------------------------------------------------------------------

/// `ffi.buffer(cdata, size)`.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn new_buffer(
    cx: *mut Cx,
    data: *mut u8,
    size: usize,
    keep: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    let o = Owned::check(ffi::PyType_GenericAlloc(
        Cx::heap_type(cx, TypeKindObj::Buffer)?,
        0,
    ))?;
    let b = o.ptr() as *mut BufferObj;
    (*b).data = data;
    (*b).size = size;
    (*b).keep = crate::py::new_ref(keep);
    Ok(o.into_ptr())
}

unsafe extern "C" fn buffer_dealloc(slf: *mut ffi::PyObject) {
    ffi::PyObject_GC_UnTrack(slf as *mut c_void);
    drop_ref(&mut (*(slf as *mut BufferObj)).keep);
    free_instance(slf);
}

unsafe extern "C" fn buffer_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let b = slf as *mut BufferObj;
    if !(*b).keep.is_null() {
        let r = visit((*b).keep, arg);
        if r != 0 {
            return r;
        }
    }
    visit(ffi::Py_TYPE(slf) as *mut ffi::PyObject, arg)
}

unsafe extern "C" fn buffer_len(slf: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    (*(slf as *mut BufferObj)).size as ffi::Py_ssize_t
}

unsafe fn buffer_bytes(b: &BufferObj, a: usize, n: usize) -> *mut ffi::PyObject {
    ffi::PyBytes_FromStringAndSize(b.data.add(a) as *const _, n as _)
}

unsafe extern "C" fn buffer_getitem(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(|| {
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

unsafe extern "C" fn buffer_setitem(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    guard(-1, || {
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

unsafe extern "C" fn buffer_getbuffer(
    slf: *mut ffi::PyObject,
    view: *mut ffi::Py_buffer,
    flags: c_int,
) -> c_int {
    let b = &*(slf as *mut BufferObj);
    ffi::PyBuffer_FillInfo(view, slf, b.data as *mut c_void, b.size as _, 0, flags)
}

unsafe extern "C" fn buffer_tobytes(
    slf: *mut ffi::PyObject,
    _a: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let b = &*(slf as *mut BufferObj);
    buffer_bytes(b, 0, b.size)
}

static BUFFER_METHODS: SyncCell<[ffi::PyMethodDef; 2]> = SyncCell::new([
    crate::py::method(c"__bytes__", buffer_tobytes, ffi::METH_NOARGS),
    ffi::PyMethodDef::zeroed(),
]);

/// Marks a new cdata as from_buffer (for its repr) with `length` items.
pub(crate) unsafe fn set_length(o: *mut ffi::PyObject, length: isize) {
    cd(o).length = length;
}

/// The object an `ffi.new_handle` cdata keeps, if `o` is one.
pub(crate) unsafe fn handle_target(o: *mut ffi::PyObject) -> Option<*mut ffi::PyObject> {
    match &cd(o).own {
        Own::Handle(t) => Some(*t),
        _ => None,
    }
}

/// Sets whether an Alloc'd cdata shows "owning N bytes".
pub(crate) unsafe fn set_shown(o: *mut ffi::PyObject, show: bool) {
    if let Own::Alloc { shown, .. } = &mut cd(o).own {
        *shown = show;
    }
}
