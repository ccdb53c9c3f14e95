//! The resolved C type model: what a set of `cdef()` / `embedding_api()` sources
//! declares, after typedefs are resolved and names are checked.
//!
//! This crate is pure data: no parsing (that is `cembed-cdef`), no generated C
//! (that is `cembed-codegen`; the one thing shared with it is the declarator
//! walk in [`cdecl`], so both spellings of a type come from one printer), no
//! I/O, no Python. It deliberately carries **no
//! sizes, alignments or offsets**: those always come from the C compiler (the
//! generated C fills the ABI tables with `sizeof`/`offsetof`, and checks the
//! declarations against the real definitions with static assertions). Guessing
//! a layout here would be exactly the class of bug cembed exists to avoid.
//!
//! Types live in an arena ([`Program::types`]) and are interned: two structurally
//! equal types have the same [`TypeId`], so `int *` declared twice is one type and
//! codegen emits one call thunk per distinct function type.

// Only cembed-runtime may use `unsafe` (docs/architecture.md); the
// compiler enforces it for every other crate.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt;

pub mod cdecl;

/// Index into [`Program::types`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(pub u32);

/// Index into [`Program::records`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub u32);

/// Index into [`Program::enums`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnumId(pub u32);

/// A byte range in one of the sources handed to the parser (`source` is the index
/// of that source in the order the builder received them). Kept so later phases
/// can still report errors at the right place.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub source: u32,
    pub start: u32,
    pub end: u32,
}

/// How a primitive type behaves when converted to and from Python. The size and
/// signedness of every primitive come from the compiler through the ABI tables;
/// the class alone decides which conversion applies.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PrimClass {
    Void,
    /// `char`: a one-byte `bytes` character in CFFI.
    Char,
    /// `_Bool` / `bool`.
    Bool,
    /// `wchar_t`, `char16_t`, `char32_t`: a one-character `str`.
    WideChar,
    SignedInt,
    UnsignedInt,
    /// `typedef int... foo_t;`: an integer whose size and signedness only the
    /// compiler knows.
    UnknownInt,
    Float,
    /// `typedef float... foo_t;`
    UnknownFloat,
    /// `float _Complex` / `double _Complex` (named `_cffi_float_complex_t`
    /// / `_cffi_double_complex_t`, as CFFI names them): a Python `complex`.
    Complex,
}

/// A primitive type, named as CFFI names it (`"unsigned long long"`, `"int32_t"`,
/// `"size_t"`, ...). For `UnknownInt`/`UnknownFloat` the name is the typedef name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Prim {
    pub name: String,
    pub class: PrimClass,
}

impl Prim {
    /// How C spells the type: CFFI's name, except for the complex types,
    /// whose CFFI names (`_cffi_float_complex_t`) exist only in CFFI's own
    /// generated C.
    pub fn c_spelling(&self) -> &str {
        match self.name.as_str() {
            "_cffi_float_complex_t" => "float _Complex",
            "_cffi_double_complex_t" => "double _Complex",
            n => n,
        }
    }
}

/// Type qualifiers. Kept in the model because CFFI shows `const` in some type
/// names and refuses some writes through it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Quals {
    pub is_const: bool,
    pub is_volatile: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ArrayLen {
    /// `T[n]`.
    Fixed(u64),
    /// `T[]`.
    Open,
    /// `T[...]`: the length comes from the compiler (`sizeof(x)/sizeof(x[0])`).
    FromCompiler,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Prim(Prim),
    /// Pointer to `pointee`; `quals` qualify the pointee (`const char *`).
    Pointer {
        pointee: TypeId,
        quals: Quals,
    },
    Array {
        item: TypeId,
        len: ArrayLen,
    },
    Record(RecordId),
    Enum(EnumId),
    /// A function type. A function pointer is `Pointer { pointee: <Function> }`.
    Function {
        result: TypeId,
        params: Vec<TypeId>,
        variadic: bool,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Struct,
    Union,
}

/// A struct or union.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub kind: RecordKind,
    /// The tag, if declared with one (`struct foo`).
    pub tag: Option<String>,
    /// The C spelling used in generated code and shown by repr: `"struct foo"`,
    /// or the typedef name for an anonymous struct (`typedef struct {..} point_t`
    /// is spelled `point_t`, as CFFI does).
    pub c_name: String,
    /// `None`: opaque (declared but never defined: `struct foo;` or `typedef ... foo_t;`).
    pub fields: Option<Vec<Field>>,
    /// The declaration ended with `...;`: only the named fields are known, the
    /// compiler supplies the rest of the layout.
    pub partial: bool,
    /// `typedef ... foo_t;`: an opaque type of unknown kind (CFFI makes it a struct).
    pub dotdotdot_typedef: bool,
    /// The fields were declared in a `cdef(..., packed=True)` (`Some(1)`) or
    /// `cdef(..., pack=N)` (`Some(N)`): the declared layout aligns fields to
    /// at most N bytes (GCC's `#pragma pack(N)`). Only the layout check
    /// uses it: the real layout always comes from the compiler.
    pub pack: Option<u32>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// `None` for an anonymous struct/union member, whose fields CFFI makes
    /// reachable directly from the parent; also `None` for an unnamed bitfield
    /// (`int : 3;`, padding only: `bit_width` is then `Some`, and the type is an
    /// integer, never a record).
    pub name: Option<String>,
    pub ty: TypeId,
    pub quals: Quals,
    /// `Some(width)` for a bitfield.
    pub bit_width: Option<u32>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumDef {
    pub tag: Option<String>,
    /// `"enum foo"`, or the typedef name of an anonymous enum.
    pub c_name: String,
    /// Enumerator names in declaration order. Their values come from the
    /// compiler (the generated table evaluates each name), so an explicit value
    /// written in the cdef is only recorded for checking.
    pub enumerators: Vec<Enumerator>,
    /// Declared with `...` in the enumerator list.
    pub partial: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enumerator {
    pub name: String,
    /// The value written in the cdef, if any (checked against the compiler's).
    pub declared_value: Option<i128>,
    pub span: Span,
}

/// What a declared function is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FuncKind {
    /// Declared in `embedding_api()`: defined by the generated C, exported from
    /// the library, implemented in Python (`@ffi.def_extern()`).
    Exported,
    /// `extern "Python"` in `cdef()`: defined by the generated C as a `static`
    /// function implemented in Python (used as a callback).
    ExternPython,
    /// `extern "Python+C"` in `cdef()`: like `ExternPython` but non-static, so
    /// other C files of the library can call it.
    ExternPythonPlusC,
    /// A plain function in `cdef()`: defined by `set_source` code or a linked
    /// library, callable from Python as `lib.name(...)`.
    CFunction,
}

/// The value of a `#define NAME value` line.
#[derive(Clone, Debug, PartialEq)]
pub enum MacroValue {
    /// `#define FOO 42` (the literal is also checked against the compiler's value).
    Int(i128),
    /// `#define FOO ...`: an integer the compiler evaluates.
    FromCompiler,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Decl {
    Function {
        name: String,
        ty: TypeId,
        kind: FuncKind,
        span: Span,
    },
    /// A global variable. `in_api` is true when declared in `embedding_api()`
    /// (the user defines it in set_source code, marked `CFFI_DLLEXPORT`).
    Global {
        name: String,
        ty: TypeId,
        quals: Quals,
        in_api: bool,
        span: Span,
    },
    /// `static const T name;` / `const T name;`: read once, exposed as a value.
    Constant {
        name: String,
        ty: TypeId,
        span: Span,
    },
    /// `#define NAME value`.
    Macro {
        name: String,
        value: MacroValue,
        span: Span,
    },
    Typedef {
        name: String,
        ty: TypeId,
        span: Span,
    },
    /// A struct/union that was declared or defined (including anonymous ones that
    /// got a typedef name); listed so codegen can emit layout checks in order.
    Record {
        id: RecordId,
    },
    Enum {
        id: EnumId,
    },
}

/// Everything the declarations describe, in declaration order.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub types: Vec<Type>,
    pub records: Vec<Record>,
    pub enums: Vec<EnumDef>,
    pub decls: Vec<Decl>,
    /// Functions and global variables as the cdef wrote them (typedef names,
    /// `bool`, parameter names kept), by name, without storage class or `;`:
    /// `int do_stuff(point_t *p)`. The consumer header prints these, since
    /// the resolved types have lost the names. Absent when the declaration
    /// held a comment (a `//` comment cannot be joined onto one line).
    pub written: HashMap<String, String>,
    /// Interning table for [`Program::intern`].
    intern: HashMap<Type, TypeId>,
}

impl Program {
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the id of `ty`, adding it to the arena if it is new.
    pub fn intern(&mut self, ty: Type) -> TypeId {
        if let Some(id) = self.intern.get(&ty) {
            return *id;
        }
        let id = TypeId(self.types.len() as u32);
        self.types.push(ty.clone());
        self.intern.insert(ty, id);
        id
    }

    /// Adds `ty` as a type of its own, equal to no other even with the same
    /// structure: a `T[...]` array, whose length each declaration gets from
    /// the compiler separately (`extern int a[...], b[...];` may differ).
    pub fn add_distinct(&mut self, ty: Type) -> TypeId {
        let id = TypeId(self.types.len() as u32);
        self.types.push(ty);
        id
    }

    pub fn prim(&mut self, name: &str, class: PrimClass) -> TypeId {
        self.intern(Type::Prim(Prim {
            name: name.to_string(),
            class,
        }))
    }

    pub fn ty(&self, id: TypeId) -> &Type {
        &self.types[id.0 as usize]
    }

    pub fn record(&self, id: RecordId) -> &Record {
        &self.records[id.0 as usize]
    }

    pub fn enum_def(&self, id: EnumId) -> &EnumDef {
        &self.enums[id.0 as usize]
    }

    pub fn add_record(&mut self, r: Record) -> RecordId {
        self.records.push(r);
        RecordId(self.records.len() as u32 - 1)
    }

    pub fn add_enum(&mut self, e: EnumDef) -> EnumId {
        self.enums.push(e);
        EnumId(self.enums.len() as u32 - 1)
    }

    /// Functions of the given kinds, in declaration order.
    pub fn functions(&self) -> impl Iterator<Item = (&str, TypeId, FuncKind)> {
        self.decls.iter().filter_map(|d| match d {
            Decl::Function { name, ty, kind, .. } => Some((name.as_str(), *ty, *kind)),
            _ => None,
        })
    }

    /// Every distinct function type reachable from the declarations (through
    /// pointers, arrays, fields, parameters), in first-seen order. Codegen emits
    /// one call thunk for each: this is how cembed calls function pointers
    /// without libffi.
    pub fn function_types(&self) -> Vec<TypeId> {
        (0..self.types.len() as u32)
            .map(TypeId)
            .filter(|id| matches!(self.ty(*id), Type::Function { .. }))
            .collect()
    }

    /// The C name of a type as CFFI prints it (`"int *"`, `"point_t[3]"`,
    /// `"int(*)(int, long)"`): see [`Program::c_decl`].
    pub fn c_name(&self, id: TypeId) -> String {
        self.c_decl(id, "")
    }

    /// Prints the declaration of `name` with type `id` using C's inside-out
    /// declarator syntax, structurally (no string surgery on names): the
    /// function is `int (*name)(int)`, the array of pointers `char *name[4]`.
    /// With an empty name this gives CFFI's spelling of the type itself.
    /// The walk is [`cdecl::declare`], shared with codegen's compilable-C
    /// spelling; [`cdecl::DeclStyle`] says where the two differ.
    pub fn c_decl(&self, id: TypeId, name: &str) -> String {
        cdecl::declare(
            self,
            &cdecl::CffiStyle(self),
            id,
            name.to_string(),
            Quals::default(),
        )
    }
}

impl fmt::Display for TypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(p: &mut Program) -> TypeId {
        p.prim("int", PrimClass::SignedInt)
    }

    #[test]
    fn interning_dedupes() {
        let mut p = Program::new();
        let a = int(&mut p);
        let b = int(&mut p);
        assert_eq!(a, b);
        let pa = p.intern(Type::Pointer {
            pointee: a,
            quals: Quals::default(),
        });
        let pb = p.intern(Type::Pointer {
            pointee: b,
            quals: Quals::default(),
        });
        assert_eq!(pa, pb);
    }

    #[test]
    fn cffi_spellings() {
        let mut p = Program::new();
        let i = int(&mut p);
        let ch = p.prim("char", PrimClass::Char);
        let ip = p.intern(Type::Pointer {
            pointee: i,
            quals: Quals::default(),
        });
        let ipp = p.intern(Type::Pointer {
            pointee: ip,
            quals: Quals::default(),
        });
        let arr = p.intern(Type::Array {
            item: i,
            len: ArrayLen::Fixed(3),
        });
        let parr = p.intern(Type::Pointer {
            pointee: arr,
            quals: Quals::default(),
        });
        let arrp = p.intern(Type::Array {
            item: ip,
            len: ArrayLen::Fixed(4),
        });
        let f = p.intern(Type::Function {
            result: i,
            params: vec![i, ip],
            variadic: false,
        });
        let fp = p.intern(Type::Pointer {
            pointee: f,
            quals: Quals::default(),
        });
        let v = p.prim("void", PrimClass::Void);
        let f0 = p.intern(Type::Function {
            result: v,
            params: vec![],
            variadic: false,
        });
        let f0p = p.intern(Type::Pointer {
            pointee: f0,
            quals: Quals::default(),
        });
        let cstr = p.intern(Type::Pointer {
            pointee: ch,
            quals: Quals {
                is_const: true,
                is_volatile: false,
            },
        });
        assert_eq!(p.c_name(ip), "int *");
        assert_eq!(p.c_name(ipp), "int **");
        assert_eq!(p.c_name(arr), "int[3]");
        assert_eq!(p.c_name(parr), "int(*)[3]");
        assert_eq!(p.c_name(arrp), "int *[4]");
        assert_eq!(p.c_name(fp), "int(*)(int, int *)");
        assert_eq!(p.c_name(f0p), "void(*)(void)");
        assert_eq!(p.c_name(cstr), "const char *");
        assert_eq!(p.c_decl(fp, "cb"), "int(*cb)(int, int *)");
        assert_eq!(p.c_decl(arr, "xs"), "int xs[3]");
        assert_eq!(p.c_decl(ip, "x"), "int *x");
        assert_eq!(p.c_decl(cstr, "s"), "const char *s");
    }
}
