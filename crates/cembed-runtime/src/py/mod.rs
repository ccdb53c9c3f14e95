//! Small owned/borrowed wrappers over raw `pyo3-ffi` pointers, and the few
//! helpers every other module needs (setting and formatting exceptions,
//! writing to `sys.stderr`).
//!
//! Rule of the crate: a function that takes or returns `*mut PyObject`, or
//! creates an [`Owned`], must only run while the current thread holds the GIL.
//! Every such function is `unsafe` and says so.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub(crate) mod cell;
pub(crate) mod gil;
pub(crate) mod guard;
pub(crate) mod unwind;

use gil::{Borrowed, Python};
use pyo3_ffi as ffi;
use std::ffi::{c_char, CStr, CString};
use std::ptr::NonNull;

/// A strong reference to a Python object, released on drop.
///
/// `Owned` is deliberately `!Send` (it holds a `NonNull`): it can only live on
/// the stack of a thread that holds the GIL, so dropping it (a `Py_DECREF`)
/// is always done with the GIL held.
pub(crate) struct Owned(NonNull<ffi::PyObject>);

impl Owned {
    /// Takes ownership of a new reference; `None` if `p` is NULL (which, for
    /// a C-API return value, means an exception is set).
    ///
    /// # Safety
    /// `p` is NULL or a new (owned) reference, and the GIL is held.
    pub(crate) unsafe fn new(p: *mut ffi::PyObject) -> Option<Owned> {
        NonNull::new(p).map(Owned)
    }

    /// Like [`Owned::new`] but turns NULL into `Err(PyErrSet)`.
    ///
    /// # Safety
    /// As for [`Owned::new`].
    pub(crate) unsafe fn check(p: *mut ffi::PyObject) -> PyResult<Owned> {
        // SAFETY: as for this function.
        unsafe { Owned::new(p) }.ok_or(PyErrSet)
    }

    /// Takes a new reference to a borrowed object.
    ///
    /// # Safety
    /// `p` is a valid object and the GIL is held.
    pub(crate) unsafe fn from_borrowed(p: *mut ffi::PyObject) -> Owned {
        // SAFETY: `p` is a live object (so not NULL) and the GIL is held
        // (contract): the new reference taken here is the one `Owned` owns.
        unsafe {
            ffi::Py_INCREF(p);
            Owned(NonNull::new_unchecked(p))
        }
    }

    pub(crate) fn ptr(&self) -> *mut ffi::PyObject {
        self.0.as_ptr()
    }

    /// Borrows the object for as long as `self` owns it.
    pub(crate) fn borrowed<'a, 'py>(&'a self, py: Python<'py>) -> Borrowed<'a, 'py> {
        // SAFETY: an `Owned` is a live, non-NULL object for as long as it
        // exists.
        unsafe { Borrowed::from_ptr(py, self.ptr()) }.expect("an Owned is never NULL")
    }

    /// Gives the reference away (to a C-API function that steals it, or as a
    /// return value).
    pub(crate) fn into_ptr(self) -> *mut ffi::PyObject {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: an `Owned` only exists on a thread holding the GIL (see the
        // type's comment), and it owns one reference.
        unsafe { ffi::Py_DECREF(self.0.as_ptr()) }
    }
}

/// "A Python exception is set": the error half of results of functions that
/// follow the C-API convention.
#[derive(Debug)]
pub(crate) struct PyErrSet;

pub(crate) type PyResult<T> = Result<T, PyErrSet>;

/// Raises `exc` with `msg`. Returns `PyErrSet` so callers can `return Err(raise(..))`.
///
/// # Safety
/// GIL held; `exc` is an exception type.
pub(crate) unsafe fn raise(exc: *mut ffi::PyObject, msg: &str) -> PyErrSet {
    // SAFETY: the GIL is held and `exc` is an exception type (contract);
    // `msg` is a NUL-terminated string that lives across the call (CPython
    // copies it).
    unsafe {
        let msg = cstring_lossy(msg);
        ffi::PyErr_SetString(exc, msg.as_ptr());
        PyErrSet
    }
}

/// A `CString` from text that may contain NUL bytes (they become `\0` text).
pub(crate) fn cstring_lossy(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).expect("NUL bytes were replaced")
}

/// Text of a C string (lossy UTF-8); "" for NULL.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
pub(crate) unsafe fn text(p: *const c_char) -> String {
    // SAFETY: `p` is NULL (handled) or a NUL-terminated string (contract).
    unsafe {
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

/// UTF-8 text of a `str` object, or `None` (with an exception set) if it is
/// not a `str`.
///
/// # Safety
/// GIL held; `obj` valid.
pub(crate) unsafe fn str_text(obj: *mut ffi::PyObject) -> Option<String> {
    // SAFETY: the GIL is held and `obj` is live (contract); on success
    // CPython returns a buffer of `len` UTF-8 bytes that `obj` keeps alive, read
    // before anything could release it.
    unsafe {
        let mut len: ffi::Py_ssize_t = 0;
        let p = ffi::PyUnicode_AsUTF8AndSize(obj, &mut len);
        if p.is_null() {
            return None;
        }
        let bytes = std::slice::from_raw_parts(p as *const u8, len as usize);
        Some(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// `repr(obj)` as text; a placeholder if repr itself fails (the failure is
/// swallowed: this is only used to build messages). An exception already
/// set (the one the message is about) is set again afterwards: `repr()`
/// must not run with an exception set, and its own failure must not clear
/// the user's.
///
/// # Safety
/// GIL held; `obj` valid.
#[allow(deprecated)] // PyErr_Fetch/Restore: present on every version 3.9-3.13
pub(crate) unsafe fn repr_text(obj: *mut ffi::PyObject) -> String {
    // SAFETY: the GIL is held and `obj` is live (contract). The pending
    // exception's references are taken out by PyErr_Fetch and handed back by
    // PyErr_Restore; repr's result is a new reference owned by `Owned`.
    unsafe {
        let (mut t, mut v, mut tb) = (
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
        let text = match Owned::new(ffi::PyObject_Repr(obj)).and_then(|r| str_text(r.ptr())) {
            Some(s) => s,
            None => {
                ffi::PyErr_Clear();
                "<object with a failing repr>".to_string()
            }
        };
        ffi::PyErr_Restore(t, v, tb);
        text
    }
}

/// Name of the type of `obj` (`tp_name`), for TypeError messages.
///
/// # Safety
/// GIL held; `obj` valid.
pub(crate) unsafe fn type_name(obj: *mut ffi::PyObject) -> String {
    // SAFETY: the GIL is held and `obj` is live (contract): its type is
    // live and `tp_name` is a NUL-terminated string.
    unsafe { text((*ffi::Py_TYPE(obj)).tp_name) }
}

/// Imports `module` and returns its attribute `name`.
pub(crate) fn import_attr(_py: Python<'_>, module: &CStr, name: &CStr) -> PyResult<Owned> {
    // SAFETY: the GIL is held (token); both calls take C strings and return
    // a new reference or NULL, which `Owned::check` takes.
    unsafe {
        let m = Owned::check(ffi::PyImport_ImportModule(module.as_ptr()))?;
        Owned::check(ffi::PyObject_GetAttrString(m.ptr(), name.as_ptr()))
    }
}

/// Writes `s` to Python's `sys.stderr` (falling back to C's stderr if there is
/// none), then flushes it, so that the text is ordered with what C writes next.
/// Never raises.
pub(crate) fn write_stderr(py: Python<'_>, s: &str) {
    let cs = cstring_lossy(s);
    // SAFETY: the GIL is held (token); `sys.stderr` is a borrowed reference
    // that `sys` keeps while we use it (nothing runs in between but the
    // write, which holds its own reference).
    unsafe {
        let f = ffi::PySys_GetObject(c"stderr".as_ptr());
        if f.is_null() || f == ffi::Py_None() || ffi::PyFile_WriteString(cs.as_ptr(), f) < 0 {
            ffi::PyErr_Clear();
            c_stderr(s);
            return;
        }
        if let Some(f) = Borrowed::from_ptr(py, f) {
            flush_file(f);
        }
    }
}

/// Calls `f.flush()`, swallowing any error.
fn flush_file(f: Borrowed<'_, '_>) {
    // SAFETY: the GIL is held and `f` is live (Borrowed); the result is a
    // new reference or NULL with an exception set, both dealt with.
    unsafe {
        let r = ffi::PyObject_CallMethod(f.as_ptr(), c"flush".as_ptr(), std::ptr::null());
        if r.is_null() {
            ffi::PyErr_Clear();
        } else {
            ffi::Py_DECREF(r);
        }
    }
}

/// Flushes `sys.stdout` and `sys.stderr` (errors are swallowed).
pub(crate) fn flush_std_streams(py: Python<'_>) {
    for name in [c"stdout", c"stderr"] {
        // SAFETY: the GIL is held (token); a borrowed reference that `sys`
        // keeps, taken as an owned one before any Python code runs.
        let f = unsafe {
            let f = ffi::PySys_GetObject(name.as_ptr());
            if f.is_null() || f == ffi::Py_None() {
                continue;
            }
            Owned::from_borrowed(f)
        };
        flush_file(f.borrowed(py));
    }
}

/// Writes to C's stderr (unbuffered, no Python needed) and flushes it.
pub(crate) fn c_stderr(s: &str) {
    use std::io::Write;
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(s.as_bytes());
    let _ = e.flush();
}

/// Takes the current exception and formats it like the interpreter would
/// (`traceback.format_exception`), clearing it. Returns "" if none is set.
#[allow(deprecated)] // PyErr_Fetch: the only API present on every version 3.9-3.13
pub(crate) fn take_exception_text(py: Python<'_>) -> String {
    // SAFETY: the GIL is held (token). PyErr_Fetch hands over new references
    // (or NULLs), owned by `Owned` from then on; every other object is a new
    // reference owned the same way.
    unsafe { take_exception_text_impl(py) }
}

#[allow(deprecated)]
unsafe fn take_exception_text_impl(py: Python<'_>) -> String {
    // SAFETY: the GIL is held (contract). PyErr_Fetch hands over new
    // references (or NULLs), owned by `Owned` from then on; every other object
    // is a new reference owned the same way.
    unsafe {
        let (mut t, mut v, mut tb) = (
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
        if t.is_null() {
            return String::new();
        }
        ffi::PyErr_NormalizeException(&mut t, &mut v, &mut tb);
        let t = Owned::new(t);
        let v = Owned::new(v);
        let tb = Owned::new(tb);
        let none = ffi::Py_None();
        let arg = |o: &Option<Owned>| o.as_ref().map_or(none, |o| o.ptr());
        let formatted = (|| {
            let fmt = import_attr(py, c"traceback", c"format_exception").ok()?;
            let lines = Owned::new(ffi::PyObject_CallFunctionObjArgs(
                fmt.ptr(),
                arg(&t),
                arg(&v),
                arg(&tb),
                std::ptr::null_mut::<ffi::PyObject>(),
            ))?;
            let empty = Owned::new(ffi::PyUnicode_FromString(c"".as_ptr()))?;
            let joined = Owned::new(ffi::PyUnicode_Join(empty.ptr(), lines.ptr()))?;
            str_text(joined.ptr())
        })();
        match formatted {
            Some(s) => s,
            None => {
                ffi::PyErr_Clear();
                let tn = t.as_ref().map_or(String::new(), |t| repr_text(t.ptr()));
                let vn = v.as_ref().map_or(String::new(), |v| repr_text(v.ptr()));
                format!("{tn}: {vn}\n")
            }
        }
    }
}

/// `Py_NewRef` (3.10+), for every supported version.
///
/// # Safety
/// GIL held; `p` valid.
pub(crate) unsafe fn new_ref(p: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: the GIL is held and `p` is live (contract).
    unsafe {
        ffi::Py_INCREF(p);
        p
    }
}

/// `PyModule_AddObjectRef` (3.10+): adds `obj` to `module` without stealing.
///
/// # Safety
/// GIL held; arguments valid.
pub(crate) unsafe fn module_add(
    module: *mut ffi::PyObject,
    name: &CStr,
    obj: *mut ffi::PyObject,
) -> PyResult<()> {
    // SAFETY: the GIL is held and both objects are live (contract);
    // PyModule_AddObject steals the reference taken here only on success.
    unsafe {
        ffi::Py_INCREF(obj);
        if ffi::PyModule_AddObject(module, name.as_ptr(), obj) < 0 {
            ffi::Py_DECREF(obj);
            return Err(PyErrSet);
        }
        Ok(())
    }
}

/// A `PyMethodDef` entry of a plain (`PyCFunction`) method without a
/// docstring: the shape of most of the runtime's static method tables.
pub(crate) const fn method(
    name: &'static CStr,
    meth: ffi::PyCFunction,
    flags: std::ffi::c_int,
) -> ffi::PyMethodDef {
    ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunction: meth },
        ml_flags: flags,
        ml_doc: std::ptr::null(),
    }
}

/// Runs Python statements in a fresh namespace; an exception is printed
/// (`sys.excepthook`) and cleared: for the runtime's own small fix-ups,
/// where a failure must not stop the caller.
pub(crate) fn run_and_print(_py: Python<'_>, code: &CStr) {
    // SAFETY: the GIL is held (token); `globals` is a new dict we own, the
    // result a new reference or NULL with an exception set.
    unsafe {
        let Some(globals) = Owned::new(ffi::PyDict_New()) else {
            ffi::PyErr_Clear();
            return;
        };
        let r = ffi::PyRun_String(
            code.as_ptr(),
            ffi::Py_file_input,
            globals.ptr(),
            globals.ptr(),
        );
        if r.is_null() {
            ffi::PyErr_Print();
        } else {
            ffi::Py_DECREF(r);
        }
    }
}

/// The module of the heap type `obj` is an instance of, or of the nearest
/// base that has one: a Python subclass of a module's type (`class
/// MyFFI(type(ffi))`) has no module of its own. NULL with an exception set
/// if none has (borrowed reference).
///
/// # Safety
/// GIL held; `obj` a live object.
pub(crate) unsafe fn type_module(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: the GIL is held and `obj` is live (contract); types on its
    // `tp_base` chain are live while it is; PyType_GetModule returns a borrowed
    // reference (or NULL with an exception, which is cleared).
    unsafe {
        let mut t = ffi::Py_TYPE(obj);
        let m = ffi::PyType_GetModule(t);
        if !m.is_null() {
            return m;
        }
        ffi::PyErr_Clear();
        loop {
            t = (*t).tp_base;
            if t.is_null() || ffi::PyType_HasFeature(t, ffi::Py_TPFLAGS_HEAPTYPE) == 0 {
                raise(
                    ffi::PyExc_TypeError,
                    &format!(
                        "cembed: '{}' is not a type of a cembed module",
                        type_name(obj)
                    ),
                );
                return std::ptr::null_mut();
            }
            let m = ffi::PyType_GetModule(t);
            if !m.is_null() {
                return m;
            }
            ffi::PyErr_Clear();
        }
    }
}
