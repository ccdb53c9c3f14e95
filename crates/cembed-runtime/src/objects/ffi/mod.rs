//! The `ffi` object: its type's one method table ([`METHODS`]) and
//! attributes, and what the methods share (argument parsing, the data model
//! context found from `self`). The methods themselves, with CFFI's
//! semantics (CFFI's "ffi/ffibuilder.new() etc." reference), are in the
//! files of this folder: `new.rs` (`new`, `cast`, `typeof`, `sizeof`, ...),
//! `strings.rs`, `buffers.rs`, `handles.rs` (handles, `gc`, `release`,
//! `init_once`, ...), `def_extern.rs` (`def_extern`, `integer_const`,
//! `error`), `callback.rs`, `allocator.rs`. They reach the module's data
//! model through the FFI type's module.

pub(crate) mod allocator;
pub(crate) mod buffers;
pub(crate) mod callback;
pub(crate) mod def_extern;
pub(crate) mod handles;
pub(crate) mod new;
pub(crate) mod strings;

use crate::cdata::conv::{as_cdata, is_void_ptr, str_ref};
use crate::cdata::object::{new_cdata, CDataObj, CTypeObj, Own, TypeKindObj};
use crate::cdata::types::Tid;
use crate::cdata::Cx;
use crate::objects::ffi::allocator::ffi_new_allocator;
use crate::objects::ffi::buffers::ffi_from_buffer;
use crate::objects::ffi::buffers::ffi_memmove;
use crate::objects::ffi::callback::ffi_callback;
use crate::objects::ffi::def_extern::{ffi_def_extern, ffi_get_error, ffi_integer_const};
use crate::objects::ffi::handles::ffi_from_handle;
use crate::objects::ffi::handles::ffi_gc;
use crate::objects::ffi::handles::ffi_getctype;
use crate::objects::ffi::handles::ffi_init_once;
use crate::objects::ffi::handles::ffi_list_types;
use crate::objects::ffi::handles::ffi_new_handle;
use crate::objects::ffi::handles::ffi_release;
use crate::objects::ffi::new::ffi_addressof;
use crate::objects::ffi::new::ffi_alignof;
use crate::objects::ffi::new::ffi_cast;
use crate::objects::ffi::new::ffi_new;
use crate::objects::ffi::new::ffi_offsetof;
use crate::objects::ffi::new::ffi_sizeof;
use crate::objects::ffi::new::ffi_typeof;
use crate::objects::ffi::strings::ffi_string;
use crate::objects::ffi::strings::ffi_unpack;
use crate::objects::module::{common_slots, slot};
use crate::py::cell::SyncCell;
use crate::py::guard::trampoline;
use crate::py::{raise, str_text, type_name, PyErrSet, PyResult};
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
#[inline(always)]
pub(crate) unsafe fn enter(
    slf: *mut ffi::PyObject,
    body: impl FnOnce(*mut Cx) -> PyResult<*mut ffi::PyObject>,
) -> *mut ffi::PyObject {
    trampoline(|| body(cx_of(slf)?))
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
        keywords!(ffi_string),
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

/// The FFI type's attributes (`tp_getset`), NULL-terminated.
static FFI_GETSET: SyncCell<[ffi::PyGetSetDef; 7]> = SyncCell::new([
    attr(
        c"error",
        ffi_get_error,
        None,
        Some(c"The exception raised by this ffi's operations."),
        null_mut(),
    ),
    attr(c"NULL", get_null, None, None, null_mut()),
    attr(
        c"CData",
        get_heap_type,
        None,
        None,
        &TypeKindObj::CData as *const TypeKindObj as *mut c_void,
    ),
    attr(
        c"CType",
        get_heap_type,
        None,
        None,
        &TypeKindObj::CType as *const TypeKindObj as *mut c_void,
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
    v
}

// ---- helpers ------------------------------------------------------------------

pub(crate) unsafe fn cx_of(slf: *mut ffi::PyObject) -> PyResult<*mut Cx> {
    let m = crate::py::type_module(slf);
    if m.is_null() {
        return Err(PyErrSet);
    }
    let cx = crate::objects::module::cx_of_module(m);
    if cx.is_null() {
        return Err(raise(
            ffi::PyExc_RuntimeError,
            "cembed: the module was cleared",
        ));
    }
    Ok(cx)
}

/// The arguments of one call of an `ffi` method, in either of the forms
/// CPython passes them: `METH_FASTCALL | METH_KEYWORDS` (the methods: no
/// argument tuple or keyword dict is built per call) or a tuple and a dict
/// (`ffi.buffer(...)`, which is a call of the buffer type's `tp_new`).
pub(crate) struct CallArgs<'a> {
    pos: &'a [*mut ffi::PyObject],
    kw: Kw<'a>,
}

pub(crate) enum Kw<'a> {
    None,
    /// The keyword names (a tuple) and their values, in call order.
    Names(*mut ffi::PyObject, &'a [*mut ffi::PyObject]),
    /// A keyword dict (not NULL).
    Dict(*mut ffi::PyObject),
}

impl<'a> CallArgs<'a> {
    /// From a vectorcall: `nargs` positionals, then one value per name of
    /// `kwnames` (NULL: none).
    ///
    /// # Safety
    /// As CPython passes them to a `METH_FASTCALL | METH_KEYWORDS` method.
    unsafe fn fast(
        args: *const *mut ffi::PyObject,
        nargs: ffi::Py_ssize_t,
        kwnames: *mut ffi::PyObject,
    ) -> CallArgs<'a> {
        let n = ffi::PyVectorcall_NARGS(nargs as usize) as usize;
        let nkw = if kwnames.is_null() {
            0
        } else {
            ffi::PyTuple_GET_SIZE(kwnames) as usize
        };
        let all: &[*mut ffi::PyObject] = if n + nkw == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(args, n + nkw)
        };
        CallArgs {
            pos: &all[..n],
            kw: if nkw == 0 {
                Kw::None
            } else {
                Kw::Names(kwnames, &all[n..])
            },
        }
    }

    /// From a tuple and a keyword dict (NULL: none).
    ///
    /// # Safety
    /// `args` a tuple, `kwargs` NULL or a dict, both alive for `'a`.
    pub(crate) unsafe fn tuple(
        args: *mut ffi::PyObject,
        kwargs: *mut ffi::PyObject,
    ) -> CallArgs<'a> {
        let n = ffi::PyTuple_GET_SIZE(args) as usize;
        let pos: &[*mut ffi::PyObject] = if n == 0 {
            &[]
        } else {
            let items = (*(args as *mut ffi::PyTupleObject)).ob_item.as_ptr();
            std::slice::from_raw_parts(items, n)
        };
        CallArgs {
            pos,
            kw: if kwargs.is_null() {
                Kw::None
            } else {
                Kw::Dict(kwargs)
            },
        }
    }

    /// The positional arguments of a method taking no keywords.
    fn positional(&self, name: &str) -> PyResult<&'a [*mut ffi::PyObject]> {
        if self.kw_len() != 0 {
            // SAFETY: called from a method, with the GIL held.
            return Err(unsafe {
                raise(
                    ffi::PyExc_TypeError,
                    &format!("{name}() takes no keyword arguments"),
                )
            });
        }
        Ok(self.pos)
    }

    /// The arguments named `names` (positional or keyword; NULL when
    /// absent), the first `required` mandatory. The checks and their
    /// messages are CPython's `PyArg_ParseTupleAndKeywords`, which CFFI's
    /// methods use, in the same order (so the same mistake gets the same
    /// error): too many, a missing required one (in order), one given by
    /// name and position, an unknown keyword (in call order). `func` is the
    /// name in the messages: "string()", or "function" for the CFFI methods
    /// whose format string gives none (`init_once`, `memmove`).
    unsafe fn parse<const N: usize>(
        &self,
        func: &str,
        names: &[&str; N],
        required: usize,
    ) -> PyResult<[*mut ffi::PyObject; N]> {
        let npos = self.pos.len();
        let mut left = self.kw_len();
        if npos + left > N {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!(
                    "{func} takes at most {N} {}argument{} ({} given)",
                    if npos == 0 { "keyword " } else { "" },
                    if N == 1 { "" } else { "s" },
                    npos + left
                ),
            ));
        }
        let mut out = [null_mut(); N];
        for (i, (o, name)) in out.iter_mut().zip(names).enumerate() {
            if i < npos {
                *o = self.pos[i];
            } else if left > 0 {
                *o = self.keyword(name);
                if !o.is_null() {
                    left -= 1;
                }
            }
            if o.is_null() && i < required {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("{func} missing required argument '{name}' (pos {})", i + 1),
                ));
            }
        }
        if left == 0 {
            return Ok(out);
        }
        for (i, name) in names.iter().enumerate().take(npos) {
            if !self.keyword(name).is_null() {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!(
                        "argument for {func} given by name ('{name}') and position ({})",
                        i + 1
                    ),
                ));
            }
        }
        let mut bad = None;
        self.each_keyword(|key| {
            let k = str_ref(key).unwrap_or_default();
            if bad.is_none() && !names.contains(&k) {
                bad = Some(key);
            }
        });
        match bad {
            Some(key) => Err(raise(
                ffi::PyExc_TypeError,
                &format!(
                    "'{}' is an invalid keyword argument for {func}",
                    str_ref(key).unwrap_or_default()
                ),
            )),
            // Unreachable: `left` counts keywords that match no name.
            None => Ok(out),
        }
    }

    fn kw_len(&self) -> usize {
        match self.kw {
            Kw::None => 0,
            Kw::Names(_, values) => values.len(),
            // SAFETY: a dict, alive for 'a.
            Kw::Dict(d) => unsafe { ffi::PyDict_Size(d) as usize },
        }
    }

    /// The value of keyword argument `name` (NULL: not given).
    unsafe fn keyword(&self, name: &str) -> *mut ffi::PyObject {
        match self.kw {
            Kw::None => null_mut(),
            Kw::Names(kwnames, values) => {
                for (i, &v) in values.iter().enumerate() {
                    let key = ffi::PyTuple_GET_ITEM(kwnames, i as ffi::Py_ssize_t);
                    if str_ref(key) == Some(name) {
                        return v;
                    }
                }
                null_mut()
            }
            Kw::Dict(d) => {
                let mut found = null_mut();
                let mut pos: ffi::Py_ssize_t = 0;
                let (mut key, mut v) = (null_mut(), null_mut());
                while ffi::PyDict_Next(d, &mut pos, &mut key, &mut v) != 0 {
                    if str_ref(key) == Some(name) {
                        found = v;
                        break;
                    }
                }
                found
            }
        }
    }

    /// Calls `f` with each keyword name, in call order.
    unsafe fn each_keyword(&self, mut f: impl FnMut(*mut ffi::PyObject)) {
        match self.kw {
            Kw::None => {}
            Kw::Names(kwnames, values) => {
                for i in 0..values.len() {
                    f(ffi::PyTuple_GET_ITEM(kwnames, i as ffi::Py_ssize_t));
                }
            }
            Kw::Dict(d) => {
                let mut pos: ffi::Py_ssize_t = 0;
                let (mut key, mut v) = (null_mut(), null_mut());
                while ffi::PyDict_Next(d, &mut pos, &mut key, &mut v) != 0 {
                    f(key);
                }
            }
        }
    }
}

/// A type argument: a string (parsed), a CType, or (if `allow_cdata`) a
/// cdata's type.
pub(crate) unsafe fn type_arg(
    cx: *mut Cx,
    obj: *mut ffi::PyObject,
    allow_cdata: bool,
) -> PyResult<Tid> {
    if ffi::PyUnicode_Check(obj) != 0 {
        let s = str_text(obj).ok_or(PyErrSet)?;
        return (*cx).reg.parse(&s).map_err(|e| {
            if e == crate::cdata::types::ARRAY_TOO_BIG {
                raise(ffi::PyExc_OverflowError, &e)
            } else {
                Cx::raise_error(cx, &e)
            }
        });
    }
    if ffi::Py_TYPE(obj) as *mut ffi::PyObject == (*cx).ctype_type {
        return Ok((*(obj as *mut CTypeObj)).tid);
    }
    if allow_cdata {
        if let Some(cd) = as_cdata(cx, obj) {
            return Ok(cd.tid);
        }
        let target = crate::objects::libobj::as_lib_function(obj)
            .or_else(|| crate::objects::libtype::extern_function_target(obj));
        if let Some((ls, fty, _)) = target {
            if std::ptr::eq(ls, (*cx).ls) {
                return Ok((&(*cx).reg.table_map)[fty as usize]);
            }
        }
    }
    Err(raise(
        ffi::PyExc_TypeError,
        &format!(
            "expected a {}ctype object or a str, got {}",
            if allow_cdata { "cdata, " } else { "" },
            type_name(obj)
        ),
    ))
}

pub(crate) fn info(cx: *mut Cx, t: Tid) -> &'static crate::cdata::types::TInfo {
    // SAFETY: cx is alive (the ffi object keeps its module alive).
    unsafe { (*cx).reg.info(t) }
}

pub(crate) unsafe fn cdata_arg(
    cx: *mut Cx,
    obj: *mut ffi::PyObject,
    what: &str,
) -> PyResult<&'static CDataObj> {
    as_cdata(cx, obj).ok_or_else(|| {
        raise(
            ffi::PyExc_TypeError,
            &format!("{what}: expected a cdata object, got {}", type_name(obj)),
        )
    })
}

// ---- attributes ----------------------------------------------------------------------------

pub(crate) unsafe extern "C" fn get_null(
    slf: *mut ffi::PyObject,
    _c: *mut c_void,
) -> *mut ffi::PyObject {
    trampoline(|| {
        let cx = cx_of(slf)?;
        let vp = (*cx)
            .reg
            .parse("void *")
            .map_err(|e| Cx::raise_error(cx, &e))?;
        debug_assert!(is_void_ptr(cx, vp));
        Ok(new_cdata(cx, vp, null_mut(), Own::None)?.into_ptr())
    })
}

/// `ffi.CData`, `ffi.CType`, `ffi.buffer`: the heap type the getset
/// entry's closure names (a `&'static TypeKindObj`). `ffi.buffer` is the
/// buffer type itself, callable as `ffi.buffer(cdata, size=-1)` (CFFI's
/// buffer type is both).
pub(crate) unsafe extern "C" fn get_heap_type(
    slf: *mut ffi::PyObject,
    which: *mut c_void,
) -> *mut ffi::PyObject {
    trampoline(|| {
        // SAFETY: every getset entry with this getter has a closure made
        // from a `&'static TypeKindObj` (`ffi_getset`).
        let which = *(which as *const TypeKindObj);
        let tp = Cx::heap_type(cx_of(slf)?, which)?;
        Ok(crate::py::new_ref(tp as *mut ffi::PyObject))
    })
}

pub(crate) unsafe extern "C" fn get_errno(
    _slf: *mut ffi::PyObject,
    _c: *mut c_void,
) -> *mut ffi::PyObject {
    ffi::PyLong_FromLong(crate::calls::cfunc::errno::get() as _)
}

pub(crate) unsafe extern "C" fn set_errno(
    _slf: *mut ffi::PyObject,
    v: *mut ffi::PyObject,
    _c: *mut c_void,
) -> std::ffi::c_int {
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
}
