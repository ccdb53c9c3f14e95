//! The per-extern call plan: for the common signatures (at most
//! `INLINE_ARGS` arguments of primitive or data-model types) one converter function per argument
//! and one for the result, chosen once when the extern is prepared, so the
//! hot path (`call::invoke`) is an indirect call per value instead of
//! re-deciding from the type table on every call.
//!
//! The result writers only handle the simple, successful case (an int in
//! range, a float, None for void) and answer `false` for anything else; the
//! caller then runs the general conversion (`convert::result_from_py`),
//! which accepts the same values and raises CFFI's exact errors. So the plan
//! changes speed, never behaviour.

use crate::desc::ctypes::{Conv, Prim};
use crate::desc::libstate::{ArgConv, FromPy, LibState, Plan, ToPy, INLINE_ARGS};
use pyo3_ffi as ffi;
use std::ffi::{c_long, c_longlong, c_ulong, c_ulonglong, c_void};

/// How the hot path converts an extern's arguments and result (the plan
/// kept in its `ExternState`).
impl Plan {
    pub(crate) fn new(
        args: &[(Conv, u32)],
        result: Conv,
        bad_signature: bool,
        lib: *const LibState,
    ) -> Plan {
        let mut plan = Plan {
            fast: false,
            n: 0,
            to_py: [unreachable_to_py; INLINE_ARGS],
            conv: [ArgConv {
                conv: Conv::Unsupported,
                lib,
            }; INLINE_ARGS],
            from_py: result_writer(result),
        };
        if bad_signature || args.len() > INLINE_ARGS {
            return plan;
        }
        for (i, &(conv, _)) in args.iter().enumerate() {
            match arg_converter(conv) {
                Some(f) => {
                    plan.to_py[i] = f;
                    plan.conv[i] = ArgConv { conv, lib };
                }
                None => return plan,
            }
        }
        plan.n = args.len() as u8;
        plan.fast = true;
        plan
    }
}

/// Never called: fills the unused converter slots.
unsafe fn unreachable_to_py(_src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: the GIL is held (ToPy's contract).
    unsafe {
        crate::py::raise(
            ffi::PyExc_SystemError,
            "cembed: call plan slot out of range",
        );
        std::ptr::null_mut()
    }
}

fn arg_converter(conv: Conv) -> Option<ToPy> {
    let p = match conv {
        Conv::Prim(p) => p,
        // Pointers, structs by value, arrays, function pointers, long
        // double: a cdata of the extern's fixed argument type.
        Conv::CData { .. } => return Some(cdata_to_py),
        Conv::Void | Conv::Unsupported => return None,
    };
    Some(match p {
        Prim::Char => char_to_py,
        Prim::Bool => bool_to_py,
        Prim::WChar16 => wchar16_to_py,
        // May be out of range (an error naming the type): general path.
        Prim::WChar32 => return None,
        Prim::SInt(1) => i8_to_py,
        Prim::SInt(2) => i16_to_py,
        Prim::SInt(4) => i32_to_py,
        Prim::SInt(8) => i64_to_py,
        Prim::UInt(1) => u8_to_py,
        Prim::UInt(2) => u16_to_py,
        Prim::UInt(4) => u32_to_py,
        Prim::UInt(8) => u64_to_py,
        Prim::SInt(_) | Prim::UInt(_) => return None,
        Prim::F32 => f32_to_py,
        Prim::F64 => f64_to_py,
        Prim::LongDouble | Prim::C64 | Prim::C128 => return None,
    })
}

/// Exactly what the general path does for these types (`convert::to_py`
/// with a `Conv::CData`): a pointer becomes a pointer cdata, a struct or
/// union by value a cdata holding a copy.
unsafe fn cdata_to_py(src: *const c_void, arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of the argument's C type, which `arg.conv` names.
    unsafe {
        match arg.conv {
            Conv::CData { ty, .. } => {
                crate::cdata::value_to_py(arg.lib(), ty, src, crate::cdata::conv::Read::CopyRef)
            }
            Conv::Void | Conv::Prim(_) | Conv::Unsupported => unreachable_to_py(src, arg),
        }
    }
}

unsafe fn char_to_py(src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of this converter's C type (the plan chose it by type).
    unsafe { ffi::PyBytes_FromStringAndSize(src as *const _, 1) }
}
unsafe fn bool_to_py(src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of this converter's C type (the plan chose it by type).
    unsafe { ffi::PyBool_FromLong((*(src as *const u8) != 0) as c_long) }
}
unsafe fn wchar16_to_py(src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of this converter's C type (the plan chose it by type).
    unsafe { ffi::PyUnicode_FromOrdinal((src as *const u16).read_unaligned() as _) }
}
unsafe fn i8_to_py(src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of this converter's C type (the plan chose it by type).
    unsafe { ffi::PyLong_FromLong(*(src as *const i8) as c_long) }
}
unsafe fn i16_to_py(src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of this converter's C type (the plan chose it by type).
    unsafe { ffi::PyLong_FromLong((src as *const i16).read_unaligned() as c_long) }
}
unsafe fn i32_to_py(src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of this converter's C type (the plan chose it by type).
    unsafe { ffi::PyLong_FromLong((src as *const i32).read_unaligned() as c_long) }
}
unsafe fn i64_to_py(src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of this converter's C type (the plan chose it by type).
    unsafe { ffi::PyLong_FromLongLong((src as *const i64).read_unaligned() as c_longlong) }
}
unsafe fn u8_to_py(src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of this converter's C type (the plan chose it by type).
    unsafe { ffi::PyLong_FromLong(*(src as *const u8) as c_long) }
}
unsafe fn u16_to_py(src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of this converter's C type (the plan chose it by type).
    unsafe { ffi::PyLong_FromLong((src as *const u16).read_unaligned() as c_long) }
}
unsafe fn u32_to_py(src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of this converter's C type (the plan chose it by type).
    unsafe { ffi::PyLong_FromUnsignedLong((src as *const u32).read_unaligned() as c_ulong) }
}
unsafe fn u64_to_py(src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of this converter's C type (the plan chose it by type).
    unsafe { ffi::PyLong_FromUnsignedLongLong((src as *const u64).read_unaligned() as c_ulonglong) }
}
unsafe fn f32_to_py(src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of this converter's C type (the plan chose it by type).
    unsafe { ffi::PyFloat_FromDouble((src as *const f32).read_unaligned() as f64) }
}
unsafe fn f64_to_py(src: *const c_void, _arg: &ArgConv) -> *mut ffi::PyObject {
    // SAFETY: ToPy's contract: the GIL is held and `src` points to a
    // readable value of this converter's C type (the plan chose it by type).
    unsafe { ffi::PyFloat_FromDouble((src as *const f64).read_unaligned()) }
}

fn result_writer(conv: Conv) -> FromPy {
    let p = match conv {
        Conv::Void => return void_from_py,
        Conv::Prim(p) => p,
        Conv::CData { .. } | Conv::Unsupported => return general_only,
    };
    match p {
        Prim::Bool => bool_from_py,
        Prim::SInt(1) => i8_from_py,
        Prim::SInt(2) => i16_from_py,
        Prim::SInt(4) => i32_from_py,
        Prim::SInt(8) => i64_from_py,
        Prim::UInt(1) => u8_from_py,
        Prim::UInt(2) => u16_from_py,
        Prim::UInt(4) => u32_from_py,
        Prim::UInt(8) => u64_from_py,
        Prim::F32 => f32_from_py,
        Prim::F64 => f64_from_py,
        Prim::Char
        | Prim::WChar16
        | Prim::WChar32
        | Prim::SInt(_)
        | Prim::UInt(_)
        | Prim::LongDouble
        | Prim::C64
        | Prim::C128 => general_only,
    }
}

unsafe fn general_only(_obj: *mut ffi::PyObject, _dst: *mut c_void) -> bool {
    false
}

unsafe fn void_from_py(obj: *mut ffi::PyObject, _dst: *mut c_void) -> bool {
    // SAFETY: None is a static object; no other precondition.
    unsafe { obj == ffi::Py_None() }
}

/// The value of an `int` (or subclass) that fits a C `long long`; `None`
/// for anything else (another type, or out of range), without raising:
/// `PyLong_AsLongLongAndOverflow` reports overflow in its flag, and cannot
/// fail otherwise for an int.
#[inline(always)]
unsafe fn small_int(obj: *mut ffi::PyObject) -> Option<i64> {
    // SAFETY: the GIL is held and `obj` is live (the writers' contract).
    unsafe {
        if ffi::PyLong_Check(obj) == 0 {
            return None;
        }
        let mut overflow = 0;
        let v = ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow);
        (overflow == 0).then_some(v)
    }
}

/// Writes `v` as a `T` if it is in `T`'s range.
#[inline(always)]
unsafe fn write_in_range<T: TryFrom<i64>>(obj: *mut ffi::PyObject, dst: *mut c_void) -> bool {
    // SAFETY: the GIL is held, `obj` is live and `dst` is NULL or
    // writable storage of a `T` (the writers' contract); written unaligned.
    unsafe {
        let Some(v) = small_int(obj) else {
            return false;
        };
        let Ok(v) = T::try_from(v) else {
            return false;
        };
        if !dst.is_null() {
            (dst as *mut T).write_unaligned(v);
        }
        true
    }
}

unsafe fn i8_from_py(obj: *mut ffi::PyObject, dst: *mut c_void) -> bool {
    // SAFETY: FromPy's contract: the GIL is held, `obj` is live and `dst`
    // is NULL or writable storage of this writer's C type.
    unsafe { write_in_range::<i8>(obj, dst) }
}
unsafe fn i16_from_py(obj: *mut ffi::PyObject, dst: *mut c_void) -> bool {
    // SAFETY: FromPy's contract: the GIL is held, `obj` is live and `dst`
    // is NULL or writable storage of this writer's C type.
    unsafe { write_in_range::<i16>(obj, dst) }
}
unsafe fn i32_from_py(obj: *mut ffi::PyObject, dst: *mut c_void) -> bool {
    // SAFETY: FromPy's contract: the GIL is held, `obj` is live and `dst`
    // is NULL or writable storage of this writer's C type.
    unsafe { write_in_range::<i32>(obj, dst) }
}
unsafe fn i64_from_py(obj: *mut ffi::PyObject, dst: *mut c_void) -> bool {
    // SAFETY: FromPy's contract: the GIL is held, `obj` is live and `dst`
    // is NULL or writable storage of this writer's C type.
    unsafe { write_in_range::<i64>(obj, dst) }
}
unsafe fn u8_from_py(obj: *mut ffi::PyObject, dst: *mut c_void) -> bool {
    // SAFETY: FromPy's contract: the GIL is held, `obj` is live and `dst`
    // is NULL or writable storage of this writer's C type.
    unsafe { write_in_range::<u8>(obj, dst) }
}
unsafe fn u16_from_py(obj: *mut ffi::PyObject, dst: *mut c_void) -> bool {
    // SAFETY: FromPy's contract: the GIL is held, `obj` is live and `dst`
    // is NULL or writable storage of this writer's C type.
    unsafe { write_in_range::<u16>(obj, dst) }
}
unsafe fn u32_from_py(obj: *mut ffi::PyObject, dst: *mut c_void) -> bool {
    // SAFETY: FromPy's contract: the GIL is held, `obj` is live and `dst`
    // is NULL or writable storage of this writer's C type.
    unsafe { write_in_range::<u32>(obj, dst) }
}
/// Values above `i64::MAX` take the general path.
unsafe fn u64_from_py(obj: *mut ffi::PyObject, dst: *mut c_void) -> bool {
    // SAFETY: FromPy's contract: the GIL is held, `obj` is live and `dst`
    // is NULL or writable storage of this writer's C type.
    unsafe { write_in_range::<u64>(obj, dst) }
}
/// `_Bool`: only 0 and 1 (True/False).
unsafe fn bool_from_py(obj: *mut ffi::PyObject, dst: *mut c_void) -> bool {
    // SAFETY: FromPy's contract: the GIL is held, `obj` is live and `dst`
    // is NULL or writable storage of a `_Bool`.
    unsafe {
        match small_int(obj) {
            Some(v @ (0 | 1)) => {
                if !dst.is_null() {
                    *(dst as *mut u8) = v as u8;
                }
                true
            }
            _ => false,
        }
    }
}
/// An exact `float` (ints and other numbers: general path).
unsafe fn f64_from_py(obj: *mut ffi::PyObject, dst: *mut c_void) -> bool {
    // SAFETY: FromPy's contract: the GIL is held, `obj` is live and `dst`
    // is NULL or writable storage of a `double`; an exact float cannot fail
    // PyFloat_AsDouble.
    unsafe {
        if ffi::PyFloat_CheckExact(obj) == 0 {
            return false;
        }
        if !dst.is_null() {
            (dst as *mut f64).write_unaligned(ffi::PyFloat_AsDouble(obj));
        }
        true
    }
}
unsafe fn f32_from_py(obj: *mut ffi::PyObject, dst: *mut c_void) -> bool {
    // SAFETY: FromPy's contract: the GIL is held, `obj` is live and `dst`
    // is NULL or writable storage of a `float`; an exact float cannot fail
    // PyFloat_AsDouble.
    unsafe {
        if ffi::PyFloat_CheckExact(obj) == 0 {
            return false;
        }
        if !dst.is_null() {
            (dst as *mut f32).write_unaligned(ffi::PyFloat_AsDouble(obj) as f32);
        }
        true
    }
}
