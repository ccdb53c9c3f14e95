//! The parser of one type name: C's specifier list and abstract declarator,
//! the grammar the cdef parser (cembed-cdef's `parser/`) applies to a
//! declaration, without what only declarations have (storage classes,
//! struct and enum bodies, initializers, typedef scoping).
//!
//! It gives the same type and the same messages as the cdef parser would on
//! these inputs. An identifier it does not know is taken as a typedef name,
//! left for the caller to resolve.
//!
//! The token cursor, the bounds, the declarator grammar and the grammar
//! of constant expressions are `grammar`'s, shared with the cdef parser;
//! this module builds their nodes without spans and reports errors as a
//! message and an offset. What stays here is the specifier list of a type
//! name: the cdef parser's also takes storage classes, parses struct and
//! enum bodies, knows typedef names and builds a spanned syntax tree for
//! diagnostics with codespan-reporting; the runtime, loaded into every
//! host, needs none of it. The two specifier loops share their word table
//! (`words::spec_word`) and are kept in line by cembed-cdef's
//! `tests/type_names.rs` (random type names of known structure through
//! both).

use std::ops::{Deref, DerefMut};

use crate::grammar::{declarator, ArraySize, ConstExpr, Cursor, DeclError, Declarators, ExprError};
pub(crate) use crate::grammar::{BinOp, UnOp};
use crate::lexer::{TokKind, Token};
use crate::words::{
    is_keyword, is_unsupported_ext, named_prim, spec_word, Kw, KwSet, Quals, SpecWord,
};

/// An error: the message and the byte offset it points at.
pub(crate) struct Error {
    pub message: String,
    pub at: u32,
}

type PResult<T> = Result<T, Error>;

/// The base type as written, before conversion.
pub(crate) enum Spec {
    Prim(&'static str),
    Named(String),
    Struct(String),
    Union(String),
    Enum(String),
    /// `...`, `int...`, `float...`
    DotDotDot,
}

pub(crate) struct DeclSpec {
    pub ty: Spec,
    /// Byte offset of the type specifier.
    pub ty_at: u32,
    pub is_const: bool,
}

pub(crate) enum Op {
    Pointer {
        is_const: bool,
    },
    /// `at`: the `[`.
    Array {
        len: ArrayLen,
        at: u32,
    },
    Function {
        params: Vec<Param>,
        variadic: bool,
    },
}

pub(crate) type ArrayLen = ArraySize<Expr>;

pub(crate) struct Param {
    pub spec: DeclSpec,
    pub ops: Vec<Op>,
    pub at: u32,
}

/// A constant expression; each node keeps the offset its errors point at.
pub(crate) enum Expr {
    Int(i128, u32),
    Name(String, u32),
    Unary(UnOp, Box<Expr>, u32),
    Binary(BinOp, Box<Expr>, Box<Expr>, u32),
}

impl Expr {
    pub fn at(&self) -> u32 {
        match self {
            Expr::Int(_, a)
            | Expr::Name(_, a)
            | Expr::Unary(_, _, a)
            | Expr::Binary(_, _, _, a) => *a,
        }
    }
}

#[derive(Copy, Clone, PartialEq, Eq)]
enum Ctx {
    TypeName,
    Param,
}

pub(crate) struct Parser<'a> {
    cur: Cursor<'a>,
}

// The parser is its token cursor plus the grammar: `self.tok()`,
// `self.bump()`, `self.depth` are the cursor's.
impl<'a> Deref for Parser<'a> {
    type Target = Cursor<'a>;
    fn deref(&self) -> &Cursor<'a> {
        &self.cur
    }
}

impl DerefMut for Parser<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.cur
    }
}

impl<'a> Parser<'a> {
    pub fn new(text: &'a str, toks: Vec<Token>) -> Self {
        Parser {
            cur: Cursor::new(text, toks),
        }
    }

    /// `spec abstract-declarator <end>`.
    pub fn type_name(&mut self) -> PResult<(DeclSpec, Vec<Op>)> {
        let spec = self.decl_spec(Ctx::TypeName)?;
        let (_, ops) = declarator(self, true)?;
        if self.tok().kind != TokKind::Eof {
            return Err(self.expected("the end of the type"));
        }
        Ok((spec, ops))
    }

    // ---- errors and helpers ------------------------------------------------

    fn err_here(&self, message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            at: self.tok().start,
        }
    }

    /// "expected X, found Y", pointing where the cdef parser points.
    fn expected(&self, what: &str) -> Error {
        Error {
            message: self.expected_message(what),
            at: self.expected_after().unwrap_or(self.tok()).start,
        }
    }

    fn ident(&mut self) -> PResult<String> {
        let t = self.tok();
        if t.kind == TokKind::Ident && !is_keyword(self.text_of(t)) {
            self.bump();
            Ok(self.text_of(t).to_string())
        } else {
            Err(self.expected("an identifier"))
        }
    }

    fn enter(&mut self) -> PResult<()> {
        if !self.try_enter() {
            return Err(self.err_here("declaration nested too deeply"));
        }
        Ok(())
    }

    fn unsupported_ext(&self) -> Error {
        self.err_here(format!("`{}` is not supported in cdef()", self.cur_text()))
    }

    // ---- specifiers --------------------------------------------------------

    fn decl_spec(&mut self, ctx: Ctx) -> PResult<DeclSpec> {
        let mut quals = Quals::default();
        let mut kws = KwSet::default();
        let mut kw_at: Option<u32> = None;
        let mut ty: Option<(Spec, u32)> = None;
        loop {
            let t = self.tok();
            if t.kind == TokKind::Ellipsis {
                if ty.is_some() {
                    break;
                }
                if !kws.is_empty() && kws.float + kws.double == 0 && kws.void + kws.bool_ != 0 {
                    return Err(self.err_here("`...` cannot follow this type"));
                }
                self.bump();
                ty = Some((Spec::DotDotDot, kw_at.unwrap_or(t.start)));
                kws = KwSet::default();
                kw_at = None;
                continue;
            }
            if t.kind != TokKind::Ident {
                break;
            }
            let s = self.text_of(t);
            let word = spec_word(s);
            if word.is_some_and(|w| quals.take(w, ctx == Ctx::Param)) {
                self.bump();
                continue;
            }
            match word {
                Some(SpecWord::Storage) => {
                    if self.tok_at(1).kind == TokKind::Str {
                        return Err(self.err_here(
                            "extern \"...\" is only allowed at the start of a declaration",
                        ));
                    }
                    return Err(self.err_here(format!("`{s}` is not allowed here")));
                }
                Some(SpecWord::Tag) => {
                    if ty.is_some() || !kws.is_empty() {
                        return Err(self.two_types());
                    }
                    let spec = if s == "enum" {
                        self.tagged(s)?
                    } else {
                        self.enter()?;
                        let r = self.tagged(s);
                        self.depth -= 1;
                        r?
                    };
                    ty = Some((spec, t.start));
                }
                Some(SpecWord::Extension) => return Err(self.unsupported_ext()),
                // `register` outside a parameter, the keywords CFFI refuses.
                Some(_) => return Err(self.err_here(format!("`{s}` is not supported in cdef()"))),
                None => {
                    if let Some(k) = Kw::from_ident(s) {
                        if ty.is_some() {
                            return Err(self.two_types());
                        }
                        kws.add(k);
                        kw_at.get_or_insert(t.start);
                        self.bump();
                        continue;
                    }
                    if ty.is_some() || !kws.is_empty() {
                        break; // a declarator name
                    }
                    let spec = match named_prim(s) {
                        Some(p) if s != "FILE" => Spec::Prim(p),
                        _ => Spec::Named(s.to_string()),
                    };
                    ty = Some((spec, t.start));
                    self.bump();
                }
            }
        }
        let (ty, ty_at) = match ty {
            Some(t) => t,
            None if !kws.is_empty() => match kws.normalise() {
                Some(p) => (Spec::Prim(p), kw_at.unwrap_or(0)),
                None => {
                    return Err(Error {
                        message: "invalid combination of type specifiers".into(),
                        at: kw_at.unwrap_or(0),
                    })
                }
            },
            None => {
                let what = if quals.is_const || quals.is_volatile || ctx == Ctx::TypeName {
                    "a type name"
                } else {
                    "a parameter type"
                };
                return Err(self.expected(what));
            }
        };
        Ok(DeclSpec {
            ty,
            ty_at,
            is_const: quals.is_const,
        })
    }

    fn two_types(&self) -> Error {
        self.err_here("two or more data types in declaration")
    }

    /// `struct tag`, `union tag`, `enum tag` (a body is an error).
    fn tagged(&mut self, kw: &str) -> PResult<Spec> {
        let kw_at = self.bump().start;
        if is_unsupported_ext(self.cur_text()) {
            return Err(self.unsupported_ext());
        }
        let tag = if self.tok().kind == TokKind::Ident {
            Some(self.ident()?)
        } else {
            None
        };
        if self.is_punct("{") {
            // Reported here, at the keyword: the cdef parser would parse the
            // body first and then give the same message.
            return Err(Error {
                message: if kw == "enum" {
                    "an enum body is not allowed in a type name".into()
                } else {
                    "a struct or union body is not allowed in a type name".into()
                },
                at: kw_at,
            });
        }
        let Some(tag) = tag else {
            return Err(self.expected(&if kw == "enum" {
                "an enum tag or `{`".to_string()
            } else {
                format!("a {kw} tag or `{{`")
            }));
        };
        Ok(match kw {
            "struct" => Spec::Struct(tag),
            "union" => Spec::Union(tag),
            _ => Spec::Enum(tag),
        })
    }
}

/// Constant expressions (array lengths): the grammar is `grammar`'s.
impl<'a> ConstExpr<'a> for Parser<'a> {
    type Expr = Expr;
    type Error = Error;

    fn enter(&mut self) -> PResult<()> {
        Parser::enter(self)
    }

    fn expected(&self, what: &str) -> Error {
        Parser::expected(self, what)
    }

    fn expr_error(&self, e: ExprError, at: Token) -> Error {
        Error {
            message: e.message(),
            at: at.start,
        }
    }

    fn name(&mut self) -> PResult<Expr> {
        let at = self.tok().start;
        Ok(Expr::Name(self.ident()?, at))
    }

    fn int(&self, v: i128, t: Token) -> Expr {
        Expr::Int(v, t.start)
    }

    fn unary(&self, op: UnOp, e: Expr, start: u32) -> Expr {
        Expr::Unary(op, Box::new(e), start)
    }

    fn binary(&self, op: BinOp, lhs: Expr, rhs: Expr, start: u32) -> Expr {
        Expr::Binary(op, Box::new(lhs), Box::new(rhs), start)
    }
}

/// Declarators: the grammar is `grammar`'s. Only the type matters here:
/// names are dropped, and so is `volatile` (CFFI's types ignore it).
impl<'a> Declarators<'a> for Parser<'a> {
    type Op = Op;
    type Name = ();
    type Param = Param;

    fn decl_error(&self, e: DeclError<'_>) -> Error {
        self.err_here(e.message())
    }

    fn unsupported_ext(&self) -> Error {
        Parser::unsupported_ext(self)
    }

    fn decl_too_long(&self, start: u32) -> Error {
        Error {
            message: "declarator too long".into(),
            at: start,
        }
    }

    /// No typedefs are known here (an unknown name is taken as one): only
    /// the named primitives are type names.
    fn is_type_name(&self, s: &str) -> bool {
        named_prim(s).is_some() || s == "FILE"
    }

    fn decl_name(&mut self) -> PResult<()> {
        self.bump();
        Ok(())
    }

    fn param(&mut self) -> PResult<Param> {
        let at = self.tok().start;
        let spec = self.decl_spec(Ctx::Param)?;
        let (_, ops) = declarator(self, false)?;
        Ok(Param { spec, ops, at })
    }

    fn pointer(&self, is_const: bool, _is_volatile: bool, _start: u32) -> Op {
        Op::Pointer { is_const }
    }

    fn array(&self, len: ArrayLen, open: u32) -> Op {
        Op::Array { len, at: open }
    }

    fn function(&self, params: Vec<Param>, variadic: bool, _open: u32) -> Op {
        Op::Function { params, variadic }
    }
}
