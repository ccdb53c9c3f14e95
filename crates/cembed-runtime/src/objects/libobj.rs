//! What `lib.<name>` is: the library's C functions, global variables,
//! constants, enum values and Python-implemented functions, with CFFI's
//! semantics (its `lib_obj.c` is the model).
//!
//! * C functions of the cdef are real builtin functions
//!   (`builtin_function_or_method`), made once per module and cached, with
//!   CFFI's calling convention: `METH_NOARGS` for no parameter, `METH_O` for
//!   one, `METH_VARARGS` otherwise. So a wrong argument count gives exactly
//!   CPython's message for that Python version, as with CFFI. The builtin's
//!   `self` is a second instance of the Lib type that carries the function's
//!   index ([`LibObject::cfunc`]), which is how the one generic `ml_meth`
//!   knows which C function to call, and why messages read
//!   "my_plugin.Lib.f() takes no arguments (1 given)" as CFFI's do.
//! * Global variables are read and written on every access (never cached):
//!   `lib.x` converts the C object at its address, `lib.x = v` converts `v`
//!   into it. Arrays and structs come back as cdata views on the global.
//! * `#define` constants, `static const` values (and `const` globals, which
//!   CFFI treats as constants) and enumerators are computed once and cached.
//!   Writing any of them, or a function, raises AttributeError.
//! * Unknown names raise AttributeError naming the library.
//!
//! Names are resolved through [`LibIndex`], built once per library from the
//! generated tables; the per-module cache is a dict in the module state
//! (`funcs` in `module.rs`), which owns every object it holds.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::cdata::convert::{from_py, to_py_view};
use crate::desc::ctypes::Conv;
use crate::desc::libstate::LibState;
use crate::py::cell::SyncCell;
use crate::py::gil::Python;
use crate::py::{cstring_lossy, raise, str_text, text, Owned, PyErrSet, PyResult};
use cembed_abi::global_flags;
use pyo3_ffi as ffi;
use std::collections::HashMap;
use std::ffi::{c_void, CString};

/// What a name of `lib` refers to: an index into one of the generated tables.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// `cembed_lib.cfuncs[i]`: a C function of the cdef.
    CFunc(u32),
    /// `cembed_lib.externs[i]`: a function implemented in Python.
    Extern(u32),
    /// `cembed_lib.globals[i]`.
    Global(u32),
    /// `cembed_lib.consts[i]`: `#define`, `static const`, `const` global.
    Const(u32),
    /// `cembed_lib.enumerators[i]`.
    Enumerator(u32),
}

/// The names of one library, and the static method definitions of its C
/// functions (CPython keeps pointers to them for as long as a builtin made
/// from them lives, so they live as long as the LibState: forever).
pub(crate) struct LibIndex {
    names: HashMap<String, Entry>,
    /// Every name, in table order (dir(lib) sorts them anyway).
    order: Vec<(String, Entry)>,
    methods: Box<[SyncCell<ffi::PyMethodDef>]>,
    /// How to call each C function (same index as `methods`).
    plans: Box<[crate::calls::cfunc::CFuncPlan]>,
    /// Backing storage of the method definitions' docstrings.
    _docs: Vec<CString>,
}

// SAFETY: the raw pointers inside point to the library's static tables and to
// `_docs`, all immutable after construction.
unsafe impl Send for LibIndex {}
// SAFETY: as for Send: nothing in it changes after construction.
unsafe impl Sync for LibIndex {}

/// The Lib type's instance layout. The module's `lib` object has
/// `cfunc == 0`; the `self` of the builtin for C function `i` has `i + 1`.
#[repr(C)]
pub(crate) struct LibObject {
    ob_base: ffi::PyObject,
    cfunc: usize,
}

impl LibIndex {
    /// # Safety
    /// `ls.lib` points to a complete generated `cembed_lib`.
    unsafe fn build(ls: &LibState) -> LibIndex {
        // SAFETY: `ls.lib` points to a complete generated `cembed_lib`
        // (contract): each table holds its `n_*` entries, read here by an index
        // below that count; their names are NUL-terminated strings of those
        // static tables.
        unsafe {
            let lib = &*ls.lib;
            let mut order = Vec::new();
            let mut methods = Vec::new();
            let mut plans = Vec::new();
            let mut docs = Vec::new();
            for i in 0..lib.n_cfuncs {
                let cf = &*lib.cfuncs.add(i as usize);
                let name = text(cf.name);
                let plan = crate::calls::cfunc::CFuncPlan::new(ls, i as usize);
                let nparams = plan.arity();
                plans.push(plan);
                let (flags, meth) = match nparams {
                    Some(0) => (
                        ffi::METH_NOARGS,
                        ffi::PyMethodDefPointer {
                            PyCFunction: as_pycfunction(cfunc_noargs),
                        },
                    ),
                    Some(1) => (
                        ffi::METH_O,
                        ffi::PyMethodDefPointer {
                            PyCFunction: as_pycfunction(cfunc_o),
                        },
                    ),
                    _ => (
                        ffi::METH_VARARGS,
                        ffi::PyMethodDefPointer {
                            PyCFunction: as_pycfunction(cfunc_varargs),
                        },
                    ),
                };
                let decl = cf_declaration(ls, &name, cf.type_);
                let doc = cstring_lossy(&format!(
                    "{decl};\n\nCFFI C function from {}.lib",
                    ls.name.to_string_lossy()
                ));
                methods.push(SyncCell::new(ffi::PyMethodDef {
                    ml_name: cf.name,
                    ml_meth: meth,
                    ml_flags: flags,
                    ml_doc: doc.as_ptr(),
                }));
                docs.push(doc);
                order.push((name, Entry::CFunc(i)));
            }
            for i in 0..lib.n_externs {
                let e = &**lib.externs.add(i as usize);
                let name = text(e.name);
                // The callback pool's slots are handed out by ffi.callback().
                if !crate::desc::libstate::is_pool_slot(&name) {
                    order.push((name, Entry::Extern(i)));
                }
            }
            for i in 0..lib.n_globals {
                order.push((text((*lib.globals.add(i as usize)).name), Entry::Global(i)));
            }
            for i in 0..lib.n_consts {
                order.push((text((*lib.consts.add(i as usize)).name), Entry::Const(i)));
            }
            for i in 0..lib.n_enumerators {
                order.push((
                    text((*lib.enumerators.add(i as usize)).name),
                    Entry::Enumerator(i),
                ));
            }
            let mut names = HashMap::with_capacity(order.len());
            for (n, e) in &order {
                // A name declared twice keeps its first meaning (C would not
                // compile such a library anyway).
                names.entry(n.clone()).or_insert(*e);
            }
            LibIndex {
                names,
                order,
                methods: methods.into_boxed_slice(),
                plans: plans.into_boxed_slice(),
                _docs: docs,
            }
        }
    }

    fn get(&self, name: &str) -> Option<Entry> {
        self.names.get(name).copied()
    }
}

/// `int add(int, int)` for a C function, from its type's CFFI spelling.
fn cf_declaration(ls: &LibState, name: &str, ty: i32) -> String {
    if ty < 0 || ty as usize >= ls.types.types.len() {
        return name.to_string();
    }
    let fname = ls.types.get(ty as u32).name.to_string_lossy().into_owned();
    // The pointer spelling puts "(*)" where the name goes; CFFI spells an
    // empty parameter list "()".
    let p = crate::calls::cfunc::pointer_name(&fname).replace("(void)", "()");
    match p.find("(*)") {
        Some(at) => {
            let sep = if p[..at].ends_with('*') { "" } else { " " };
            format!("{}{sep}{name}{}", &p[..at], &p[at + 3..])
        }
        None => format!("{name}: {fname}"),
    }
}

/// The library's name index, built on first use.
pub(crate) fn index(ls: &LibState) -> &LibIndex {
    ls.lib_index
        // SAFETY: `ls.lib` is the library's generated table (LibState invariant).
        .get_or_init(|| Box::new(unsafe { LibIndex::build(ls) }))
        .downcast_ref::<LibIndex>()
        .expect("the lib index slot holds a LibIndex")
}

/// CFFI's message for a name the library does not have.
fn no_such_name_text(ls: &LibState, name: &str) -> String {
    format!(
        "cembed library '{}' has no function, constant or global variable named '{name}'",
        ls.name.to_string_lossy()
    )
}

/// Raises CFFI's AttributeError for a name the library does not have.
fn no_such_name(_py: Python<'_>, ls: &LibState, name: &str) -> PyErrSet {
    // SAFETY: the token proves the GIL is held.
    unsafe { raise(ffi::PyExc_AttributeError, &no_such_name_text(ls, name)) }
}

/// `lib.<name>` (tp_getattro). `cache` is the module's name -> object dict.
///
/// # Safety
/// GIL held; `slf` is the module's lib object, `name` any object.
pub(crate) unsafe fn getattr(
    ls: &LibState,
    slf: *mut ffi::PyObject,
    cache: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held, `slf` the module's lib object, `cache` its dict and
    // `name` live (contract); `ls.lib` is the library's generated table
    // (LibState invariant) and every `i` comes from its index, so it indexes
    // the table it names.
    unsafe {
        let x = ffi::PyDict_GetItemWithError(cache, name);
        if !x.is_null() {
            return Ok(crate::py::new_ref(x));
        }
        if !ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet);
        }
        if ffi::PyUnicode_Check(name) == 0 {
            return Owned::check(ffi::PyObject_GenericGetAttr(slf, name)).map(Owned::into_ptr);
        }
        let s = str_text(name).ok_or(PyErrSet)?;
        let idx = index(ls);
        let obj = match idx.get(&s) {
            Some(Entry::Global(i)) => return read_global(ls, i),
            Some(Entry::CFunc(i)) => make_cfunc(ls, slf, idx, i)?,
            Some(Entry::Const(i)) => const_value(ls, &*(*ls.lib).consts.add(i as usize))?,
            Some(Entry::Enumerator(i)) => const_value(ls, &*(*ls.lib).enumerators.add(i as usize))?,
            Some(Entry::Extern(i)) => {
                let e = &**(*ls.lib).externs.add(i as usize);
                if e.fn_.is_null() {
                    // The module cached a direct callable for such an extern
                    // when it was created: not being there means it was cleared.
                    return Err(raise(
                        ffi::PyExc_RuntimeError,
                        "cembed: the module was cleared",
                    ));
                }
                fnptr_cdata(ls, e.type_, e.fn_)?
            }
            None => return special_or_generic(ls, slf, cache, name, &s),
        };
        if ffi::PyDict_SetItem(cache, name, obj.ptr()) < 0 {
            return Err(PyErrSet);
        }
        Ok(obj.into_ptr())
    }
}

/// Names that are not declarations: CFFI's `__all__`, `__dict__`,
/// `__loader__`, `__spec__` and `__name__`, then ordinary attributes of the object (`__class__`, ...).
///
/// # Safety
/// As `getattr`.
unsafe fn special_or_generic(
    ls: &LibState,
    slf: *mut ffi::PyObject,
    cache: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    s: &str,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and the objects live (contract), what `getattr` and the
    // generic lookup need.
    unsafe {
        match s {
            // `from lib import *`: everything but global variables (their values
            // would be copies, not the variables).
            "__all__" => return names_list(Python::assume_gil_acquired(), ls, false),
            "__dict__" => {
                let d = Owned::check(ffi::PyDict_New())?;
                for (n, _) in &index(ls).order {
                    let key = Owned::check(ffi::PyUnicode_FromStringAndSize(
                        n.as_ptr().cast(),
                        n.len() as ffi::Py_ssize_t,
                    ))?;
                    let v = Owned::check(getattr(ls, slf, cache, key.ptr())?)?;
                    if ffi::PyDict_SetItem(d.ptr(), key.ptr(), v.ptr()) < 0 {
                        return Err(PyErrSet);
                    }
                }
                return Ok(d.into_ptr());
            }
            // As CFFI's lib: not a module loaded by an import system.
            "__loader__" | "__spec__" => return Ok(crate::py::new_ref(ffi::Py_None())),
            "__name__" => {
                let n = cstring_lossy(&format!("{}.lib", ls.name.to_string_lossy()));
                return Owned::check(ffi::PyUnicode_FromString(n.as_ptr())).map(Owned::into_ptr);
            }
            _ => {}
        }
        let r = ffi::PyObject_GenericGetAttr(slf, name);
        if r.is_null() && ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) != 0 {
            ffi::PyErr_Clear();
            return Err(no_such_name(Python::assume_gil_acquired(), ls, s));
        }
        Owned::check(r).map(Owned::into_ptr)
    }
}

/// `lib.<name> = value` / `del lib.<name>` (tp_setattro; `value` NULL for del).
///
/// # Safety
/// GIL held; `name` any object, `value` NULL or valid.
pub(crate) unsafe fn setattr(
    ls: &LibState,
    name: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> PyResult<()> {
    // SAFETY: GIL held, `name` live and `value` live, checked non-NULL
    // (contract); `i` comes from the library's index, so it indexes its globals
    // table; the address written is checked non-NULL (`usable_address`) and
    // converted to by the global's own type.
    unsafe {
        let Some(s) = (ffi::PyUnicode_Check(name) != 0)
            .then(|| str_text(name))
            .flatten()
        else {
            if ffi::PyErr_Occurred().is_null() {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    "attribute name must be a string",
                ));
            }
            return Err(PyErrSet);
        };
        let Some(entry) = index(ls).get(&s) else {
            return Err(no_such_name(Python::assume_gil_acquired(), ls, &s));
        };
        if value.is_null() {
            return Err(raise(
                ffi::PyExc_AttributeError,
                "C attribute cannot be deleted",
            ));
        }
        match entry {
            Entry::Global(i) => {
                let g = &*(*ls.lib).globals.add(i as usize);
                if g.flags & global_flags::CONST == 0 && g.type_ >= 0 {
                    let t = ls.types.get(g.type_ as u32);
                    return from_py(ls, Conv::of(t), &t.name, value, usable_address(ls, g)?);
                }
            }
            Entry::CFunc(_) | Entry::Extern(_) | Entry::Const(_) | Entry::Enumerator(_) => {}
        }
        Err(raise(
            ffi::PyExc_AttributeError,
            &format!("cannot write to function or constant '{s}'"),
        ))
    }
}

/// `dir(lib)`: every declared name.
pub(crate) fn dir(py: Python<'_>, ls: &LibState) -> PyResult<*mut ffi::PyObject> {
    names_list(py, ls, true)
}

/// The declared names, sorted like CFFI's (its globals table is sorted).
fn names_list(_py: Python<'_>, ls: &LibState, with_globals: bool) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the token proves the GIL is held; each str is made from a valid
    // UTF-8 `&str` of its length.
    unsafe {
        let l = Owned::check(ffi::PyList_New(0))?;
        let mut names: Vec<&str> = index(ls)
            .order
            .iter()
            .filter(|(_, e)| with_globals || !matches!(e, Entry::Global(_)))
            .map(|(n, _)| n.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        for n in names {
            let s = Owned::check(ffi::PyUnicode_FromStringAndSize(
                n.as_ptr().cast(),
                n.len() as ffi::Py_ssize_t,
            ))?;
            if ffi::PyList_Append(l.ptr(), s.ptr()) < 0 {
                return Err(PyErrSet);
            }
        }
        Ok(l.into_ptr())
    }
}

/// The address of a global: the table's, or what its getter returns now
/// (a global that is a macro, see `CEMBED_G_GETTER`).
///
/// # Safety
/// `g` is an entry of a generated library's table.
unsafe fn global_address(g: &cembed_abi::Global) -> *mut c_void {
    // SAFETY: `g` is an entry of a generated library's table (contract): with
    // CEMBED_G_GETTER its `address` is the generated getter, which takes
    // nothing and may be called at any time.
    unsafe {
        if g.flags & global_flags::GETTER != 0 && !g.address.is_null() {
            // SAFETY: with CEMBED_G_GETTER the generated table stores a
            // `void *(*)(void)` in `address` (codegen's globals table).
            let get: unsafe extern "C" fn() -> *mut c_void = std::mem::transmute(g.address);
            return get();
        }
        g.address
    }
}

/// `global_address` for a read or a write: NULL (a macro's getter may give
/// it) is CFFI's ffi.error instead of a crash.
///
/// # Safety
/// GIL held; `g` an entry of `ls`'s globals table.
unsafe fn usable_address(ls: &LibState, g: &cembed_abi::Global) -> PyResult<*mut c_void> {
    // SAFETY: GIL held and `g` an entry of `ls`'s globals table (contract),
    // what `global_address` and raising need; `ls.module` is the module whose
    // lib is in use.
    unsafe {
        let addr = global_address(g);
        if addr.is_null() {
            let m = ls.inst_here().map_or(std::ptr::null_mut(), |i| {
                i.module.load(std::sync::atomic::Ordering::Acquire)
            });
            let exc = crate::objects::state::ffi_error(m)?;
            return Err(raise(
                exc,
                &format!("global variable '{}' is at address NULL", text(g.name)),
            ));
        }
        Ok(addr)
    }
}

/// The current value of global variable `i`.
///
/// # Safety
/// GIL held; `i` indexes `ls`'s globals table.
unsafe fn read_global(ls: &LibState, i: u32) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: GIL held and `i` indexes `ls`'s globals table (contract); the
    // address read is the global's, checked non-NULL, and read as its own type,
    // checked to be in the type table.
    unsafe {
        let g = &*(*ls.lib).globals.add(i as usize);
        if g.type_ < 0 || g.type_ as usize >= ls.types.types.len() {
            return Err(raise(
                ffi::PyExc_SystemError,
                &format!(
                    "cembed: global '{}' has no type in the library's tables",
                    text(g.name)
                ),
            ));
        }
        // Once: a macro's getter may give another address on every call.
        let addr = usable_address(ls, g)?;
        if let Some(r) = crate::cdata::open_array_global(ls, g.type_ as u32, addr) {
            return r;
        }
        // Arrays and structs: a cdata view on the variable itself.
        let t = ls.types.get(g.type_ as u32);
        let o = to_py_view(ls, Conv::of(t), &t.name, addr);
        if o.is_null() {
            Err(PyErrSet)
        } else {
            Ok(o)
        }
    }
}

/// `ffi.integer_const(name)`: the value of an integer constant (a
/// `#define` or a `static const` of integer type) or an enumerator; `None`
/// for any other name.
pub(crate) fn integer_const(_py: Python<'_>, ls: &LibState, name: &str) -> PyResult<Option<Owned>> {
    // SAFETY: the token proves the GIL is held; `ls.lib` is the library's
    // generated table (LibState invariant) and `i` comes from its index, so
    // it indexes that table.
    unsafe {
        match index(ls).get(name) {
            Some(Entry::Enumerator(i)) => {
                const_value(ls, &*(*ls.lib).enumerators.add(i as usize)).map(Some)
            }
            Some(Entry::Const(i)) => {
                let c = &*(*ls.lib).consts.add(i as usize);
                let integer = c.get.is_none()
                    || (c.type_ >= 0
                        && (c.type_ as usize) < ls.types.types.len()
                        && matches!(
                            ls.types.get(c.type_ as u32).kind,
                            cembed_abi::Kind::SInt
                                | cembed_abi::Kind::UInt
                                | cembed_abi::Kind::Enum
                        ));
                if integer {
                    const_value(ls, c).map(Some)
                } else {
                    Ok(None)
                }
            }
            _ => Ok(None),
        }
    }
}

/// The Python value of a constant or enumerator.
///
/// # Safety
/// GIL held; `c` an entry of `ls`'s tables.
unsafe fn const_value(ls: &LibState, c: &cembed_abi::Const) -> PyResult<Owned> {
    // SAFETY: GIL held and `c` an entry of `ls`'s tables (contract); its
    // generated getter writes one value of its type, at most `size` bytes, into
    // the leaked buffer of at least `size` bytes, aligned to 16, which the view
    // may use for ever.
    unsafe {
        let Some(get) = c.get else {
            // An integer: its 64 bits and sign, computed by the compiler.
            let o = if c.negative != 0 {
                ffi::PyLong_FromLongLong(c.bits as i64)
            } else {
                ffi::PyLong_FromUnsignedLongLong(c.bits)
            };
            return Owned::check(o);
        };
        if c.type_ < 0 || c.type_ as usize >= ls.types.types.len() {
            return Err(raise(
                ffi::PyExc_SystemError,
                &format!(
                    "cembed: constant '{}' has no type in the library's tables",
                    text(c.name)
                ),
            ));
        }
        let t = ls.types.get(c.type_ as u32);
        let conv = Conv::of(t);
        let size = t.size.max(conv.size());
        if size == 0 {
            return Err(raise(
                ffi::PyExc_TypeError,
                &format!(
                    "constant '{}' is of type '{}', whose size is not known",
                    text(c.name),
                    t.name.to_string_lossy()
                ),
            ));
        }
        // A struct or array constant comes back as a cdata view on its value,
        // which must then outlive it: the buffer is leaked, as in CFFI (once per
        // constant and module, as the result is cached).
        let buf: &'static mut [u128] = Box::leak(vec![0u128; size.div_ceil(16)].into_boxed_slice());
        let p = buf.as_mut_ptr() as *mut c_void;
        get(p);
        Owned::check(to_py_view(ls, conv, &t.name, p))
    }
}

/// A cdata of the function pointer type of FUNCTION table type `fty`,
/// pointing to `addr`: what `lib.<name>` is for Python-implemented functions
/// and variadic C functions, as in CFFI.
///
/// # Safety
/// GIL held; `addr` is a C function of type `fty` (the cdata made here can
/// be called); `ls.module` NULL or the library's live module.
unsafe fn fnptr_cdata(ls: &LibState, fty: i32, addr: *mut c_void) -> PyResult<Owned> {
    // SAFETY: GIL held (contract); `cx` is the module's data-model context
    // (cx_of_lib checked it), alive while the module is; `addr` becomes the
    // cdata's value only (Own::None).
    unsafe {
        let cx = crate::cdata::cx_of_lib(ls)?;
        // SAFETY: the module's data model context, alive while the module is.
        let reg = &(*cx).reg;
        let Some(&tid) = (fty >= 0)
            .then(|| reg.table_map.get(fty as usize))
            .flatten()
        else {
            return Err(raise(
                ffi::PyExc_SystemError,
                "cembed: function without a type in the library's tables",
            ));
        };
        crate::cdata::object::new_cdata(cx, tid, addr as *mut u8, crate::cdata::object::Own::None)
    }
}

/// The builtin function for C function `i` of the library (a cdata function
/// pointer for a variadic one, as in CFFI: only a cdata call describes it).
///
/// # Safety
/// GIL held; `slf` the module's lib object; `i` an index of `idx`'s C
/// functions.
unsafe fn make_cfunc(
    ls: &LibState,
    slf: *mut ffi::PyObject,
    idx: &LibIndex,
    i: u32,
) -> PyResult<Owned> {
    // SAFETY: GIL held, `slf` the module's lib object and `i` from `idx`, so it
    // indexes `ls`'s C functions (contract); the binder is a fresh Lib
    // instance, so writing its `cfunc` writes a LibObject we own; `idx.methods`
    // lives as long as the LibState (for ever), as the builtin needs.
    unsafe {
        if idx.plans[i as usize].is_variadic() {
            let cf = &*(*ls.lib).cfuncs.add(i as usize);
            return fnptr_cdata(ls, cf.type_, cf.fn_);
        }
        // `self` of the builtin: a Lib instance that knows the function index.
        let tp = ffi::Py_TYPE(slf);
        let binder = Owned::check(ffi::PyType_GenericAlloc(tp, 0))?;
        (*(binder.ptr() as *mut LibObject)).cfunc = i as usize + 1;
        let module = Owned::check(ffi::PyUnicode_FromString(ls.name.as_ptr()))?;
        Owned::check(ffi::PyCFunction_NewEx(
            idx.methods[i as usize].get(),
            binder.ptr(),
            module.ptr(),
        ))
    }
}

/// The library and the plan of the C function a builtin's `self` stands for.
///
/// # Safety
/// GIL held; `slf` a Lib instance.
unsafe fn binder_plan(
    slf: *mut ffi::PyObject,
) -> PyResult<(&'static LibState, &'static crate::calls::cfunc::CFuncPlan)> {
    // SAFETY: GIL held and `slf` a Lib instance (contract), what
    // `binder_target` needs.
    unsafe {
        let (ls, i) = binder_target(slf)?;
        Ok((ls, &index(ls).plans[i]))
    }
}

/// The library and C function index a builtin's `self` stands for.
///
/// # Safety
/// GIL held; `slf` a Lib instance.
unsafe fn binder_target(slf: *mut ffi::PyObject) -> PyResult<(&'static LibState, usize)> {
    // SAFETY: GIL held and `slf` an instance of the Lib type (contract), so it
    // has the LibObject layout and its type a module; the index read from it is
    // checked against the library's `n_cfuncs` before use.
    unsafe {
        let m = ffi::PyType_GetModule(ffi::Py_TYPE(slf));
        if m.is_null() {
            return Err(PyErrSet);
        }
        let def = ffi::PyModule_GetDef(m);
        if def.is_null() {
            return Err(raise(
                ffi::PyExc_SystemError,
                "cembed: module without definition",
            ));
        }
        // SAFETY: our modules are only created from the `def` field, which is the
        // first field of a never-freed `repr(C)` LibState (see module.rs).
        let ls = &*(def as *const LibState);
        let i = (*(slf as *mut LibObject)).cfunc;
        if i == 0 || i > (*ls.lib).n_cfuncs as usize {
            return Err(raise(
                ffi::PyExc_SystemError,
                "cembed: builtin bound to no C function",
            ));
        }
        Ok((ls, i - 1))
    }
}

// The three `ml_meth`s of `lib.<C function>`: `"C-unwind"` with no
// catch_unwind around the C call (unwind.rs); `call_cfunc` guards the rest.

unsafe extern "C-unwind" fn cfunc_noargs(
    slf: *mut ffi::PyObject,
    _unused: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and `slf` the builtin's
    // `self`, a Lib instance (what `binder_plan` needs).
    unsafe { crate::calls::cfunc::call_cfunc(|| binder_plan(slf), &[]) }
}

unsafe extern "C-unwind" fn cfunc_o(
    slf: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held, `slf` the builtin's `self`,
    // a Lib instance (what `binder_plan` needs), and `arg` alive for the call.
    unsafe { crate::calls::cfunc::call_cfunc(|| binder_plan(slf), &[arg]) }
}

unsafe extern "C-unwind" fn cfunc_varargs(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held, `slf` the builtin's
    // `self` (a Lib instance) and, METH_VARARGS, `args` an exact tuple, whose
    // `n` items are its `ob_item` array, alive for the call.
    unsafe {
        let n = ffi::PyTuple_GET_SIZE(args);
        let items = (*(args as *mut ffi::PyTupleObject)).ob_item.as_ptr();
        let argv = std::slice::from_raw_parts(items, n as usize);
        crate::calls::cfunc::call_cfunc(|| binder_plan(slf), argv)
    }
}

/// An `ml_meth` of a `lib.<C function>` builtin as CPython's method type
/// (the C side does not distinguish `"C"` from `"C-unwind"`).
fn as_pycfunction(
    f: unsafe extern "C-unwind" fn(*mut ffi::PyObject, *mut ffi::PyObject) -> *mut ffi::PyObject,
) -> ffi::PyCFunction {
    // SAFETY: same signature and calling convention; only the Rust-side
    // unwind annotation differs.
    unsafe { std::mem::transmute(f) }
}

/// If `obj` is one of the builtins `lib.<C function>` returns, the library,
/// the FUNCTION type index and the C function's address: CFFI accepts such
/// a builtin wherever a function pointer is expected (`lib.cb = lib.f`,
/// `ffi.typeof(lib.f)`, `ffi.addressof(lib, "f")`). For the cdata side.
///
/// # Safety
/// GIL held; `obj` valid.
pub(crate) unsafe fn as_lib_function(
    obj: *mut ffi::PyObject,
) -> Option<(&'static LibState, u32, *mut c_void)> {
    // SAFETY: GIL held and `obj` live (contract); checked to be a builtin
    // function, so it has the PyCFunctionObject layout; when its `ml_meth`
    // is one of ours its `self` is a Lib instance (only our builtins use
    // them), what `binder_target` needs, which checks the index it returns.
    unsafe {
        if ffi::PyCFunction_Check(obj) == 0 {
            return None;
        }
        let ml = (*(obj as *mut ffi::PyCFunctionObject)).m_ml;
        let slf = ffi::PyCFunction_GetSelf(obj);
        if ml.is_null() || slf.is_null() {
            return None;
        }
        // Only our own builtins: their ml_meth is one of the three above.
        let meth = (*ml).ml_meth;
        let ours = [
            cfunc_noargs as *const () as usize,
            cfunc_o as *const () as usize,
            cfunc_varargs as *const () as usize,
        ];
        if !ours.contains(&(meth.PyCFunction as usize)) {
            return None;
        }
        let (ls, i) = binder_target(slf).ok().or_else(|| {
            ffi::PyErr_Clear();
            None
        })?;
        let cf = &*(*ls.lib).cfuncs.add(i);
        (cf.type_ >= 0).then_some((ls, cf.type_ as u32, cf.fn_))
    }
}

/// What `ffi.addressof(lib, name)` needs (for the cdata side): for a global
/// variable, its type index and address (the result is a pointer to that
/// type); for a C function or a Python-implemented function, its FUNCTION
/// type index and address (the result is a function pointer). Otherwise the
/// text of CFFI's AttributeError: "cannot take the address of the constant
/// 'X'", or the library's unknown-name message.
pub(crate) fn address_of(
    ls: &LibState,
    name: &str,
) -> Result<(AddressOf, u32, *mut c_void), String> {
    let untyped = || format!("cembed: '{name}' has no type in the library's tables");
    // SAFETY: the indexes come from the library's own tables.
    unsafe {
        let lib = &*ls.lib;
        let (what, ty, addr) = match index(ls).get(name) {
            None => return Err(no_such_name_text(ls, name)),
            // A constant function pointer (`int (*const cb)(int);`): as in
            // CFFI, its address is the function it points to.
            Some(Entry::Const(i)) if const_function(ls, i).is_some() => {
                let (ty, addr) = const_function(ls, i).expect("checked");
                (AddressOf::Function, ty, addr)
            }
            Some(Entry::Const(_) | Entry::Enumerator(_)) => {
                return Err(format!("cannot take the address of the constant '{name}'"))
            }
            Some(Entry::Global(i)) => {
                let g = &*lib.globals.add(i as usize);
                (AddressOf::Global, g.type_, global_address(g))
            }
            Some(Entry::CFunc(i)) => {
                let f = &*lib.cfuncs.add(i as usize);
                (AddressOf::Function, f.type_, f.fn_)
            }
            Some(Entry::Extern(i)) => {
                let e = &**lib.externs.add(i as usize);
                if e.fn_.is_null() {
                    return Err(format!(
                        "cembed: the library's tables have no address for '{name}' \
                         (built by an older cembed?)"
                    ));
                }
                (AddressOf::Function, e.type_, e.fn_)
            }
        };
        if ty < 0 || ty as usize >= ls.types.types.len() {
            return Err(untyped());
        }
        Ok((what, ty as u32, addr))
    }
}

/// The FUNCTION type index and value of constant `i` if it is a function
/// pointer, else `None`.
///
/// # Safety
/// `i` indexes the library's constants.
unsafe fn const_function(ls: &LibState, i: u32) -> Option<(i32, *mut c_void)> {
    // SAFETY: `i` indexes the library's constants (contract) and `ls.lib` is
    // its generated table (LibState invariant); the constant's getter writes
    // one value of its type, a function pointer (checked just above), into
    // `value`, a pointer-sized slot.
    unsafe {
        let c = &*(*ls.lib).consts.add(i as usize);
        let get = c.get?;
        if c.type_ < 0 || c.type_ as usize >= ls.types.types.len() {
            return None;
        }
        let t = ls.types.get(c.type_ as u32);
        if t.kind != cembed_abi::Kind::Pointer {
            return None;
        }
        let item = t.item?;
        if ls.types.get(item).kind != cembed_abi::Kind::Function {
            return None;
        }
        let mut value: *mut c_void = std::ptr::null_mut();
        get(&mut value as *mut *mut c_void as *mut c_void);
        Some((item as i32, value))
    }
}

/// The two kinds of addressable names of `lib`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum AddressOf {
    /// A global variable: the type is the variable's.
    Global,
    /// A function: the type is its FUNCTION type.
    Function,
}
