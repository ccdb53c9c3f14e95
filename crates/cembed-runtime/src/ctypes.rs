//! The runtime's view of a library's type table (`cembed_lib.types`).
//!
//! Built once per library from the generated tables: every size and
//! alignment here was computed by the C compiler, never guessed. Conversions
//! (`convert.rs`) are driven by [`RtType`]; the cdata work (pointers, structs,
//! arrays: issue 3) adds its own per-kind data next to `Prim` without changing
//! how the table is built.

use crate::py::text;
use cembed_abi::{type_flags, Kind, Lib};
use std::ffi::CString;

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
    /// conversions (`Prim` knows its size); cdata (issue 3) reads it.
    pub(crate) size: usize,
    /// Item type (pointee, element, function result), if any.
    pub(crate) item: Option<u32>,
    /// Parameter types of a FUNCTION.
    pub(crate) params: Vec<u32>,
    /// Set for primitive kinds the runtime converts.
    pub(crate) prim: Option<Prim>,
    /// This entry's index in the table, and the library owning the table
    /// (set once the LibState has its final address, before it is
    /// published): what `Conv::of` needs to hand non-primitive values to the
    /// data model of that library's module.
    pub(crate) index: u32,
    pub(crate) lib: *const crate::libstate::LibState,
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
            std::slice::from_raw_parts(lib.types, n)
        };
        let params = if lib.n_params == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(lib.params, lib.n_params as usize)
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
            let name = CString::new(text(t.name)).expect("came from a C string");
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
                lib: std::ptr::null(),
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
