//! The glue/runtime ABI, Rust side.
//!
//! `include/cembed_abi.h` is the one definition of the ABI; this module mirrors
//! it with `#[repr(C)]` structs for the runtime, and exports the header texts
//! for codegen, which pastes them into every generated library. The test at the
//! bottom compiles the header with the system C compiler and compares every
//! size and offset with these structs, so the two sides cannot drift apart.
//!
//! No `unsafe` here: declaring raw-pointer structs is safe; dereferencing them is
//! the runtime's job, behind its own wrappers.

#![forbid(unsafe_code)]

use std::ffi::{c_char, c_void};

/// Text of `include/cembed_abi.h`.
pub const ABI_HEADER: &str = include_str!("../include/cembed_abi.h");
/// Text of `include/cembed_glue.h` (the loader and the helpers set_source code sees).
pub const GLUE_HEADER: &str = include_str!("../include/cembed_glue.h");
/// Text of `include/cembed_layout.h` (the layout-check macros of the
/// generated C, for the CPython and the PyPy target alike).
pub const LAYOUT_HEADER: &str = include_str!("../include/cembed_layout.h");

/// The ABI's major version (`CEMBED_ABI_VERSION`): a library runs on any
/// runtime with the same major.
pub const ABI_VERSION: u32 = 1;
/// `CEMBED_ABI_MINOR`: grows when a struct grows at its end.
pub const ABI_MINOR: u32 = 2;
/// Name of the symbol the runtime exports: `const cembed_runtime_api *cembed_runtime_v1(void)`.
pub const RUNTIME_ENTRY: &str = "cembed_runtime_v1";

/// `enum cembed_kind`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Void = 0,
    Char = 1,
    Bool = 2,
    WChar = 3,
    SInt = 4,
    UInt = 5,
    Float = 6,
    Pointer = 7,
    Array = 8,
    Struct = 9,
    Union = 10,
    Enum = 11,
    Function = 12,
    Opaque = 13,
    Complex = 14,
}

impl Kind {
    pub fn from_u32(v: u32) -> Option<Kind> {
        use Kind::*;
        Some(match v {
            0 => Void,
            1 => Char,
            2 => Bool,
            3 => WChar,
            4 => SInt,
            5 => UInt,
            6 => Float,
            7 => Pointer,
            8 => Array,
            9 => Struct,
            10 => Union,
            11 => Enum,
            12 => Function,
            13 => Opaque,
            14 => Complex,
            _ => return None,
        })
    }

    /// The C enumerator name, as codegen prints it.
    pub fn c_name(self) -> &'static str {
        use Kind::*;
        match self {
            Void => "CEMBED_K_VOID",
            Char => "CEMBED_K_CHAR",
            Bool => "CEMBED_K_BOOL",
            WChar => "CEMBED_K_WCHAR",
            SInt => "CEMBED_K_SINT",
            UInt => "CEMBED_K_UINT",
            Float => "CEMBED_K_FLOAT",
            Pointer => "CEMBED_K_POINTER",
            Array => "CEMBED_K_ARRAY",
            Struct => "CEMBED_K_STRUCT",
            Union => "CEMBED_K_UNION",
            Enum => "CEMBED_K_ENUM",
            Function => "CEMBED_K_FUNCTION",
            Opaque => "CEMBED_K_OPAQUE",
            Complex => "CEMBED_K_COMPLEX",
        }
    }
}

/// `enum cembed_type_flags`.
pub mod type_flags {
    pub const CONST_ITEM: u32 = 1 << 0;
    pub const VARIADIC: u32 = 1 << 1;
    pub const PARTIAL: u32 = 1 << 2;
    pub const SIGNED: u32 = 1 << 3;
    pub const UNION_OPAQUE: u32 = 1 << 4;
}

/// `enum cembed_global_flags`.
pub mod global_flags {
    pub const CONST: u32 = 1 << 0;
    pub const API: u32 = 1 << 1;
    /// `address` is a `void *(*)(void)` that returns the address (a global
    /// that is a macro).
    pub const GETTER: u32 = 1 << 2;
}

/// The name prefix of the callback pool's slots (`_cembed_cb<type>_<k>`):
/// `extern "Python"` functions that codegen adds for `ffi.callback()`
/// (cembed-codegen's `callbacks.rs`); the runtime hands them out and keeps
/// them out of `lib`.
pub const CALLBACK_PREFIX: &str = "_cembed_cb";

/// `enum cembed_extern_flags`.
pub mod extern_flags {
    pub const EXPORTED: u32 = 1 << 0;
    pub const PLUS_C: u32 = 1 << 1;
}

/// `"C-unwind"`: the C function a thunk calls may end its thread with
/// `pthread_exit()` (a forced unwind), which must pass the runtime's frames.
pub type Thunk =
    unsafe extern "C-unwind" fn(fn_: *mut c_void, args: *mut *mut c_void, result: *mut c_void);
pub type BitProbe = unsafe extern "C" fn(buf: *mut c_void, field: u32);

#[repr(C)]
#[derive(Debug)]
pub struct CType {
    pub name: *const c_char,
    pub kind: u32,
    pub flags: u32,
    pub size: usize,
    pub align: usize,
    pub item: i32,
    pub thunk: i32,
    pub length: i64,
    pub first: u32,
    pub count: u32,
    pub probe: Option<BitProbe>,
}

#[repr(C)]
#[derive(Debug)]
pub struct Field {
    pub name: *const c_char,
    pub type_: i32,
    pub bit_width: i32,
    pub offset: usize,
    pub flags: u32,
}

#[repr(C)]
#[derive(Debug)]
pub struct Const {
    pub name: *const c_char,
    pub type_: i32,
    pub negative: i32,
    pub bits: u64,
    pub get: Option<unsafe extern "C" fn(out: *mut c_void)>,
}

#[repr(C)]
#[derive(Debug)]
pub struct Typedef {
    pub name: *const c_char,
    pub type_: i32,
}

#[repr(C)]
#[derive(Debug)]
pub struct Global {
    pub name: *const c_char,
    pub type_: i32,
    pub flags: u32,
    pub address: *mut c_void,
}

#[repr(C)]
#[derive(Debug)]
pub struct CFunc {
    pub name: *const c_char,
    pub type_: i32,
    pub fn_: *mut c_void,
}

#[repr(C)]
#[derive(Debug)]
pub struct Extern {
    pub name: *const c_char,
    pub type_: i32,
    pub flags: u32,
    pub lib: *mut Lib,
    /// Owned by the runtime (written with atomic stores).
    pub runtime: *mut c_void,
    /// The generated C function implementing this extern (what `lib.NAME` is
    /// as a function pointer from Python). May be NULL.
    pub fn_: *mut c_void,
}

#[repr(C)]
#[derive(Debug)]
pub struct BuildInfo {
    pub python_version: *const c_char,
    pub python_executable: *const c_char,
    pub libpython: *const c_char,
    pub runtime: *const c_char,
    pub cembed_version: *const c_char,
}

#[repr(C)]
#[derive(Debug)]
pub struct Lib {
    pub abi_version: u32,
    pub struct_size: u32,
    pub module_name: *const c_char,
    pub init_code: *const c_char,
    pub build: *const BuildInfo,
    pub types: *const CType,
    pub n_types: u32,
    pub fields: *const Field,
    pub n_fields: u32,
    pub params: *const i32,
    pub n_params: u32,
    pub enumerators: *const Const,
    pub n_enumerators: u32,
    pub typedefs: *const Typedef,
    pub n_typedefs: u32,
    pub consts: *const Const,
    pub n_consts: u32,
    pub globals: *const Global,
    pub n_globals: u32,
    pub cfuncs: *const CFunc,
    pub n_cfuncs: u32,
    pub externs: *const *mut Extern,
    pub n_externs: u32,
    pub thunks: *const Option<Thunk>,
    pub n_thunks: u32,
    /// Owned by the runtime: per-library state (written with atomic stores).
    pub runtime: *mut c_void,
    // ---- 1.2: valid only when `struct_size` covers them ----
    /// [`Isolation`] as a number.
    pub isolation: u32,
    /// For [`Isolation::Pool`]: the number of interpreters; 0 = the number
    /// of CPUs when the pool starts.
    pub pool_size: u32,
}

/// `enum cembed_isolation`: where a library's init code and calls run.
#[repr(u32)]
#[derive(Debug, Copy, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// The main interpreter, shared with every other shared library.
    Shared = 0,
    /// One own-GIL subinterpreter for this library.
    Isolated = 1,
    /// `pool_size` own-GIL subinterpreters; host threads are bound to one.
    Pool = 2,
}

impl Isolation {
    /// The mode of a `cembed_lib.isolation` value (`None`: unknown, from a
    /// newer cembed).
    pub fn from_u32(v: u32) -> Option<Isolation> {
        match v {
            0 => Some(Isolation::Shared),
            1 => Some(Isolation::Isolated),
            2 => Some(Isolation::Pool),
            _ => None,
        }
    }
}

/// `cembed_location`: where the loader found Python (see the header).
#[repr(C)]
#[derive(Debug)]
pub struct Location {
    pub struct_size: u32,
    pub isolated: i32,
    pub python_executable: *const c_char,
    pub home: *const c_char,
    pub path: *const c_char,
    pub search: *const c_char,
}

#[repr(C)]
pub struct RuntimeApi {
    pub abi_version: u32,
    pub struct_size: u32,
    /// `"C-unwind"`: a forced unwind (`pthread_exit()` in C called from the
    /// Python code) passes through it to the host's frames.
    pub call:
        unsafe extern "C-unwind" fn(ext: *mut Extern, args: *mut *mut c_void, result: *mut c_void),
    pub start: unsafe extern "C" fn(lib: *mut Lib) -> i32,
    pub module_init: unsafe extern "C" fn(lib: *mut Lib) -> *mut c_void,
    pub init_error: unsafe extern "C" fn(lib: *mut Lib) -> *const c_char,
    // ---- 1.1 ----
    pub abi_minor: u32,
    pub configure: unsafe extern "C" fn(lib: *mut Lib, loc: *const Location),
}

#[cfg(test)]
mod tests;
