//! Calling C from Python without libffi: through the generated call thunks.
//!
//! Every function type of the declarations gets a thunk in the generated C
//! (`cembed_thunk`: `void thunk(void *fn, void **args, void *result)`), which
//! calls `fn` with the arguments stored at `args[i]` as their C types. This
//! file turns Python arguments into that args buffer with CFFI's conversions,
//! calls the thunk with the GIL released, and converts the result back.
//!
//! Two callers, two flavours of CFFI's behaviour:
//! * `lib.f(...)` for a C function of the cdef (CFFI's generated
//!   `_cffi_f_NAME` wrappers): argument-count errors come from CPython itself
//!   (the functions are real builtins, see `libobj.rs`), and an integer
//!   argument out of range names its width ("integer 300 does not fit
//!   '8-bit int'"), as `_cffi_to_c_int` does;
//! * calling a cdata function pointer (CFFI's `cdata_call`, libffi there):
//!   "'int(*)(int)' expects 1 arguments, got 2", and range errors name the
//!   C type.
//!
//! Pointer parameters accept what CFFI's `_prepare_pointer_call_argument`
//! accepts in both cases: a cdata pointer or array, `bytes` for a `char *`,
//! a list or tuple as a temporary array, ... (`cdata::arg_from_py`, through
//! `cdata::value_from_py` with a keep-alive list). Struct and union results
//! come back as owning cdata (`convert::to_py_owned`).
//!
//! ## The GIL and errno
//! The thunk runs with the GIL released, as CFFI's wrappers do
//! (`Py_BEGIN_ALLOW_THREADS`): other Python threads run during a long C call,
//! and a C function that calls back into an extern "Python" function, from
//! this thread or another, takes the GIL in `call.rs` (on this thread,
//! `PyGILState_Ensure` finds its detached thread state). Around the thunk,
//! errno is set from and saved to this thread's `ffi.errno` slot
//! ([`errno`]), like CFFI's `_cffi_restore_errno`/`_cffi_save_errno`.

use crate::cdata::convert::{from_py, to_py_owned};
use crate::desc::ctypes::Conv;
use crate::desc::ctypes::{Prim, RtType};
use crate::desc::libstate::LibState;
use crate::py::{raise, Owned, PyErrSet, PyResult};
use cembed_abi::{type_flags, Kind, Thunk};
use pyo3_ffi as ffi;
use std::ffi::{c_void, CStr};
use std::ptr::null_mut;

/// This thread's `ffi.errno`: the errno C left behind after the last call
/// made from Python on this thread, and the errno the next call starts with.
/// Kept in a Rust thread-local (not in Python state) because C's errno is
/// itself per thread and independent of the interpreter.
pub(crate) mod errno {
    use crate::lifecycle::thread::errno_location as location;

    /// `ffi.errno` (read). The value lives in the call path's one
    /// thread-local (thread.rs), which also saves it on each call from C.
    pub(crate) fn get() -> i32 {
        crate::lifecycle::thread::errno_get()
    }

    /// `ffi.errno = v`.
    pub(crate) fn set(v: i32) {
        crate::lifecycle::thread::errno_set(v);
    }

    /// Before a C call from Python (and when a callback returns to C): C's
    /// errno becomes the saved value.
    pub(crate) fn restore() {
        let v = get();
        // SAFETY: this thread's errno.
        unsafe { *location() = v };
    }

    /// After a C call from Python (and when C calls into a callback): the
    /// saved value becomes C's errno.
    pub(crate) fn save() {
        // SAFETY: this thread's errno.
        set(unsafe { *location() });
    }
}

/// One slot of the argument buffer: 16 bytes, 16-aligned, the strictest
/// alignment of any C scalar on the supported targets (long double).
type Slot = u128;
const SLOT: usize = std::mem::size_of::<Slot>();

/// Storage for a C object of `size` bytes (at least one slot), zeroed.
fn slots_for(size: usize) -> Vec<Slot> {
    vec![0; size.div_ceil(SLOT).max(1)]
}

/// A zeroed, 16-aligned buffer for one C value of type `t` converted with
/// `conv`: large enough for the type and for what the converter writes.
pub(crate) fn value_buffer(t: &RtType, conv: Conv) -> Vec<Slot> {
    slots_for(t.size.max(conv.size()))
}

/// The parameter and result types of FUNCTION type `fty`, and its thunk.
pub(crate) struct Signature<'a> {
    pub(crate) func: &'a RtType,
    pub(crate) params: &'a [u32],
    /// `None` for `void`.
    pub(crate) result: Option<u32>,
    pub(crate) variadic: bool,
    pub(crate) thunk: Option<Thunk>,
}

/// Reads the signature of FUNCTION type `fty` from `ls`'s tables.
/// `None` if `fty` is not a function type of this library.
pub(crate) fn signature(ls: &LibState, fty: u32) -> Option<Signature<'_>> {
    let func = ls.types.types.get(fty as usize)?;
    if func.kind != Kind::Function {
        return None;
    }
    // SAFETY: `ls.lib` is the library's static table, which the type table
    // was validated against (`TypeTable::from_lib`): index `fty` exists.
    let raw = unsafe { &*(*ls.lib).types.add(fty as usize) };
    // SAFETY: as above: the library's static table.
    let lib = unsafe { &*ls.lib };
    let thunk = (raw.thunk >= 0 && (raw.thunk as u32) < lib.n_thunks)
        // SAFETY: index checked against n_thunks.
        .then(|| unsafe { *lib.thunks.add(raw.thunk as usize) })
        .flatten();
    let result = func.item.filter(|&r| ls.types.get(r).kind != Kind::Void);
    Some(Signature {
        func,
        params: &func.params,
        result,
        variadic: raw.flags & type_flags::VARIADIC != 0,
        thunk,
    })
}

/// Finds the thunk for a function type, also under another index with the
/// same spelling (the cdata side may make types of its own at run time, e.g.
/// for `ffi.cast("int(*)(int)", p)`; the table's own copy has the thunk).
fn find_thunk(ls: &LibState, fty: u32) -> Option<Thunk> {
    let sig = signature(ls, fty)?;
    if sig.thunk.is_some() {
        return sig.thunk;
    }
    let name = &sig.func.name;
    (0..ls.types.types.len() as u32)
        .filter(|&i| i != fty && ls.types.get(i).name == *name)
        .find_map(|i| signature(ls, i).and_then(|s| s.thunk))
}

/// CFFI's name of the pointer to function type `func_name` ("int(*)(int)"
/// for "int(int)"): the `(*)` goes where the function's own parameter list
/// starts. In CFFI's spellings that is the first `(` not followed by `*`:
/// a result that is itself a declarator opens with `(*`
/// ("int(*(int))(long)", a function returning `int(*)(long)`).
pub(crate) fn pointer_name(func_name: &str) -> String {
    let b = func_name.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'(' && b.get(i + 1) != Some(&b'*') {
            return format!("{}(*){}", &func_name[..i], &func_name[i..]);
        }
    }
    format!("{func_name}(*)")
}

/// The message for a function type without a thunk.
fn no_thunk_message(ptr_name: &str) -> String {
    format!(
        "cembed: no call thunk for function type '{ptr_name}': declare it in the cdef() \
         (for example as a typedef) so the build generates one"
    )
}

/// Raises the error for a function type without a thunk.
fn no_thunk(_py: crate::py::gil::Python<'_>, ptr_name: &str) -> PyErrSet {
    // SAFETY: the GIL is held (`_py`).
    unsafe { raise(ffi::PyExc_NotImplementedError, &no_thunk_message(ptr_name)) }
}

/// Calls the C function pointer `fnptr` of FUNCTION type `fty` with the
/// Python arguments `args` (a tuple) and `kwargs` (NULL or a dict), the way
/// CFFI calls a cdata function pointer: what the cdata type's `tp_call` uses.
/// `ptr_type_name` is the cdata's type name for messages ("int(*)(int)").
/// Returns a new reference, or NULL with an exception set.
///
/// Errors (all Python exceptions, never a crash): keyword arguments, a wrong
/// argument count, a NULL pointer (RuntimeError, as CFFI), a function type
/// without a generated thunk (TypeError naming it), variadic functions
/// (libffi would be needed), conversion errors.
///
/// # Safety
/// GIL held; `args` is a tuple, `kwargs` NULL or a dict; `fnptr` is NULL or
/// a C function of type `fty` (the cdata's own type guarantees it).
pub(crate) unsafe fn call_fnptr(
    ls: &LibState,
    fty: u32,
    ptr_type_name: &CStr,
    fnptr: *mut c_void,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: the GIL is held (contract). `args` is a tuple and `kwargs` NULL or a
    // dict (contract); the tuple's items are borrowed while it lives; `fnptr`
    // is called only through the thunk of its own function type `fty`, with
    // arguments converted into the call buffer's 16-aligned slots.
    unsafe {
        c_call(|buf| {
            let pname = ptr_type_name.to_string_lossy();
            if !kwargs.is_null() && ffi::PyDict_Size(kwargs) != 0 {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    "a cdata function cannot be called with keyword arguments",
                ));
            }
            let Some(sig) = signature(ls, fty) else {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("cdata of type '{pname}' is not a function pointer"),
                ));
            };
            let n = ffi::PyTuple_Size(args);
            if n < 0 {
                return Err(PyErrSet);
            }
            if sig.variadic {
                // NotImplementedError: CFFI's class for a call it cannot make.
                return Err(raise(
                    ffi::PyExc_NotImplementedError,
                    &format!(
                        "cembed: cannot call the variadic function pointer '{pname}': calls with a \
                             variable argument list need libffi, which cembed does not use; declare a \
                             function with the exact parameters instead"
                    ),
                ));
            }
            if n as usize != sig.params.len() {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!("'{pname}' expects {} arguments, got {n}", sig.params.len()),
                ));
            }
            if fnptr.is_null() {
                return Err(raise(
                    ffi::PyExc_RuntimeError,
                    &format!("cannot call null pointer pointer from cdata '{pname}'"),
                ));
            }
            let thunk = find_thunk(ls, fty)
                .ok_or_else(|| no_thunk(crate::py::gil::Python::assume_gil_acquired(), &pname))?;
            let mut slot = 0;
            let mut layout = Vec::with_capacity(sig.params.len());
            for &p in sig.params {
                let t = ls.types.get(p);
                let conv = Conv::of(t);
                layout.push(slot);
                slot += slots_of(t, conv);
            }
            let result = sig.result.map(|r| {
                let t = ls.types.get(r);
                (slot, slots_of(t, Conv::of(t)), r)
            });
            let total = slot + result.map_or(0, |(_, k, _)| k);
            buf.reserve(total, sig.params.len());
            for (i, (&p, &at)) in sig.params.iter().zip(&layout).enumerate() {
                let t = ls.types.get(p);
                let dst = buf.slot(at);
                arg_from_py(
                    ls,
                    Conv::of(t),
                    p,
                    &t.name,
                    ffi::PyTuple_GetItem(args, i as _),
                    dst,
                    &mut buf.keep,
                )?;
                buf.set_arg(i, dst);
            }
            Ok(ThunkCall {
                thunk,
                fnptr,
                args: buf.args(),
                result: result.map_or(null_mut(), |(at, _, _)| buf.slot(at)),
                ret: result.map(|(_, _, r)| (Conv::of(ls.types.get(r)), r)),
                ls,
            })
        })
    }
}

/// Slots for one C value of type `t` converted with `conv`.
fn slots_of(t: &RtType, conv: Conv) -> usize {
    t.size.max(conv.size()).div_ceil(SLOT).max(1)
}

/// The conversion plan of one parameter of a C function of the cdef.
struct Param {
    conv: Conv,
    ty: u32,
    /// The type name in range errors (see [`lib_int_name`]).
    msg_name: &'static CStr,
    /// First slot of this argument in the call's buffer.
    slot: usize,
}

/// Everything a call of `lib.f(...)` needs, computed once per library (in
/// `libobj::LibIndex`), so the per-call work is the conversions and the call.
pub(crate) struct CFuncPlan {
    name: String,
    fnptr: *mut c_void,
    params: Box<[Param]>,
    /// Result conversion, type and first slot; `None` for void.
    result: Option<(Conv, u32, usize)>,
    /// Slots for the arguments, then the result.
    slots: usize,
    /// Why the function cannot be called, if it cannot (no thunk, variadic,
    /// broken table): raised as TypeError/SystemError at call time, not at
    /// attribute access, as CFFI only fails when calling.
    error: Option<(PlanError, String)>,
    thunk: Option<Thunk>,
    variadic: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum PlanError {
    /// The generated tables are inconsistent (SystemError).
    Table,
    /// No thunk / variadic (TypeError).
    Uncallable,
}

impl CFuncPlan {
    /// Prepares C function `index` of `ls`'s `cfuncs` table.
    ///
    /// # Safety
    /// `ls.lib` is the library's generated table; `ls` never moves or dies
    /// (LibState invariant), so names borrowed from its type table are
    /// `'static`.
    pub(crate) unsafe fn new(ls: &LibState, index: usize) -> CFuncPlan {
        // SAFETY: `ls.lib` is the library's generated table and `index` one
        // of its C functions (contract); their names are static C strings.
        let (cf, name) = unsafe {
            let cf = &*(*ls.lib).cfuncs.add(index);
            (cf, crate::py::text(cf.name))
        };
        let mut plan = CFuncPlan {
            name,
            fnptr: cf.fn_,
            params: Box::default(),
            result: None,
            slots: 0,
            error: None,
            thunk: None,
            variadic: false,
        };
        let Some(sig) = (cf.type_ >= 0)
            .then(|| signature(ls, cf.type_ as u32))
            .flatten()
        else {
            plan.error = Some((
                PlanError::Table,
                format!(
                    "cembed: C function '{}' has no function type in the library's tables",
                    plan.name
                ),
            ));
            return plan;
        };
        let mut slot = 0;
        let mut params = Vec::with_capacity(sig.params.len());
        for &p in sig.params {
            let t = ls.types.get(p);
            let conv = Conv::of(t);
            // SAFETY: the type table lives as long as the never-freed LibState.
            let msg_name: &'static CStr = unsafe {
                std::mem::transmute::<&CStr, &'static CStr>(lib_int_name(t).unwrap_or(&t.name))
            };
            params.push(Param {
                conv,
                ty: p,
                msg_name,
                slot,
            });
            slot += t.size.max(conv.size()).div_ceil(SLOT).max(1);
        }
        if let Some(r) = sig.result {
            let t = ls.types.get(r);
            let conv = Conv::of(t);
            plan.result = Some((conv, r, slot));
            slot += t.size.max(conv.size()).div_ceil(SLOT).max(1);
        }
        plan.params = params.into_boxed_slice();
        plan.slots = slot;
        let pname = || pointer_name(&sig.func.name.to_string_lossy());
        plan.variadic = sig.variadic;
        if sig.variadic {
            plan.error = Some((
                PlanError::Uncallable,
                format!(
                    "cembed: cannot call the variadic C function '{}' ('{}'): calls with a \
                     variable argument list need libffi, which cembed does not use; declare a \
                     function with the exact parameters instead",
                    plan.name,
                    pname()
                ),
            ));
        } else {
            plan.thunk = find_thunk(ls, cf.type_ as u32);
            if plan.thunk.is_none() {
                plan.error = Some((PlanError::Uncallable, no_thunk_message(&pname())));
            }
        }
        plan
    }

    /// `lib.f` of a variadic C function is a cdata (libobj.rs).
    pub(crate) fn is_variadic(&self) -> bool {
        self.variadic
    }

    /// Number of parameters (for the builtin's METH_* flags).
    pub(crate) fn arity(&self) -> Option<usize> {
        match self.error {
            Some((PlanError::Table, _)) => None,
            _ => Some(self.params.len()),
        }
    }
}

/// Everything one C call from Python needs while and after the C function
/// runs: the argument and result storage, the temporaries its arguments
/// point into (arrays made from lists, bytes), and the call itself. It lives
/// on this thread's scratch stack (`thread::scratch_alloc`), and so do the
/// slots (arguments, result, then the argument pointers) when they fit;
/// otherwise the heap. Why not the C stack: see `scratch_alloc`.
struct CallBuf {
    base: *mut Slot,
    /// Where the argument pointers start (in slots from `base`).
    ptrs_at: usize,
    /// How many argument pointers `reserve` made room for.
    nargs: usize,
    heap: Vec<Slot>,
    keep: Vec<Owned>,
    /// Set by the first step of [`c_call`].
    call: Option<ThunkCall>,
    /// The scratch stack's mark to release; `None`: the buffer is boxed.
    mark: Option<usize>,
}

impl CallBuf {
    /// A buffer on the scratch stack, or boxed when it is full.
    fn make() -> *mut CallBuf {
        let fresh = |mark| CallBuf {
            base: null_mut(),
            ptrs_at: 0,
            nargs: 0,
            heap: Vec::new(),
            keep: Vec::new(),
            call: None,
            mark,
        };
        let n = std::mem::size_of::<CallBuf>().div_ceil(SLOT);
        match crate::lifecycle::thread::scratch_alloc(n) {
            Some((p, mark)) => {
                let buf = p as *mut CallBuf;
                // SAFETY: `n` 16-aligned slots hold a CallBuf (align <= 16).
                unsafe { buf.write(fresh(Some(mark))) };
                buf
            }
            None => Box::into_raw(Box::new(fresh(None))),
        }
    }

    /// Drops the buffer (its temporaries: GIL held) and gives its memory
    /// back, with everything taken on the scratch stack after it.
    ///
    /// # Safety
    /// GIL held; `buf` came from [`CallBuf::make`] and is not used again.
    unsafe fn free(buf: *mut CallBuf) {
        // SAFETY: `buf` came from `make` and is not used again (contract):
        // on the scratch stack it is dropped in place before its memory is
        // given back; on the heap it is the Box `make` leaked. The GIL is
        // held for the temporaries it drops.
        unsafe {
            match (*buf).mark {
                Some(mark) => {
                    std::ptr::drop_in_place(buf);
                    crate::lifecycle::thread::scratch_release(mark);
                }
                None => drop(Box::from_raw(buf)),
            }
        }
    }

    /// Room for `slots` zeroed slots and `nargs` argument pointers.
    fn reserve(&mut self, slots: usize, nargs: usize) {
        let n = slots + (nargs * std::mem::size_of::<*mut c_void>()).div_ceil(SLOT);
        self.ptrs_at = slots;
        self.nargs = nargs;
        match crate::lifecycle::thread::scratch_alloc(n) {
            Some((p, _)) => {
                // SAFETY: `n` slots were handed to us (released with the
                // buffer, which was taken before them).
                unsafe { std::ptr::write_bytes(p, 0, n) };
                self.base = p;
            }
            None => {
                self.heap = vec![0; n.max(1)];
                self.base = self.heap.as_mut_ptr();
            }
        }
    }

    /// The address of slot `i` (only computed: writing there is the
    /// caller's business, within what `reserve` made).
    fn slot(&mut self, i: usize) -> *mut c_void {
        self.base.wrapping_add(i) as *mut c_void
    }

    fn args(&mut self) -> *mut *mut c_void {
        self.slot(self.ptrs_at) as *mut *mut c_void
    }

    fn set_arg(&mut self, i: usize, p: *mut c_void) {
        assert!(
            i < self.nargs,
            "argument {i} beyond the reserved {}",
            self.nargs
        );
        // SAFETY: `reserve` made room for `nargs` argument pointers after
        // the value slots, and `i` is below it.
        unsafe { *self.args().add(i) = p };
    }
}

/// A prepared thunk call (pointers into a [`CallBuf`]) and how to convert
/// its result.
#[derive(Copy, Clone)]
struct ThunkCall {
    thunk: Thunk,
    fnptr: *mut c_void,
    args: *mut *mut c_void,
    result: *mut c_void,
    /// The result's conversion and type; `None` for void.
    ret: Option<(Conv, u32)>,
    ls: *const LibState,
}

/// One C call from Python, in the three steps of `unwind.rs`: `prepare` (a
/// guarded piece) checks and converts the arguments into a [`CallBuf`] and
/// says what to call; the thunk then runs outside any `catch_unwind` with no
/// destructor pending, so a `pthread_exit()` inside it, or in CPython when
/// the GIL is taken back, unwinds through; then (a guarded piece) the
/// result is converted and the buffer released. Returns a new reference, or
/// NULL with an exception set.
///
/// Both steps are out of line and the buffer is off the C stack, so that
/// this frame, which stays on the stack while the C function runs, is
/// small (deep Python -> C -> Python recursion on small thread stacks).
///
/// # Safety
/// GIL held; what `prepare` returns is a valid thunk call (see
/// [`invoke_thunk`]) into the buffer it was given.
#[inline(always)]
unsafe fn c_call(prepare: impl FnOnce(&mut CallBuf) -> PyResult<ThunkCall>) -> *mut ffi::PyObject {
    // SAFETY: the GIL is held (contract). `prepare` returns a thunk call into the buffer it
    // was given (contract), which stays allocated until finish_step frees it.
    unsafe {
        let buf = prepare_step(prepare);
        if buf.is_null() {
            return null_mut();
        }
        if let Some(c) = &(*buf).call {
            invoke_thunk(c.thunk, c.fnptr, c.args, c.result);
        }
        finish_step(buf)
    }
}

/// The first step of [`c_call`]: NULL with an exception set on failure.
#[inline(never)]
unsafe fn prepare_step(prepare: impl FnOnce(&mut CallBuf) -> PyResult<ThunkCall>) -> *mut CallBuf {
    // SAFETY: the GIL is held (contract). `buf` is the live buffer `make` returned,
    // only reached through this pointer until it is freed once (here on failure,
    // else by finish_step).
    unsafe {
        let Some(buf) = crate::py::guard::piece(CallBuf::make) else {
            return crate::py::guard::panicked(
                crate::py::gil::Python::assume_gil_acquired(),
                null_mut(),
            );
        };
        match crate::py::guard::piece(|| prepare(&mut *buf)) {
            Some(Ok(c)) => {
                (*buf).call = Some(c);
                buf
            }
            r => {
                crate::py::guard::piece(|| CallBuf::free(buf));
                failed(crate::py::gil::Python::assume_gil_acquired(), r);
                null_mut()
            }
        }
    }
}

/// The last step of [`c_call`].
#[inline(never)]
unsafe fn finish_step(buf: *mut CallBuf) -> *mut ffi::PyObject {
    // SAFETY: the GIL is held (contract). `buf` is the live buffer prepare_step filled,
    // freed once here; the result slot holds the thunk's result of the type
    // `ret` names.
    unsafe {
        let r = crate::py::guard::piece(|| {
            let c = (*buf).call.expect("set by prepare_step");
            let r = match c.ret {
                None => Ok(crate::py::new_ref(ffi::Py_None())),
                Some((conv, r)) => {
                    let o = to_py_owned(&*c.ls, conv, (*c.ls).type_name(r), c.result);
                    if o.is_null() {
                        Err(PyErrSet)
                    } else {
                        Ok(o)
                    }
                }
            };
            CallBuf::free(buf);
            r
        });
        match r {
            Some(Ok(o)) => o,
            r => failed(crate::py::gil::Python::assume_gil_acquired(), r),
        }
    }
}

/// The error return of a method whose piece failed (`Some(Err)`: the
/// exception is set) or panicked (`None`: SystemError).
#[cold]
fn failed<T>(py: crate::py::gil::Python<'_>, r: Option<PyResult<T>>) -> *mut ffi::PyObject {
    match r {
        None => crate::py::guard::panicked(py, null_mut()),
        Some(_) => null_mut(),
    }
}

/// `lib.f(*argv)` for the C function `plan` describes. The argument count of
/// 0 and 1 was checked by CPython (METH_NOARGS / METH_O); METH_VARARGS
/// counts are checked here with `PyArg_UnpackTuple`'s message, as CFFI's
/// generated wrappers do. `find` (a piece) finds the plan of the method
/// called. Returns a new reference, or NULL with an exception set.
///
/// # Safety
/// GIL held; every element of `argv` is a valid object.
pub(crate) unsafe fn call_cfunc<'a>(
    find: impl FnOnce() -> PyResult<(&'a LibState, &'a CFuncPlan)>,
    argv: &[*mut ffi::PyObject],
) -> *mut ffi::PyObject {
    // SAFETY: the GIL is held (contract). every element of `argv` is a live object
    // (contract); arguments are converted into the call buffer's 16-aligned
    // slots, sized by the plan for each parameter's type.
    unsafe {
        c_call(|buf| {
            let (ls, plan) = find()?;
            if argv.len() != plan.params.len() {
                return Err(raise(
                    ffi::PyExc_TypeError,
                    &format!(
                        "{} expected {} argument{}, got {}",
                        plan.name,
                        plan.params.len(),
                        if plan.params.len() == 1 { "" } else { "s" },
                        argv.len()
                    ),
                ));
            }
            let thunk = match (&plan.error, plan.thunk) {
                (None, Some(t)) => t,
                (Some((PlanError::Table, msg)), _) => {
                    return Err(raise(ffi::PyExc_SystemError, msg))
                }
                (Some((PlanError::Uncallable, msg)), _) => {
                    return Err(raise(ffi::PyExc_NotImplementedError, msg))
                }
                (None, None) => return Err(raise(ffi::PyExc_SystemError, "cembed: no thunk")),
            };
            buf.reserve(plan.slots, argv.len());
            for (i, (p, &obj)) in plan.params.iter().zip(argv).enumerate() {
                let dst = buf.slot(p.slot);
                arg_from_py(ls, p.conv, p.ty, p.msg_name, obj, dst, &mut buf.keep)?;
                buf.set_arg(i, dst);
            }
            Ok(ThunkCall {
                thunk,
                fnptr: plan.fnptr,
                args: buf.args(),
                result: match plan.result {
                    Some((_, _, slot)) => buf.slot(slot),
                    None => null_mut(),
                },
                ret: plan.result.map(|(conv, r, _)| (conv, r)),
                ls,
            })
        })
    }
}

/// Converts one argument into its slot: primitives here (with the message
/// name the caller chose), everything else by the data model with CFFI's
/// call-only conveniences, temporaries pushed to `keep`.
///
/// # Safety
/// GIL held; `dst` has room for the parameter type, 16-aligned.
unsafe fn arg_from_py(
    ls: &LibState,
    conv: Conv,
    ty: u32,
    msg_name: &CStr,
    obj: *mut ffi::PyObject,
    dst: *mut c_void,
    keep: &mut Vec<Owned>,
) -> PyResult<()> {
    // SAFETY: the GIL is held (contract). `dst` has room for the parameter type (contract).
    unsafe {
        match conv {
            Conv::CData { .. } => crate::cdata::value_from_py(ls, ty, obj, dst, Some(keep)),
            _ => from_py(ls, conv, msg_name, obj, dst),
        }
    }
}

/// The name an integer parameter has in range errors: CFFI's generated
/// wrappers convert `int`-like arguments with `_cffi_to_c_int`, whose message
/// names the width ("8-bit int", "32-bit unsigned int"); enums, `_Bool` and
/// 64-bit integers (CPython's own message) keep the normal path.
fn lib_int_name(t: &RtType) -> Option<&'static CStr> {
    if !matches!(t.kind, Kind::SInt | Kind::UInt) {
        return None;
    }
    match t.prim? {
        Prim::SInt(1) => Some(c"8-bit int"),
        Prim::SInt(2) => Some(c"16-bit int"),
        Prim::SInt(4) => Some(c"32-bit int"),
        Prim::UInt(1) => Some(c"8-bit unsigned int"),
        Prim::UInt(2) => Some(c"16-bit unsigned int"),
        Prim::UInt(4) => Some(c"32-bit unsigned int"),
        _ => None,
    }
}

/// The C call itself, for every caller that runs a thunk from Python (lib
/// functions here, cdata function pointers in `cdata/`): with the GIL
/// released, as CFFI does, so other threads run meanwhile and a callback into
/// Python from this thread re-takes it; and with errno set from this thread's
/// `ffi.errno` before and saved into it after.
///
/// # Safety
/// GIL held (by this thread); `thunk` is the generated thunk of `fnptr`'s
/// function type; `args[i]` points to argument i stored as its C type, each
/// 16-aligned (a thunk may load a `long double` or a struct with aligned
/// moves), and `result` to storage of the result type (NULL for void). The
/// caller keeps every Python object whose memory the arguments point into
/// alive until this returns.
unsafe fn invoke_thunk(
    thunk: Thunk,
    fnptr: *mut c_void,
    args: *mut *mut c_void,
    result: *mut c_void,
) {
    // SAFETY: this thread holds the GIL, given away around the C call and
    // taken back with the same thread state; `thunk`, `fnptr`, `args` and
    // `result` are as the contract says, so the thunk calls `fnptr` with its own
    // signature.
    unsafe {
        let ts = ffi::PyEval_SaveThread();
        errno::restore();
        thunk(fnptr, args, result);
        errno::save();
        // Where CPython ends a daemon thread after finalization began.
        crate::py::unwind::PyEval_RestoreThread(ts);
    }
}

#[cfg(test)]
mod tests {
    use super::pointer_name;

    #[test]
    fn pointer_names_follow_cffi() {
        assert_eq!(pointer_name("int(int, int)"), "int(*)(int, int)");
        assert_eq!(pointer_name("void(void)"), "void(*)(void)");
        assert_eq!(
            pointer_name("int(*(int))(int, int)"),
            "int(*(*)(int))(int, int)"
        );
        assert_eq!(
            pointer_name("void(*(int, void(*)(int)))(int)"),
            "void(*(*)(int, void(*)(int)))(int)"
        );
        assert_eq!(pointer_name("point_t(int)"), "point_t(*)(int)");
    }
}
