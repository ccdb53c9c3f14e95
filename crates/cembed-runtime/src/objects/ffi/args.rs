//! What every `ffi` method shares: the module's data-model context found
//! from `self`, CPython's arguments read as CFFI parses them (positional or
//! keyword, with CFFI's messages), a type argument (a C declaration string or
//! a CType) and a cdata argument.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::conv::{as_cdata, str_ref};
use crate::cdata::object::{CDataObj, CTypeObj};
use crate::cdata::types::Tid;
use crate::cdata::Cx;
use crate::py::gil::Python;
use crate::py::{raise, str_text, type_name, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ptr::null_mut;

/// The data-model context of the module whose ffi object (or FFI subclass
/// instance) `slf` is.
///
/// # Safety
/// GIL held; `slf` live.
pub(crate) unsafe fn cx_of(slf: *mut ffi::PyObject) -> PyResult<*mut Cx> {
    // SAFETY: the GIL is held (contract); `slf` is live, so its type and the module
    // found from it are.
    unsafe {
        // The module of the FFI type itself is its `ht_module` (what
        // PyType_GetModule reads); a subclass's is found on its bases.
        let tp = ffi::Py_TYPE(slf);
        let mut m = null_mut();
        if ffi::PyType_HasFeature(tp, ffi::Py_TPFLAGS_HEAPTYPE) != 0 {
            m = (*(tp as *mut ffi::PyHeapTypeObject)).ht_module;
        }
        if m.is_null() {
            m = crate::py::type_module(slf);
        }
        if m.is_null() {
            return Err(PyErrSet);
        }
        let cx = crate::objects::state::cx_of_module(m);
        if cx.is_null() {
            return Err(raise(
                ffi::PyExc_RuntimeError,
                "cembed: the module was cleared",
            ));
        }
        Ok(cx)
    }
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
    /// As CPython passes them to a `METH_FASTCALL | METH_KEYWORDS` method
    /// (GIL held), used only during that call.
    pub(crate) unsafe fn fast(
        args: *const *mut ffi::PyObject,
        nargs: ffi::Py_ssize_t,
        kwnames: *mut ffi::PyObject,
    ) -> CallArgs<'a> {
        // SAFETY: CPython's vectorcall convention (contract): `args` holds
        // `nargs` positionals then one value per name of `kwnames` (a tuple or
        // NULL), all alive for the call ('a).
        unsafe {
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
    }

    /// From a tuple and a keyword dict (NULL: none).
    ///
    /// # Safety
    /// GIL held; `args` a tuple, `kwargs` NULL or a dict, both alive for
    /// `'a`, used only during the call they were passed to.
    pub(crate) unsafe fn tuple(
        args: *mut ffi::PyObject,
        kwargs: *mut ffi::PyObject,
    ) -> CallArgs<'a> {
        // SAFETY: `args` is a tuple and `kwargs` NULL or a dict, alive for 'a
        // (contract): the tuple's items are its `ob_item` array.
        unsafe {
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
    }

    /// The positional arguments of a method taking no keywords.
    pub(crate) fn positional(&self, name: &str) -> PyResult<&'a [*mut ffi::PyObject]> {
        if self.kw_len() != 0 {
            // SAFETY: a CallArgs is only made by its unsafe constructors, for
            // the arguments CPython passed to a method (GIL held), and lives
            // no longer than that call ('a).
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
    pub(crate) fn parse<const N: usize>(
        &self,
        py: Python<'_>,
        func: &str,
        names: &[&str; N],
        required: usize,
    ) -> PyResult<[*mut ffi::PyObject; N]> {
        // SAFETY: the GIL is held (`py`); the arguments and keyword names are live for
        // 'a (how CallArgs was made: only by its unsafe constructors).
        unsafe {
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
                    *o = self.keyword(py, name);
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
                if !self.keyword(py, name).is_null() {
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
            self.each_keyword(py, |key| {
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
    }

    pub(crate) fn kw_len(&self) -> usize {
        match self.kw {
            Kw::None => 0,
            Kw::Names(_, values) => values.len(),
            // SAFETY: a dict, alive for 'a, read with the GIL held (see
            // `positional`).
            Kw::Dict(d) => unsafe { ffi::PyDict_Size(d) as usize },
        }
    }

    /// The value of keyword argument `name` (NULL: not given).
    pub(crate) fn keyword(&self, _py: Python<'_>, name: &str) -> *mut ffi::PyObject {
        // SAFETY: the GIL is held (`_py`); `kwnames` is a tuple with one name per value, or
        // `d` a dict, alive for 'a (how CallArgs was made).
        unsafe {
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
    }

    /// Calls `f` with each keyword name, in call order.
    pub(crate) fn each_keyword(&self, _py: Python<'_>, mut f: impl FnMut(*mut ffi::PyObject)) {
        // SAFETY: the GIL is held (`_py`); `kwnames` is a tuple with one name per value,
        // or `d` a dict, alive for 'a (how CallArgs was made).
        unsafe {
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
}

/// A type argument: a string (parsed), a CType, or (if `allow_cdata`) a
/// cdata's type.
///
/// # Safety
/// GIL held; `cx` alive; `obj` live.
pub(crate) unsafe fn type_arg(
    cx: *mut Cx,
    obj: *mut ffi::PyObject,
    allow_cdata: bool,
) -> PyResult<Tid> {
    // SAFETY: the GIL is held (contract); `cx` is alive and `obj` live (contract); a CType
    // object of this module is a `CTypeObj`.
    unsafe {
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
            if let Some((ls, fty, _)) = crate::objects::libtype::lib_function(obj) {
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
}

/// The type `t` of the data-model context `cx`.
///
/// # Safety
/// As for `Registry::info`: `cx` is alive (the ffi object a method runs on
/// keeps its module alive) and outlives every use of the reference.
pub(crate) unsafe fn info(cx: *mut Cx, t: Tid) -> &'static crate::cdata::types::TInfo {
    // SAFETY: as for this function.
    unsafe { (*cx).reg.info(t) }
}

/// `obj` as a cdata of `cx`, or a TypeError naming `what`.
///
/// # Safety
/// GIL held; `cx` alive (and outliving the reference); `obj` live.
pub(crate) unsafe fn cdata_arg(
    cx: *mut Cx,
    obj: *mut ffi::PyObject,
    what: &str,
) -> PyResult<&'static CDataObj> {
    // SAFETY: the GIL is held (contract); `cx` alive and `obj` live (contract).
    unsafe {
        as_cdata(cx, obj).ok_or_else(|| {
            raise(
                ffi::PyExc_TypeError,
                &format!("{what}: expected a cdata object, got {}", type_name(obj)),
            )
        })
    }
}
