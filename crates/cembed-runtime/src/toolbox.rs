//! The `ffi` toolbox: `ffi.new`, `cast`, `typeof`, `sizeof`, `string`,
//! `buffer`, `from_buffer`, handles, `gc`, `errno`, ... with CFFI's
//! semantics (CFFI's "ffi/ffibuilder.new() etc." reference).
//!
//! Methods are added to the FFI heap type's method table next to
//! `def_extern` (see [`ffi_methods`]); they reach the module's data model
//! through the type's module.

use crate::cdata::conv::{as_cdata, read, str_ref, write, Read};
use crate::cdata::object::{
    handle_target, new_buffer, new_cdata, release, set_length, CDataObj, CTypeObj, Own, TypeKindObj,
};
use crate::cdata::types::{TKind, Tid};
use crate::cdata::Cx;
use crate::ctypes::Prim;
use crate::module::trampoline;
use crate::py::{cstring_lossy, raise, str_text, type_name, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_void, CStr};
use std::ptr::null_mut;
use std::sync::OnceLock;

/// How CPython calls one `ffi` method. Each behaves as its CFFI counterpart
/// (`ffi_obj.c`) does, argument errors included ("FFI.sizeof() takes
/// exactly one argument (2 given)", "cast() takes no keyword arguments"),
/// but none builds an argument tuple per call (CFFI's `METH_VARARGS`
/// methods do; here they are `METH_FASTCALL`).
#[derive(Clone, Copy)]
enum Entry {
    /// `METH_FASTCALL | METH_KEYWORDS`: CFFI's `METH_VARARGS` methods,
    /// with keywords ([`CallArgs::parse`]) or without
    /// ([`CallArgs::positional`]).
    Keywords(ffi::PyCFunctionFastWithKeywords),
    /// `METH_O`.
    One(ffi::PyCFunction),
    /// `METH_NOARGS`.
    NoArgs(ffi::PyCFunction),
}

/// The one prologue of every `ffi` method: the panic guard and the module's
/// data model context, found from `self` (the FFI object, whose type
/// belongs to the module). The entry macros below wrap a body in it, so
/// each method is only its body.
#[inline(always)]
unsafe fn enter(
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

struct Table<T>(Box<[T]>);
// SAFETY: only read by CPython with the GIL held; contents are static C
// strings and function pointers.
unsafe impl<T> Sync for Table<T> {}
unsafe impl<T> Send for Table<T> {}

const METHODS: &[(&CStr, Entry, &CStr)] = &[
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

/// The FFI type's method table: `base` (def_extern, ...) plus the toolbox.
pub(crate) fn ffi_methods(base: *const ffi::PyMethodDef) -> *const ffi::PyMethodDef {
    static T: OnceLock<Table<ffi::PyMethodDef>> = OnceLock::new();
    T.get_or_init(|| {
        let mut v = Vec::new();
        // SAFETY: `base` is a static, zero-terminated method table.
        unsafe {
            let mut p = base;
            while !(*p).ml_name.is_null() {
                v.push(std::ptr::read(p));
                p = p.add(1);
            }
        }
        for &(name, entry, doc) in METHODS {
            let (ml_meth, ml_flags) = match entry {
                Entry::Keywords(f) => (
                    ffi::PyMethodDefPointer {
                        PyCFunctionFastWithKeywords: f,
                    },
                    ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
                ),
                Entry::One(f) => (ffi::PyMethodDefPointer { PyCFunction: f }, ffi::METH_O),
                Entry::NoArgs(f) => (ffi::PyMethodDefPointer { PyCFunction: f }, ffi::METH_NOARGS),
            };
            v.push(ffi::PyMethodDef {
                ml_name: name.as_ptr(),
                ml_meth,
                ml_flags,
                ml_doc: doc.as_ptr(),
            });
        }
        v.push(ffi::PyMethodDef::zeroed());
        Table(v.into_boxed_slice())
    })
    .0
    .as_ptr()
}

/// The FFI type's getset table: `base` (error) plus buffer, errno.
pub(crate) fn ffi_getset(base: *const ffi::PyGetSetDef) -> *const ffi::PyGetSetDef {
    static T: OnceLock<Table<ffi::PyGetSetDef>> = OnceLock::new();
    T.get_or_init(|| {
        let mut v = Vec::new();
        // SAFETY: `base` is a static, NULL-terminated getset table.
        unsafe {
            let mut p = base;
            while !(*p).name.is_null() {
                v.push(std::ptr::read(p));
                p = p.add(1);
            }
        }
        let g = |name: &'static CStr,
                 get: ffi::getter,
                 set: Option<ffi::setter>,
                 closure: Option<&'static TypeKindObj>| ffi::PyGetSetDef {
            name: name.as_ptr(),
            get: Some(get),
            set,
            doc: std::ptr::null(),
            closure: closure.map_or(null_mut(), |c| c as *const TypeKindObj as *mut c_void),
        };
        // NULL, CData and CType are attributes of the FFI class itself
        // (`add_class_attrs`), as in CFFI.
        v.push(g(
            c"buffer",
            get_heap_type,
            None,
            Some(&TypeKindObj::Buffer),
        ));
        v.push(g(c"errno", get_errno, Some(set_errno), None));
        v.push(ffi::PyGetSetDef {
            name: std::ptr::null(),
            get: None,
            set: None,
            doc: std::ptr::null(),
            closure: null_mut(),
        });
        Table(v.into_boxed_slice())
    })
    .0
    .as_ptr()
}

// ---- helpers ------------------------------------------------------------------

unsafe fn cx_of(slf: *mut ffi::PyObject) -> PyResult<*mut Cx> {
    let m = crate::py::type_module(slf);
    if m.is_null() {
        return Err(PyErrSet);
    }
    let cx = crate::module::cx_of_module(m);
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

enum Kw<'a> {
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
        let target = crate::libobj::as_lib_function(obj)
            .or_else(|| crate::module::extern_function_target(obj));
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

fn info(cx: *mut Cx, t: Tid) -> &'static crate::cdata::types::TInfo {
    // SAFETY: cx is alive (the ffi object keeps its module alive).
    unsafe { (*cx).reg.info(t) }
}

unsafe fn cdata_arg(
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

// ---- new / cast / typeof ------------------------------------------------------------

unsafe fn ffi_new(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    let a = args.parse("new()", &["cdecl", "init"], 1)?;
    let tid = type_arg(cx, a[0], false)?;
    let init = a[1];
    new_value(cx, tid, init)
}

/// `ffi.new(T, init)` for a type already resolved.
pub(crate) unsafe fn new_value(
    cx: *mut Cx,
    tid: Tid,
    init: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    new_value_in(cx, tid, init, &crate::allocator::Placement::Owned)
}

/// `ffi.new(T, init)` with the memory from `place` (`ffi.new_allocator`).
pub(crate) unsafe fn new_value_in(
    cx: *mut Cx,
    tid: Tid,
    init: *mut ffi::PyObject,
    place: &crate::allocator::Placement,
) -> PyResult<*mut ffi::PyObject> {
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
                let d = (*(o.ptr() as *mut CDataObj)).data;
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
                    let (n, only_length) = crate::cdata::conv::new_array_length(cx, item, init)?;
                    (n, if only_length { null_mut() } else { init })
                }
            };
            let size = crate::cdata::object::array_bytes(n, it.size)?;
            let (data, own) = place.make(cx, size, it.align)?;
            let o = new_cdata(cx, tid, data, own)?;
            set_length(o.ptr(), n as isize);
            if let Own::Alloc { size: s, .. } = &mut (*(o.ptr() as *mut CDataObj)).own {
                *s = size;
            }
            if !init_obj.is_null() {
                let d = (*(o.ptr() as *mut CDataObj)).data;
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

unsafe fn ffi_cast(cx: *mut Cx, a: &[*mut ffi::PyObject]) -> PyResult<*mut ffi::PyObject> {
    if a.len() != 2 {
        return Err(raise(
            ffi::PyExc_TypeError,
            &format!("cast() takes exactly 2 arguments ({} given)", a.len()),
        ));
    }
    let tid = type_arg(cx, a[0], false)?;
    cast(cx, tid, a[1])
}

/// The integer value of a cast source (CFFI's `_my_PyLong_AsUnsignedLongLong`
/// with wraparound): ints, objects with `__index__`/`__int__`, floats
/// truncated, pointers as their address, 1-char bytes/str as their ordinal.
unsafe fn cast_source_bits(cx: *mut Cx, src: *mut ffi::PyObject) -> PyResult<u64> {
    if let Some(cd) = as_cdata(cx, src) {
        let st = info(cx, cd.tid);
        match st.kind {
            TKind::Pointer { .. } | TKind::Func { .. } | TKind::Array { .. } => {
                return Ok(cd.data as usize as u64)
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
    if let Some((_, _, addr)) =
        crate::libobj::as_lib_function(src).or_else(|| crate::module::extern_function_target(src))
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

/// The value `ffi.cast("double _Complex", src)` gives (CFFI's `do_cast`
/// for a complex target): a primitive cdata's Python value, or `src`
/// itself; a 1-char bytes/str is its ordinal; anything else is what
/// `PyComplex_AsCComplex` makes of it.
unsafe fn cast_complex_source(
    cx: *mut Cx,
    src: *mut ffi::PyObject,
    target: &str,
) -> PyResult<(f64, f64)> {
    let io = match as_cdata(cx, src) {
        Some(cd) => {
            let st = info(cx, cd.tid);
            match st.kind {
                TKind::Prim(Prim::LongDouble) => {
                    let v =
                        crate::convert::x87_to_f64((cd.data as *const [u8; 16]).read_unaligned());
                    Owned::check(ffi::PyFloat_FromDouble(v))?
                }
                TKind::Prim(_) | TKind::Enum { .. } => Owned::check(crate::cdata::conv::read(
                    cx,
                    cd.tid,
                    cd.data,
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

fn float_to_bits(v: f64) -> u64 {
    if v < 0.0 {
        (v as i64) as u64
    } else {
        v as u64
    }
}

pub(crate) unsafe fn cast(
    cx: *mut Cx,
    tid: Tid,
    src: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
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
            let d = (*(o.ptr() as *mut CDataObj)).data;
            match p {
                Prim::C64 | Prim::C128 => {
                    let (re, im) = cast_complex_source(cx, src, &t.name)?;
                    crate::convert::write_complex(p, d as *mut _, re, im);
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
                                let (re, im) =
                                    crate::convert::read_complex(cp, cd.data as *const _);
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
                        _ => (d as *mut [u8; 16]).write_unaligned(crate::convert::f64_to_x87(v)),
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

unsafe fn ffi_typeof(cx: *mut Cx, cdecl: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    let tid = type_arg(cx, cdecl, true)?;
    Cx::ctype(cx, tid)
}

unsafe fn size_of_arg(cx: *mut Cx, obj: *mut ffi::PyObject) -> PyResult<usize> {
    if let Some(cd) = as_cdata(cx, obj) {
        let t = info(cx, cd.tid);
        if let TKind::Array { item, .. } = t.kind {
            return Ok(cd.length.max(0) as usize * info(cx, item).size);
        }
        if t.is_record() {
            if let Some(n) = crate::cdata::object::var_byte_size(cd) {
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

unsafe fn ffi_sizeof(cx: *mut Cx, cdecl: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    Ok(ffi::PyLong_FromSize_t(size_of_arg(cx, cdecl)?))
}

unsafe fn ffi_alignof(cx: *mut Cx, cdecl: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
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

/// CFFI's `_ffi_type_offsetof` chain: `(final type, offset)` of
/// `base.f1.f2[3]...`; a pointer base accepts an index or a field first.
unsafe fn offset_chain(
    cx: *mut Cx,
    mut tid: Tid,
    fields: &[*mut ffi::PyObject],
) -> PyResult<(Tid, usize)> {
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

unsafe fn ffi_offsetof(cx: *mut Cx, a: &[*mut ffi::PyObject]) -> PyResult<*mut ffi::PyObject> {
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

unsafe fn ffi_addressof(cx: *mut Cx, args: &[*mut ffi::PyObject]) -> PyResult<*mut ffi::PyObject> {
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
        let (what, ty, addr) = crate::libobj::address_of(ls, &name)
            .map_err(|msg| raise(ffi::PyExc_AttributeError, &msg))?;
        if addr.is_null() && what == crate::libobj::AddressOf::Global {
            // A global that is a macro whose expression gave NULL.
            return Err(Cx::raise_error(
                cx,
                &format!("global variable '{name}' is at address NULL"),
            ));
        }
        let tid = (&(*cx).reg.table_map)[ty as usize];
        let t = match what {
            crate::libobj::AddressOf::Global => (*cx).reg.pointer_to(tid),
            crate::libobj::AddressOf::Function => tid,
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
    let o = new_cdata(cx, pt, cd.data.wrapping_add(off), Own::Keep(a[0]))?;
    Ok(o.into_ptr())
}

// ---- string / unpack -------------------------------------------------------------------

unsafe fn null_check(cd: &CDataObj, what: &str) -> PyResult<()> {
    if cd.data.is_null() {
        return Err(raise(
            ffi::PyExc_RuntimeError,
            &format!(
                "cannot use {what}() on {}",
                crate::py::repr_text(cd as *const CDataObj as *mut ffi::PyObject)
            ),
        ));
    }
    Ok(())
}

unsafe fn ffi_string(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    let a = args.parse("string()", &["cdata", "maxlen"], 1)?;
    let cd = cdata_arg(cx, a[0], "string")?;
    let maxlen = if a[1].is_null() {
        -1
    } else {
        let v = ffi::PyLong_AsSsize_t(a[1]);
        if v == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        v
    };
    let t = info(cx, cd.tid);
    let (item, limit) = match t.kind {
        TKind::Pointer { item } => {
            null_check(cd, "string")?;
            (item, if maxlen < 0 { isize::MAX } else { maxlen })
        }
        TKind::Array { item, .. } => {
            // `ffi.cast("char[5]", 0)` (CFFI checks this too).
            null_check(cd, "string")?;
            let n = cd.length.max(0);
            (item, if maxlen < 0 || maxlen > n { n } else { maxlen })
        }
        // Any one-byte character or integer is one byte (CFFI).
        TKind::Prim(Prim::Char | Prim::SInt(1) | Prim::UInt(1)) => {
            return Ok(ffi::PyBytes_FromStringAndSize(cd.data as *const _, 1))
        }
        TKind::Prim(Prim::WChar16 | Prim::WChar32) => {
            return Ok(read(cx, cd.tid, cd.data, Read::Copy))
        }
        TKind::Enum { ref values, prim } => {
            let v = Owned::check(read(cx, cd.tid, cd.data, Read::Copy))?;
            let n = ffi::PyLong_AsLongLong(v.ptr()) as i128;
            let _ = prim;
            if let Some((name, _)) = values.iter().find(|(_, x)| *x == n) {
                let s = cstring_lossy(name);
                return Ok(ffi::PyUnicode_FromString(s.as_ptr()));
            }
            return Ok(ffi::PyObject_Str(v.ptr()));
        }
        _ => {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("string(): unexpected cdata '{}' argument", t.name),
            ))
        }
    };
    let it = info(cx, item);
    match it.kind {
        TKind::Prim(Prim::Char | Prim::SInt(1) | Prim::UInt(1)) | TKind::Void
            if !matches!(it.kind, TKind::Void) =>
        {
            // libc's vectorised scan (reads nothing past the terminator or
            // the limit), not a byte loop: ~200 instructions less for a
            // 43-byte string.
            let n = libc::strnlen(cd.data as *const libc::c_char, limit as usize);
            Ok(ffi::PyBytes_FromStringAndSize(
                cd.data as *const _,
                n as isize,
            ))
        }
        TKind::Prim(p @ (Prim::WChar16 | Prim::WChar32)) => {
            let w = p.size() as isize;
            let mut units = Vec::new();
            let mut n = 0isize;
            while n < limit {
                let u = if w == 2 {
                    (cd.data.offset(n * 2) as *const u16).read_unaligned() as u32
                } else {
                    (cd.data.offset(n * 4) as *const u32).read_unaligned()
                };
                if u == 0 {
                    break;
                }
                units.push(u);
                n += 1;
            }
            wide_to_str(&units, p)
        }
        _ => Err(raise(
            ffi::PyExc_TypeError,
            &format!("string(): unexpected cdata '{}' argument", t.name),
        )),
    }
}

unsafe fn wide_to_str(units: &[u32], p: Prim) -> PyResult<*mut ffi::PyObject> {
    let s: String = if p == Prim::WChar16 {
        let u16s: Vec<u16> = units.iter().map(|&u| u as u16).collect();
        String::from_utf16_lossy(&u16s)
    } else {
        let mut s = String::new();
        for &u in units {
            match char::from_u32(u) {
                Some(c) => s.push(c),
                None => {
                    return Err(raise(
                        ffi::PyExc_ValueError,
                        &format!("wchar_t out of range for conversion to unicode: 0x{u:x}"),
                    ))
                }
            }
        }
        s
    };
    Ok(ffi::PyUnicode_FromStringAndSize(
        s.as_ptr() as *const _,
        s.len() as _,
    ))
}

unsafe fn ffi_unpack(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    let a = args.parse("unpack()", &["cdata", "length"], 2)?;
    let cd = cdata_arg(cx, a[0], "unpack")?;
    let n = ffi::PyLong_AsSsize_t(a[1]);
    if n == -1 && !ffi::PyErr_Occurred().is_null() {
        return Err(PyErrSet);
    }
    if n < 0 {
        return Err(raise(ffi::PyExc_ValueError, "'length' cannot be negative"));
    }
    let t = info(cx, cd.tid);
    let item = match t.kind {
        TKind::Pointer { item } | TKind::Array { item, .. } => item,
        _ => {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("expected a pointer or array, got '{}'", t.name),
            ))
        }
    };
    null_check(cd, "unpack")?;
    let it = info(cx, item);
    match it.kind {
        TKind::Prim(Prim::Char) => {
            return Ok(ffi::PyBytes_FromStringAndSize(cd.data as *const _, n))
        }
        TKind::Prim(p @ (Prim::WChar16 | Prim::WChar32)) => {
            let w = p.size();
            // Reserved before anything is read: a length too big for memory
            // is a MemoryError (collect() would abort the process).
            let mut units: Vec<u32> = Vec::new();
            if units.try_reserve_exact(n as usize).is_err() {
                ffi::PyErr_NoMemory();
                return Err(PyErrSet);
            }
            units.extend((0..n as usize).map(|i| {
                if w == 2 {
                    (cd.data.add(i * 2) as *const u16).read_unaligned() as u32
                } else {
                    (cd.data.add(i * 4) as *const u32).read_unaligned()
                }
            }));
            return wide_to_str(&units, p);
        }
        TKind::Void => {
            return Err(raise(
                ffi::PyExc_ValueError,
                &format!("'{}' points to items of unknown size", t.name),
            ))
        }
        _ => {}
    }
    if it.size == 0 {
        return Err(raise(
            ffi::PyExc_ValueError,
            &format!("'{}' points to items of unknown size", t.name),
        ));
    }
    let list = Owned::check(ffi::PyList_New(n))?;
    for i in 0..n {
        let o = Owned::check(read(
            cx,
            item,
            cd.data.add(i as usize * it.size),
            Read::View(a[0]),
        ))?;
        ffi::PyList_SetItem(list.ptr(), i, o.into_ptr());
    }
    Ok(list.into_ptr())
}

// ---- buffers -------------------------------------------------------------------------------

pub(crate) unsafe extern "C" fn ffi_buffer_new(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(|| {
        // `slf` is the buffer type (tp_new); its module leads to the Cx.
        let m = ffi::PyType_GetModule(slf as *mut ffi::PyTypeObject);
        if m.is_null() {
            return Err(PyErrSet);
        }
        let cx = crate::module::cx_of_module(m);
        if cx.is_null() {
            return Err(raise(
                ffi::PyExc_RuntimeError,
                "cembed: the module was cleared",
            ));
        }
        let a = CallArgs::tuple(args, kwargs).parse("buffer()", &["cdata", "size"], 1)?;
        let cd = cdata_arg(cx, a[0], "buffer")?;
        let t = info(cx, cd.tid);
        let mut size = if a[1].is_null() {
            -1
        } else {
            let v = ffi::PyLong_AsSsize_t(a[1]);
            if v == -1 && !ffi::PyErr_Occurred().is_null() {
                return Err(PyErrSet);
            }
            v
        };
        if size < 0 {
            size = match t.kind {
                TKind::Pointer { .. } if crate::cdata::object::var_byte_size(cd).is_some() => {
                    crate::cdata::object::var_byte_size(cd).unwrap_or(0) as isize
                }
                TKind::Pointer { item } => info(cx, item).size as isize,
                TKind::Array { item, .. } => cd.length.max(0) * info(cx, item).size as isize,
                _ => {
                    return Err(raise(
                        ffi::PyExc_TypeError,
                        &format!("expected a pointer or array cdata, got cdata '{}'", t.name),
                    ))
                }
            };
            if size <= 0 && !matches!(t.kind, TKind::Array { .. }) {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("don't know the size pointed to by '{}'", t.name),
                ));
            }
        } else if !t.is_ptr_like() {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("expected a pointer or array cdata, got cdata '{}'", t.name),
            ));
        }
        // A buffer over address 0 crashes at its first use (CFFI makes
        // one); refused like string() and unpack() refuse NULL.
        if size > 0 {
            null_check(cd, "buffer")?;
        }
        new_buffer(cx, cd.data, size as usize, a[0])
    })
}

unsafe fn ffi_from_buffer(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    let a = args.parse(
        "from_buffer()",
        &["cdecl", "python_buffer", "require_writable"],
        1,
    )?;
    // from_buffer(obj) or from_buffer(cdecl, obj), as CFFI: with two
    // positional arguments the first is the type (`from_buffer(obj, True)`
    // is a TypeError there too).
    let (tid, obj) = if a[1].is_null() {
        let t = (*cx)
            .reg
            .parse("char[]")
            .map_err(|e| Cx::raise_error(cx, &e))?;
        (t, a[0])
    } else {
        (type_arg(cx, a[0], false)?, a[1])
    };
    from_buffer(cx, tid, obj, a[2])
}

unsafe fn from_buffer(
    cx: *mut Cx,
    tid: Tid,
    obj: *mut ffi::PyObject,
    writable: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    let t = info(cx, tid);
    let (item, len) = match t.kind {
        TKind::Array { item, len } => (item, len),
        TKind::Pointer { item } => (item, None),
        _ => {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("expected a pointer or array ctype, got '{}'", t.name),
            ))
        }
    };
    let want_w = !writable.is_null() && ffi::PyObject_IsTrue(writable) == 1;
    if ffi::PyUnicode_Check(obj) != 0 {
        return Err(raise(
            ffi::PyExc_TypeError,
            "from_buffer() cannot return the address of a unicode object",
        ));
    }
    let mut view: Box<ffi::Py_buffer> = Box::new(std::mem::zeroed());
    let flags = if want_w {
        ffi::PyBUF_WRITABLE
    } else {
        ffi::PyBUF_SIMPLE
    };
    if ffi::PyObject_GetBuffer(obj, &mut *view, flags) < 0 {
        return Err(PyErrSet);
    }
    let isz = info(cx, item).size.max(1);
    let nbytes = view.len as usize;
    let data = view.buf as *mut u8;
    let length = match len {
        Some(n) => {
            // The type's size was checked against isize::MAX when it was
            // made; saturating anyway: a wrapped product would pass.
            let need = n.saturating_mul(isz);
            if need > nbytes {
                ffi::PyBuffer_Release(&mut *view);
                return Err(raise(
                    ffi::PyExc_ValueError,
                    &format!(
                        "buffer is too small ({nbytes} bytes) for '{}' ({need} bytes)",
                        t.name,
                    ),
                ));
            }
            n as isize
        }
        None => (nbytes / isz) as isize,
    };
    let o = new_cdata(cx, tid, data, Own::Buffer(view))?;
    set_length(o.ptr(), length);
    Ok(o.into_ptr())
}

/// Address (and writability) of a memmove operand.
unsafe fn mem_operand(
    cx: *mut Cx,
    obj: *mut ffi::PyObject,
    writable: bool,
    views: &mut Vec<ffi::Py_buffer>,
) -> PyResult<*mut u8> {
    if let Some(cd) = as_cdata(cx, obj) {
        if !info(cx, cd.tid).is_ptr_like() {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!(
                    "expected a pointer or array cdata, got cdata '{}'",
                    info(cx, cd.tid).name
                ),
            ));
        }
        return Ok(cd.data);
    }
    let mut v: ffi::Py_buffer = std::mem::zeroed();
    let flags = if writable {
        ffi::PyBUF_WRITABLE
    } else {
        ffi::PyBUF_SIMPLE
    };
    if ffi::PyObject_GetBuffer(obj, &mut v, flags) < 0 {
        return Err(PyErrSet);
    }
    let p = v.buf as *mut u8;
    views.push(v);
    Ok(p)
}

unsafe fn ffi_memmove(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    let a = args.parse("function", &["dest", "src", "n"], 3)?;
    let n = ffi::PyLong_AsSsize_t(a[2]);
    if n == -1 && !ffi::PyErr_Occurred().is_null() {
        return Err(PyErrSet);
    }
    if n < 0 {
        return Err(raise(ffi::PyExc_ValueError, "negative size"));
    }
    let mut views = Vec::new();
    let r = (|| {
        let d = mem_operand(cx, a[0], true, &mut views)?;
        let s = mem_operand(cx, a[1], false, &mut views)?;
        // A NULL cdata (or one whose memory ffi.release() gave back) has
        // no memory at all: refused rather than a crash.
        if n > 0 && (d.is_null() || s.is_null()) {
            return Err(raise(
                ffi::PyExc_ValueError,
                "memmove() with a NULL (or released) pointer",
            ));
        }
        if n > 0 {
            std::ptr::copy(s, d, n as usize);
        }
        Ok(crate::py::new_ref(ffi::Py_None()))
    })();
    for mut v in views {
        ffi::PyBuffer_Release(&mut v);
    }
    r
}

// ---- handles, gc, release ---------------------------------------------------------------

unsafe fn ffi_new_handle(cx: *mut Cx, x: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    let a = [x];
    let vp = (*cx)
        .reg
        .parse("void *")
        .map_err(|e| Cx::raise_error(cx, &e))?;
    let o = new_cdata(cx, vp, null_mut(), Own::Handle(crate::py::new_ref(a[0])))?;
    // The handle's value is its own address: unique while it lives.
    (*(o.ptr() as *mut CDataObj)).data = o.ptr() as *mut u8;
    (*cx).handles.insert(o.ptr() as usize);
    Ok(o.into_ptr())
}

unsafe fn ffi_from_handle(cx: *mut Cx, x: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    let a = [x];
    let cd = cdata_arg(cx, a[0], "from_handle")?;
    if !info(cx, cd.tid).is_ptr_like() {
        return Err(raise(
            ffi::PyExc_TypeError,
            &format!(
                "expected a 'cdata' object with a 'void *' out of new_handle(), got '{}'",
                info(cx, cd.tid).name
            ),
        ));
    }
    if cd.data.is_null() {
        return Err(raise(
            ffi::PyExc_RuntimeError,
            "cannot use from_handle() on NULL pointer",
        ));
    }
    let addr = cd.data as usize;
    if !(*cx).handles.contains(&addr) {
        return Err(raise(
            ffi::PyExc_RuntimeError,
            "cembed: from_handle(): this pointer is not a live handle made by new_handle()",
        ));
    }
    match handle_target(addr as *mut ffi::PyObject) {
        Some(t) => Ok(crate::py::new_ref(t)),
        None => Err(raise(
            ffi::PyExc_RuntimeError,
            "cembed: from_handle(): the handle was released",
        )),
    }
}

unsafe fn ffi_gc(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    let a = args.parse("gc()", &["cdata", "destructor", "size"], 2)?;
    let cd = cdata_arg(cx, a[0], "gc")?;
    if a[1] == ffi::Py_None() {
        // ffi.gc(p, None): detach a previous destructor.
        let c = cd as *const CDataObj as *mut CDataObj;
        if let Own::Gc { .. } = (*c).own {
            if let Own::Gc { orig, destructor } = std::mem::replace(&mut (*c).own, Own::None) {
                ffi::Py_DECREF(destructor);
                (*c).own = Own::Keep(orig);
            }
        }
        return Ok(crate::py::new_ref(ffi::Py_None()));
    }
    let o = new_cdata(
        cx,
        cd.tid,
        cd.data,
        Own::Gc {
            orig: crate::py::new_ref(a[0]),
            destructor: crate::py::new_ref(a[1]),
        },
    )?;
    (*(o.ptr() as *mut CDataObj)).length = cd.length;
    Ok(o.into_ptr())
}

unsafe fn ffi_release(cx: *mut Cx, cdata: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    let a = [cdata];
    let cd = cdata_arg(cx, a[0], "release")?;
    release(cd as *const CDataObj as *mut CDataObj)?;
    Ok(crate::py::new_ref(ffi::Py_None()))
}

// ---- init_once, list_types, getctype ---------------------------------------------------

/// The lock of one `ffi.init_once` tag while its function has not returned
/// yet (CFFI's per-tag `PyThread_type_lock`). It lives in a capsule stored as
/// the tag's value in the module's init_once dict; once the function has
/// returned, the value becomes `(True, result)`.
///
/// `running` names the thread running the function. Waiters block on `done`
/// with the GIL released (the running thread needs it); the mutex is only
/// ever held briefly and never while waiting for the GIL, so the two cannot
/// deadlock. A second call for the same tag from the running thread itself
/// (from inside the function) would wait for itself forever in CFFI; here it
/// raises RuntimeError instead.
struct OnceSlot {
    running: std::sync::Mutex<Option<std::thread::ThreadId>>,
    done: std::sync::Condvar,
}

const ONCE_CAPSULE: &std::ffi::CStr = c"cembed.init_once_lock";

unsafe extern "C" fn once_capsule_free(cap: *mut ffi::PyObject) {
    let p = ffi::PyCapsule_GetPointer(cap, ONCE_CAPSULE.as_ptr());
    if !p.is_null() {
        // SAFETY: the pointer was made by Arc::into_raw in `once_slot`.
        drop(std::sync::Arc::from_raw(p as *const OnceSlot));
    } else {
        ffi::PyErr_Clear();
    }
}

/// The result recorded for `tag`, or the lock to take before running.
enum OnceEntry {
    Done(*mut ffi::PyObject),
    Pending(std::sync::Arc<OnceSlot>),
}

/// Looks up `tag`, adding a fresh lock if it has no entry yet.
unsafe fn once_entry(d: *mut ffi::PyObject, tag: *mut ffi::PyObject) -> PyResult<OnceEntry> {
    let mut v = ffi::PyDict_GetItemWithError(d, tag);
    if v.is_null() {
        if !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        let slot = std::sync::Arc::new(OnceSlot {
            running: std::sync::Mutex::new(None),
            done: std::sync::Condvar::new(),
        });
        let raw = std::sync::Arc::into_raw(slot) as *mut std::ffi::c_void;
        let cap = ffi::PyCapsule_New(raw, ONCE_CAPSULE.as_ptr(), Some(once_capsule_free));
        if cap.is_null() {
            // SAFETY: not given to a capsule, still ours.
            drop(std::sync::Arc::from_raw(raw as *const OnceSlot));
            return Err(PyErrSet);
        }
        let cap = Owned::check(cap)?;
        // setdefault: a tag whose __eq__ runs Python code may let another
        // thread add the entry first; both then use the same one.
        let name = Owned::check(ffi::PyUnicode_FromString(c"setdefault".as_ptr()))?;
        let got = Owned::check(ffi::PyObject_CallMethodObjArgs(
            d,
            name.ptr(),
            tag,
            cap.ptr(),
            std::ptr::null_mut::<ffi::PyObject>(),
        ))?;
        // Borrowed from here on: the dict holds it.
        v = got.ptr();
    }
    if ffi::PyTuple_Check(v) != 0 && ffi::PyTuple_Size(v) == 2 {
        return Ok(OnceEntry::Done(ffi::PyTuple_GetItem(v, 1)));
    }
    let p = ffi::PyCapsule_GetPointer(v, ONCE_CAPSULE.as_ptr());
    if p.is_null() {
        return Err(PyErrSet);
    }
    // SAFETY: the capsule holds one strong count; add one for the caller.
    std::sync::Arc::increment_strong_count(p as *const OnceSlot);
    Ok(OnceEntry::Pending(std::sync::Arc::from_raw(
        p as *const OnceSlot,
    )))
}

unsafe fn ffi_init_once(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    let a = args.parse("function", &["func", "tag"], 2)?;
    let (func, tag) = (a[0], a[1]);
    let d = Owned::from_borrowed((*cx).init_once);
    let me = std::thread::current().id();
    // Take the tag's lock, or return the recorded result (perhaps after
    // waiting for another thread to record it).
    let slot = loop {
        let slot = match once_entry(d.ptr(), tag)? {
            OnceEntry::Done(r) => return Ok(crate::py::new_ref(r)),
            OnceEntry::Pending(slot) => slot,
        };
        let mine = {
            let mut running = slot.running.lock().unwrap_or_else(|e| e.into_inner());
            match *running {
                None => {
                    *running = Some(me);
                    true
                }
                Some(t) if t == me => {
                    return Err(raise(
                        ffi::PyExc_RuntimeError,
                        "ffi.init_once() called again for the same tag from inside its \
                         own function (this would wait for itself forever)",
                    ));
                }
                Some(_) => false,
            }
        };
        if mine {
            break slot;
        }
        // Another thread runs the function: wait without the GIL, then
        // look again (it may have failed, and then this thread runs it).
        let ts = ffi::PyEval_SaveThread();
        {
            let mut running = slot.running.lock().unwrap_or_else(|e| e.into_inner());
            while running.is_some() {
                running = slot.done.wait(running).unwrap_or_else(|e| e.into_inner());
            }
        }
        ffi::PyEval_RestoreThread(ts);
    };
    let r = Owned::new(ffi::PyObject_CallNoArgs(func));
    let recorded = match &r {
        Some(r) => {
            let tup = Owned::check(ffi::PyTuple_Pack(2, ffi::Py_True(), r.ptr()));
            match tup {
                Ok(t) => ffi::PyDict_SetItem(d.ptr(), tag, t.ptr()) == 0,
                Err(_) => false,
            }
        }
        None => false,
    };
    // Wake the waiters whatever happened: on failure the next one runs
    // the function itself, as in CFFI.
    *slot.running.lock().unwrap_or_else(|e| e.into_inner()) = None;
    slot.done.notify_all();
    match (r, recorded) {
        (Some(r), true) => Ok(r.into_ptr()),
        _ => Err(PyErrSet),
    }
}

unsafe fn ffi_list_types(cx: *mut Cx) -> PyResult<*mut ffi::PyObject> {
    let reg = &(*cx).reg;
    let mut tds: Vec<&str> = reg.typedefs.iter().map(|(n, _)| n.as_str()).collect();
    tds.sort();
    tds.dedup();
    let mut structs = Vec::new();
    let mut unions = Vec::new();
    for &tid in &reg.table_map {
        let t = reg.info(tid);
        if let TKind::Record { union, .. } = t.kind {
            if let Some(tag) = t.name.strip_prefix("struct ") {
                if !tag.starts_with('$') {
                    structs.push(tag);
                }
            } else if let Some(tag) = t.name.strip_prefix("union ") {
                if !tag.starts_with('$') {
                    unions.push(tag);
                }
            }
            let _ = union;
        }
    }
    for v in [&mut structs, &mut unions] {
        v.sort();
        v.dedup();
    }
    let mk = |v: &[&str]| -> PyResult<Owned> {
        let l = Owned::check(ffi::PyList_New(0))?;
        for s in v {
            let o = Owned::check(ffi::PyUnicode_FromStringAndSize(
                s.as_ptr() as *const _,
                s.len() as _,
            ))?;
            ffi::PyList_Append(l.ptr(), o.ptr());
        }
        Ok(l)
    };
    let (a, b, c) = (mk(&tds)?, mk(&structs)?, mk(&unions)?);
    Ok(ffi::PyTuple_Pack(3, a.ptr(), b.ptr(), c.ptr()))
}

unsafe fn ffi_getctype(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    let a = args.parse("getctype()", &["cdecl", "replace_with"], 1)?;
    let tid = type_arg(cx, a[0], false)?;
    let t = info(cx, tid);
    let mut repl = if a[1].is_null() {
        String::new()
    } else {
        str_text(a[1]).ok_or(PyErrSet)?
    };
    let repl_trim = repl.trim().to_string();
    if !repl_trim.is_empty() {
        // CFFI: a space before a name, and parentheses around a
        // pointer declarator inserted before an array/function part.
        let starts_ptr = repl_trim.starts_with('*');
        let after_is_suffix = t.name[t.name_pos..].starts_with(['[', '(']);
        repl = if starts_ptr && after_is_suffix {
            format!("({repl_trim})")
        } else {
            repl_trim
        };
        if !repl.starts_with(['[', '(']) {
            repl = format!(" {repl}");
        }
    } else {
        repl.clear();
    }
    let mut s = String::new();
    s.push_str(&t.name[..t.name_pos]);
    s.push_str(&repl);
    s.push_str(&t.name[t.name_pos..]);
    // "int *" + " x" -> "int * x": CFFI gives "int * x".
    let cs = cstring_lossy(&s);
    Ok(ffi::PyUnicode_FromString(cs.as_ptr()))
}

// ---- attributes ----------------------------------------------------------------------------

/// `ffi.buffer`: the heap type the getset entry's closure names (a
/// `&'static TypeKindObj`): the buffer type itself, callable as `ffi.buffer(cdata, size=-1)` (CFFI's
/// buffer type is both).
unsafe extern "C" fn get_heap_type(
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

/// `tp_getattro` of the FFI type. `ffi.string(s)` in init code is a
/// `LOAD_ATTR` (CPython 3.11 emits no `LOAD_METHOD` for a name bound by
/// `import`), which binds a new method object per call and frees it after:
/// ~470 instructions of a ~2700-instruction `len(ffi.string(s))` call. The
/// library's own `ffi` keeps its bound methods instead (`Cx::ffi_methods`,
/// filled on first use), so a lookup is one dict hit. Only for the FFI type
/// itself (a subclass may override a method) and only bound methods of that
/// very object are kept; everything else is the generic lookup.
pub(crate) unsafe extern "C" fn ffi_getattro(
    slf: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: the FFI type and its subclasses are heap types; `ht_module`
    // is NULL for a Python subclass (PyType_GetModule would raise there).
    let module = (*(ffi::Py_TYPE(slf) as *mut ffi::PyHeapTypeObject)).ht_module;
    if module.is_null() || ffi::PyUnicode_CheckExact(name) == 0 {
        return ffi::PyObject_GenericGetAttr(slf, name);
    }
    let cx = crate::module::cx_of_module(module);
    if cx.is_null() || (*cx).ffi_methods.is_null() {
        return ffi::PyObject_GenericGetAttr(slf, name);
    }
    let cache = (*cx).ffi_methods;
    let hit = ffi::PyDict_GetItemWithError(cache, name);
    if !hit.is_null() && ffi::PyCFunction_GetSelf(hit) == slf {
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
        && crate::module::is_main_ffi(module, slf)
        && ffi::PyDict_SetItem(cache, name, res) < 0
    {
        ffi::Py_DECREF(res);
        return null_mut();
    }
    res
}

/// `FFI.NULL`, `FFI.CData`, `FFI.CType`: attributes of the FFI class, so
/// that `type(ffi).NULL` works as CFFI's `_cffi_backend.FFI.NULL`. They are
/// descriptors rather than values because the values are made on first use
/// (the cdata types cost a type creation each; see `Cx::heap_type`). The
/// descriptor type is made once per process; a descriptor finds its library
/// from the class it is read from (a subclass of FFI too).
#[repr(C)]
struct ClassAttr {
    ob_base: ffi::PyObject,
    /// 0: NULL, 1: CData, 2: CType.
    which: u8,
}

static CLASS_ATTR_TYPE: std::sync::atomic::AtomicPtr<ffi::PyObject> =
    std::sync::atomic::AtomicPtr::new(null_mut());

/// Sets `NULL`, `CData` and `CType` on the FFI type `ffi_type`.
///
/// # Safety
/// GIL held; `ffi_type` the FFI heap type of a module being executed.
pub(crate) unsafe fn add_class_attrs(ffi_type: *mut ffi::PyObject) -> PyResult<()> {
    use std::sync::atomic::Ordering;
    // The GIL serialises the creation: no other thread runs in here.
    let mut tp = CLASS_ATTR_TYPE.load(Ordering::Acquire);
    if tp.is_null() {
        let mut slots = [
            ffi::PyType_Slot {
                slot: ffi::Py_tp_descr_get,
                pfunc: class_attr_get as *mut c_void,
            },
            ffi::PyType_Slot {
                slot: ffi::Py_tp_dealloc,
                pfunc: class_attr_dealloc as *mut c_void,
            },
            ffi::PyType_Slot {
                slot: 0,
                pfunc: null_mut(),
            },
        ];
        let mut spec = ffi::PyType_Spec {
            name: c"_cembed.classattr".as_ptr(),
            basicsize: std::mem::size_of::<ClassAttr>() as std::ffi::c_int,
            itemsize: 0,
            flags: ffi::Py_TPFLAGS_DEFAULT as _,
            slots: slots.as_mut_ptr(),
        };
        // The process keeps this reference: libraries loaded later share it.
        tp = Owned::check(ffi::PyType_FromSpec(&mut spec))?.into_ptr();
        CLASS_ATTR_TYPE.store(tp, Ordering::Release);
    }
    for (which, name) in [(0u8, c"NULL"), (1, c"CData"), (2, c"CType")] {
        let obj = Owned::check(ffi::PyType_GenericAlloc(tp as *mut ffi::PyTypeObject, 0))?;
        // SAFETY: a new instance of the descriptor type: a `ClassAttr`.
        (*(obj.ptr() as *mut ClassAttr)).which = which;
        if ffi::PyObject_SetAttrString(ffi_type, name.as_ptr(), obj.ptr()) < 0 {
            return Err(PyErrSet);
        }
    }
    Ok(())
}

unsafe extern "C" fn class_attr_dealloc(slf: *mut ffi::PyObject) {
    let tp = ffi::Py_TYPE(slf);
    if let Some(free) = (*tp).tp_free {
        free(slf as *mut c_void);
    }
    ffi::Py_DECREF(tp as *mut ffi::PyObject);
}

/// `tp_descr_get`: `owner` is the class the attribute is read from (an
/// instance's class for `ffi.NULL`), `obj` the instance or NULL.
unsafe extern "C" fn class_attr_get(
    slf: *mut ffi::PyObject,
    obj: *mut ffi::PyObject,
    owner: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(|| {
        let mut t = if owner.is_null() && !obj.is_null() {
            ffi::Py_TYPE(obj)
        } else {
            owner as *mut ffi::PyTypeObject
        };
        // The library's module: that of the FFI type this class is or
        // derives from (as `py::type_module` does for an instance).
        let module = loop {
            if t.is_null() || ffi::PyType_HasFeature(t, ffi::Py_TPFLAGS_HEAPTYPE) == 0 {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    "cembed: not the FFI class of a cembed library",
                ));
            }
            let m = ffi::PyType_GetModule(t);
            if !m.is_null() {
                break m;
            }
            ffi::PyErr_Clear();
            t = (*t).tp_base;
        };
        let cx = crate::module::cx_of_module(module);
        if cx.is_null() {
            return Err(raise(
                ffi::PyExc_RuntimeError,
                "cembed: the module was cleared",
            ));
        }
        // SAFETY: `slf` is an instance of the descriptor type, whose
        // objects are `ClassAttr`s (`add_class_attrs`).
        match (*(slf as *mut ClassAttr)).which {
            0 => {
                let vp = (*cx)
                    .reg
                    .parse("void *")
                    .map_err(|e| Cx::raise_error(cx, &e))?;
                Ok(new_cdata(cx, vp, null_mut(), Own::None)?.into_ptr())
            }
            1 => Ok(crate::py::new_ref(
                Cx::heap_type(cx, TypeKindObj::CData)? as *mut ffi::PyObject
            )),
            _ => Ok(crate::py::new_ref(
                Cx::heap_type(cx, TypeKindObj::CType)? as *mut ffi::PyObject
            )),
        }
    })
}

unsafe extern "C" fn get_errno(_slf: *mut ffi::PyObject, _c: *mut c_void) -> *mut ffi::PyObject {
    ffi::PyLong_FromLong(crate::cfunc::errno::get() as _)
}

unsafe extern "C" fn set_errno(
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
    crate::cfunc::errno::set(x as i32);
    0
}
