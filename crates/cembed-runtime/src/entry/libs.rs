//! A library's Rust state (desc/libstate.rs), made on first use by
//! whichever entry point comes first (a call, `cembed_start_python()`, an
//! import) and published with a compare-and-swap: the type table, each
//! extern's conversion plan (calls/plan.rs) and the module definition
//! (objects/module.rs).

use crate::desc::ctypes::{Conv, TypeTable};
use crate::desc::libstate::LibInit;
use crate::desc::libstate::{ExternState, LibState, ALL};
use crate::py::text;
use cembed_abi::{Extern, Kind, Lib, ABI_VERSION};
use std::collections::HashMap;
use std::ffi::{c_void, CString};
use std::sync::atomic::{AtomicPtr, Ordering};

/// Returns the state of `lib`, creating it on first use.
///
/// # Safety
/// `lib` points to a generated `cembed_lib` (its tables valid for the
/// process lifetime).
pub(crate) unsafe fn get_or_create(lib: *mut Lib) -> &'static LibState {
    let slot = &*(std::ptr::addr_of_mut!((*lib).runtime) as *const AtomicPtr<c_void>);
    let cur = slot.load(Ordering::Acquire);
    if !cur.is_null() {
        return &*(cur as *const LibState);
    }
    let fresh = Box::into_raw(new_lib_state(lib));
    match slot.compare_exchange(
        std::ptr::null_mut(),
        fresh as *mut c_void,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => {
            let ls: &'static LibState = &*fresh;
            ALL.lock().unwrap_or_else(|e| e.into_inner()).push(ls);
            // Publish each extern's state only now that the LibState address
            // is final (the Box never moves).
            for (i, es) in ls.externs.iter().enumerate() {
                let ext = *(*lib).externs.add(i);
                let p = &*(std::ptr::addr_of_mut!((*ext).runtime) as *const AtomicPtr<c_void>);
                p.store(es as *const ExternState as *mut c_void, Ordering::Release);
            }
            ls
        }
        Err(winner) => {
            // Another thread created it first: ours was never published.
            drop(Box::from_raw(fresh));
            &*(winner as *const LibState)
        }
    }
}

/// The state of `ext`, creating its library's state on first use.
///
/// # Safety
/// `ext` is one of the externs of a generated `cembed_lib`.
#[inline]
pub(crate) unsafe fn extern_state(ext: *mut Extern) -> &'static ExternState {
    let p = &*(std::ptr::addr_of_mut!((*ext).runtime) as *const AtomicPtr<c_void>);
    let es = p.load(Ordering::Acquire);
    if !es.is_null() {
        return &*(es as *const ExternState);
    }
    extern_state_slow(ext)
}

#[cold]
unsafe fn extern_state_slow(ext: *mut Extern) -> &'static ExternState {
    let ls = get_or_create((*ext).lib);
    let lib = &*ls.lib;
    for i in 0..lib.n_externs as usize {
        if *lib.externs.add(i) == ext {
            return &ls.externs[i];
        }
    }
    // The descriptor is not in its own library's table: generated code is
    // broken. Fall back to a state of its own so the call reports instead of
    // crashing (leaked once per such descriptor).
    let own = orphan_extern(ls, ext);
    Box::leak(Box::new(own))
}

/// A library's state, from its generated tables.
unsafe fn new_lib_state(lib: *mut Lib) -> Box<LibState> {
    let l = &*lib;
    let name = CString::new(text(l.module_name)).expect("came from a C string");
    let build = l.build.as_ref();
    let mut table_error = None;
    if l.abi_version != ABI_VERSION {
        table_error = Some(format!(
            "library ABI version {} is not the runtime's {}",
            l.abi_version, ABI_VERSION
        ));
    }
    let types = match crate::desc::ctypes::TypeTable::from_lib(l) {
        Ok(t) => t,
        Err(e) => {
            table_error.get_or_insert(e);
            TypeTable { types: Vec::new() }
        }
    };
    let mut ls = Box::new(LibState {
        // SAFETY: PyModuleDef is a plain C struct; zero is a valid
        // "empty" value for every field; filled in below.
        def: std::mem::zeroed(),
        slots: crate::objects::module::module_slots(),
        lib,
        init_code: (!l.init_code.is_null())
            .then(|| CString::new(text(l.init_code)).expect("came from a C string")),
        python_executable: build.map_or(String::new(), |b| text(b.python_executable)),
        cembed_version: build.map_or(String::new(), |b| text(b.cembed_version)),
        name,
        types,
        externs: Box::new([]),
        by_name: HashMap::new(),
        init: LibInit::new(),
        module: AtomicPtr::new(std::ptr::null_mut()),
        owned_module: AtomicPtr::new(std::ptr::null_mut()),
        table_error,
        lib_index: std::sync::OnceLock::new(),
    });
    let lsp: *const LibState = &*ls;
    let mut externs = Vec::with_capacity(l.n_externs as usize);
    for i in 0..l.n_externs as usize {
        let ext = *l.externs.add(i);
        let es = prepare_extern(&ls, lsp, ext);
        ls.by_name.insert(es.name.clone(), i);
        externs.push(es);
    }
    ls.externs = externs.into_boxed_slice();
    crate::objects::module::fill_def(&mut ls);
    ls
}

/// The state of an extern missing from its own library's table.
unsafe fn orphan_extern(ls: &'static LibState, ext: *mut Extern) -> ExternState {
    prepare_extern(ls, ls, ext)
}

/// Computes an extern's conversion plan from its FUNCTION type.
unsafe fn prepare_extern(ls: &LibState, lsp: *const LibState, ext: *mut Extern) -> ExternState {
    let e = &*ext;
    let name = text(e.name);
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
    let plan = crate::desc::libstate::Plan::new(&args, result.0, bad);
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
        func: AtomicPtr::new(std::ptr::null_mut()),
        onerror: AtomicPtr::new(std::ptr::null_mut()),
        error: AtomicPtr::new(std::ptr::null_mut()),
        owner: AtomicPtr::new(std::ptr::null_mut()),
    }
}
