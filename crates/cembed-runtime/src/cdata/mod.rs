//! The C data model on the Python side: `CType` objects (what
//! `ffi.typeof` returns), `CData` objects (C values and memory seen from
//! Python), their conversions, and the per-module context holding both.
//!
//! * `types.rs` the registry: every C type of the module, built from the
//!   generated tables and grown on demand with derived types;
//! * `conv.rs` C value <-> Python object for every kind of type;
//!   `convert.rs` the same for arguments, results and globals, by `Conv`;
//! * `object.rs` the heap types, what a CData owns, making and freeing
//!   CData; `value.rs` (repr, hash, compare, numbers), `access.rs` (items,
//!   fields, calls, methods), `ctype.rs` (CType, CField), `buffer.rs`;
//! * `freelist.rs` the memory of dead CData kept for the next one;
//!   `fieldcache.rs` struct field reads found by the name object's identity;
//! * `hooks.rs` what the data model calls in the layers above it.
//!
//! One [`Cx`] per module instance, owned by the module state
//! (objects/state.rs keeps a pointer to it in the state struct). Every CType and
//! CData holds a strong reference to an object of a heap type bound to the
//! module, so the module (and its `Cx`) outlives them all.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub(crate) mod access;
pub(crate) mod buffer;
pub(crate) mod conv;
pub(crate) mod convert;
pub(crate) mod ctype;
pub(crate) mod fieldcache;
mod freelist;
pub(crate) mod hooks;
pub(crate) mod object;
pub(crate) mod types;
pub(crate) mod value;

use crate::desc::libstate::LibState;
use crate::py::{Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_int, c_void};
use std::ptr::null_mut;
use types::{Registry, Tid};

/// Per-module context of the data model.
pub(crate) struct Cx {
    pub(crate) ls: *const LibState,
    pub(crate) reg: Registry,
    /// The module the heap types are bound to (borrowed: the module owns
    /// this context; NULL once the module state was cleared).
    module: *mut ffi::PyObject,
    /// Heap types (strong references), each created on first use by
    /// [`Cx::heap_type`]: a library whose calls never make a cdata (`int
    /// add(int, int)`) does not pay their creation on its first call, about
    /// 80,000 instructions each (`PyType_FromModuleAndSpec`). NULL means "not
    /// created yet", so comparing an object's type with one of these fields
    /// is still a correct type check: no instance of a type that does not
    /// exist yet can exist.
    pub(crate) ctype_type: *mut ffi::PyObject,
    pub(crate) cdata_type: *mut ffi::PyObject,
    pub(crate) field_type: *mut ffi::PyObject,
    pub(crate) buffer_type: *mut ffi::PyObject,
    /// CType objects by registry index, created on first use (strong).
    pub(crate) ctypes: Vec<*mut ffi::PyObject>,
    /// `ffi.init_once` results and locks: tag -> (done, result) (strong dict).
    pub(crate) init_once: *mut ffi::PyObject,
    /// Addresses of the live `ffi.new_handle` cdata (`from_handle` checks
    /// here instead of trusting any pointer it is given).
    pub(crate) handles: std::collections::HashSet<usize>,
    /// While `ffi.new()` writes the initializer of a struct with a flexible
    /// array member: its allocation (start, end), which bounds the items
    /// the initializer may write there (NULLs otherwise: no room past the
    /// declared size).
    pub(crate) var_alloc: (*mut u8, *mut u8),
    /// Memory of dead CData objects for reuse (`freelist.rs`).
    cdata_free: Vec<*mut ffi::PyObject>,
    /// Struct field reads by the attribute name's identity (`fieldcache.rs`).
    field_cache: [fieldcache::FieldSlot; fieldcache::SLOTS],
}

impl Cx {
    /// Creates the context for `module` (its heap types come later, on
    /// first use).
    ///
    /// # Safety
    /// GIL held; `module` is the library's module being executed and owns
    /// the returned context.
    pub(crate) unsafe fn new(module: *mut ffi::PyObject, ls: &LibState) -> PyResult<Box<Cx>> {
        // SAFETY: `ls.lib` is the library's generated table, validated when its
        // state was made; the GIL is held (caller) for the dicts made, checked
        // before use.
        unsafe {
            let reg = Registry::from_lib(&*ls.lib);
            let mut cx = Box::new(Cx {
                ls,
                reg,
                module,
                ctype_type: null_mut(),
                cdata_type: null_mut(),
                field_type: null_mut(),
                buffer_type: null_mut(),
                ctypes: Vec::new(),
                init_once: null_mut(),
                handles: Default::default(),
                var_alloc: (null_mut(), null_mut()),
                cdata_free: Vec::new(),
                field_cache: [fieldcache::FieldSlot::EMPTY; fieldcache::SLOTS],
            });
            cx.init_once = Owned::check(ffi::PyDict_New())?.into_ptr();
            Ok(cx)
        }
    }

    /// One of the module's heap types (borrowed), created on first use.
    ///
    /// # Safety
    /// GIL held; `cx` alive.
    #[inline]
    pub(crate) unsafe fn heap_type(
        cx: *mut Cx,
        which: object::TypeKindObj,
    ) -> PyResult<*mut ffi::PyTypeObject> {
        // SAFETY: `cx` alive and the GIL held (caller): the only access to the
        // context; a slot holds NULL or a type it owns.
        unsafe {
            let slot = (*cx).type_slot(which);
            if !slot.is_null() {
                return Ok(*slot as *mut ffi::PyTypeObject);
            }
            Cx::create_heap_type(cx, which)
        }
    }

    /// Where the heap type `which` is kept (NULL until first use).
    #[inline]
    fn type_slot(&mut self, which: object::TypeKindObj) -> &mut *mut ffi::PyObject {
        match which {
            object::TypeKindObj::CType => &mut self.ctype_type,
            object::TypeKindObj::CData => &mut self.cdata_type,
            object::TypeKindObj::Field => &mut self.field_type,
            object::TypeKindObj::Buffer => &mut self.buffer_type,
        }
    }

    #[cold]
    #[inline(never)]
    unsafe fn create_heap_type(
        cx: *mut Cx,
        which: object::TypeKindObj,
    ) -> PyResult<*mut ffi::PyTypeObject> {
        // SAFETY: `cx` alive and the GIL held (caller); `module` is the live
        // module owning the context (not NULL: checked); the slot is written
        // after `make_type` returns (the GC may traverse the context during it).
        unsafe {
            let module = (*cx).module;
            if module.is_null() {
                return Err(crate::py::raise(
                    ffi::PyExc_RuntimeError,
                    "cembed: the library's module was already torn down",
                ));
            }
            // No Python code runs in here, but the allocation may run the GC,
            // which traverses this context: store only the finished type.
            let t = object::make_type(module, which)?;
            let slot = (*cx).type_slot(which);
            debug_assert!(slot.is_null());
            *slot = t;
            Ok(t as *mut ffi::PyTypeObject)
        }
    }

    /// Raises `ffi.error` (made on first use: `module::ffi_error`) with
    /// `msg`; if the module is gone, raises that instead.
    ///
    /// # Safety
    /// GIL held; `cx` alive.
    #[cold]
    pub(crate) unsafe fn raise_error(cx: *mut Cx, msg: &str) -> PyErrSet {
        // SAFETY: `cx` alive and the GIL held (caller); `module` is the live
        // module owning it (not NULL: checked), what the `ffi_error` hook takes.
        unsafe {
            let module = (*cx).module;
            if module.is_null() {
                return crate::py::raise(
                    ffi::PyExc_RuntimeError,
                    "cembed: the library's module was already torn down",
                );
            }
            match (hooks::hooks().ffi_error)(module) {
                Ok(e) => crate::py::raise(e, msg),
                Err(set) => set,
            }
        }
    }

    /// The CType object of `tid` (new reference).
    ///
    /// # Safety
    /// GIL held; `cx` alive; `tid` a type of its registry.
    pub(crate) unsafe fn ctype(cx: *mut Cx, tid: Tid) -> PyResult<*mut ffi::PyObject> {
        // SAFETY: `cx` alive and the GIL held (caller): the only access to the
        // context (each `&mut` ends before `new_ctype_obj`, which may run the GC,
        // and is taken again after); a cached entry is a CType it owns, a new
        // reference is returned to the caller and one kept in the cache.
        unsafe {
            let c = &mut *cx;
            if c.ctypes.len() <= tid as usize {
                c.ctypes.resize(tid as usize + 1, null_mut());
            }
            let cur = c.ctypes[tid as usize];
            if !cur.is_null() {
                return Ok(crate::py::new_ref(cur));
            }
            let o = ctype::new_ctype_obj(cx, tid)?;
            let c = &mut *cx;
            c.ctypes[tid as usize] = crate::py::new_ref(o.ptr());
            Ok(o.into_ptr())
        }
    }

    fn objects(&mut self) -> impl Iterator<Item = &mut *mut ffi::PyObject> {
        [
            &mut self.ctype_type,
            &mut self.cdata_type,
            &mut self.field_type,
            &mut self.buffer_type,
            &mut self.init_once,
        ]
        .into_iter()
        .chain(self.ctypes.iter_mut())
    }

    /// `m_traverse` of the module state.
    ///
    /// # Safety
    /// Called by the GC with the GIL held.
    pub(crate) unsafe fn traverse(&mut self, visit: ffi::visitproc, arg: *mut c_void) -> c_int {
        // SAFETY: called by the GC with the GIL held (caller) and its visitor;
        // each non-NULL field is a strong reference the context holds.
        unsafe {
            for p in self.objects() {
                if !p.is_null() {
                    let r = visit(*p, arg);
                    if r != 0 {
                        return r;
                    }
                }
            }
            0
        }
    }

    /// `m_clear`: drops every reference (the Cx itself is freed by the
    /// module afterwards).
    ///
    /// # Safety
    /// GIL held; the object fields are NULL or strong references of this
    /// context (they are `pub(crate)` raw pointers, so the type does not
    /// prove it).
    pub(crate) unsafe fn clear(&mut self) {
        // SAFETY: GIL held (caller); each field taken out (NULL after) is a
        // strong reference the context held, released once; the kept blocks are
        // freed while the CData type they came from is still held.
        unsafe {
            self.module = null_mut();
            self.free_cdata_blocks();
            self.clear_field_cache();
            for p in self.objects() {
                let o = std::mem::replace(p, null_mut());
                if !o.is_null() {
                    ffi::Py_DECREF(o);
                }
            }
        }
    }
}

/// The data model context of library `ls` in this interpreter (its module
/// must exist: the call path creates it before running the init code).
///
/// # Safety
/// GIL held; each instance's `cx` NULL or its live module's context (a
/// `pub(crate)` field, so its type does not prove it).
#[inline]
pub(crate) unsafe fn cx_of_lib(ls: &LibState) -> PyResult<*mut Cx> {
    // SAFETY: GIL held (caller); the instance's `cx` is NULL or the context
    // of its live module (set by the module's exec, cleared by its m_clear
    // before the context is cleared or freed).
    unsafe {
        let cx = ls.inst_here().map_or(null_mut(), |i| {
            i.cx.load(std::sync::atomic::Ordering::Acquire) as *mut Cx
        });
        if cx.is_null() {
            return Err(module_not_loaded(ls));
        }
        Ok(cx)
    }
}

/// [`cx_of_lib`]'s error, out of line (the lookup runs for every pointer
/// argument of a call into Python).
///
/// # Safety
/// GIL held.
#[cold]
#[inline(never)]
unsafe fn module_not_loaded(ls: &LibState) -> PyErrSet {
    // SAFETY: GIL held (caller).
    unsafe {
        crate::py::raise(
            ffi::PyExc_RuntimeError,
            &format!(
                "cembed: the module of library '{}' is not loaded",
                ls.name.to_string_lossy()
            ),
        )
    }
}

/// `convert::to_py` for non-primitive table types.
///
/// # Safety
/// GIL held; `src` readable for the type's size.
#[inline(always)]
pub(crate) unsafe fn value_to_py(
    ls: &LibState,
    table_ty: u32,
    src: *const c_void,
    how: conv::Read,
) -> *mut ffi::PyObject {
    // SAFETY: GIL held and `src` readable for the type's size (caller);
    // `cx` is the live context of the library's module; `tid` is one of its
    // registry's types (from its table map), `c.reg.info(tid)` its
    // description, what `read_other` needs.
    unsafe {
        let cx = match cx_of_lib(ls) {
            Ok(cx) => cx,
            Err(_) => return null_mut(),
        };
        let c = &*cx;
        let Some(&tid) = c.reg.table_map.get(table_ty as usize) else {
            crate::py::raise(ffi::PyExc_SystemError, "cembed: type index out of range");
            return null_mut();
        };
        let t = c.reg.info(tid);
        // A pointer (every `T *` argument of a call into Python): the cdata
        // of its value, as `conv::read_other` makes it, without its dispatch.
        if let types::TKind::Pointer { .. } = t.kind {
            let v = (src as *const *mut u8).read_unaligned();
            return object::new_ptr_cdata(cx, tid, v).map_or(null_mut(), Owned::into_ptr);
        }
        // Never a primitive but `long double` (`Conv::of`): straight to the
        // out-of-line part of `conv::read`.
        conv::read_other(cx, tid, t, src as *const u8, how)
    }
}

/// `convert::from_py` / `arg_from_py` for non-primitive table types.
///
/// # Safety
/// GIL held; `dst` writable for the type's size.
pub(crate) unsafe fn value_from_py(
    ls: &LibState,
    table_ty: u32,
    obj: *mut ffi::PyObject,
    dst: *mut c_void,
    keep: Option<&mut Vec<Owned>>,
) -> PyResult<()> {
    // SAFETY: GIL held, `obj` live and `dst` writable for the type's size
    // (caller); `cx` is the live context of the library's module and `tid`
    // one of its registry's types (from its table map).
    unsafe {
        let cx = cx_of_lib(ls)?;
        let c = &*cx;
        let Some(&tid) = c.reg.table_map.get(table_ty as usize) else {
            return Err(crate::py::raise(
                ffi::PyExc_SystemError,
                "cembed: type index out of range",
            ));
        };
        match keep {
            Some(k) => access::arg_from_py(cx, tid, obj, dst as *mut u8, k),
            None => conv::write(cx, tid, obj, dst as *mut u8),
        }
    }
}

/// `lib.<name>` of a global declared with an open length (`extern int g[];`,
/// `extern int g[][5];`): as in CFFI, a pointer to its first item (`int *`,
/// `int(*)[5]`), since no length is known to bound a view. `None` for any
/// other global.
///
/// # Safety
/// GIL held; `addr` is the global's address.
pub(crate) unsafe fn open_array_global(
    ls: &LibState,
    table_ty: u32,
    addr: *mut c_void,
) -> Option<PyResult<*mut ffi::PyObject>> {
    // SAFETY: GIL held and `addr` the global's address (caller), which lives
    // as long as the library; `cx` is the live context of the library's
    // module, `tid` one of its registry's types (from its table map).
    unsafe {
        let cx = match cx_of_lib(ls) {
            Ok(cx) => cx,
            Err(e) => return Some(Err(e)),
        };
        let c = &mut *cx;
        let tid = *c.reg.table_map.get(table_ty as usize)?;
        let types::TKind::Array { item, len: None } = c.reg.info(tid).kind else {
            return None;
        };
        let pt = c.reg.pointer_to(item);
        Some(object::new_cdata(cx, pt, addr as *mut u8, object::Own::None).map(Owned::into_ptr))
    }
}
