//! The FFI heap type's own methods: `def_extern` (attaching Python functions
//! to the library's `extern "Python"` functions), `integer_const`, `error`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::convert::from_py;
use crate::desc::ctypes::Conv;
use crate::desc::libstate::{ExternState, LibState};
use crate::objects::heap::owner;
use crate::objects::state::{cx_of_module, detach, ffi_error, lib_state_of, state, ModState};
use crate::py::cell::StaticMethodDef;
use crate::py::gil::{Borrowed, Python};
use crate::py::guard::trampoline;
use crate::py::{self, cstring_lossy, raise, type_name, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::atomic::Ordering;

/// The `ffi.error` getter.
///
/// # Safety
/// Called by CPython as a getter of an ffi object (GIL held).
pub(crate) unsafe extern "C" fn ffi_get_error(
    slf: *mut ffi::PyObject,
    _c: *mut c_void,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this getter with the GIL held and `slf` an ffi
    // object of one of the module's types, which is what `owner` needs.
    unsafe {
        trampoline(|| {
            let (m, _, _) = owner(slf)?;
            Ok(py::new_ref(ffi_error(m)?))
        })
    }
}

/// Parses `(name=None, error=None, onerror=None)`, positional or keyword.
///
/// # Safety
/// GIL held; `args` a tuple, `kwargs` NULL or a dict.
pub(crate) unsafe fn parse_args<const N: usize>(
    fname: &str,
    names: &[&str; N],
    required: usize,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> PyResult<[*mut ffi::PyObject; N]> {
    // SAFETY: GIL held, `args` a tuple and `kwargs` NULL or a dict (contract);
    // the items returned are borrowed from them, alive while the caller's call
    // lasts.
    unsafe {
        let mut out = [null_mut(); N];
        let n = ffi::PyTuple_Size(args);
        if n as usize > N {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("{fname}() takes at most {N} arguments ({n} given)"),
            ));
        }
        for (i, o) in out.iter_mut().enumerate().take(n as usize) {
            *o = ffi::PyTuple_GetItem(args, i as ffi::Py_ssize_t);
        }
        if !kwargs.is_null() {
            let mut pos: ffi::Py_ssize_t = 0;
            let (mut k, mut v) = (null_mut(), null_mut());
            while ffi::PyDict_Next(kwargs, &mut pos, &mut k, &mut v) != 0 {
                let key = py::str_text(k).unwrap_or_default();
                match names.iter().position(|&nm| nm == key) {
                    Some(i) if (i as ffi::Py_ssize_t) < n => {
                        return Err(raise(
                            ffi::PyExc_TypeError,
                            &format!("{fname}() got multiple values for argument '{key}'"),
                        ))
                    }
                    Some(i) => out[i] = v,
                    None => {
                        return Err(raise(
                            ffi::PyExc_TypeError,
                            &format!("{fname}() got an unexpected keyword argument '{key}'"),
                        ))
                    }
                }
            }
        }
        for (i, o) in out.iter_mut().enumerate() {
            if o.is_null() {
                if i < required {
                    return Err(raise(
                        ffi::PyExc_TypeError,
                        &format!(
                            "{fname}() missing required argument '{}' (pos {})",
                            names[i],
                            i + 1
                        ),
                    ));
                }
                *o = ffi::Py_None();
            }
        }
        Ok(out)
    }
}

/// `ffi.def_extern(name=None, error=None, onerror=None)`: the decorator.
///
/// # Safety
/// Called by CPython as a method of an ffi object (GIL held).
pub(crate) unsafe extern "C" fn ffi_def_extern(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this method with the GIL held, `slf` an ffi object
    // of the module, `args` a tuple and `kwargs` NULL or a dict (what
    // `parse_args` needs); `m` and the arguments stay alive while the closure
    // takes its own references.
    unsafe {
        trampoline(|| {
            let (m, _, _) = owner(slf)?;
            let [name, error, onerror] =
                parse_args("def_extern", &["name", "error", "onerror"], 0, args, kwargs)?;
            // The decorator closes over (module, name, error, onerror); the
            // arguments are checked when it is applied, as in CFFI, so
            // `ffi.def_extern(42)` itself succeeds and `@` it raises.
            closure_function(&DECORATOR, &[m, name, error, onerror])
        })
    }
}

/// A builtin function running `def` with `items` (a tuple) as its `self`:
/// the decorators and allocators that ffi methods return.
///
/// # Safety
/// GIL held; `items` live objects.
pub(crate) unsafe fn closure_function(
    def: &'static StaticMethodDef,
    items: &[*mut ffi::PyObject],
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `items` live (contract); PyTuple_SetItem is given a
    // fresh tuple of that length and a new reference per slot; `def` is static,
    // so CPython may keep pointing at it.
    unsafe {
        let closure = Owned::check(ffi::PyTuple_New(items.len() as ffi::Py_ssize_t))?;
        for (i, &o) in items.iter().enumerate() {
            // PyTuple_SetItem steals the new reference.
            ffi::PyTuple_SetItem(closure.ptr(), i as ffi::Py_ssize_t, py::new_ref(o));
        }
        Owned::check(ffi::PyCFunction_NewEx(def.get(), closure.ptr(), null_mut()))
            .map(Owned::into_ptr)
    }
}

/// CFFI's checks of what `def_extern` / `ffi.callback` attach: the function
/// must be callable, `onerror` None or callable.
pub(crate) fn check_callables(func: Borrowed<'_, '_>, onerror: Borrowed<'_, '_>) -> PyResult<()> {
    let (func, onerror) = (func.as_ptr(), onerror.as_ptr());
    // SAFETY: GIL held and both objects live (what a `Borrowed` is).
    unsafe {
        if ffi::PyCallable_Check(func) == 0 {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!("expected a callable object, not {}", type_name(func)),
            ));
        }
        if onerror != ffi::Py_None() && ffi::PyCallable_Check(onerror) == 0 {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!(
                    "expected a callable object for 'onerror', not {}",
                    type_name(onerror)
                ),
            ));
        }
        Ok(())
    }
}

/// `owner` plus the module's data-model context, for ffi methods that
/// parse types.
///
/// # Safety
/// GIL held; `slf` an object of one of the module's types.
pub(crate) unsafe fn owner_cx(
    slf: *mut ffi::PyObject,
) -> PyResult<(
    *mut ffi::PyObject,
    &'static LibState,
    *mut ModState,
    *mut crate::cdata::Cx,
)> {
    // SAFETY: GIL held and `slf` of one of the module's types (contract), what
    // `owner` needs; the Cx was checked non-NULL.
    unsafe {
        let (m, ls, st) = owner(slf)?;
        let cx = cx_of_module(m);
        if cx.is_null() {
            return Err(raise(
                ffi::PyExc_RuntimeError,
                "cembed: the module was cleared",
            ));
        }
        Ok((m, ls, st, cx))
    }
}

pub(crate) static DECORATOR: StaticMethodDef = StaticMethodDef::new(
    c"def_extern_decorator",
    def_extern_decorator,
    c"Attaches the decorated function; returns it unchanged.",
)
.with_flags(ffi::METH_O);

/// The decorator's call: attaches `func`.
///
/// # Safety
/// Called by CPython as the builtin made by `ffi_def_extern` (GIL held).
unsafe extern "C" fn def_extern_decorator(
    closure: *mut ffi::PyObject,
    func: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held, `closure` the 4-tuple made
    // by `ffi_def_extern` (module, name, error, onerror: none NULL) and
    // `func` the decorated object (not NULL); the module state `st` is the
    // live module `m`'s, its dict checked non-NULL; `i` indexes `ls.externs` (it came from
    // `ls.by_name`).
    unsafe {
        trampoline(|| {
            let m = ffi::PyTuple_GetItem(closure, 0);
            let name = ffi::PyTuple_GetItem(closure, 1);
            let error = ffi::PyTuple_GetItem(closure, 2);
            let onerror = ffi::PyTuple_GetItem(closure, 3);
            let py = Python::assume_gil_acquired();
            check_callables(
                Borrowed::from_ptr_non_null(py, func),
                Borrowed::from_ptr_non_null(py, onerror),
            )?;
            let n;
            let name = if name == ffi::Py_None() {
                n = Owned::check(ffi::PyObject_GetAttrString(func, c"__name__".as_ptr()))?;
                n.ptr()
            } else {
                name
            };
            if ffi::PyUnicode_Check(name) == 0 {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("def_extern(): name must be a str, not {}", type_name(name)),
                ));
            }
            let name_text = py::str_text(name).ok_or(PyErrSet)?;
            let ls = lib_state_of(m).ok_or_else(|| {
                raise(
                    ffi::PyExc_SystemError,
                    "cembed: ffi object of a foreign module",
                )
            })?;
            let st = state(m);
            if (*st).attached.is_null() {
                return Err(raise(
                    ffi::PyExc_RuntimeError,
                    "cembed: the module was cleared",
                ));
            }
            let found = ls
                .by_name
                .get(&name_text)
                .filter(|_| !crate::desc::libstate::is_pool_slot(&name_text));
            let Some(&i) = found else {
                return Err(raise(
                    ffi_error(m)?,
                    &format!(
                    "ffi.def_extern('{name_text}'): no 'extern \"Python\"' function with this name"
                ),
                ));
            };
            let es = &ls.externs[i];
            attach(m, st, ls, es, func, error, onerror)?;
            Ok(py::new_ref(func))
        })
    }
}

/// Records the attachment in the module state (which owns it) and points the
/// extern's caches at it.
///
/// # Safety
/// GIL held; `m` a live module of library `ls`, `st` its state, `es` one
/// of `ls`'s externs; `func`, `error`, `onerror` live.
pub(crate) unsafe fn attach(
    m: *mut ffi::PyObject,
    st: *mut ModState,
    ls: &LibState,
    es: &ExternState,
    func: *mut ffi::PyObject,
    error: *mut ffi::PyObject,
    onerror: *mut ffi::PyObject,
) -> PyResult<()> {
    // SAFETY: GIL held, `m` the live module whose state `st` is and whose
    // library is `ls`/`es`, objects live (contract); the bytes object is fresh
    // and `rconv.size()` long, so zeroing and converting into it stays inside
    // it; the caches point at objects the module's `attached` dict owns from
    // here on.
    unsafe {
        let (rconv, rtype) = es.result;
        let err_bytes = if rconv == Conv::Void || rconv.size() == 0 {
            None
        } else {
            let b = Owned::check(ffi::PyBytes_FromStringAndSize(
                std::ptr::null(),
                rconv.size() as ffi::Py_ssize_t,
            ))?;
            let data = ffi::PyBytes_AsString(b.ptr()) as *mut u8;
            std::ptr::write_bytes(data, 0, rconv.size());
            if error != ffi::Py_None() {
                from_py(ls, rconv, ls.type_name(rtype), error, data as *mut c_void)?;
            }
            Some(b)
        };
        let none = ffi::Py_None();
        let entry = Owned::check(ffi::PyTuple_Pack(
            3,
            func,
            onerror,
            err_bytes.as_ref().map_or(none, |b| b.ptr()),
        ))?;
        let key = cstring_lossy(&es.name);
        if ffi::PyDict_SetItemString((*st).attached, key.as_ptr(), entry.ptr()) < 0 {
            return Err(PyErrSet);
        }
        // The dict now owns `entry`, which owns func/onerror/bytes.
        let Some(inst) = crate::objects::state::inst_of_module(m) else {
            return Err(raise(
                ffi::PyExc_RuntimeError,
                "cembed: the module was cleared",
            ));
        };
        let c = inst.cache(es);
        c.func.store(func, Ordering::Relaxed);
        c.onerror.store(
            if onerror == none { null_mut() } else { onerror },
            Ordering::Relaxed,
        );
        c.error.store(
            err_bytes.map_or(null_mut(), |b| ffi::PyBytes_AsString(b.ptr()) as *mut u8),
            Ordering::Relaxed,
        );
        c.owner.store(m, Ordering::Relaxed);
        Ok(())
    }
}

/// `ffi.integer_const(name)`: the value of an integer constant or
/// enumerator of the declarations.
///
/// # Safety
/// Called by CPython as a method of an ffi object (GIL held).
pub(crate) unsafe extern "C" fn ffi_integer_const(
    slf: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this method with the GIL held and `slf` an ffi
    // object of the module (what `owner` needs); `name` is the method's
    // argument, alive for the call.
    unsafe {
        trampoline(|| {
            let (m, ls, _) = owner(slf)?;
            let text = py::str_text(name).ok_or(PyErrSet)?;
            match crate::objects::libobj::integer_const(Python::assume_gil_acquired(), ls, &text)? {
                Some(v) => Ok(v.into_ptr()),
                None => Err(raise(
                    ffi_error(m)?,
                    &format!("integer constant '{text}' not found"),
                )),
            }
        })
    }
}

/// Undoes `attach` for extern `index` of the module's library (a callback
/// slot being released). Any error is left set for the caller.
///
/// # Safety
/// GIL held; `m` a live module.
pub(crate) unsafe fn release_slot(m: *mut ffi::PyObject, index: usize) {
    // SAFETY: GIL held and `m` a live module (contract); `st` is checked
    // non-NULL and its dict too before use.
    unsafe {
        let Some(ls) = lib_state_of(m) else { return };
        let Some(es) = ls.externs.get(index) else {
            return;
        };
        let st = state(m);
        if st.is_null() || (*st).attached.is_null() {
            return; // cleared: nothing is attached any more
        }
        if let Some(inst) = crate::objects::state::inst_of_module(m) {
            let c = inst.cache(es);
            if c.owner.load(Ordering::Relaxed) == m {
                detach(c);
            }
            // The slot is free for every interpreter of the library again.
            let _ = es.slot_owner.compare_exchange(
                inst.index + 1,
                0,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
        let key = cstring_lossy(&es.name);
        ffi::PyDict_DelItemString((*st).attached, key.as_ptr());
    }
}
