//! The syntax tree of a cdef source, with byte spans. It keeps what was written
//! (including typedef names); [`crate::resolve`] turns it into the model.

use cembed_model::{RecordKind, Span};

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TopDecl {
    /// `#define NAME value`.
    Define {
        name: Ident,
        value: DefineValue,
        span: Span,
    },
    /// An ordinary declaration (`int f(int);`, `typedef ...;`, `struct s {..};`).
    Decl(Declaration),
    /// `extern "Python" <decl>` or `extern "Python" { <decls> }`.
    ExternPython {
        plus_c: bool,
        decls: Vec<Declaration>,
        span: Span,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum DefineValue {
    /// The literal's value (negated if written with `-`).
    Int(i128),
    /// `#define NAME ...`
    DotDotDot,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    Typedef,
    Static,
    Extern,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Declaration {
    pub spec: DeclSpec,
    pub declarators: Vec<InitDeclarator>,
    pub span: Span,
}

/// A declarator of a top-level declaration, with its initializer if any.
#[derive(Clone, Debug, PartialEq)]
pub struct InitDeclarator {
    pub decl: Declarator,
    pub init: Option<Initializer>,
}

/// CFFI accepts initializers in cdef(): an integer literal on an integer-typed
/// declaration makes an integer constant (`static const int N = 42;`), any
/// other initializer is ignored.
#[derive(Clone, Debug, PartialEq)]
pub enum Initializer {
    /// An integer literal, possibly negated.
    Int(i128, Span),
    /// Anything else (skipped up to the next `,` or `;` outside brackets).
    Other(Span),
}

/// Storage class, qualifiers and the type specifier of a declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct DeclSpec {
    pub storage: Option<(Storage, Span)>,
    pub is_const: bool,
    pub is_volatile: bool,
    pub ty: TypeSpec,
    pub ty_span: Span,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeSpec {
    /// A primitive, already normalised to CFFI's name (`"unsigned int"`,
    /// `"int32_t"`, `"_Bool"` for `bool`, `"void"`).
    Prim(&'static str),
    /// A typedef name declared earlier.
    Named(String),
    /// `int...` (in `typedef int... foo_t;`).
    DotDotDotInt,
    /// `float...` / `double...`.
    DotDotDotFloat,
    /// `...` (in `typedef ... foo_t;`).
    DotDotDot,
    Record(RecordSpec),
    Enum(EnumSpec),
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordSpec {
    pub kind: RecordKind,
    pub tag: Option<Ident>,
    pub body: Option<RecordBody>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordBody {
    pub fields: Vec<FieldDecl>,
    /// A `...;` member was present.
    pub partial: bool,
    /// The body's tokens joined by single spaces (comments and layout
    /// removed): two definitions with the same text are the same definition.
    pub text: String,
}

/// One member declaration: `int a, *b, c : 3;`. No declarators means an
/// anonymous struct/union member (`union { int i; float f; };`).
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    pub spec: DeclSpec,
    pub declarators: Vec<FieldDeclarator>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldDeclarator {
    pub decl: Declarator,
    pub bits: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumSpec {
    pub tag: Option<Ident>,
    pub body: Option<EnumBody>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumBody {
    pub items: Vec<EnumItem>,
    /// `...` was among the enumerators (or an enumerator was `= ...`).
    pub partial: bool,
    /// As [`RecordBody::text`].
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumItem {
    pub name: Ident,
    pub value: EnumValue,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EnumValue {
    Implicit,
    Expr(Expr),
    /// `NAME = ...`: the compiler knows.
    DotDotDot,
}

/// A declarator: the name (absent in abstract declarators and unnamed
/// parameters) and the type operators **from the base type outwards**: for
/// `int *a[3]` (array of 3 pointers to int) they are `[Pointer, Array(3)]`, for
/// `int (*f)(void)` `[Function, Pointer]`. C's inside-out reading is undone by
/// the parser, so building the type is a left-to-right fold.
#[derive(Clone, Debug, PartialEq)]
pub struct Declarator {
    pub name: Option<Ident>,
    pub ops: Vec<DeclOp>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DeclOp {
    /// `*`, with the qualifiers written after it (they qualify the pointer).
    Pointer {
        is_const: bool,
        is_volatile: bool,
        span: Span,
    },
    Array {
        len: ArraySize,
        span: Span,
    },
    Function {
        params: Vec<Param>,
        variadic: bool,
        span: Span,
    },
}

/// `[]`, `[...]` or `[expr]` (the shared declarator grammar's).
pub type ArraySize = cembed_typename::grammar::ArraySize<Expr>;

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub spec: DeclSpec,
    pub decl: Declarator,
    pub span: Span,
}

/// A constant integer expression (enum values, array sizes, bitfield widths).
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Int(i128, Span),
    /// An enumerator or an integer `#define` declared earlier.
    Name(Ident),
    Unary(UnOp, Box<Expr>, Span),
    Binary(BinOp, Box<Expr>, Box<Expr>, Span),
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Int(_, s) | Expr::Unary(_, _, s) | Expr::Binary(_, _, _, s) => *s,
            Expr::Name(i) => i.span,
        }
    }
}

// The operators are the run-time type-name parser's: both parse constant
// expressions by cembed-typename's shared grammar.
pub use cembed_typename::grammar::{BinOp, UnOp};
