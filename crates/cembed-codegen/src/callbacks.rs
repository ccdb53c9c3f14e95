//! The callback pool: what `ffi.callback()` hands out, without libffi and
//! without memory that is writable and executable at once.
//!
//! CFFI writes a small machine-code closure per callback at run time (libffi
//! `ffi_closure`), which needs memory that is writable then executable:
//! refused by hosts with W^X policies (SELinux `execmem`, PaX,
//! systemd's MemoryDenyWriteExecute). cembed instead compiles, for every
//! function type the declarations name, [`POOL_SIZE`] ordinary C functions
//! of that type, each an `extern "Python"` function like the user's own
//! (a descriptor, the entry helper of its type). `ffi.callback(T, f)` takes a
//! free one of T's pool, attaches `f` to it and returns its address; the
//! returned cdata frees the slot when it dies. The machine code is all in
//! the library's text segment, read-only and executable as usual.
//!
//! The price: only the function types of the declarations can be used, and
//! at most [`POOL_SIZE`] callbacks of one type live at once (a clear error
//! past that, in the runtime).

use cembed_model::{Decl, FuncKind, PrimClass, Program, Type, TypeId};

/// Callbacks of one function type alive at once. Each costs one small C
/// function and descriptor (about 100 bytes of code and data).
pub const POOL_SIZE: usize = 16;

/// The name of slot `k` of the pool of function type `ty`. The runtime
/// recognises pool slots by this prefix (and hides them from `lib`).
pub fn slot_name(ty: TypeId, k: usize) -> String {
    format!("{}{}_{k}", cembed_abi::CALLBACK_PREFIX, ty.0)
}

/// `program` plus the callback pool: [`POOL_SIZE`] `extern "Python"`
/// functions for each function-pointer type the declarations name (a
/// parameter, field, global or typedef: what a callback can be passed as)
/// whose function type C can define a function of. A function type that
/// is only the type of declared functions gets none: pools cost build time.
pub fn with_pool(program: &Program) -> Program {
    let pointed: std::collections::HashSet<TypeId> = program
        .types
        .iter()
        .filter_map(|t| match t {
            Type::Pointer { pointee, .. } => Some(*pointee),
            _ => None,
        })
        .collect();
    let mut p = program.clone();
    for ty in program.function_types() {
        if !pointed.contains(&ty) || !definable(program, ty) {
            continue;
        }
        for k in 0..POOL_SIZE {
            p.decls.push(Decl::Function {
                name: slot_name(ty, k),
                ty,
                kind: FuncKind::ExternPython,
                span: Default::default(),
            });
        }
    }
    p
}

/// Whether C can define a function of type `ty`: not variadic, and every
/// parameter and the result of a type whose size C knows (an opaque struct
/// passed by value, or a `typedef ...` one, cannot be).
fn definable(p: &Program, ty: TypeId) -> bool {
    let Type::Function {
        result,
        params,
        variadic,
    } = p.ty(ty)
    else {
        return false;
    };
    if *variadic {
        return false;
    }
    let complete = |t: TypeId, is_result: bool| match p.ty(t) {
        Type::Prim(prim) => prim.class != PrimClass::Void || is_result,
        Type::Pointer { .. } | Type::Enum(_) => true,
        Type::Record(r) => p.records[r.0 as usize].fields.is_some(),
        // Parameters of array or function type decay to pointers.
        Type::Array { .. } | Type::Function { .. } => !is_result,
    };
    complete(*result, true) && params.iter().all(|&t| complete(t, false))
}
