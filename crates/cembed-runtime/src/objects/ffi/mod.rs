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
use crate::cdata::Cx;
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
use crate::objects::heap::slot;
use crate::py::cell::SyncCell;
use crate::py::guard::trampoline;
use crate::py::{raise, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_int, c_void, CStr};
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

/// The `PyMethodDef`s of [`METHODS`], made at compile time, zero-terminated.
/// Not the type's `tp_methods`: each FFI object holds its methods bound,
/// in the slots [`FFI_MEMBERS`] describes.
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

/// The FFI object: the object header, then its methods bound to it, one
/// slot per entry of [`METHODS`], in that order.
///
/// Why slots and not the usual method descriptors: `ffi` reaches init code
/// through `from _lib import ffi`, and for a name bound by `import` CPython
/// 3.11 to 3.13 compile `ffi.string(s)` as a `LOAD_ATTR`, not a method load.
/// A `LOAD_ATTR` of a method descriptor is never specialised and binds a new
/// method object per call (~470 instructions of a ~2700-instruction
/// `len(ffi.string(s))` call); a read-only `T_OBJECT_EX` member of a type
/// with the generic `tp_getattro` is specialised (`LOAD_ATTR_SLOT`: a type
/// version check and a load, ~10 instructions). `ffi.string` is then one
/// and the same bound method at every lookup, as the earlier per-module
/// cache of bound methods made it. What CFFI code can tell:
/// `type(ffi).string` is a member descriptor (documented with the method's
/// text), not a method descriptor, so `type(ffi).string(ffi, p)` does not
/// call it; `ffi.string(p)`, `super().string(p)` in a subclass and an
/// override in a subclass behave as CFFI's (docs/differences.md).
#[repr(C)]
pub(crate) struct FfiObject {
    ob_base: ffi::PyObject,
    methods: [*mut ffi::PyObject; METHODS.len()],
}

/// `tp_basicsize` of the FFI type.
pub(crate) const FFI_BASICSIZE: usize = std::mem::size_of::<FfiObject>();

/// The FFI type's members (`tp_members`): one read-only `T_OBJECT_EX` slot
/// per method, named and documented as the method, zero-terminated.
static FFI_MEMBERS: SyncCell<[ffi::PyMemberDef; METHODS.len() + 1]> = SyncCell::new({
    let mut t = [ffi::PyMemberDef {
        name: std::ptr::null(),
        type_code: 0,
        offset: 0,
        flags: 0,
        doc: std::ptr::null(),
    }; METHODS.len() + 1];
    let mut i = 0;
    while i < METHODS.len() {
        let (name, _, doc) = METHODS[i];
        t[i] = ffi::PyMemberDef {
            name: name.as_ptr(),
            type_code: ffi::Py_T_OBJECT_EX,
            offset: (std::mem::offset_of!(FfiObject, methods)
                + i * std::mem::size_of::<*mut ffi::PyObject>())
                as ffi::Py_ssize_t,
            flags: ffi::Py_READONLY,
            doc: doc.as_ptr(),
        };
        i += 1;
    }
    t
});

/// The slots of the FFI heap type. Its `tp_getattro` is the generic one
/// (inherited), which the slot specialisation above needs.
pub(crate) fn ffi_slots() -> Vec<ffi::PyType_Slot> {
    vec![
        slot(ffi::Py_tp_new, ffi_obj_new as *mut c_void),
        slot(ffi::Py_tp_traverse, ffi_obj_traverse as *mut c_void),
        slot(ffi::Py_tp_clear, ffi_obj_clear as *mut c_void),
        slot(ffi::Py_tp_dealloc, ffi_obj_dealloc as *mut c_void),
        slot(ffi::Py_tp_members, FFI_MEMBERS.get() as *mut c_void),
        slot(ffi::Py_tp_getset, FFI_GETSET.get() as *mut c_void),
        slot(
            ffi::Py_tp_doc,
            c"The ffi object of a cembed library.".as_ptr() as *mut c_void,
        ),
    ]
}

// ---- the FFI object ----------------------------------------------------------------------

/// Makes an FFI object of type `tp` (the library's FFI type or a Python
/// subclass of it) with its methods bound, as `tp_new` (`type(ffi)()`) and
/// for the library's own `ffi` (objects/module.rs).
///
/// # Safety
/// GIL held; `tp` the FFI type of one of the runtime's modules, or a
/// subclass of it.
pub(crate) unsafe fn new_ffi_object(tp: *mut ffi::PyTypeObject) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held (contract); `tp`'s instances are at least an
    // `FfiObject` (its basicsize, inherited by subclasses), allocated zeroed
    // by `PyType_GenericAlloc` and GC-tracked by it; each slot gets a new
    // reference. If one bind fails, the reference to the object is dropped:
    // freed at once if nothing was bound, else the methods bound so far keep
    // it, a tracked cycle the GC frees (`ffi_obj_clear`).
    unsafe {
        let obj = crate::py::Owned::check(ffi::PyType_GenericAlloc(tp, 0))?;
        let o = obj.ptr() as *mut FfiObject;
        for (i, def) in (*FFI_METHODS.get()).iter().take(METHODS.len()).enumerate() {
            let m = ffi::PyCFunction_NewEx(def as *const _ as *mut _, obj.ptr(), null_mut());
            (*o).methods[i] = crate::py::Owned::check(m)?.into_ptr();
        }
        Ok(obj.into_ptr())
    }
}

/// `tp_new` of the FFI type: `type(ffi)()` makes an FFI object of the same
/// library (CFFI's `FFI()`). It takes no arguments unless a subclass
/// defines `__init__` (which gets them), as `object.__new__` decides.
///
/// # Safety
/// Called by CPython as `tp_new` (GIL held).
unsafe extern "C" fn ffi_obj_new(
    tp: *mut ffi::PyTypeObject,
    args: *mut ffi::PyObject,
    kwds: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls `tp_new` with the GIL held, `tp` the FFI type or
    // a subclass, `args` a tuple and `kwds` NULL or a dict.
    unsafe {
        trampoline(|| {
            let excess = ffi::PyTuple_GET_SIZE(args) != 0
                || (!kwds.is_null() && ffi::PyDict_Size(kwds) != 0);
            // `object.__init__` by address, as CPython's `object_new` compares it.
            let init = |t: *mut ffi::PyTypeObject| (*t).tp_init.map(|f| f as usize);
            if excess && init(tp) == init(std::ptr::addr_of_mut!(ffi::PyBaseObject_Type)) {
                let name = std::ffi::CStr::from_ptr((*tp).tp_name).to_string_lossy();
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("{name}() takes no arguments"),
                ));
            }
            new_ffi_object(tp)
        })
    }
}

/// `tp_traverse`: the type and the bound methods (each refers back to the
/// object: a cycle the GC breaks through `tp_clear`).
///
/// # Safety
/// Called by the GC (GIL held) on a live FFI object.
unsafe extern "C" fn ffi_obj_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: CPython calls tp_traverse with the GIL held and a live instance
    // of the FFI type or a subclass (an `FfiObject` at least); every non-NULL
    // slot and the heap type are references it holds.
    crate::py::guard::c_entry("ffi_obj_traverse", 0, || unsafe {
        let o = slf as *mut FfiObject;
        for &m in (*o).methods.iter() {
            if !m.is_null() {
                let r = visit(m, arg);
                if r != 0 {
                    return r;
                }
            }
        }
        visit(ffi::Py_TYPE(slf) as *mut ffi::PyObject, arg)
    })
}

/// `tp_clear`: drops the bound methods.
///
/// # Safety
/// Called by the GC (GIL held) on a live FFI object.
unsafe extern "C" fn ffi_obj_clear(slf: *mut ffi::PyObject) -> c_int {
    // SAFETY: CPython calls tp_clear with the GIL held on a live `FfiObject`;
    // each slot is NULLed before the reference it held is released, so code
    // a release runs never sees a freed slot.
    crate::py::guard::c_entry("ffi_obj_clear", 0, || unsafe {
        clear_methods(slf as *mut FfiObject);
        0
    })
}

/// Releases and NULLs every slot of `o`.
///
/// # Safety
/// GIL held; `o` a live `FfiObject`.
unsafe fn clear_methods(o: *mut FfiObject) {
    // SAFETY: GIL held and `o` live (contract); see `ffi_obj_clear`.
    unsafe {
        for i in 0..METHODS.len() {
            let m = std::mem::replace(&mut (*o).methods[i], null_mut());
            if !m.is_null() {
                ffi::Py_DECREF(m);
            }
        }
    }
}

/// `tp_dealloc`.
///
/// # Safety
/// Called by CPython once, on an FFI object nobody references any more.
unsafe extern "C" fn ffi_obj_dealloc(slf: *mut ffi::PyObject) {
    // SAFETY: CPython calls tp_dealloc once, with the GIL held, on an
    // unreferenced FFI object (what `dealloc_heap_instance` needs); its slots are
    // released after it is untracked, before its memory is freed.
    crate::py::guard::c_entry("ffi_obj_dealloc", (), || unsafe {
        crate::objects::heap::dealloc_heap_instance(slf, || clear_methods(slf as *mut FfiObject))
    })
}

// ---- attributes ----------------------------------------------------------------------------

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
