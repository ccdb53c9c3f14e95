//! A free list of CData objects, per module context.
//!
//! Every pointer or struct-by-reference argument of a call into Python
//! becomes a CData that usually dies when the call returns. Allocating it
//! (`_PyObject_GC_New`: pymalloc, the GC header, the generation-0 count)
//! and freeing it (`PyObject_GC_Del`) was ~130 of the ~400 instructions
//! such an argument costs (docs/performance.md). As CPython does for
//! floats and tuples, a dying CData's memory is kept here instead and the
//! next CData reuses it.
//!
//! What is kept: only the memory of an instance of the module's exact
//! CData type (no subclass: their size may differ) that was never tracked
//! by the GC (`Own::None` / `Own::Alloc`: its GC header is still all
//! zeros), after its dealloc dropped everything it held *and its
//! reference to the type*: a kept block holds no reference at all, so the
//! type, the module and the GC's view of them are as if it were freed.
//! Reuse goes through `PyObject_Init` (type, type reference, refcount 1),
//! the public call free lists use.
//!
//! When: only while the module state is alive (`Cx::clear` frees the
//! blocks, and a dealloc after it frees normally). At most [`MAX`] blocks,
//! so a burst of cdata does not stay allocated.
//!
//! Not for free-threaded CPython as is: the list relies on the GIL like
//! the rest of `Cx` (docs/architecture.md, plans).

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use super::Cx;
use pyo3_ffi as ffi;
use std::ffi::c_void;

/// Blocks kept at most per module: a call with more pointer arguments
/// than this reuses some and allocates the rest.
const MAX: usize = 8;

impl Cx {
    /// A kept CData block made an object of type `tp` again (refcount 1,
    /// a new reference to `tp`), or NULL if there is none (or `tp` is not
    /// this module's CData type).
    ///
    /// # Safety
    /// GIL held; `cx` alive.
    #[inline]
    pub(crate) unsafe fn take_free_cdata(
        cx: *mut Cx,
        tp: *mut ffi::PyTypeObject,
    ) -> *mut ffi::PyObject {
        // SAFETY: the caller keeps `cx` alive, and the GIL it holds makes
        // this the only access to the context (`Cx` relies on the GIL).
        let c = unsafe { &mut *cx };
        if tp as *mut ffi::PyObject != c.cdata_type {
            return std::ptr::null_mut();
        }
        match c.cdata_free.pop() {
            // SAFETY: the block is the memory of a dead instance of `tp`
            // (same basicsize), untracked, holding no reference
            // (`keep_free_cdata`); PyObject_Init sets its type, takes the
            // type reference and sets the refcount to 1.
            Some(o) => unsafe { ffi::PyObject_Init(o, tp) },
            None => std::ptr::null_mut(),
        }
    }

    /// Keeps the memory of dying CData `o` for reuse, if it qualifies;
    /// returns false if the caller must free it.
    ///
    /// # Safety
    /// GIL held; `cx` alive; called from the CData dealloc after everything
    /// `o` held was dropped, `o` never GC-tracked, its type reference still
    /// held (dropped here when kept).
    #[inline]
    pub(crate) unsafe fn keep_free_cdata(cx: *mut Cx, o: *mut ffi::PyObject) -> bool {
        // SAFETY: the caller keeps `cx` alive, and the GIL it holds makes
        // this the only access to the context (`Cx` relies on the GIL).
        let c = unsafe { &mut *cx };
        // SAFETY: `o` is the live object being deallocated (caller).
        let tp = unsafe { ffi::Py_TYPE(o) };
        if c.module.is_null()
            || tp as *mut ffi::PyObject != c.cdata_type
            || c.cdata_free.len() >= MAX
        {
            return false;
        }
        c.cdata_free.push(o);
        // SAFETY: the instance's reference to its heap type, which the
        // kept block no longer holds; `Cx` keeps its own (`cdata_type`).
        // The GIL is held (caller).
        unsafe { ffi::Py_DECREF(tp as *mut ffi::PyObject) };
        true
    }

    /// Frees every kept block (`m_clear`).
    ///
    /// # Safety
    /// GIL held; the CData type the blocks came from is still alive (the
    /// blocks hold no reference to it: `cdata_type` does, a field any code
    /// of the crate can change).
    pub(crate) unsafe fn free_cdata_blocks(&mut self) {
        for o in self.cdata_free.drain(..) {
            // SAFETY: a block of `_PyObject_GC_New`, untracked, holding
            // nothing: what PyObject_GC_Del frees; the GIL is held (caller).
            unsafe { ffi::PyObject_GC_Del(o as *mut c_void) };
        }
    }
}
