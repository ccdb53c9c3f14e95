//! Struct field reads found by the attribute name's identity, per module
//! context.
//!
//! `p.x` in Python passes the same `str` object at every call (the code
//! object's interned name), while finding the field the general way takes
//! the cdata's type description, the record it is or points to, the name's
//! characters, a string comparison per field before it, the field type's
//! description and the kind of read to make: ~115 instructions of a ~275-
//! instruction field read (docs/performance.md). A field whose read is a
//! plain primitive value (an int, a float, a `char`, a `_Bool`, an enum)
//! is remembered here under (the cdata's type, the name object), with what
//! the read needs, so the next read of it is a compare and a load.
//!
//! Sound because a record's fields never change once the registry is
//! built (`Registry::from_lib` completes and flattens them; types added
//! later are new ids), and because each entry holds a strong reference to
//! its name: the pointer compared cannot be another object's while the
//! entry exists. Only exact `str` names are kept, so a hit is an exact
//! `str` equal to the field's name. `Cx::clear` drops every entry.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use super::types::Tid;
use super::Cx;
use crate::desc::ctypes::Prim;
use pyo3_ffi as ffi;
use std::ptr::null_mut;

/// Entries per module: a direct-mapped table, indexed by the name's
/// address and the type id. A collision evicts (the general path runs and
/// fills the slot again): correct, only slower.
pub(crate) const SLOTS: usize = 64;

/// One remembered field read.
#[derive(Clone, Copy)]
pub(crate) struct FieldSlot {
    /// The attribute name (a strong reference), NULL for an empty slot.
    name: *mut ffi::PyObject,
    /// The type of the cdata the attribute was read on (the record, or a
    /// pointer to it).
    tid: Tid,
    /// The cdata is a pointer to the record (its NULL is refused by the
    /// general path, which the caller falls back to).
    pub(crate) via_ptr: bool,
    /// The field's place in the record and how it reads.
    pub(crate) offset: usize,
    pub(crate) prim: Prim,
}

impl FieldSlot {
    pub(crate) const EMPTY: FieldSlot = FieldSlot {
        name: null_mut(),
        tid: 0,
        via_ptr: false,
        offset: 0,
        prim: Prim::Bool,
    };
}

/// The slot for (`name`, `tid`). Objects are 16-byte aligned, so the low
/// four bits of the address carry nothing.
#[inline(always)]
fn index(name: *mut ffi::PyObject, tid: Tid) -> usize {
    ((name as usize >> 4) ^ (tid as usize).wrapping_mul(7)) & (SLOTS - 1)
}

/// A primitive the cache may read without the general path: everything
/// `prim_to_py` reads without needing the type's name (only a `wchar_t`
/// out of range names it) and that is not kept as a cdata (`long double`).
pub(crate) fn cacheable(p: Prim) -> bool {
    !matches!(p, Prim::LongDouble | Prim::WChar16 | Prim::WChar32)
}

impl Cx {
    /// The remembered read of attribute `name` on a cdata of type `tid`
    /// that points to its record (`via_ptr`) or is it.
    ///
    /// # Safety
    /// GIL held; `cx` alive.
    #[inline(always)]
    pub(crate) unsafe fn cached_field(
        cx: *mut Cx,
        name: *mut ffi::PyObject,
        tid: Tid,
    ) -> Option<FieldSlot> {
        // SAFETY: the caller keeps `cx` alive and holds the GIL, which makes
        // this the only access to the context (`Cx` relies on the GIL).
        let s = unsafe { &(*cx).field_cache[index(name, tid)] };
        (s.name == name && s.tid == tid).then_some(*s)
    }

    /// Remembers that attribute `name` (an exact `str`) on a cdata of type
    /// `tid` reads the primitive `prim` at `offset` of the record (which
    /// the cdata points to if `via_ptr`).
    ///
    /// # Safety
    /// GIL held; `cx` alive; `name` a live exact `str`; what is remembered
    /// is what the general path found for (`tid`, `name`).
    pub(crate) unsafe fn remember_field(
        cx: *mut Cx,
        name: *mut ffi::PyObject,
        tid: Tid,
        via_ptr: bool,
        offset: usize,
        prim: Prim,
    ) {
        // SAFETY: the caller keeps `cx` alive and holds the GIL, which makes
        // this the only access to the context; the slot's old name is a
        // strong reference it held, released after the slot is rewritten (its
        // dealloc runs no Python code: a str); the new one is taken here.
        unsafe {
            let c = &mut *cx;
            if c.module.is_null() {
                return;
            }
            let slot = &mut c.field_cache[index(name, tid)];
            let old = slot.name;
            *slot = FieldSlot {
                name: crate::py::new_ref(name),
                tid,
                via_ptr,
                offset,
                prim,
            };
            if !old.is_null() {
                ffi::Py_DECREF(old);
            }
        }
    }

    /// Drops every entry (`m_clear`).
    ///
    /// # Safety
    /// GIL held.
    pub(crate) unsafe fn clear_field_cache(&mut self) {
        for s in self.field_cache.iter_mut() {
            let old = std::mem::replace(s, FieldSlot::EMPTY).name;
            if !old.is_null() {
                // SAFETY: a strong reference the slot held, released once (the
                // slot is empty now); the GIL is held (caller).
                unsafe { ffi::Py_DECREF(old) };
            }
        }
    }
}
