//! The `ffi` object: its type's one method table ([`METHODS`]), its
//! attributes and its attribute lookup. The methods themselves, with CFFI's
//! semantics (CFFI's "ffi/ffibuilder.new() etc." reference), are in the
//! files of this folder: `new.rs` (`new`, `cast`, `typeof`, `sizeof`, ...),
//! `strings.rs`, `buffers.rs`, `handles.rs` (handles, `gc`, `release`,
//! `init_once`, ...), `def_extern.rs` (`def_extern`, `integer_const`,
//! `error`), `callback.rs`, `allocator.rs`; what they share (argument
//! parsing, the data model context found from `self`) is `args.rs`, and the
//! FFI class's own attributes are `class_attrs.rs`. They reach the module's
//! data model through the FFI type's module.
//!
//! The unsafe lints below hold for every file of the folder.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub(crate) mod allocator;
pub(crate) mod args;
pub(crate) mod buffers;
pub(crate) mod callback;
pub(crate) mod class_attrs;
pub(crate) mod def_extern;
pub(crate) mod handles;
pub(crate) mod new;
pub(crate) mod strings;

use crate::cdata::object::TypeKindObj;
use crate::cdata::{Cx, FFI_METHOD_IDS};
use crate::objects::ffi::allocator::ffi_new_allocator;
use crate::objects::ffi::args::{cx_of, CallArgs};
use crate::objects::ffi::buffers::{ffi_from_buffer, ffi_memmove};
use crate::objects::ffi::callback::ffi_callback;
use crate::objects::ffi::def_extern::{ffi_def_extern, ffi_get_error, ffi_integer_const};
use crate::objects::ffi::handles::{
    ffi_from_handle, ffi_gc, ffi_getctype, ffi_init_once, ffi_list_types, ffi_new_handle,
    ffi_release,
};
use crate::objects::ffi::new::{
    ffi_addressof, ffi_alignof, ffi_cast, ffi_new, ffi_offsetof, ffi_sizeof, ffi_typeof,
};
use crate::objects::ffi::strings::{ffi_string_entry, ffi_unpack};
use crate::objects::heap::{common_slots, slot};
use crate::py::cell::SyncCell;
use crate::py::guard::trampoline;
use crate::py::{raise, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_void, CStr};
use std::ptr::null_mut;

/// How CPython calls one `ffi` method. Each behaves as its CFFI counterpart
/// (`ffi_obj.c`) does, argument errors included ("FFI.sizeof() takes
/// exactly one argument (2 given)", "cast() takes no keyword arguments"),
/// but none builds an argument tuple per call (CFFI's `METH_VARARGS`
/// methods do; here they are `METH_FASTCALL`).
#[derive(Clone, Copy)]
pub(crate) enum Entry {
    /// `METH_FASTCALL | METH_KEYWORDS`: CFFI's `METH_VARARGS` methods,
    /// with keywords ([`CallArgs::parse`]) or without
    /// ([`CallArgs::positional`]).
    Keywords(ffi::PyCFunctionFastWithKeywords),
    /// `METH_O`.
    One(ffi::PyCFunction),
    /// `METH_NOARGS`.
    NoArgs(ffi::PyCFunction),
    /// `METH_VARARGS | METH_KEYWORDS`: the methods that return a Python
    /// function or decorator (`def_extern`, `callback`, `new_allocator`),
    /// which parse their arguments once per decoration, not per call.
    VarKeywords(ffi::PyCFunctionWithKeywords),
}

/// The one prologue of every `ffi` method: the panic guard and the module's
/// data model context, found from `self` (the FFI object, whose type
/// belongs to the module). The entry macros below wrap a body in it, so
/// each method is only its body.
///
/// # Safety
/// GIL held; `slf` a live object of one of the module's types.
#[inline(always)]
pub(crate) unsafe fn enter(
    slf: *mut ffi::PyObject,
    body: impl FnOnce(*mut Cx) -> PyResult<*mut ffi::PyObject>,
) -> *mut ffi::PyObject {
    // SAFETY: GIL held and `slf` a live object of one of the module's types
    // (contract), what `cx_of` needs; `body` runs inside the panic guard.
    unsafe { trampoline(|| body(cx_of(slf)?)) }
}

/// `body(cx, args: CallArgs)` as a `METH_FASTCALL | METH_KEYWORDS` method.
macro_rules! keywords {
    ($body:path) => {{
        unsafe extern "C" fn entry(
            slf: *mut ffi::PyObject,
            args: *const *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
            kwnames: *mut ffi::PyObject,
        ) -> *mut ffi::PyObject {
            // SAFETY: CPython calls this with the GIL held and the
            // arguments of a METH_FASTCALL | METH_KEYWORDS method.
            unsafe { enter(slf, |cx| $body(cx, CallArgs::fast(args, nargs, kwnames))) }
        }
        Entry::Keywords(entry)
    }};
}

/// `body(cx, args: &[*mut PyObject])` for method `$name`, which takes no
/// keyword arguments. Not plain `METH_FASTCALL`: CPython's message for
/// that names the type ("FFI.cast() takes no keyword arguments"), CFFI's
/// (`METH_VARARGS`) does not.
macro_rules! positional {
    ($name:literal, $body:path) => {{
        unsafe extern "C" fn entry(
            slf: *mut ffi::PyObject,
            args: *const *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
            kwnames: *mut ffi::PyObject,
        ) -> *mut ffi::PyObject {
            // SAFETY: CPython calls this with the GIL held and the
            // arguments of a METH_FASTCALL | METH_KEYWORDS method.
            unsafe {
                enter(slf, |cx| {
                    $body(cx, CallArgs::fast(args, nargs, kwnames).positional($name)?)
                })
            }
        }
        Entry::Keywords(entry)
    }};
}

/// `body(cx, arg)` as a `METH_O` method.
macro_rules! one {
    ($body:path) => {{
        unsafe extern "C" fn entry(
            slf: *mut ffi::PyObject,
            arg: *mut ffi::PyObject,
        ) -> *mut ffi::PyObject {
            // SAFETY: CPython calls this with the GIL held (METH_O).
            unsafe { enter(slf, |cx| $body(cx, arg)) }
        }
        Entry::One(entry)
    }};
}

/// `body(cx)` as a `METH_NOARGS` method.
macro_rules! no_args {
    ($body:path) => {{
        unsafe extern "C" fn entry(
            slf: *mut ffi::PyObject,
            _unused: *mut ffi::PyObject,
        ) -> *mut ffi::PyObject {
            // SAFETY: CPython calls this with the GIL held (METH_NOARGS).
            unsafe { enter(slf, |cx| $body(cx)) }
        }
        Entry::NoArgs(entry)
    }};
}

/// Every method of the FFI type: (name, how CPython calls it, docstring).
const METHODS: &[(&CStr, Entry, &CStr)] = &[
    (
        c"new_allocator",
        Entry::VarKeywords(ffi_new_allocator),
        c"new_allocator(alloc=None, free=None, should_clear_after_alloc=True)\n--\n\n\
Return a new allocator, i.e. a function that behaves like ffi.new() but uses \
the provided low-level 'alloc' and 'free' functions.",
    ),
    (
        c"integer_const",
        Entry::One(ffi_integer_const),
        c"integer_const(name)\n--\n\n\
Get the value of an integer constant: a #define, a 'static const int', \
or an enumerator of the declarations.",
    ),
    (
        c"callback",
        Entry::VarKeywords(ffi_callback),
        c"callback(cdecl, python_callable=None, error=None, onerror=None)\n--\n\n\
Return a callback object or a decorator making such a callback object. \
'cdecl' must name a C function pointer type. The callback invokes the \
specified 'python_callable' and returns its result. If the callback \
raises an exception, the 'error' value is returned (or 0) and 'onerror' \
is called.",
    ),
    (
        c"def_extern",
        Entry::VarKeywords(ffi_def_extern),
        c"def_extern(name=None, error=None, onerror=None)\n--\n\n\
Decorator attaching a Python function to an extern \"Python\" function \
(or an embedding_api function) of this library.",
    ),
    (
        c"new",
        keywords!(ffi_new),
        c"new(cdecl, init=None) -> owning cdata",
    ),
    (
        c"cast",
        positional!("cast", ffi_cast),
        c"cast(cdecl, value) -> cdata",
    ),
    (
        c"typeof",
        one!(ffi_typeof),
        c"typeof(cdecl_or_cdata) -> ctype",
    ),
    (
        c"sizeof",
        one!(ffi_sizeof),
        c"sizeof(cdecl_or_cdata) -> int",
    ),
    (c"alignof", one!(ffi_alignof), c"alignof(cdecl) -> int"),
    (
        c"offsetof",
        positional!("offsetof", ffi_offsetof),
        c"offsetof(cdecl, *fields_or_indexes) -> int",
    ),
    (
        c"string",
        Entry::Keywords(ffi_string_entry),
        c"string(cdata, maxlen=-1) -> bytes or str",
    ),
    (
        c"unpack",
        keywords!(ffi_unpack),
        c"unpack(cdata, length) -> bytes, str or list",
    ),
    (
        c"from_buffer",
        keywords!(ffi_from_buffer),
        c"from_buffer([cdecl,] obj, require_writable=False)",
    ),
    (c"memmove", keywords!(ffi_memmove), c"memmove(dest, src, n)"),
    (
        c"addressof",
        positional!("addressof", ffi_addressof),
        c"addressof(cdata, *fields_or_indexes) -> pointer cdata",
    ),
    (
        c"new_handle",
        one!(ffi_new_handle),
        c"new_handle(obj) -> 'void *' cdata",
    ),
    (
        c"from_handle",
        one!(ffi_from_handle),
        c"from_handle(p) -> the object",
    ),
    (
        c"gc",
        keywords!(ffi_gc),
        c"gc(cdata, destructor, size=0) -> cdata",
    ),
    (c"release", one!(ffi_release), c"release(cdata)"),
    (
        c"init_once",
        keywords!(ffi_init_once),
        c"init_once(func, tag)",
    ),
    (
        c"list_types",
        no_args!(ffi_list_types),
        c"list_types() -> (typedefs, structs, unions)",
    ),
    (
        c"getctype",
        keywords!(ffi_getctype),
        c"getctype(cdecl, replace_with='') -> str",
    ),
];

/// One `PyMethodDef` of [`METHODS`].
const fn method_def(name: &'static CStr, entry: Entry, doc: &'static CStr) -> ffi::PyMethodDef {
    let (ml_meth, ml_flags) = match entry {
        Entry::Keywords(f) => (
            ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: f,
            },
            ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ),
        Entry::One(f) => (ffi::PyMethodDefPointer { PyCFunction: f }, ffi::METH_O),
        Entry::NoArgs(f) => (ffi::PyMethodDefPointer { PyCFunction: f }, ffi::METH_NOARGS),
        Entry::VarKeywords(f) => (
            ffi::PyMethodDefPointer {
                PyCFunctionWithKeywords: f,
            },
            ffi::METH_VARARGS | ffi::METH_KEYWORDS,
        ),
    };
    ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth,
        ml_flags,
        ml_doc: doc.as_ptr(),
    }
}

/// The FFI type's method table (`tp_methods`), made at compile time from
/// [`METHODS`], zero-terminated.
static FFI_METHODS: SyncCell<[ffi::PyMethodDef; METHODS.len() + 1]> = SyncCell::new({
    let mut t = [ffi::PyMethodDef::zeroed(); METHODS.len() + 1];
    let mut i = 0;
    while i < METHODS.len() {
        let (name, entry, doc) = METHODS[i];
        t[i] = method_def(name, entry, doc);
        i += 1;
    }
    t
});

/// One `PyGetSetDef` of the FFI type.
const fn attr(
    name: &'static CStr,
    get: ffi::getter,
    set: Option<ffi::setter>,
    doc: Option<&'static CStr>,
    closure: *mut c_void,
) -> ffi::PyGetSetDef {
    ffi::PyGetSetDef {
        name: name.as_ptr(),
        get: Some(get),
        set,
        doc: match doc {
            Some(d) => d.as_ptr(),
            None => std::ptr::null(),
        },
        closure,
    }
}

/// The FFI type's attributes (`tp_getset`), NULL-terminated. `NULL`,
/// `CData` and `CType` are attributes of the FFI class itself
/// (class_attrs.rs), as in CFFI.
static FFI_GETSET: SyncCell<[ffi::PyGetSetDef; 4]> = SyncCell::new([
    attr(
        c"error",
        ffi_get_error,
        None,
        Some(c"The exception raised by this ffi's operations."),
        null_mut(),
    ),
    attr(
        c"buffer",
        get_heap_type,
        None,
        None,
        &TypeKindObj::Buffer as *const TypeKindObj as *mut c_void,
    ),
    attr(c"errno", get_errno, Some(set_errno), None, null_mut()),
    ffi::PyGetSetDef {
        name: std::ptr::null(),
        get: None,
        set: None,
        doc: std::ptr::null(),
        closure: null_mut(),
    },
]);

/// The slots of the FFI heap type.
pub(crate) fn ffi_slots() -> Vec<ffi::PyType_Slot> {
    let mut v = common_slots();
    v.push(slot(ffi::Py_tp_methods, FFI_METHODS.get() as *mut c_void));
    v.push(slot(ffi::Py_tp_getset, FFI_GETSET.get() as *mut c_void));
    v.push(slot(
        ffi::Py_tp_doc,
        c"The ffi object of a cembed library.".as_ptr() as *mut c_void,
    ));
    v.push(slot(ffi::Py_tp_getattro, ffi_getattro as *mut c_void));
    v
}

// ---- attributes ----------------------------------------------------------------------------

/// `tp_getattro` of the FFI type. `ffi.string(s)` in init code is a
/// `LOAD_ATTR` (CPython 3.11 emits no `LOAD_METHOD` for a name bound by
/// `import`), which binds a new method object per call and frees it after:
/// ~470 instructions of a ~2700-instruction `len(ffi.string(s))` call. The
/// library's own `ffi` keeps its bound methods instead (`Cx::ffi_methods`,
/// filled on first use), so a lookup is one dict hit, or, for a name
/// object seen before (the code object's interned name), one compare in
/// `Cx::ffi_method_ids` in front of the dict. Only for the FFI type
/// itself (a subclass may override a method) and only bound methods of that
/// very object are kept; everything else is the generic lookup.
///
/// # Safety
/// Called by CPython as `tp_getattro` (GIL held).
pub(crate) unsafe extern "C" fn ffi_getattro(
    slf: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls `tp_getattro` with the GIL held, `slf` an instance
    // of the FFI type (or a subclass) and `name` live; `cx` is checked non-NULL
    // before its cache dict is read, and a cache hit is returned only if it is
    // a bound method of this very `slf`.
    unsafe {
        crate::py::guard::raising(null_mut(), || {
            // SAFETY: the FFI type and its subclasses are heap types; `ht_module`
            // is NULL for a Python subclass (PyType_GetModule would raise there).
            let module = (*(ffi::Py_TYPE(slf) as *mut ffi::PyHeapTypeObject)).ht_module;
            if module.is_null() || ffi::PyUnicode_CheckExact(name) == 0 {
                return ffi::PyObject_GenericGetAttr(slf, name);
            }
            let cx = crate::objects::state::cx_of_module(module);
            if cx.is_null() || (*cx).ffi_methods.is_null() {
                return ffi::PyObject_GenericGetAttr(slf, name);
            }
            // The name object seen before (the code object's interned name):
            // a compare instead of the dict's hash lookup (~90 instructions).
            let slot = &mut (*cx).ffi_method_ids[(name as usize >> 4) & (FFI_METHOD_IDS - 1)];
            if slot.0 == name && (*(slot.1 as *mut ffi::PyCFunctionObject)).m_self == slf {
                return crate::py::new_ref(slot.1);
            }
            let cache = (*cx).ffi_methods;
            let hit = ffi::PyDict_GetItemWithError(cache, name);
            if !hit.is_null() && ffi::PyCFunction_GetSelf(hit) == slf {
                remember_method(cx, name, hit);
                return crate::py::new_ref(hit);
            }
            if hit.is_null() && !ffi::PyErr_Occurred().is_null() {
                return null_mut();
            }
            let res = ffi::PyObject_GenericGetAttr(slf, name);
            if !res.is_null()
                && hit.is_null()
                && ffi::PyCFunction_CheckExact(res) != 0
                && ffi::PyCFunction_GetSelf(res) == slf
                && crate::objects::state::is_main_ffi(module, slf)
                && ffi::PyDict_SetItem(cache, name, res) < 0
            {
                ffi::Py_DECREF(res);
                return null_mut();
            }
            res
        })
    }
}

/// Puts (`name`, `method`) in the identity table in front of
/// `Cx::ffi_methods`, replacing what its slot held.
///
/// # Safety
/// GIL held; `cx` alive; `name` an exact `str` and `method` a bound method
/// (a `PyCFunctionObject`), both live.
unsafe fn remember_method(cx: *mut Cx, name: *mut ffi::PyObject, method: *mut ffi::PyObject) {
    // SAFETY: GIL held and `cx` alive (contract), so this is the only access
    // to the context; the slot's old pair are strong references it held,
    // released once after the slot holds new ones (their deallocs run no
    // Python code that could reach the slot: a str and a bound method whose
    // self, the ffi object, the dict still keeps).
    unsafe {
        let slot = &mut (*cx).ffi_method_ids[(name as usize >> 4) & (FFI_METHOD_IDS - 1)];
        let old = std::mem::replace(slot, (crate::py::new_ref(name), crate::py::new_ref(method)));
        for o in [old.0, old.1] {
            if !o.is_null() {
                ffi::Py_DECREF(o);
            }
        }
    }
}

/// `ffi.buffer`: the heap type the getset entry's closure names (a
/// `&'static TypeKindObj`): the buffer type itself, callable as
/// `ffi.buffer(cdata, size=-1)` (CFFI's buffer type is both).
///
/// # Safety
/// Called by CPython as a getter of an ffi object (GIL held), with its
/// getset entry's closure.
unsafe extern "C" fn get_heap_type(
    slf: *mut ffi::PyObject,
    which: *mut c_void,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a getter with the GIL held and `slf` an ffi object
    // (what `cx_of` needs); the closure of this getset entry is a `&'static
    // TypeKindObj` (FFI_GETSET).
    unsafe {
        trampoline(|| {
            // SAFETY: every getset entry with this getter has a closure made
            // from a `&'static TypeKindObj` (`ffi_getset`).
            let which = *(which as *const TypeKindObj);
            let tp = Cx::heap_type(cx_of(slf)?, which)?;
            Ok(crate::py::new_ref(tp as *mut ffi::PyObject))
        })
    }
}

/// `ffi.errno`: this thread's saved errno.
///
/// # Safety
/// Called by CPython as a getter (GIL held).
unsafe extern "C" fn get_errno(_slf: *mut ffi::PyObject, _c: *mut c_void) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a getter with the GIL held; errno is this thread's.
    unsafe {
        crate::py::guard::raising(std::ptr::null_mut(), || {
            ffi::PyLong_FromLong(crate::calls::cfunc::errno::get() as _)
        })
    }
}

/// `ffi.errno = v`.
///
/// # Safety
/// Called by CPython as a setter (GIL held).
unsafe extern "C" fn set_errno(
    _slf: *mut ffi::PyObject,
    v: *mut ffi::PyObject,
    _c: *mut c_void,
) -> std::ffi::c_int {
    // SAFETY: CPython calls a setter with the GIL held and `v` NULL (delete) or
    // live; errno is this thread's.
    unsafe {
        crate::py::guard::raising(-1, || {
            if v.is_null() {
                raise(ffi::PyExc_AttributeError, "cannot delete errno");
                return -1;
            }
            let x = ffi::PyLong_AsLong(v);
            if x == -1 && !ffi::PyErr_Occurred().is_null() {
                return -1;
            }
            crate::calls::cfunc::errno::set(x as i32);
            0
        })
    }
}
