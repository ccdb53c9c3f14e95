//! Python objects <-> JSON values, for `cembed._runtime.build(request)`.
//!
//! The builder's request and response are JSON documents
//! (docs/architecture.md, "The build request"); the Python side hands over
//! the request as a dict and gets the response as a dict, converted here.
//! Why not `json.dumps`/`json.loads` in Python: importing `json` (which
//! imports `re` and `enum`) costs about 6 ms, a tenth of a one-function
//! library's whole build. Only what JSON can hold is accepted.

use crate::py::{self, Owned, PyErrSet, PyResult};
use pyo3_ffi as ffi;
use serde_json::{Map, Number, Value};

/// The JSON value of `obj`: None, bool, int, float, str, list, tuple and dict
/// with str keys. Anything else raises TypeError naming where it is
/// (`request["options"]["libraries"][2]`).
///
/// # Safety
/// GIL held; `obj` valid.
pub(crate) unsafe fn to_value(obj: *mut ffi::PyObject, at: &str) -> PyResult<Value> {
    if obj == ffi::Py_None() {
        Ok(Value::Null)
    } else if ffi::PyBool_Check(obj) != 0 {
        Ok(Value::Bool(obj == ffi::Py_True()))
    } else if ffi::PyLong_Check(obj) != 0 {
        let v = ffi::PyLong_AsLongLong(obj);
        if v == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        Ok(Value::Number(v.into()))
    } else if ffi::PyFloat_Check(obj) != 0 {
        let v = ffi::PyFloat_AsDouble(obj);
        Number::from_f64(v).map(Value::Number).ok_or_else(|| {
            py::raise(
                ffi::PyExc_ValueError,
                &format!("build request: {at} is not a finite number"),
            )
        })
    } else if ffi::PyUnicode_Check(obj) != 0 {
        py::str_text(obj).map(Value::String).ok_or(PyErrSet)
    } else if ffi::PyList_Check(obj) != 0 || ffi::PyTuple_Check(obj) != 0 {
        let seq = Owned::check(ffi::PySequence_Fast(obj, c"a sequence".as_ptr()))?;
        let n = ffi::PySequence_Size(seq.ptr());
        let mut out = Vec::with_capacity(n.max(0) as usize);
        for i in 0..n {
            // A new reference, so the conversion is safe even if it runs
            // Python code that changes the list.
            let item = Owned::check(ffi::PySequence_GetItem(seq.ptr(), i))?;
            out.push(to_value(item.ptr(), &format!("{at}[{i}]"))?);
        }
        Ok(Value::Array(out))
    } else if ffi::PyDict_Check(obj) != 0 {
        let items = Owned::check(ffi::PyDict_Items(obj))?;
        let n = ffi::PyList_Size(items.ptr());
        let mut out = Map::new();
        for i in 0..n {
            // Borrowed from `items`, which we own.
            let pair = ffi::PyList_GetItem(items.ptr(), i);
            let (key, value) = (ffi::PyTuple_GetItem(pair, 0), ffi::PyTuple_GetItem(pair, 1));
            if ffi::PyUnicode_Check(key) == 0 {
                return Err(py::raise(
                    ffi::PyExc_TypeError,
                    &format!(
                        "build request: {at} has a key of type {}, not str",
                        py::type_name(key)
                    ),
                ));
            }
            let key = py::str_text(key).ok_or(PyErrSet)?;
            let v = to_value(value, &format!("{at}[{key:?}]"))?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    } else {
        Err(py::raise(
            ffi::PyExc_TypeError,
            &format!(
                "build request: {at} is a {}, which has no JSON form",
                py::type_name(obj)
            ),
        ))
    }
}

/// The Python object of a JSON value (dict, list, str, int, float, bool,
/// None).
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn from_value(v: &Value) -> PyResult<Owned> {
    match v {
        Value::Null => Ok(Owned::from_borrowed(ffi::Py_None())),
        Value::Bool(true) => Ok(Owned::from_borrowed(ffi::Py_True())),
        Value::Bool(false) => Ok(Owned::from_borrowed(ffi::Py_False())),
        Value::Number(n) => Owned::check(match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => ffi::PyLong_FromLongLong(i),
            (None, Some(u)) => ffi::PyLong_FromUnsignedLongLong(u),
            (None, None) => ffi::PyFloat_FromDouble(n.as_f64().unwrap_or(f64::NAN)),
        }),
        Value::String(s) => Owned::check(ffi::PyUnicode_FromStringAndSize(
            s.as_ptr().cast(),
            s.len() as ffi::Py_ssize_t,
        )),
        Value::Array(items) => {
            let list = Owned::check(ffi::PyList_New(items.len() as ffi::Py_ssize_t))?;
            for (i, item) in items.iter().enumerate() {
                // PyList_SetItem steals the reference.
                ffi::PyList_SetItem(
                    list.ptr(),
                    i as ffi::Py_ssize_t,
                    from_value(item)?.into_ptr(),
                );
            }
            Ok(list)
        }
        Value::Object(map) => {
            let dict = Owned::check(ffi::PyDict_New())?;
            for (k, item) in map {
                let key = from_value(&Value::String(k.clone()))?;
                let value = from_value(item)?;
                if ffi::PyDict_SetItem(dict.ptr(), key.ptr(), value.ptr()) != 0 {
                    return Err(PyErrSet);
                }
            }
            Ok(dict)
        }
    }
}
