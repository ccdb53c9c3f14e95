//! `ffi.new_handle`/`from_handle`, `gc`, `release`, `init_once`, `list_types` and
//! `getctype`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::object::{handle_target, new_cdata, release, CDataObj, Own};
use crate::cdata::types::TKind;
use crate::cdata::Cx;
use crate::objects::ffi::args::{cdata_arg, info, type_arg, CallArgs};
use crate::py::{cstring_lossy, raise, str_text, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ptr::null_mut;

/// `ffi.new_handle(x)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_new_handle(
    cx: *mut Cx,
    x: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `o` is the cdata just made, so writing its `data` field
    // through its object pointer is writing a CDataObj we own; `x` is alive for
    // the call and the handle takes its own reference.
    unsafe {
        let a = [x];
        let vp = (*cx)
            .reg
            .parse("void *")
            .map_err(|e| Cx::raise_error(cx, &e))?;
        let o = new_cdata(cx, vp, null_mut(), Own::Handle(crate::py::new_ref(a[0])))?;
        // The handle's value is its own address: unique while it lives.
        (*(o.ptr() as *const CDataObj)).data.set(o.ptr() as *mut u8);
        (*cx).handles.insert(o.ptr() as usize);
        Ok(o.into_ptr())
    }
}

/// `ffi.from_handle(p)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_from_handle(
    cx: *mut Cx,
    x: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `handle_target` is given only an address found in
    // `cx.handles`, the set of live handle cdata (a handle leaves it when
    // freed), so it is a live CDataObj.
    unsafe {
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
        if cd.data.get().is_null() {
            return Err(raise(
                ffi::PyExc_RuntimeError,
                "cannot use from_handle() on NULL pointer",
            ));
        }
        let addr = cd.data.get() as usize;
        if !(*cx).handles.contains(&addr) {
            // With subinterpreters in the process, the likely mistake is a
            // handle made in another interpreter (its object lives there).
            let isolated = (*(*cx).ls).mode != cembed_abi::Isolation::Shared
                || crate::lifecycle::interp::any_started();
            return Err(raise(
                ffi::PyExc_RuntimeError,
                if isolated {
                    "cembed: from_handle(): this pointer is not a live handle made by \
                     new_handle() in this interpreter (a handle made in one interpreter \
                     cannot be used in another: isolated libraries have their own; pass \
                     C data, not handles, between them)"
                } else {
                    "cembed: from_handle(): this pointer is not a live handle made by new_handle()"
                },
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
}

/// `ffi.gc(cdata, destructor, size=0)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_gc(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `cd` is the live cdata `a[0]`, whose `own` is replaced
    // through its cell (the reference from `own()` is not used after); the
    // destructor's reference is dropped once, after it was moved out.
    unsafe {
        let a = args.parse(
            crate::py::gil::Python::assume_gil_acquired(),
            "gc()",
            &["cdata", "destructor", "size"],
            2,
        )?;
        let cd = cdata_arg(cx, a[0], "gc")?;
        if a[1] == ffi::Py_None() {
            // ffi.gc(p, None): detach a previous destructor (CFFI: only on
            // what ffi.gc() or an allocator made, which stays such a cdata).
            let Own::Gc { orig, destructor } = *cd.own() else {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    "Can remove destructor only on a object previously returned by ffi.gc()",
                ));
            };
            // The old value's references are the new one's (`orig`) and
            // released here (`destructor`, unless NULL): nothing else to drop.
            let _ = cd.own_replace(Own::Gc {
                orig,
                destructor: null_mut(),
            });
            if !destructor.is_null() {
                ffi::Py_DECREF(destructor);
            }
            return Ok(crate::py::new_ref(ffi::Py_None()));
        }
        let o = new_cdata(
            cx,
            cd.tid,
            cd.data.get(),
            Own::Gc {
                orig: crate::py::new_ref(a[0]),
                destructor: crate::py::new_ref(a[1]),
            },
        )?;
        (*(o.ptr() as *const CDataObj)).length.set(cd.length.get());
        Ok(o.into_ptr())
    }
}

/// `ffi.release(cdata)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_release(
    cx: *mut Cx,
    cdata: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `cd` is the live cdata argument, which `release` may mutate
    // through its cells (it is alive for the call).
    unsafe {
        let a = [cdata];
        let cd = cdata_arg(cx, a[0], "release")?;
        release(cd)?;
        Ok(crate::py::new_ref(ffi::Py_None()))
    }
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

/// The capsule destructor: drops the capsule's count of its OnceSlot.
///
/// # Safety
/// Called by CPython on the capsule it destroys (GIL held).
unsafe extern "C" fn once_capsule_free(cap: *mut ffi::PyObject) {
    // SAFETY: CPython calls a capsule's destructor with the GIL held and `cap`
    // the capsule; its pointer, when its name matches, came from Arc::into_raw
    // in `once_entry` and is dropped once, here.
    unsafe {
        crate::py::guard::c_entry("once_capsule_free", (), || {
            let p = ffi::PyCapsule_GetPointer(cap, ONCE_CAPSULE.as_ptr());
            if !p.is_null() {
                // SAFETY: the pointer was made by Arc::into_raw in `once_slot`.
                drop(std::sync::Arc::from_raw(p as *const OnceSlot));
            } else {
                ffi::PyErr_Clear();
            }
        })
    }
}

/// The result recorded for `tag`, or the lock to take before running.
enum OnceEntry {
    Done(*mut ffi::PyObject),
    Pending(std::sync::Arc<OnceSlot>),
}

/// Looks up `tag`, adding a fresh lock if it has no entry yet.
///
/// # Safety
/// GIL held; `d` a dict (the module's init_once dict) and `tag` live.
unsafe fn once_entry(d: *mut ffi::PyObject, tag: *mut ffi::PyObject) -> PyResult<OnceEntry> {
    // SAFETY: GIL held, `d` the module's init_once dict and `tag` live
    // (contract); a capsule named ONCE_CAPSULE holds a pointer from
    // Arc::into_raw with one strong count of its own, so adding one before
    // Arc::from_raw gives the caller its own count; the dict keeps `v` alive
    // while it is read.
    unsafe {
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
}

/// `ffi.init_once(func, tag)`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_init_once(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `d` keeps the init_once dict alive; the GIL is released
    // (SaveThread) only around the wait on the slot, which touches no Python
    // object, and taken back (RestoreThread) on the same thread before any
    // Python call.
    unsafe {
        let a = args.parse(
            crate::py::gil::Python::assume_gil_acquired(),
            "function",
            &["func", "tag"],
            2,
        )?;
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
}

/// `ffi.list_types()`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_list_types(cx: *mut Cx) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract): its registry is read only; each str is made from a valid
    // UTF-8 `&str` of its length.
    unsafe {
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
}

/// `ffi.getctype(cdecl, replace_with='')`.
///
/// # Safety
/// GIL held; `cx` the live context of the calling ffi method.
pub(crate) unsafe fn ffi_getctype(cx: *mut Cx, args: CallArgs) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `cx` the live context of the calling ffi method
    // (contract); `a` are the call's arguments, alive during it; `cs` is a
    // NUL-terminated C string alive for the call.
    unsafe {
        let a = args.parse(
            crate::py::gil::Python::assume_gil_acquired(),
            "getctype()",
            &["cdecl", "replace_with"],
            1,
        )?;
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
}
