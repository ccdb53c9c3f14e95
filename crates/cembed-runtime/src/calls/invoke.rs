//! Running an extern's attached Python function: the arguments converted
//! by the extern's plan (plan.rs) or the general conversions, the
//! vectorcall, the result written back, and CFFI's error reporting
//! (`onerror`, the "From cffi callback" traceback). Reached from C through
//! entry/call.rs, and from Python through `lib.<extern>(...)`
//! (objects/libtype.rs).

use crate::cdata::convert::{arg_to_py, from_py, result_from_py};
use crate::desc::ctypes::Conv;
use crate::desc::libstate::{ExternCache, ExternState, Instance, INLINE_ARGS};
use crate::lifecycle::init;
use crate::lifecycle::thread::{self, Tls};
use crate::py::{self, cstring_lossy, repr_text};
use pyo3_ffi as ffi;
use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::atomic::Ordering;

/// The first call (or one after a failed init): runs the init machinery.
/// True if the call must return zero.
#[cold]
#[inline(never)]
pub(crate) fn init_failed(es: &ExternState, inst: &Instance) -> bool {
    if init::ensure_inst(inst).is_ok() {
        return false;
    }
    let said = crate::py::guard::piece(|| {
        py::c_stderr(&format!(
            "function {}() called, but initialization code failed.  Returning 0.\n",
            es.qualname
        ))
    });
    if said.is_none() {
        crate::py::guard::report_panic("call");
    }
    true
}

/// Entry from Python (`lib.func(...)`): the GIL is held, the arguments are
/// already C values.
///
/// # Safety
/// GIL held; as for [`call`].
pub(crate) unsafe fn call_from_python(
    es: &ExternState,
    args: *mut *mut c_void,
    result: *mut c_void,
) {
    // SAFETY: the GIL is held (contract).
    let Some(inst) = (unsafe { es.lib().inst_here() }) else {
        let _ = crate::py::guard::piece(|| {
            py::c_stderr(&format!(
                "cembed: function {}() called from an interpreter the library does not \
                 run in.  Returning 0.\n",
                es.qualname
            ))
        });
        return;
    };
    if !inst.init.is_ready() && init_failed(es, inst) {
        return;
    }
    // SAFETY: the GIL is held and the arguments are the extern's (contract);
    // `tls()` is this thread's thread-local, alive as long as the thread.
    unsafe { invoke(es, inst.cache(es), args, result, &*thread::tls()) };
}

/// The attachment cache of `es` in the current interpreter.
///
/// # Safety
/// A GIL is held.
unsafe fn cache_here(es: &ExternState) -> &ExternCache {
    // SAFETY: contract.
    match unsafe { es.lib().inst_here() } {
        Some(i) => i.cache(es),
        None => ExternCache::none(),
    }
}

/// Calls the attached function. Never leaves an exception set.
///
/// # Safety
/// GIL held; arguments as for [`call`].
#[inline(always)]
pub(crate) unsafe fn invoke(
    es: &ExternState,
    c: &ExternCache,
    args: *mut *mut c_void,
    result: *mut c_void,
    tls: &Tls,
) {
    let f = c.func.load(Ordering::Relaxed);
    let plan = &es.plan;
    if f.is_null() || !plan.fast {
        // SAFETY: as for this function.
        return unsafe { invoke_general(es, f, args, result) };
    }
    // The common case: primitive or data-model (pointer, struct, ...)
    // arguments, each with its own converter
    // chosen when the extern was prepared (plan.rs), at most INLINE_ARGS.
    let n = plan.n as usize;
    // The argument vector is on this thread's scratch stack, not on the C
    // stack, which a deep Python -> C -> Python recursion pays per level
    // (thread::scratch_alloc). argv[0] is scratch space for the callee
    // (PY_VECTORCALL_ARGUMENTS_OFFSET); only argv[1..=n] is read, each
    // written before.
    const ARGV_SLOTS: usize = (INLINE_ARGS + 1).div_ceil(2);
    let (mem, mark) = match tls.scratch_take(ARGV_SLOTS) {
        Some((mem, mark)) => (mem, Some(mark)),
        // Scratch stack full (a deep recursion): the heap, same path.
        None => (heap_argv(), None),
    };
    let argp = mem as *mut *mut ffi::PyObject;
    // The pieces capture plain values (`move`), which keeps this frame,
    // live during the whole Python call, small.
    // SAFETY: the GIL is held, `args` are the extern's (contract) and `argp`
    // has room for INLINE_ARGS + 1 pointers (ARGV_SLOTS 16-byte slots).
    let converted =
        crate::py::guard::piece(move || unsafe { convert_args(es, args, argp, result) });
    if converted != Some(true) {
        give_back_argv(tls, mem, mark);
        return piece_failed(converted);
    }
    // SAFETY: the GIL is held; `f` is the attached function, kept alive by
    // the module state's `attached` dict across the call; argp[1..=n] are the
    // converted arguments and argp[0] is free for the callee (the offset
    // flag says so).
    let res = unsafe {
        crate::py::unwind::vectorcall(
            f,
            argp.add(1),
            n | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
            null_mut(),
        )
    };
    // SAFETY: the GIL is held; argp[1..=n] are the n new references made by
    // convert_args, released once here; `res` is a new reference or NULL
    // with an exception set; `result` is the extern's result storage
    // (contract), which the plan's writer was chosen for.
    let done = crate::py::guard::piece(move || unsafe {
        let plan = &es.plan;
        for i in 0..plan.n as usize {
            ffi::Py_DECREF(*argp.add(i + 1));
        }
        if res.is_null() {
            return on_error(es, result, "");
        }
        let ok = (plan.from_py)(res, result);
        if !ok {
            // Not the simple case (not an int, out of range, ...): the general
            // conversion decides, and raises the precise error.
            return result_general(es, res, result);
        }
        ffi::Py_DECREF(res);
    });
    give_back_argv(tls, mem, mark);
    if done.is_none() {
        piece_failed(None);
    }
}

type ArgvMem = [u128; (INLINE_ARGS + 1).div_ceil(2)];

/// An argument vector on the heap, when the scratch stack is full.
#[cold]
#[inline(never)]
fn heap_argv() -> *mut u128 {
    Box::into_raw(Box::new([0u128; (INLINE_ARGS + 1).div_ceil(2)])) as *mut u128
}

/// Releases an argument vector of [`invoke`].
#[inline(always)]
fn give_back_argv(tls: &Tls, mem: *mut u128, mark: Option<usize>) {
    match mark {
        Some(mark) => tls.scratch_back(mark),
        // SAFETY: made by heap_argv, not used again.
        None => drop(unsafe { Box::from_raw(mem as *mut ArgvMem) }),
    }
}

/// The fast plan's argument conversions into `argp[1..=n]`; false if one
/// failed (reported, the result set to the error value). Out of line, so
/// that the piece around it stays a plain call.
///
/// # Safety
/// GIL held; `args` as for [`call`]; `argp` has room for n + 1 pointers.
#[inline(never)]
unsafe fn convert_args(
    es: &ExternState,
    args: *mut *mut c_void,
    argp: *mut *mut ffi::PyObject,
    result: *mut c_void,
) -> bool {
    // SAFETY: the GIL is held (contract); `args[i]` points to argument i of
    // the C type the plan's converter i was chosen for, and `argp` has room
    // for n + 1 pointers (contract).
    unsafe {
        let plan = &es.plan;
        for i in 0..plan.n as usize {
            let o = (plan.to_py[i])(*args.add(i), &plan.conv[i]);
            if o.is_null() {
                arg_failed(es, argp.add(1), i, result);
                return false;
            }
            *argp.add(i + 1) = o;
        }
        true
    }
}

/// A piece of the call path panicked (`None`; reported here) or failed with
/// the error already reported (`Some(false)`).
#[cold]
#[inline(never)]
fn piece_failed(r: Option<bool>) {
    if r.is_none() {
        crate::py::guard::report_panic("call");
    }
}

/// An argument conversion failed (exception set): drops the `done` objects
/// already made and reports.
#[cold]
#[inline(never)]
unsafe fn arg_failed(
    es: &ExternState,
    made: *mut *mut ffi::PyObject,
    done: usize,
    result: *mut c_void,
) {
    // SAFETY: the GIL is held (contract); made[0..done] are the new references the
    // conversions made so far, released once; an exception is set for on_error.
    unsafe {
        for i in 0..done {
            ffi::Py_DECREF(*made.add(i));
        }
        on_error(es, result, "");
    }
}

/// The result through the general conversion; consumes `res`.
#[cold]
#[inline(never)]
unsafe fn result_general(es: &ExternState, res: *mut ffi::PyObject, result: *mut c_void) {
    // SAFETY: the GIL is held (contract); `res` is a new reference, released once;
    // `result` is the extern's result storage (contract), of the type `rconv`
    // describes.
    unsafe {
        let (rconv, rtype) = es.result;
        let r = if result.is_null() && rconv != Conv::Void {
            Ok(())
        } else {
            result_from_py(
                es.lib(),
                rconv,
                &es.result_name,
                es.lib().type_name(rtype),
                res,
                result,
            )
        };
        ffi::Py_DECREF(res);
        if r.is_err() {
            on_error(es, result, ", trying to convert the result back to C");
        }
    }
}

/// Every call the fast plan does not cover: nothing attached, a broken
/// signature, more than INLINE_ARGS arguments, an argument type the runtime
/// cannot convert (`Conv::Unsupported`: the error comes from here), a
/// `wchar_t` or odd-sized integer argument.
#[cold]
#[inline(never)]
unsafe fn invoke_general(
    es: &ExternState,
    f: *mut ffi::PyObject,
    args: *mut *mut c_void,
    result: *mut c_void,
) {
    let callable = crate::py::guard::piece(|| {
        if f.is_null() {
            py::c_stderr(&format!(
                "extern \"Python\": function {}() called, but no code was attached \
                 to it yet with @ffi.def_extern().  Returning 0.\n",
                es.qualname
            ));
            return false;
        }
        if es.bad_signature {
            py::c_stderr(&format!(
                "cembed: function {}() has no function type in the library's tables \
                 (broken generated code).  Returning 0.\n",
                es.qualname
            ));
            return false;
        }
        true
    });
    if callable != Some(true) {
        return piece_failed(callable);
    }
    let n = es.args.len();
    // No destructor pending across the Python call (unwind.rs): the vector
    // is freed in the piece after it.
    let mut argv = std::mem::ManuallyDrop::new(vec![null_mut::<ffi::PyObject>(); n + 1]);
    // SAFETY: the GIL is held and `args[i]` points to argument i of the
    // extern's C type (contract), which `conv` describes.
    let converted = crate::py::guard::piece(|| unsafe {
        let ls = es.lib();
        for (i, &(conv, t)) in es.args.iter().enumerate() {
            let o = arg_to_py(ls, conv, &es.arg_names[i], ls.type_name(t), *args.add(i));
            if o.is_null() {
                return false;
            }
            argv[i + 1] = o;
        }
        true
    });
    // Python is called outside any piece (unwind.rs).
    let res = match converted {
        // SAFETY: the GIL is held; `f` is the attached function (non-NULL,
        // checked above), alive across the call; argv[1..=n] are the
        // converted arguments, argv[0] free for the callee.
        Some(true) => unsafe {
            crate::py::unwind::vectorcall(
                f,
                argv.as_ptr().add(1),
                n | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
                null_mut(),
            )
        },
        _ => null_mut(),
    };
    // SAFETY: the GIL is held; argv's non-NULL entries are new references
    // made above, released once; `res` is a new reference or NULL with an
    // exception set; `result` is the extern's result storage (contract).
    let done = crate::py::guard::piece(|| unsafe {
        let argv = std::mem::ManuallyDrop::into_inner(argv);
        for &o in argv[1..].iter() {
            if !o.is_null() {
                ffi::Py_DECREF(o);
            }
        }
        if converted.is_none() {
            return;
        }
        if res.is_null() {
            on_error(es, result, "");
            return;
        }
        result_general(es, res, result);
    });
    if converted.is_none() || done.is_none() {
        piece_failed(None);
    }
}

/// CFFI's error path (`general_invoke_callback`): the result becomes the
/// `error=` value (or zero); without `onerror` the exception is reported
/// through `sys.unraisablehook` as "Exception ignored from cffi callback
/// <function ...>:" + traceback; with `onerror`, it is called with
/// (exc, value, traceback) and a non-None return value becomes the result; an
/// exception inside onerror reports both.
///
/// # Safety
/// GIL held; an exception is set.
#[allow(deprecated)] // PyErr_Fetch/Restore: present on every version 3.9-3.13
#[cold]
#[inline(never)]
unsafe fn on_error(es: &ExternState, result: *mut c_void, extra: &str) {
    // SAFETY: the GIL is held (contract); an exception is set. `result` is NULL or the
    // extern's result storage of `size` bytes, and `error` (when set) a buffer of
    // the same size kept by the attachment. The exception's references are
    // taken by PyErr_Fetch and handed back by PyErr_Restore or released once;
    // `onerror` is kept alive by the attachment while it runs.
    unsafe {
        // The cache of the interpreter this call runs in (found again here,
        // on the error path, rather than carried through the hot path's
        // frames: a deep recursion pays each byte of them per level).
        let c = cache_here(es);
        let (rconv, rtype) = es.result;
        let size = rconv.size();
        if !result.is_null() && size > 0 {
            let e = c.error.load(Ordering::Relaxed);
            if e.is_null() {
                std::ptr::write_bytes(result as *mut u8, 0, size);
            } else {
                std::ptr::copy_nonoverlapping(e, result as *mut u8, size);
            }
        }
        // The function attached now, not the one that was called: that one is
        // only borrowed from the `attached` dict, and the call may have replaced
        // it (def_extern again) and so freed it. The current one is alive.
        let f = c.func.load(Ordering::Relaxed);
        let what = format!("from cffi callback {}{extra}", repr_text(f));
        let onerror = c.onerror.load(Ordering::Relaxed);
        if onerror.is_null() {
            write_unraisable(&what);
            return;
        }
        let (mut t, mut v, mut tb) = (null_mut(), null_mut(), null_mut());
        ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
        ffi::PyErr_NormalizeException(&mut t, &mut v, &mut tb);
        let none = ffi::Py_None();
        let or_none = |p: *mut ffi::PyObject| if p.is_null() { none } else { p };
        let r = ffi::PyObject_CallFunctionObjArgs(
            onerror,
            or_none(t),
            or_none(v),
            or_none(tb),
            null_mut::<ffi::PyObject>(),
        );
        if !r.is_null() {
            if r != none && !result.is_null() {
                let _ = from_py(es.lib(), rconv, es.lib().type_name(rtype), r, result);
            }
            ffi::Py_DECREF(r);
        }
        if ffi::PyErr_Occurred().is_null() {
            for p in [t, v, tb] {
                if !p.is_null() {
                    ffi::Py_DECREF(p);
                }
            }
            return;
        }
        let (mut t2, mut v2, mut tb2) = (null_mut(), null_mut(), null_mut());
        ffi::PyErr_Fetch(&mut t2, &mut v2, &mut tb2);
        ffi::PyErr_Restore(t, v, tb);
        write_unraisable(&what);
        ffi::PyErr_Restore(t2, v2, tb2);
        write_unraisable("during handling of the above exception by 'onerror'");
    }
}

/// Reports the current exception through `sys.unraisablehook` with the
/// message "Exception ignored <what>", exactly as CFFI does, and clears it.
///
/// # Safety
/// GIL held; an exception is set.
unsafe fn write_unraisable(what: &str) {
    // SAFETY: the GIL is held (contract); an exception is set (contract); `msg` is a
    // NUL-terminated string that outlives the call.
    unsafe {
        let msg = cstring_lossy(what);
        #[cfg(Py_3_13)]
        {
            extern "C" {
                fn PyErr_FormatUnraisable(format: *const std::ffi::c_char, ...);
            }
            PyErr_FormatUnraisable(c"Exception ignored %s".as_ptr(), msg.as_ptr());
        }
        #[cfg(not(Py_3_13))]
        {
            extern "C" {
                fn _PyErr_WriteUnraisableMsg(msg: *const std::ffi::c_char, obj: *mut ffi::PyObject);
            }
            _PyErr_WriteUnraisableMsg(msg.as_ptr(), null_mut());
        }
        ffi::PyErr_Clear();
    }
}
