//! The CData, CType, CField and buffer heap types and their behaviour
//! (CFFI's `cdata_*`, `ctypedescr_*`, `cfield_*` and `mb_*` slots).
//!
//! A CData is a C address plus a type: for pointers and function pointers
//! `data` is the pointer value; for everything else it is the address of
//! the value (primitives made by `ffi.cast` own a small buffer). What the
//! object owns (memory, a kept-alive object, a destructor) is [`Own`].

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use super::types::{TInfo, TKind, Tid};
use super::Cx;
use crate::cdata::access::{
    cdata_call, cdata_getattro, cdata_getitem, cdata_iter, cdata_len, cdata_setattro,
    cdata_setitem, CDATA_METHODS,
};
use crate::cdata::buffer::{
    buffer_dealloc, buffer_getbuffer, buffer_getitem, buffer_len, buffer_setitem, buffer_traverse,
    BUFFER_METHODS,
};
use crate::cdata::ctype::{ctype_repr, CTYPE_GETSET, CTYPE_METHODS, FIELD_GETSET};
use crate::cdata::value::{
    cdata_add, cdata_bool, cdata_float, cdata_hash, cdata_int, cdata_repr, cdata_richcompare,
    cdata_sub,
};
use crate::py::cell::SyncCell;
use crate::py::{raise, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::cell::{Cell, UnsafeCell};
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
    /// `ffi.gc(orig, destructor)`: calls destructor(orig) once. `destructor`
    /// is NULL once there is none to call (`ffi.gc(p, None)`, after a
    /// release, or an allocator without `free`): the cdata stays what CFFI
    /// calls a gc cdata, which `ffi.release` and `with` accept.
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
            // SAFETY: the GIL is held (caller).
            unsafe { ffi::PyErr_NoMemory() };
            return Err(PyErrSet);
        };
        // SAFETY: non-zero size layout.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            // SAFETY: the GIL is held (caller).
            unsafe { ffi::PyErr_NoMemory() };
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
pub(crate) fn array_bytes(
    _py: crate::py::gil::Python<'_>,
    n: usize,
    item_size: usize,
) -> PyResult<usize> {
    match n.checked_mul(item_size) {
        Some(s) if s <= isize::MAX as usize => Ok(s),
        // SAFETY: the GIL is held (`_py`).
        _ => Err(unsafe { raise(ffi::PyExc_OverflowError, super::types::ARRAY_TOO_BIG) }),
    }
}

/// A cdata object. Code holds it as a shared `&CDataObj` (see [`cd`])
/// while Python code may run and reach the same object, so every field
/// written after creation is a cell, written through `&self`: the
/// reference count (`Py_INCREF` on the object pointer), and `data`,
/// `length`, `own` and `released` (`ffi.release`, `ffi.gc(p, None)`, a
/// new view's length). A write through a raw pointer to a field a live
/// `&CDataObj` covers would be undefined behaviour. The cells are
/// `repr(transparent)`: the C layout is that of the plain fields, and
/// `Cell::get`/`set` are plain loads and stores.
#[repr(C)]
pub(crate) struct CDataObj {
    pub(crate) ob_base: UnsafeCell<ffi::PyObject>,
    pub(crate) cx: *mut Cx,
    /// Strong reference to the CType object (keeps the module alive).
    pub(crate) ctype: *mut ffi::PyObject,
    pub(crate) tid: Tid,
    pub(crate) data: Cell<*mut u8>,
    /// Number of items of an open array (`int[]`), else -1.
    pub(crate) length: Cell<isize>,
    /// Read by reference through [`CDataObj::own`], replaced through
    /// [`CDataObj::own_replace`].
    own: UnsafeCell<Own>,
    /// Set by `ffi.release` / `__exit__`.
    pub(crate) released: Cell<bool>,
}

impl CDataObj {
    /// A cdata's fields, in the cells its type wants.
    #[inline(always)]
    fn init(
        ob_base: ffi::PyObject,
        cx: *mut Cx,
        ctype: *mut ffi::PyObject,
        tid: Tid,
        data: *mut u8,
        length: isize,
        own: Own,
    ) -> CDataObj {
        CDataObj {
            ob_base: UnsafeCell::new(ob_base),
            cx,
            ctype,
            tid,
            data: Cell::new(data),
            length: Cell::new(length),
            own: UnsafeCell::new(own),
            released: Cell::new(false),
        }
    }

    /// What the cdata owns.
    ///
    /// # Safety
    /// `own` is not written while the reference is used: no
    /// [`CDataObj::own_replace`] or [`CDataObj::set_alloc`] on this cdata,
    /// so no Python code (which may `ffi.release` or `ffi.gc` it), between
    /// this call and the reference's last use.
    #[inline]
    pub(crate) unsafe fn own(&self) -> &Own {
        // SAFETY: the only writes to the cell are `own_replace` and
        // `set_alloc`, which the caller does not run while this reference
        // is used; the cell lives as long as `self`.
        unsafe { &*self.own.get() }
    }

    /// Sets the size and/or the `shown` flag of an `Own::Alloc` (nothing
    /// for another `Own`).
    pub(crate) fn set_alloc(&self, new_size: Option<usize>, show: Option<bool>) {
        // SAFETY: no reference from `own()` is used across this call (its
        // contract), and the exclusive borrow ends here, running no other
        // code.
        if let Own::Alloc { size, shown, .. } = unsafe { &mut *self.own.get() } {
            if let Some(n) = new_size {
                *size = n;
            }
            if let Some(b) = show {
                *shown = b;
            }
        }
    }

    /// Replaces what the cdata owns, returning the old value.
    #[inline]
    pub(crate) fn own_replace(&self, new: Own) -> Own {
        // SAFETY: no reference from `own()` is used across this call (its
        // contract), and the exclusive borrow ends inside `replace`, which
        // runs no other code.
        unsafe { std::mem::replace(&mut *self.own.get(), new) }
    }
}

/// A ctype object. As with [`CDataObj`], what CPython writes while a
/// `&CTypeObj` may be held (the reference count; the weak-reference list,
/// when Python code run meanwhile makes a `weakref.ref` to it) is in
/// cells; `cx` and `tid` are set once, before any reference exists.
#[repr(C)]
pub(crate) struct CTypeObj {
    pub(crate) ob_base: UnsafeCell<ffi::PyObject>,
    pub(crate) cx: *mut Cx,
    pub(crate) tid: Tid,
    /// Weak references to this ctype (`weakref.ref(ffi.typeof(...))`, as
    /// with CFFI); CPython manages the list through `__weaklistoffset__`.
    pub(crate) weakrefs: Cell<*mut ffi::PyObject>,
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
    // SAFETY: CPython calls tp_dealloc once, with the GIL held, on a CType
    // nobody references any more: untracked, its weak references cleared
    // (the list is NULL or CPython's), then freed.
    crate::py::guard::c_entry("ctype_dealloc", (), || unsafe {
        ffi::PyObject_GC_UnTrack(slf as *mut c_void);
        if !(*(slf as *const CTypeObj)).weakrefs.get().is_null() {
            ffi::PyObject_ClearWeakRefs(slf);
        }
        free_instance(slf);
    })
}

/// A field object; its header (the reference count) is a cell for the
/// reason [`CTypeObj`]'s is, the rest set once before any reference exists.
#[repr(C)]
pub(crate) struct FieldObj {
    pub(crate) ob_base: UnsafeCell<ffi::PyObject>,
    pub(crate) cx: *mut Cx,
    pub(crate) rec: Tid,
    pub(crate) index: usize,
}

/// A buffer object; its header (the reference count) is a cell for the
/// reason [`CTypeObj`]'s is, the rest set once before any reference exists
/// (`keep` is cleared by the dealloc, when none is left).
#[repr(C)]
pub(crate) struct BufferObj {
    pub(crate) ob_base: UnsafeCell<ffi::PyObject>,
    pub(crate) data: *mut u8,
    pub(crate) size: usize,
    /// The cdata whose memory this is (strong).
    pub(crate) keep: *mut ffi::PyObject,
}

#[derive(Clone, Copy)]
pub(crate) enum TypeKindObj {
    CType,
    CData,
    Field,
    Buffer,
}

pub(crate) fn slot(slot: c_int, pfunc: *mut c_void) -> ffi::PyType_Slot {
    ffi::PyType_Slot { slot, pfunc }
}

/// Creates one of the heap types, bound to `module`.
///
/// # Safety
/// GIL held; `module` a live module object.
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
                    crate::cdata::hooks::hooks().buffer_new as *mut c_void,
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
    // SAFETY: the GIL is held (caller); `module` is a live module; the spec's
    // name is static and its slots (ended by a zero slot) outlive the call,
    // which copies them; each slot function has the signature of its slot.
    unsafe {
        let t = ffi::PyType_FromModuleAndSpec(module, &mut spec, null_mut());
        Owned::check(t).map(Owned::into_ptr)
    }
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
    // SAFETY: CPython calls tp_new with the GIL held and passes the type
    // being instantiated, whose tp_name is a NUL-terminated string that lives
    // as long as the type.
    crate::py::guard::raising(std::ptr::null_mut(), || unsafe {
        let name = CStr::from_ptr((*tp).tp_name).to_string_lossy();
        raise(
            ffi::PyExc_TypeError,
            &format!("cannot create '{name}' instances"),
        );
        null_mut()
    })
}

unsafe extern "C" fn plain_dealloc(slf: *mut ffi::PyObject) {
    // SAFETY: CPython calls tp_dealloc once, with the GIL held, on an
    // instance (CField) nobody references and that holds nothing of its own.
    crate::py::guard::c_entry("plain_dealloc", (), || unsafe {
        ffi::PyObject_GC_UnTrack(slf as *mut c_void);
        free_instance(slf);
    })
}

/// The end of every dealloc here: frees the object and drops the reference
/// each instance of a heap type holds to its type.
///
/// # Safety
/// GIL held; `slf` untracked, with nothing left to release.
pub(crate) unsafe fn free_instance(slf: *mut ffi::PyObject) {
    // SAFETY: `slf` is a dying instance of a heap type, untracked and
    // holding nothing (caller): its type's tp_free frees it, and the type
    // (read before) is still alive through the instance's reference, dropped
    // last; GIL held (caller).
    unsafe {
        let tp = ffi::Py_TYPE(slf);
        if let Some(free) = (*tp).tp_free {
            free(slf as *mut c_void);
        }
        ffi::Py_DECREF(tp as *mut ffi::PyObject);
    }
}

/// Drops the strong reference in `slot` (if any) and clears it.
///
/// # Safety
/// GIL held; `slot` NULL or a strong reference.
pub(crate) unsafe fn drop_ref(slot: &mut *mut ffi::PyObject) {
    let o = std::mem::replace(slot, null_mut());
    if !o.is_null() {
        // SAFETY: `o` is the strong reference the slot held (caller), now
        // out of it; GIL held (caller).
        unsafe { ffi::Py_DECREF(o) };
    }
}

unsafe extern "C" fn plain_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: CPython calls tp_traverse with a live instance and its visitor.
    crate::py::guard::c_entry("plain_traverse", 0, || unsafe {
        visit(ffi::Py_TYPE(slf) as *mut ffi::PyObject, arg)
    })
}

// ---- construction ----------------------------------------------------------

/// A new CData of type `tid`. For `Own::Alloc`, `data` is ignored and the
/// allocation is used.
///
/// # Safety
/// GIL held; `cx` alive.
pub(crate) unsafe fn new_cdata(cx: *mut Cx, tid: Tid, data: *mut u8, own: Own) -> PyResult<Owned> {
    // SAFETY: GIL held and `cx` alive (caller); `own` is what the new cdata
    // would have owned, dropped once on failure.
    let ctype = match unsafe { super::Cx::ctype(cx, tid) } {
        Ok(c) => c,
        Err(e) => {
            // SAFETY: as above.
            unsafe { drop_own(own) };
            return Err(e);
        }
    };
    // SAFETY: GIL held and `cx` alive (caller).
    let tp = match unsafe { Cx::heap_type(cx, TypeKindObj::CData) } {
        Ok(tp) => tp,
        Err(e) => {
            // SAFETY: `ctype` is the new reference got above, unused; `own`
            // dropped once; GIL held (caller).
            unsafe {
                ffi::Py_DECREF(ctype);
                drop_own(own);
            }
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
    // group to the second after creation (`ffi.gc(p, None)` and `release`
    // keep a `Gc` a `Gc`; `release` turns a `Buffer` into a `Keep`, anything
    // else into `None`), and an untracked instance of a
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
        // SAFETY: GIL held and `cx` alive (caller); `tp` is its CData type.
        unsafe { Cx::take_free_cdata(cx, tp) }
    };
    if o.is_null() {
        // SAFETY: GIL held (caller); `tp` is the GC heap type of CData,
        // whose basicsize is a `CDataObj`.
        o = unsafe { ffi::_PyObject_GC_New(tp) };
    }
    if o.is_null() {
        // SAFETY: as on the error path above: `ctype` unused, `own` dropped
        // once; GIL held.
        unsafe {
            ffi::Py_DECREF(ctype);
            drop_own(own);
        }
        return Err(PyErrSet);
    }
    let data = match &own {
        Own::Alloc { ptr, .. } => *ptr,
        _ => data,
    };
    // SAFETY: `cx` alive (caller) and `tid` one of its registry's types (a
    // CType was just made for it).
    let t = unsafe { (*cx).reg.info(tid) };
    let length = match t.kind {
        TKind::Array { len: Some(n), .. } => n as isize,
        _ => -1,
    };
    // SAFETY: `o` is a new object of the CData type, `CDataObj`-sized, whose
    // header PyObject_Init set (read back unchanged); the rest is
    // uninitialized memory (or a dead block holding nothing), written whole
    // without dropping it. Tracking a GC object whose fields are all set is
    // what PyObject_GC_Track wants; GIL held.
    unsafe {
        std::ptr::write(
            o as *mut CDataObj,
            CDataObj::init(std::ptr::read(o), cx, ctype, tid, data, length, own),
        );
        if track {
            ffi::PyObject_GC_Track(o as *mut c_void);
        }
        Ok(Owned::new(o).expect("non-null"))
    }
}

/// [`new_cdata`] for a pointer (or function pointer) value that owns
/// nothing, the cdata every pointer argument of a call into Python
/// becomes: when the type's CType exists and a kept block is free
/// (freelist.rs), the object is made here without the general path's
/// cases (ownership, GC tracking, the array length); otherwise by
/// `new_cdata`. The same object either way.
///
/// # Safety
/// GIL held; `cx` alive; `tid` a pointer or function pointer type of its
/// registry.
#[inline]
pub(crate) unsafe fn new_ptr_cdata(cx: *mut Cx, tid: Tid, data: *mut u8) -> PyResult<Owned> {
    // SAFETY: GIL held and `cx` alive (caller), the only access to the
    // context; a cached CType is a strong reference the context holds, of
    // which the new cdata takes one; `o` is a kept block made an object of
    // the CData type (`CDataObj`-sized, header set by PyObject_Init, the
    // rest written whole without dropping it); never tracked, as
    // `new_cdata` leaves an `Own::None` cdata.
    unsafe {
        let c = &*cx;
        let ctype = c.ctypes.get(tid as usize).copied().unwrap_or(null_mut());
        let tp = c.cdata_type as *mut ffi::PyTypeObject;
        if !ctype.is_null() && !tp.is_null() {
            let o = Cx::take_free_cdata(cx, tp);
            if !o.is_null() {
                std::ptr::write(
                    o as *mut CDataObj,
                    CDataObj::init(
                        std::ptr::read(o),
                        cx,
                        crate::py::new_ref(ctype),
                        tid,
                        data,
                        -1,
                        Own::None,
                    ),
                );
                return Ok(Owned::new(o).expect("non-null"));
            }
        }
        new_ptr_cdata_general(cx, tid, data)
    }
}

/// [`new_ptr_cdata`] when the fast path does not apply (out of line, so
/// that the fast path inlines small).
///
/// # Safety
/// As [`new_ptr_cdata`].
#[inline(never)]
unsafe fn new_ptr_cdata_general(cx: *mut Cx, tid: Tid, data: *mut u8) -> PyResult<Owned> {
    // SAFETY: the caller's contract, which is `new_cdata`'s.
    unsafe { new_cdata(cx, tid, data, Own::None) }
}

/// Frees what an `Own` holds.
///
/// # Safety
/// GIL held; `own` holds what it says (its pointers are the allocation,
/// strong references or buffer view it was made with, not freed yet): any
/// code can build an `Own`, so this is not something its type proves.
unsafe fn drop_own(own: Own) {
    match own {
        Own::None => {}
        Own::Alloc {
            ptr, size, align, ..
        } => {
            let layout = std::alloc::Layout::from_size_align(size.max(1), align.max(16))
                .expect("valid layout");
            // SAFETY: `ptr` came from `Own::alloc` with this same layout
            // (same size and alignment rule), and `own` is dropped once.
            unsafe { std::alloc::dealloc(ptr, layout) };
        }
        // SAFETY: the strong reference the `Own` held; GIL held (caller).
        Own::Keep(o) | Own::Handle(o) => unsafe { ffi::Py_DECREF(o) },
        // SAFETY: `Gc` holds a strong reference to `orig` and one to
        // `destructor` unless it is NULL, released here once after the call;
        // GIL held (caller).
        Own::Gc { orig, destructor } => unsafe {
            if !destructor.is_null() {
                let r = ffi::PyObject_CallOneArg(destructor, orig);
                if r.is_null() {
                    ffi::PyErr_WriteUnraisable(destructor);
                } else {
                    ffi::Py_DECREF(r);
                }
                ffi::Py_DECREF(destructor);
            }
            ffi::Py_DECREF(orig);
        },
        // SAFETY: a view got by PyObject_GetBuffer and not released yet (the
        // `Own` is dropped once); GIL held (caller).
        Own::Buffer(mut b) => unsafe { ffi::PyBuffer_Release(&mut *b) },
    }
}

/// Whether `ffi.release()` and `with` apply to the cdata: CFFI's
/// `explicit_release_case`, which `__enter__` checks too. They do for what
/// `ffi.new()` (or an allocator), `ffi.gc()` and `ffi.from_buffer()` made,
/// released or not; not for a handle (releasing its object would leave
/// `from_handle()` to find a cdata that no longer keeps it), a view of
/// other memory or a plain pointer value.
///
/// # Safety
/// GIL held; `cd` a live CData.
pub(crate) unsafe fn check_releasable(cd: &CDataObj) -> PyResult<()> {
    // SAFETY: GIL held and `cd` live (caller); the reference from `own()` is
    // only matched on, with no Python code run meanwhile.
    unsafe {
        if cd.released.get()
            || matches!(
                cd.own(),
                Own::Alloc { .. } | Own::Gc { .. } | Own::Buffer(_)
            )
        {
            return Ok(());
        }
    }
    // SAFETY: GIL held (caller); PyExc_ValueError is initialised before any
    // code can call us.
    Err(unsafe {
        raise(
            ffi::PyExc_ValueError,
            "only 'cdata' object from ffi.new(), ffi.gc(), ffi.from_buffer() or \
             ffi.new_allocator()() can be used with the 'with' keyword or ffi.release()",
        )
    })
}

/// Releases what the cdata owns now (`ffi.release`, `__exit__`).
///
/// # Safety
/// GIL held; `cd` a live CData.
pub(crate) unsafe fn release(cd: &CDataObj) -> PyResult<()> {
    // SAFETY: `cd` is a live CData (caller) and the GIL is held, so nothing
    // else runs while its fields are read and written here (all through
    // its cells), except the destructor called (after `own` was updated, so
    // a re-entrant release finds it released). No reference from `own()`
    // is used after an `own_replace` or across the destructor. Each
    // reference an `Own` holds is released once: moved out of `own` before
    // `drop_own` (or the destructor's release), or handed to the value that
    // replaces it (`orig` to the destructor-less `Gc`; the new reference to
    // the buffer's object to the `Keep`).
    unsafe {
        check_releasable(cd)?;
        // As CFFI: memory from ffi.new() lives as long as the object. Views
        // of it (buffers, slices, fields, pointers taken from it, a
        // from_buffer() over it) hold no reference the release could check,
        // so freeing it here would leave them dangling.
        if cd.released.get() || matches!(cd.own(), Own::Alloc { .. }) {
            return Ok(());
        }
        cd.released.set(true);
        if let Own::Gc { orig, destructor } = *cd.own() {
            // As CFFI: the destructor runs now, and the cdata keeps its value.
            // `orig` stays alive with it: a primitive's value lives in orig's
            // memory (with orig gone it would be read after free).
            // It stays a gc cdata without a destructor (CFFI's type does not
            // change either: `ffi.gc(p, None)`, `with` and `ffi.release`
            // still accept it). The old value's references are the new one's
            // (`orig`) and released below (`destructor`): nothing to drop.
            let _ = cd.own_replace(Own::Gc {
                orig,
                destructor: null_mut(),
            });
            if destructor.is_null() {
                return Ok(());
            }
            let r = ffi::PyObject_CallOneArg(destructor, orig);
            ffi::Py_DECREF(destructor);
            if r.is_null() {
                return Err(PyErrSet);
            }
            ffi::Py_DECREF(r);
            return Ok(());
        }
        if let Own::Buffer(b) = cd.own() {
            // The buffer is released (the object may be resized again), but
            // the object itself stays alive as long as this cdata: slices and
            // buffers made from it still point into its memory, which would
            // be freed with the last reference.
            let obj = b.obj;
            if !obj.is_null() {
                ffi::Py_INCREF(obj);
                let own = cd.own_replace(Own::Keep(obj));
                drop_own(own);
                cd.data.set(null_mut());
                cd.length.set(cd.length.get().min(0));
                return Ok(());
            }
        }
        let own = cd.own_replace(Own::None);
        drop_own(own);
        // The cdata's own accessors see a null pointer (refused) or an
        // empty array (every index out of range) from now on.
        cd.data.set(null_mut());
        if cd.length.get() > 0 {
            cd.length.set(0);
        }
        Ok(())
    }
}

pub(crate) unsafe extern "C" fn cdata_dealloc(slf: *mut ffi::PyObject) {
    // SAFETY: CPython calls tp_dealloc once, with the GIL held, on a CData
    // nobody references any more; its module (and `Cx`) outlive every
    // instance of its types. What it owns is dropped once (moved out of
    // `own`), then its memory is kept (freelist.rs: plain, never tracked)
    // or freed.
    crate::py::guard::c_entry("cdata_dealloc", (), || unsafe {
        ffi::PyObject_GC_UnTrack(slf as *mut c_void);
        let cd = slf as *mut CDataObj;
        if let Own::Handle(_) = (*cd).own() {
            // The module (and its Cx) outlive every instance of its types.
            (*(*cd).cx).handles.remove(&(slf as usize));
        }
        let own = (*cd).own_replace(Own::None);
        // Untracked (never tracked, see new_cdata; or untracked above): its
        // memory may be reused (freelist.rs).
        let plain = matches!(own, Own::None | Own::Alloc { .. });
        // A destructor may run Python code: keep any exception it finds intact.
        if !matches!(own, Own::None) {
            drop_own(own);
        }
        drop_ref(&mut (*cd).ctype);
        if plain && Cx::keep_free_cdata((*cd).cx, slf) {
            return;
        }
        free_instance(slf);
    })
}

unsafe extern "C" fn cdata_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: CPython calls tp_traverse with a live CData and its visitor;
    // the references visited are the ones it holds (or NULL, skipped).
    crate::py::guard::c_entry("cdata_traverse", 0, || unsafe {
        let cd = cd(slf);
        let mut objs = [null_mut(); 4];
        objs[0] = ffi::Py_TYPE(slf) as *mut ffi::PyObject;
        objs[1] = cd.ctype;
        // Copied out before any visit (the reference from `own()` is not
        // kept across calls out).
        match cd.own() {
            Own::Keep(o) | Own::Handle(o) => objs[2] = *o,
            Own::Gc { orig, destructor } => {
                objs[2] = *orig;
                objs[3] = *destructor;
            }
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
        0
    })
}

/// The CData behind `slf` (our own type, checked by CPython's dispatch).
/// Shared, never `&mut`: user Python code may run while it is held (an
/// `__index__`, a conversion), and may reach the same cdata.
///
/// # Safety
/// `slf` a live CData, alive for `'a`.
pub(crate) unsafe fn cd<'a>(slf: *mut ffi::PyObject) -> &'a CDataObj {
    // SAFETY: `slf` is a live `CDataObj` for `'a` (caller).
    unsafe { &*(slf as *const CDataObj) }
}

pub(crate) fn tinfo(cd: &CDataObj) -> &TInfo {
    // SAFETY: the cdata keeps its module (and so the registry) alive for as
    // long as it is borrowed.
    unsafe { (*cd.cx).reg.info(cd.tid) }
}

/// Marks a new cdata as from_buffer (for its repr) with `length` items.
///
/// # Safety
/// `o` a live CData; GIL held.
pub(crate) unsafe fn set_length(o: *mut ffi::PyObject, length: isize) {
    // SAFETY: `o` is a live `CDataObj` (caller), whose fields only the GIL
    // holder touches.
    unsafe { cd(o).length.set(length) };
}

/// The object an `ffi.new_handle` cdata keeps, if `o` is one.
///
/// # Safety
/// `o` a live CData; GIL held.
pub(crate) unsafe fn handle_target(o: *mut ffi::PyObject) -> Option<*mut ffi::PyObject> {
    // SAFETY: `o` is a live `CDataObj` (caller); the reference from `own()`
    // is used only to copy the pointer out.
    match unsafe { cd(o).own() } {
        Own::Handle(t) => Some(*t),
        _ => None,
    }
}

/// Sets whether an Alloc'd cdata shows "owning N bytes".
///
/// # Safety
/// `o` a live CData; GIL held.
pub(crate) unsafe fn set_shown(o: *mut ffi::PyObject, show: bool) {
    // SAFETY: `o` is a live `CDataObj` (caller), whose fields only the GIL
    // holder touches.
    unsafe { cd(o).set_alloc(None, Some(show)) }
}
