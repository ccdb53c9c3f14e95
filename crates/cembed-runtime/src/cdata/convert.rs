//! C value <-> Python object conversions, driven by the type table.
//!
//! Semantics are CFFI's (checked against the real `cffi` package):
//! * integers: Python `int` (or an object with `__int__` that is not a float)
//!   in range for the C type, else `OverflowError: integer N does not fit 'T'`
//!   (or CPython's own "can't convert negative number to unsigned" / "int too
//!   big to convert"); floats are refused with `TypeError: an integer is required`;
//! * `_Bool`: like an unsigned integer that must be 0 or 1 (so True/False/0/1);
//! * `char`: `bytes` of length 1; `wchar_t`: `str` of length 1;
//! * `float`/`double`: anything `PyFloat_AsDouble` accepts;
//! * `void` results: the Python function must return None.
//!
//! [`Conv`] is the per-position plan computed once per extern (at its first
//! call) so the per-call work is one `match` and the conversion itself.
//! Primitives are converted here directly; every other type (pointers,
//! arrays, structs/unions by value, function pointers, `void *`, long
//! double kept exact) goes through the data model in `cdata/` as
//! [`Conv::CData`].

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::desc::ctypes::{Conv, Prim};
use crate::desc::libstate::LibState;
use crate::py::{raise, repr_text, str_text, type_name, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use std::ffi::{c_void, CStr};

/// Converts the C value at `src` to a new Python object (NULL + exception on
/// failure).
///
/// # Safety
/// GIL held; `src` points to a readable value of the C type `conv` describes.
/// Structs and unions by value become a `CData` holding a copy (CFFI
/// shows them as `'T &'`: the C storage itself is only valid during the
/// call); pointers become pointer `CData`s. See [`to_py_owned`] for C
/// function results.
pub(crate) unsafe fn to_py(
    ls: &LibState,
    conv: Conv,
    ctype: &CStr,
    src: *const c_void,
) -> *mut ffi::PyObject {
    // SAFETY: GIL held and `src` a readable value of the type `conv`
    // describes (the contract), which `value_to_py` (a type of `ls`) and
    // `prim_to_py` need.
    unsafe {
        let p = match conv {
            Conv::Prim(p) => p,
            Conv::CData { ty, .. } => {
                return crate::cdata::value_to_py(ls, ty, src, crate::cdata::conv::Read::CopyRef)
            }
            Conv::Void => return crate::py::new_ref(ffi::Py_None()),
            Conv::Unsupported => {
                raise(
                    ffi::PyExc_NotImplementedError,
                    &format!(
                        "cembed: passing a '{}' to Python is not supported yet",
                        ctype.to_string_lossy()
                    ),
                );
                return std::ptr::null_mut();
            }
        };
        prim_to_py(p, ctype_str(ctype), src)
    }
}

/// [`to_py`] with the type name already as `&str` (the call path keeps one
/// per argument): primitives convert without looking at the name.
///
/// # Safety
/// As for [`to_py`].
#[inline(always)]
pub(crate) unsafe fn arg_to_py(
    ls: &LibState,
    conv: Conv,
    name: &str,
    ctype: &CStr,
    src: *const c_void,
) -> *mut ffi::PyObject {
    // SAFETY: `to_py`'s contract, the caller's.
    unsafe {
        match conv {
            Conv::Prim(p) => prim_to_py(p, name, src),
            other => to_py(ls, other, ctype, src),
        }
    }
}

/// [`from_py`] with the type name already as `&str`.
///
/// # Safety
/// As for [`from_py`].
#[inline(always)]
pub(crate) unsafe fn result_from_py(
    ls: &LibState,
    conv: Conv,
    name: &str,
    ctype: &CStr,
    obj: *mut ffi::PyObject,
    dst: *mut c_void,
) -> PyResult<()> {
    // SAFETY: `from_py`'s contract, the caller's.
    unsafe {
        match conv {
            Conv::Prim(p) => prim_from_py(p, name, obj, dst),
            other => from_py(ls, other, ctype, obj, dst),
        }
    }
}

/// A type name for messages. Hot path: only a (fast, ASCII) UTF-8 check, no
/// allocation; every table name was built from a `String`, so it is UTF-8.
#[inline]
fn ctype_str(ctype: &CStr) -> &str {
    ctype.to_str().unwrap_or("<type name not UTF-8>")
}

/// Like [`to_py`], for the result of a C function called from Python:
/// structs/unions by value become an owning `CData` (CFFI's
/// `'T' owning N bytes`).
///
/// # Safety
/// As for [`to_py`].
pub(crate) unsafe fn to_py_owned(
    ls: &LibState,
    conv: Conv,
    ctype: &CStr,
    src: *const c_void,
) -> *mut ffi::PyObject {
    // SAFETY: `to_py`'s contract, the caller's.
    unsafe {
        match conv {
            Conv::CData { ty, .. } => {
                crate::cdata::value_to_py(ls, ty, src, crate::cdata::conv::Read::Copy)
            }
            _ => to_py(ls, conv, ctype, src),
        }
    }
}

/// Like [`to_py`], for a value living in C memory that stays valid (a
/// global variable): structs, unions and arrays become views of that
/// memory, so assigning their fields/items writes the C object.
///
/// # Safety
/// As for [`to_py`]; `src` stays valid as long as the returned object.
pub(crate) unsafe fn to_py_view(
    ls: &LibState,
    conv: Conv,
    ctype: &CStr,
    src: *const c_void,
) -> *mut ffi::PyObject {
    // SAFETY: `to_py`'s contract, and `src` outlives the view (caller).
    unsafe {
        match conv {
            Conv::CData { ty, .. } => crate::cdata::value_to_py(
                ls,
                ty,
                src,
                crate::cdata::conv::Read::View(std::ptr::null_mut()),
            ),
            _ => to_py(ls, conv, ctype, src),
        }
    }
}

/// A primitive C value at `src` to Python (`ctype` names it in errors).
///
/// # Safety
/// GIL held; `src` readable for `p.size()` bytes.
pub(crate) unsafe fn prim_to_py(p: Prim, ctype: &str, src: *const c_void) -> *mut ffi::PyObject {
    // SAFETY: GIL held and `src` readable for `p.size()` bytes (caller):
    // each arm reads `p`'s size at `src` (unaligned: C memory may be
    // packed).
    unsafe {
        match p {
            Prim::Char => ffi::PyBytes_FromStringAndSize(src as *const _, 1),
            Prim::Bool => ffi::PyBool_FromLong((*(src as *const u8) != 0) as _),
            Prim::WChar16 => ffi::PyUnicode_FromOrdinal((src as *const u16).read_unaligned() as _),
            Prim::WChar32 => {
                let v = (src as *const u32).read_unaligned();
                if v > 0x10FFFF {
                    raise(
                        ffi::PyExc_ValueError,
                        &format!("{ctype} out of range for conversion to unicode: 0x{v:x}"),
                    );
                    return std::ptr::null_mut();
                }
                ffi::PyUnicode_FromOrdinal(v as _)
            }
            Prim::SInt(n) => ffi::PyLong_FromLongLong(read_signed(src, n)),
            Prim::UInt(n) => ffi::PyLong_FromUnsignedLongLong(read_unsigned(src, n)),
            Prim::F32 => ffi::PyFloat_FromDouble((src as *const f32).read_unaligned() as f64),
            Prim::F64 => ffi::PyFloat_FromDouble((src as *const f64).read_unaligned()),
            Prim::LongDouble => {
                let b = (src as *const [u8; 16]).read_unaligned();
                ffi::PyFloat_FromDouble(x87_to_f64(b))
            }
            Prim::C64 | Prim::C128 => {
                let (re, im) = read_complex(p, src);
                ffi::PyComplex_FromDoubles(re, im)
            }
        }
    }
}

/// The two parts of the complex `p` at `src` (CFFI's `read_raw_complex_data`).
///
/// # Safety
/// `src` readable for `p.size()` bytes.
pub(crate) unsafe fn read_complex(p: Prim, src: *const c_void) -> (f64, f64) {
    // SAFETY: `src` readable for `p.size()` bytes, two floats of `p`'s
    // width (caller); unaligned reads.
    unsafe {
        if p == Prim::C64 {
            let v = (src as *const [f32; 2]).read_unaligned();
            (v[0] as f64, v[1] as f64)
        } else {
            let v = (src as *const [f64; 2]).read_unaligned();
            (v[0], v[1])
        }
    }
}

/// Writes a complex `p` at `dst` (CFFI's `write_raw_complex_data`).
///
/// # Safety
/// `dst` writable for `p.size()` bytes.
pub(crate) unsafe fn write_complex(p: Prim, dst: *mut c_void, re: f64, im: f64) {
    // SAFETY: `dst` writable for `p.size()` bytes (caller); unaligned
    // writes.
    unsafe {
        if p == Prim::C64 {
            (dst as *mut [f32; 2]).write_unaligned([re as f32, im as f32]);
        } else {
            (dst as *mut [f64; 2]).write_unaligned([re, im]);
        }
    }
}

/// Converts `obj` to the C type and writes it at `dst`. On error an
/// exception is set and `dst` is left untouched (aggregates: possibly
/// partly written, as in CFFI).
///
/// Accepts what CFFI's `convert_from_object` accepts: for pointers a
/// `CData` of the same pointer type, of `void *` (either way), or an array
/// of the item type; for structs/unions a `CData` of the same type or a
/// list/tuple/dict initializer; for arrays a list/tuple (bytes for `char[]`,
/// str for `wchar_t[]`); enums take integers only, as in CFFI. For function
/// *call arguments* use [`arg_from_py`], which also takes bytes for
/// `char *` and lists for `T *` (temporaries).
///
/// # Safety
/// GIL held; `obj` valid; `dst` points to writable storage of the C type.
pub(crate) unsafe fn from_py(
    ls: &LibState,
    conv: Conv,
    ctype: &CStr,
    obj: *mut ffi::PyObject,
    dst: *mut c_void,
) -> PyResult<()> {
    // SAFETY: GIL held, `obj` live and `dst` writable storage of the type
    // `conv` describes (the contract), which `value_from_py` (a type of `ls`)
    // and `prim_from_py` need.
    unsafe {
        let p = match conv {
            Conv::Prim(p) => p,
            Conv::CData { ty, .. } => return crate::cdata::value_from_py(ls, ty, obj, dst, None),
            Conv::Void => {
                if obj == ffi::Py_None() {
                    return Ok(());
                }
                return Err(raise(
                    ffi::PyExc_TypeError,
                    "callback with the return type 'void' must return None",
                ));
            }
            Conv::Unsupported => {
                return Err(raise(
                    ffi::PyExc_NotImplementedError,
                    &format!(
                        "cembed: converting a Python object to '{}' is not supported yet",
                        ctype.to_string_lossy()
                    ),
                ))
            }
        };
        prim_from_py(p, ctype_str(ctype), obj, dst)
    }
}

/// Writes a Python value as primitive `p` at `dst` (`ctype` names it in
/// errors).
///
/// # Safety
/// GIL held; `dst` writable for `p.size()` bytes.
pub(crate) unsafe fn prim_from_py(
    p: Prim,
    ctype: &str,
    obj: *mut ffi::PyObject,
    dst: *mut c_void,
) -> PyResult<()> {
    // SAFETY: GIL held, `obj` a live object and `dst` writable for
    // `p.size()` bytes (caller): each arm writes `p`'s size at `dst`
    // (unaligned), after checking the object's type (a bytes object of
    // length 1 has one readable byte).
    unsafe {
        match p {
            Prim::Char => {
                if ffi::PyBytes_Check(obj) != 0 && ffi::PyBytes_Size(obj) == 1 {
                    *(dst as *mut u8) = *(ffi::PyBytes_AsString(obj) as *const u8);
                    Ok(())
                } else if let Some((Prim::Char, v)) = crate::cdata::value::char_cdata_value(obj) {
                    // A `char` cdata is accepted too (CFFI's _convert_to_char).
                    *(dst as *mut u8) = v as u8;
                    Ok(())
                } else {
                    Err(convert_error(ctype, obj, "a bytes of length 1", None))
                }
            }
            Prim::WChar16 | Prim::WChar32 => {
                let expected = "a unicode string of length 1";
                // A wide-char cdata of the same size is accepted too (CFFI's
                // _convert_to_unichar).
                if let Some((q, v)) = crate::cdata::value::char_cdata_value(obj) {
                    if q == p {
                        if p == Prim::WChar16 {
                            (dst as *mut u16).write_unaligned(v as u16);
                        } else {
                            (dst as *mut u32).write_unaligned(v);
                        }
                        return Ok(());
                    }
                }
                if ffi::PyUnicode_Check(obj) == 0 {
                    return Err(convert_error(ctype, obj, expected, None));
                }
                let len = ffi::PyUnicode_GetLength(obj);
                if len != 1 {
                    let got = format!("unicode string of length {len}");
                    return Err(convert_error(ctype, obj, expected, Some(&got)));
                }
                let ch = ffi::PyUnicode_ReadChar(obj, 0);
                if p == Prim::WChar16 {
                    if ch > 0xFFFF {
                        return Err(convert_error(
                            ctype,
                            obj,
                            expected,
                            Some("larger-than-0xFFFF character"),
                        ));
                    }
                    (dst as *mut u16).write_unaligned(ch as u16);
                } else {
                    (dst as *mut u32).write_unaligned(ch);
                }
                Ok(())
            }
            Prim::SInt(n) => {
                let v = as_i64(obj)?;
                if !fits_signed(v, n) {
                    return Err(overflow(ctype, obj));
                }
                write_int(dst, v as u64, n);
                Ok(())
            }
            Prim::UInt(n) => {
                let v = as_u64(obj)?;
                if !fits_unsigned(v, n) {
                    return Err(overflow(ctype, obj));
                }
                write_int(dst, v, n);
                Ok(())
            }
            Prim::Bool => {
                let v = as_u64(obj)?;
                if v > 1 {
                    return Err(overflow(ctype, obj));
                }
                *(dst as *mut u8) = v as u8;
                Ok(())
            }
            Prim::F32 | Prim::F64 | Prim::LongDouble => {
                let v = ffi::PyFloat_AsDouble(obj);
                if v == -1.0 && !ffi::PyErr_Occurred().is_null() {
                    return Err(PyErrSet);
                }
                match p {
                    Prim::F32 => (dst as *mut f32).write_unaligned(v as f32),
                    Prim::F64 => (dst as *mut f64).write_unaligned(v),
                    _ => (dst as *mut [u8; 16]).write_unaligned(f64_to_x87(v)),
                }
                Ok(())
            }
            // CFFI's convert_from_object: whatever PyComplex_AsCComplex takes
            // (complex, float, int, __complex__, __float__, __index__).
            Prim::C64 | Prim::C128 => {
                let v = ffi::PyComplex_AsCComplex(obj);
                if !ffi::PyErr_Occurred().is_null() {
                    return Err(PyErrSet);
                }
                write_complex(p, dst, v.real, v.imag);
                Ok(())
            }
        }
    }
}

/// CFFI's `_convert_error`: "initializer for ctype 'T' must be a X, not Y".
///
/// # Safety
/// GIL held; `obj` a live object.
unsafe fn convert_error(
    ctype: &str,
    obj: *mut ffi::PyObject,
    expected: &str,
    got: Option<&str>,
) -> PyErrSet {
    // SAFETY: GIL held and `obj` a live object (caller).
    unsafe {
        let got = got.map_or_else(|| type_name(obj), str::to_string);
        raise(
            ffi::PyExc_TypeError,
            &format!("initializer for ctype '{ctype}' must be {expected}, not {got}"),
        )
    }
}

/// CFFI's `_convert_overflow`: "integer N does not fit 'T'".
///
/// # Safety
/// GIL held; `obj` a live object.
unsafe fn overflow(ctype: &str, obj: *mut ffi::PyObject) -> PyErrSet {
    // SAFETY: GIL held and `obj` a live object (caller); the str made is
    // checked (`Owned::new`) before it is read.
    unsafe {
        let s = Owned::new(ffi::PyObject_Str(obj))
            .and_then(|s| str_text(s.ptr()))
            .unwrap_or_else(|| {
                ffi::PyErr_Clear();
                repr_text(obj)
            });
        raise(
            ffi::PyExc_OverflowError,
            &format!("integer {s} does not fit '{ctype}'"),
        )
    }
}

/// The integer value of `obj` as CFFI's `_my_PyLong_As*` see it: an int, or
/// a non-float object with `__int__`. Returns a new reference to an int.
///
/// # Safety
/// GIL held; `obj` a live object.
unsafe fn as_int_object(obj: *mut ffi::PyObject) -> PyResult<Owned> {
    // SAFETY: GIL held and `obj` a live object (caller), whose type (and
    // its number methods, if any) lives as long as it.
    unsafe {
        if ffi::PyLong_Check(obj) != 0 {
            return Ok(Owned::from_borrowed(obj));
        }
        let nb = (*ffi::Py_TYPE(obj)).tp_as_number;
        if ffi::PyFloat_Check(obj) != 0 || nb.is_null() || (*nb).nb_int.is_none() {
            return Err(raise(ffi::PyExc_TypeError, "an integer is required"));
        }
        let r = Owned::check(ffi::PyNumber_Long(obj))?;
        Ok(r)
    }
}

/// `obj` as an `i64` (CFFI's integer rules, [`as_int_object`]).
///
/// # Safety
/// GIL held; `obj` a live object.
unsafe fn as_i64(obj: *mut ffi::PyObject) -> PyResult<i64> {
    // SAFETY: GIL held and `obj` a live object (caller); `i` is `obj` or
    // the int `holder` keeps alive for the read.
    unsafe {
        // Hot path (every int result): an int is read in place, no new reference.
        let holder;
        let i = if ffi::PyLong_Check(obj) != 0 {
            obj
        } else {
            holder = as_int_object(obj)?;
            holder.ptr()
        };
        let v = ffi::PyLong_AsLongLong(i);
        if v == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        Ok(v)
    }
}

/// `obj` as a `u64` (CFFI's integer rules and messages).
///
/// # Safety
/// GIL held; `obj` a live object.
unsafe fn as_u64(obj: *mut ffi::PyObject) -> PyResult<u64> {
    // SAFETY: GIL held and `obj` a live object (caller); `i` is `obj` or
    // the int `holder` keeps alive for the reads.
    unsafe {
        let holder;
        let i = if ffi::PyLong_Check(obj) != 0 {
            obj
        } else {
            holder = as_int_object(obj)?;
            holder.ptr()
        };
        let mut overflow = 0;
        let v = ffi::PyLong_AsLongLongAndOverflow(i, &mut overflow);
        if v == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        // The sign is checked first: CFFI's message for negative values.
        if overflow < 0 || (overflow == 0 && v < 0) {
            return Err(raise(
                ffi::PyExc_OverflowError,
                "can't convert negative number to unsigned",
            ));
        }
        if overflow == 0 {
            return Ok(v as u64);
        }
        // Above i64::MAX: CPython says "int too big to convert" past u64::MAX.
        let v = ffi::PyLong_AsUnsignedLongLong(i);
        if v == u64::MAX && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        Ok(v)
    }
}

fn fits_signed(v: i64, n: u8) -> bool {
    if n >= 8 {
        return true;
    }
    let bits = 8 * n as u32;
    let min = -(1i64 << (bits - 1));
    let max = (1i64 << (bits - 1)) - 1;
    (min..=max).contains(&v)
}

fn fits_unsigned(v: u64, n: u8) -> bool {
    n >= 8 || v < (1u64 << (8 * n as u32))
}

/// The signed integer of `n` bytes (1, 2, 4 or 8) at `src`.
///
/// # Safety
/// `src` readable for `n` bytes.
unsafe fn read_signed(src: *const c_void, n: u8) -> i64 {
    // SAFETY: `src` readable for `n` bytes (caller); unaligned reads.
    unsafe {
        match n {
            1 => *(src as *const i8) as i64,
            2 => (src as *const i16).read_unaligned() as i64,
            4 => (src as *const i32).read_unaligned() as i64,
            _ => (src as *const i64).read_unaligned(),
        }
    }
}

/// The unsigned integer of `n` bytes (1, 2, 4 or 8) at `src`.
///
/// # Safety
/// `src` readable for `n` bytes.
unsafe fn read_unsigned(src: *const c_void, n: u8) -> u64 {
    // SAFETY: `src` readable for `n` bytes (caller); unaligned reads.
    unsafe {
        match n {
            1 => *(src as *const u8) as u64,
            2 => (src as *const u16).read_unaligned() as u64,
            4 => (src as *const u32).read_unaligned() as u64,
            _ => (src as *const u64).read_unaligned(),
        }
    }
}

/// Writes the low `n` bytes (1, 2, 4 or 8) of `v` at `dst`.
///
/// # Safety
/// `dst` writable for `n` bytes.
unsafe fn write_int(dst: *mut c_void, v: u64, n: u8) {
    // SAFETY: `dst` writable for `n` bytes (caller); unaligned writes.
    unsafe {
        match n {
            1 => *(dst as *mut u8) = v as u8,
            2 => (dst as *mut u16).write_unaligned(v as u16),
            4 => (dst as *mut u32).write_unaligned(v as u32),
            _ => (dst as *mut u64).write_unaligned(v),
        }
    }
}

/// x87 80-bit extended (in 16 bytes, little endian) to the nearest double.
pub(crate) fn x87_to_f64(b: [u8; 16]) -> f64 {
    let mant = u64::from_le_bytes(b[0..8].try_into().expect("8 bytes"));
    let se = u16::from_le_bytes([b[8], b[9]]);
    let sign = if se & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = (se & 0x7fff) as i32;
    if exp == 0x7fff {
        return if mant << 1 == 0 {
            sign * f64::INFINITY
        } else {
            f64::NAN
        };
    }
    // value = mant * 2^(exp - 16383 - 63); scale in two steps so that an
    // intermediate power of two does not underflow or overflow on its own.
    let e = exp - 16383 - 63;
    let half = e / 2;
    sign * (mant as f64) * 2f64.powi(half) * 2f64.powi(e - half)
}

/// A double as an x87 80-bit extended (exact: every double is representable).
pub(crate) fn f64_to_x87(v: f64) -> [u8; 16] {
    let bits = v.to_bits();
    let sign = ((bits >> 63) as u16) << 15;
    let exp11 = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (exp, mant): (i32, u64) = if exp11 == 0x7ff {
        (0x7fff, (1u64 << 63) | (frac << 11))
    } else if exp11 == 0 && frac == 0 {
        (0, 0)
    } else if exp11 == 0 {
        let lz = frac.leading_zeros() as i32;
        (-1074 - lz + 16383 + 63, frac << lz)
    } else {
        (exp11 - 1023 + 16383, (1u64 << 63) | (frac << 11))
    };
    let mut out = [0u8; 16];
    out[0..8].copy_from_slice(&mant.to_le_bytes());
    out[8..10].copy_from_slice(&(sign | exp as u16).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x87_round_trips_doubles() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -2.5,
            1e300,
            -1e-300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let back = x87_to_f64(f64_to_x87(v));
            assert_eq!(back.to_bits(), v.to_bits(), "{v}");
        }
        assert!(x87_to_f64(f64_to_x87(f64::NAN)).is_nan());
        // 1.0L as gcc stores it.
        let one = [0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f, 0, 0, 0, 0, 0, 0];
        assert_eq!(f64_to_x87(1.0), one);
    }

    #[test]
    fn integer_ranges() {
        assert!(fits_signed(127, 1) && !fits_signed(128, 1) && fits_signed(-128, 1));
        assert!(!fits_signed(-129, 1) && fits_signed(i64::MIN, 8));
        assert!(fits_unsigned(255, 1) && !fits_unsigned(256, 1) && fits_unsigned(u64::MAX, 8));
        assert!(fits_unsigned(u32::MAX as u64, 4) && !fits_unsigned(1 << 32, 4));
    }
}
