//! A library's Rust state (desc/libstate.rs), made on first use by
//! whichever entry point comes first (a call, `cembed_start_python()`, an
//! import) and published with a compare-and-swap: the type table, each
//! extern's conversion plan (calls/plan.rs) and the module definition
//! (objects/module.rs).

use crate::desc::ctypes::{Conv, TypeTable};
use crate::desc::libstate::{ExternState, LibState, ALL};
use crate::py::text;
use cembed_abi::{Extern, Isolation, Kind, Lib, ABI_VERSION};
use std::collections::HashMap;
use std::ffi::{c_void, CString};
use std::sync::atomic::{AtomicPtr, Ordering};

/// Returns the state of `lib`, creating it on first use.
///
/// # Safety
/// `lib` points to a generated `cembed_lib` (its tables valid for the
/// process lifetime).
pub(crate) unsafe fn get_or_create(lib: *mut Lib) -> &'static LibState {
    // SAFETY: `lib` is a live `cembed_lib` (contract); its `runtime` field is
    // a pointer-sized slot that only the runtime touches, always atomically
    // (AtomicPtr has the layout of a pointer).
    let slot = unsafe { &*(std::ptr::addr_of_mut!((*lib).runtime) as *const AtomicPtr<c_void>) };
    let cur = slot.load(Ordering::Acquire);
    if !cur.is_null() {
        // SAFETY: a non-NULL slot holds the LibState published below, never
        // freed.
        return unsafe { &*(cur as *const LibState) };
    }
    // SAFETY: `lib` and its tables are valid for the process (contract).
    let fresh = Box::into_raw(unsafe { new_lib_state(lib) });
    match slot.compare_exchange(
        std::ptr::null_mut(),
        fresh as *mut c_void,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => {
            // SAFETY: published, so never freed: valid for the process.
            let ls: &'static LibState = unsafe { &*fresh };
            ALL.lock().unwrap_or_else(|e| e.into_inner()).push(ls);
            // Publish each extern's state only now that the LibState address
            // is final (the Box never moves).
            for (i, es) in ls.externs.iter().enumerate() {
                // SAFETY: `externs` has one descriptor per ExternState (they
                // were made from it); each descriptor's `runtime` slot is a
                // pointer-sized field only the runtime touches, atomically.
                let p = unsafe {
                    let ext = *(*lib).externs.add(i);
                    &*(std::ptr::addr_of_mut!((*ext).runtime) as *const AtomicPtr<c_void>)
                };
                p.store(es as *const ExternState as *mut c_void, Ordering::Release);
            }
            ls
        }
        Err(winner) => {
            // Another thread created it first: ours was never published.
            // SAFETY: `fresh` came from Box::into_raw above and nobody else
            // saw it; `winner` is the published LibState, never freed.
            unsafe {
                drop(Box::from_raw(fresh));
                &*(winner as *const LibState)
            }
        }
    }
}

/// The state of `ext`, creating its library's state on first use.
///
/// # Safety
/// `ext` is one of the externs of a generated `cembed_lib`.
#[inline]
pub(crate) unsafe fn extern_state(ext: *mut Extern) -> &'static ExternState {
    // SAFETY: `ext` is a live descriptor (contract); its `runtime` slot is
    // only touched by the runtime, atomically.
    let p = unsafe { &*(std::ptr::addr_of_mut!((*ext).runtime) as *const AtomicPtr<c_void>) };
    let es = p.load(Ordering::Acquire);
    if !es.is_null() {
        // SAFETY: a non-NULL slot holds an ExternState of a published
        // LibState (get_or_create), never freed.
        return unsafe { &*(es as *const ExternState) };
    }
    // SAFETY: as for this function.
    unsafe { extern_state_slow(ext) }
}

#[cold]
unsafe fn extern_state_slow(ext: *mut Extern) -> &'static ExternState {
    // SAFETY: a descriptor points to its generated library (contract), whose
    // `externs` array has `n_externs` entries.
    let ls = unsafe { get_or_create((*ext).lib) };
    // SAFETY: `ls.lib` is the library's generated table, valid for the process.
    let lib = unsafe { &*ls.lib };
    for i in 0..lib.n_externs as usize {
        // SAFETY: `i < n_externs`.
        if unsafe { *lib.externs.add(i) } == ext {
            return &ls.externs[i];
        }
    }
    // The descriptor is not in its own library's table: generated code is
    // broken. Fall back to a state of its own so the call reports instead of
    // crashing (leaked once per such descriptor).
    // SAFETY: `ext` is a live descriptor (contract).
    let own = unsafe { orphan_extern(ls, ext) };
    Box::leak(Box::new(own))
}

/// A library's state, from its generated tables.
///
/// # Safety
/// As for [`get_or_create`].
unsafe fn new_lib_state(lib: *mut Lib) -> Box<LibState> {
    // SAFETY: `lib` is a live generated `cembed_lib` (contract): its strings
    // are NUL-terminated static data; `build` is NULL or points to its
    // build information; `init_code` is NULL or a string.
    let (l, name, init_code, python_executable, cembed_version) = unsafe {
        let l = &*lib;
        let build = l.build.as_ref();
        (
            l,
            text(l.module_name),
            (!l.init_code.is_null()).then(|| text(l.init_code)),
            build.map_or(String::new(), |b| text(b.python_executable)),
            build.map_or(String::new(), |b| text(b.cembed_version)),
        )
    };
    let name = CString::new(name).expect("came from a C string");
    let mut table_error = None;
    if l.abi_version != ABI_VERSION {
        table_error = Some(format!(
            "library ABI version {} is not the runtime's {}",
            l.abi_version, ABI_VERSION
        ));
    }
    // SAFETY: a generated library's type and parameter arrays have the sizes
    // it gives (contract).
    let types = match unsafe { crate::desc::ctypes::TypeTable::from_lib(l) } {
        Ok(t) => t,
        Err(e) => {
            table_error.get_or_insert(e);
            TypeTable { types: Vec::new() }
        }
    };
    let (mode, n_insts) = isolation_of(l, &mut table_error);
    let mut ls = Box::new(LibState {
        // SAFETY: PyModuleDef is a plain C struct; zero is a valid
        // "empty" value for every field; filled in below.
        def: unsafe { std::mem::zeroed() },
        slots: crate::objects::module::module_slots(),
        lib,
        init_code: init_code.map(|c| CString::new(c).expect("came from a C string")),
        python_executable,
        cembed_version,
        name,
        types,
        externs: Box::new([]),
        by_name: HashMap::new(),
        mode,
        insts: AtomicPtr::new(std::ptr::null_mut()),
        n_insts,
        table_error,
        shared_ready: std::sync::atomic::AtomicBool::new(false),
        lib_index: std::sync::OnceLock::new(),
    });
    let lsp: *const LibState = &*ls;
    let mut externs = Vec::with_capacity(l.n_externs as usize);
    for i in 0..l.n_externs as usize {
        // SAFETY: `externs` has `n_externs` live descriptors (contract).
        let es = unsafe { prepare_extern(&ls, lsp, *l.externs.add(i), i) };
        ls.by_name.insert(es.name.clone(), i);
        externs.push(es);
    }
    ls.externs = externs.into_boxed_slice();
    ls.set_fresh_instances();
    crate::objects::module::fill_def(&mut ls);
    ls
}

/// The state of an extern missing from its own library's table.
///
/// # Safety
/// `ext` is a live extern descriptor.
unsafe fn orphan_extern(ls: &'static LibState, ext: *mut Extern) -> ExternState {
    // SAFETY: as for this function.
    unsafe { prepare_extern(ls, ls, ext, usize::MAX) }
}

/// Computes an extern's conversion plan from its FUNCTION type.
///
/// # Safety
/// `ext` is a live extern descriptor.
unsafe fn prepare_extern(
    ls: &LibState,
    lsp: *const LibState,
    ext: *mut Extern,
    index: usize,
) -> ExternState {
    // SAFETY: a live descriptor (contract) whose name is a NUL-terminated
    // string of the library's static data.
    let (e, name) = unsafe { (&*ext, text((*ext).name)) };
    let qualname = format!("{}.{}", ls.name.to_string_lossy(), name);
    let fty = (e.type_ >= 0 && (e.type_ as usize) < ls.types.types.len())
        .then(|| ls.types.get(e.type_ as u32))
        .filter(|t| t.kind == Kind::Function);
    let (args, result, bad) = match fty {
        Some(t) => {
            let args = t
                .params
                .iter()
                .map(|&p| (Conv::of(ls.types.get(p)), p))
                .collect();
            let result = match t.item {
                Some(r) => (Conv::of(ls.types.get(r)), r),
                None => (Conv::Void, u32::MAX),
            };
            (args, result, false)
        }
        None => (Box::default(), (Conv::Void, u32::MAX), true),
    };
    let name_of = |t: u32| -> Box<str> { ls.type_name(t).to_string_lossy().into() };
    let arg_names = args.iter().map(|&(_, t)| name_of(t)).collect();
    let result_name = name_of(result.1);
    let plan = crate::desc::libstate::Plan::new(&args, result.0, bad, lsp);
    ExternState {
        lib: lsp,
        name,
        qualname,
        args,
        result,
        arg_names,
        result_name,
        plan,
        bad_signature: bad,
        index,
        slot_owner: std::sync::atomic::AtomicUsize::new(0),
        main_cache: AtomicPtr::new(std::ptr::null_mut()),
    }
}

/// The library's isolation mode and number of interpreters. A library
/// older than ABI 1.2 (`struct_size` without the fields) is shared; an
/// unknown mode (a newer cembed) or isolation on a Python without
/// per-interpreter GILs is a table error, reported on first use.
fn isolation_of(l: &Lib, table_error: &mut Option<String>) -> (Isolation, usize) {
    let has_fields = l.struct_size as usize >= std::mem::size_of::<Lib>();
    if !has_fields {
        return (Isolation::Shared, 1);
    }
    let Some(mode) = Isolation::from_u32(l.isolation) else {
        table_error.get_or_insert(format!(
            "isolation mode {} is unknown to this runtime (built by a newer cembed?)",
            l.isolation
        ));
        return (Isolation::Shared, 1);
    };
    if mode != Isolation::Shared && !cfg!(Py_3_12) {
        table_error.get_or_insert(
            "the library asks for an isolated interpreter, which needs CPython 3.12 or later \
             (per-interpreter GIL); this runtime is built for an older Python"
                .to_string(),
        );
        return (Isolation::Shared, 1);
    }
    let n = match mode {
        Isolation::Pool if l.pool_size > 0 => l.pool_size as usize,
        Isolation::Pool => std::thread::available_parallelism().map_or(2, |n| n.get()),
        _ => 1,
    };
    (mode, n)
}
