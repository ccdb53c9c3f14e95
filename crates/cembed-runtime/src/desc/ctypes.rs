//! The runtime's view of a library's type table (`cembed_lib.types`).
//!
//! Built once per library from the generated tables: every size and
//! alignment here was computed by the C compiler, never guessed. Conversions
//! (`cdata/convert.rs`) are driven by [`RtType`] through [`Conv`]; the data
//! model reads the same table into its own registry (`cdata/types.rs`).

use crate::py::text;
use cembed_abi::{type_flags, Kind, Lib};
use std::ffi::{c_void, CString};

/// A primitive C type, as far as conversions care: class and size.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Prim {
    /// `char`: a `bytes` of length 1 in Python.
    Char,
    /// `_Bool`: `bool` out, only 0/1/False/True in.
    Bool,
    /// `wchar_t`/`char16_t`/`char32_t` of 2 or 4 bytes: a `str` of length 1.
    WChar16,
    WChar32,
    /// Signed / unsigned integers of 1, 2, 4 or 8 bytes.
    SInt(u8),
    UInt(u8),
    /// `float` (4), `double` (8), x87 `long double` (16 on x86_64 Linux, read
    /// and written through a double as CFFI does).
    F32,
    F64,
    LongDouble,
    /// `float _Complex` (8 bytes) / `double _Complex` (16): two floats or
    /// doubles, real part first (C11 6.2.5p13); a Python `complex`.
    C64,
    C128,
}

impl Prim {
    /// Size in bytes of the C object.
    pub(crate) fn size(self) -> usize {
        match self {
            Prim::Char | Prim::Bool => 1,
            Prim::WChar16 => 2,
            Prim::WChar32 | Prim::F32 => 4,
            Prim::SInt(n) | Prim::UInt(n) => n as usize,
            Prim::F64 | Prim::C64 => 8,
            Prim::LongDouble | Prim::C128 => 16,
        }
    }
}

/// One entry of the type table.
#[derive(Debug)]
pub(crate) struct RtType {
    /// CFFI's spelling ("int", "point_t *"), used in every error message.
    pub(crate) name: CString,
    pub(crate) kind: Kind,
    /// `sizeof`, from the compiler (0 if incomplete). Unused by primitive
    /// conversions (`Prim` knows its size); the data model reads it.
    pub(crate) size: usize,
    /// Item type (pointee, element, function result), if any.
    pub(crate) item: Option<u32>,
    /// Parameter types of a FUNCTION.
    pub(crate) params: Vec<u32>,
    /// Set for primitive kinds the runtime converts.
    pub(crate) prim: Option<Prim>,
    /// This entry's index in the table: what `Conv::of` names for the data
    /// model (which finds the table through the library it is given).
    pub(crate) index: u32,
}

/// A library's types, indexed like `cembed_lib.types` (TypeId order).
#[derive(Debug)]
pub(crate) struct TypeTable {
    pub(crate) types: Vec<RtType>,
}

impl TypeTable {
    /// Reads and validates the tables of `lib`. A malformed table (unknown
    /// kind, index out of range) is an error naming the entry, never a crash
    /// later on.
    ///
    /// # Safety
    /// `lib` points to a complete `cembed_lib` whose `types` and `params`
    /// arrays have `n_types` and `n_params` entries.
    pub(crate) unsafe fn from_lib(lib: &Lib) -> Result<TypeTable, String> {
        let n = lib.n_types as usize;
        let raw = if n == 0 {
            &[][..]
        } else {
            // SAFETY: the caller's contract: `types` has `n_types` entries,
            // static for the process.
            unsafe { std::slice::from_raw_parts(lib.types, n) }
        };
        let params = if lib.n_params == 0 {
            &[][..]
        } else {
            // SAFETY: the caller's contract: `params` has `n_params` entries.
            unsafe { std::slice::from_raw_parts(lib.params, lib.n_params as usize) }
        };
        let index = |i: i32, what: &str, at: usize| -> Result<Option<u32>, String> {
            if i < 0 {
                Ok(None)
            } else if (i as usize) < n {
                Ok(Some(i as u32))
            } else {
                Err(format!(
                    "type table entry {at}: {what} index {i} is out of range (0..{n})"
                ))
            }
        };
        let mut types = Vec::with_capacity(n);
        for (i, t) in raw.iter().enumerate() {
            // SAFETY: every type entry's name is a NUL-terminated string in the
            // library's static data (the tables' contract).
            let name = CString::new(unsafe { text(t.name) }).expect("came from a C string");
            let kind = Kind::from_u32(t.kind).ok_or_else(|| {
                format!(
                    "type table entry {i} ({:?}): unknown kind {} (library built by a newer cembed?)",
                    name, t.kind
                )
            })?;
            let item = index(t.item, "item", i)?;
            let mut ps = Vec::new();
            if kind == Kind::Function {
                let (first, count) = (t.first as usize, t.count as usize);
                let slice = params.get(first..first + count).ok_or_else(|| {
                    format!(
                        "type table entry {i} ({name:?}): parameters {first}..{} out of range",
                        first + count
                    )
                })?;
                for &p in slice {
                    ps.push(index(p, "parameter", i)?.ok_or_else(|| {
                        format!("type table entry {i} ({name:?}): parameter type -1")
                    })?);
                }
            }
            let prim = prim_of(kind, t.size, t.flags);
            types.push(RtType {
                name,
                kind,
                size: t.size,
                item,
                params: ps,
                prim,
                index: i as u32,
            });
        }
        Ok(TypeTable { types })
    }

    pub(crate) fn get(&self, i: u32) -> &RtType {
        &self.types[i as usize]
    }
}

/// The primitive class of a table entry, from its kind and compiler-given size.
fn prim_of(kind: Kind, size: usize, flags: u32) -> Option<Prim> {
    match kind {
        Kind::Char => Some(Prim::Char),
        Kind::Bool => Some(Prim::Bool),
        Kind::WChar => match size {
            2 => Some(Prim::WChar16),
            4 => Some(Prim::WChar32),
            _ => None,
        },
        Kind::SInt => matches!(size, 1 | 2 | 4 | 8).then_some(Prim::SInt(size as u8)),
        Kind::UInt => matches!(size, 1 | 2 | 4 | 8).then_some(Prim::UInt(size as u8)),
        // An enum converts as its underlying integer (CFFI passes enum values
        // to callbacks as plain ints); its size and signedness come from the
        // compiler through the table.
        Kind::Enum if flags & type_flags::SIGNED != 0 => {
            matches!(size, 1 | 2 | 4 | 8).then_some(Prim::SInt(size as u8))
        }
        Kind::Enum => matches!(size, 1 | 2 | 4 | 8).then_some(Prim::UInt(size as u8)),
        Kind::Float => match size {
            4 => Some(Prim::F32),
            8 => Some(Prim::F64),
            16 => Some(Prim::LongDouble),
            _ => None,
        },
        Kind::Complex => match size {
            8 => Some(Prim::C64),
            16 => Some(Prim::C128),
            _ => None,
        },
        Kind::Void
        | Kind::Pointer
        | Kind::Array
        | Kind::Struct
        | Kind::Union
        | Kind::Function
        | Kind::Opaque => None,
    }
}

/// How one argument or result is converted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Conv {
    /// `void` result (only valid as a result).
    Void,
    Prim(Prim),
    /// Any other type of the library's table (index `ty` into
    /// `cembed_lib.types`), converted by the data model of the library's
    /// module (`cdata/`): pointers and function pointers <-> `CData`
    /// pointers; structs/unions by value <-> `CData` (copied); arrays <->
    /// `CData` arrays; `void` items; enums as ints (CFFI takes no enumerator
    /// name). `size` is the C size in bytes.
    CData {
        ty: u32,
        size: usize,
    },
    /// A type the runtime cannot convert (opaque by value, malformed
    /// table). Calls report a clear error naming the type.
    Unsupported,
}

impl Conv {
    /// The plan for table type `t` (non-primitive types convert through
    /// the data model of the module of the library whose table it is).
    pub(crate) fn of(t: &RtType) -> Conv {
        let ty = t.index;
        match (t.kind, t.prim) {
            (Kind::Enum, Some(p)) => Conv::Prim(p),
            // long double stays a cdata, as in CFFI (a Python float would
            // lose precision): arguments and results of callbacks, lib
            // functions and globals all go through the data model.
            (Kind::Float, Some(Prim::LongDouble)) => Conv::CData {
                ty,
                size: Prim::LongDouble.size(),
            },
            (_, Some(p)) => Conv::Prim(p),
            (Kind::Void, None) => Conv::Void,
            (Kind::Pointer | Kind::Array | Kind::Struct | Kind::Union | Kind::Function, None) => {
                let size = match t.kind {
                    Kind::Pointer | Kind::Function | Kind::Array => {
                        if t.kind == Kind::Array && t.size > 0 {
                            t.size
                        } else {
                            std::mem::size_of::<*mut c_void>()
                        }
                    }
                    _ => t.size,
                };
                Conv::CData { ty, size }
            }
            _ => Conv::Unsupported,
        }
    }

    /// Bytes of C storage (0 for void / unsupported).
    pub(crate) fn size(self) -> usize {
        match self {
            Conv::Void | Conv::Unsupported => 0,
            Conv::Prim(p) => p.size(),
            Conv::CData { size, .. } => size,
        }
    }
}
