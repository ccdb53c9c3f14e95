//! The parser of one type name: C's specifier list and abstract declarator,
//! the grammar the cdef parser (cembed-cdef's `parser/`) applies to a
//! declaration, without what only declarations have (storage classes,
//! struct and enum bodies, initializers, typedef scoping).
//!
//! It gives the same type and the same messages as the cdef parser would on
//! these inputs: both read the same tokens with the same keyword tables
//! (`words`), and the bounds below are the cdef parser's. An identifier it
//! does not know is taken as a typedef name, left for the caller to resolve.
//!
//! Why a second implementation of the declarator grammar: the cdef parser
//! builds a spanned syntax tree for diagnostics, parses struct and enum
//! bodies and tracks typedef scopes, and pulls codespan-reporting in; the
//! runtime, loaded into every host, needs none of it. The two are kept in
//! line by cembed-cdef's `tests/type_names.rs` (random type names of known
//! structure through both).

use crate::lexer::{char_literal_value, parse_int_literal, TokKind, Token};
use crate::words::{is_ignored_ident, is_keyword, is_unsupported_ext, named_prim, Kw, KwSet};

/// An error: the message and the byte offset it points at.
pub(crate) struct Error {
    pub message: String,
    pub at: u32,
}

type PResult<T> = Result<T, Error>;

/// Deepest nesting of declarators and parenthesised expressions (as the
/// cdef parser's `MAX_DEPTH`): a hostile type string (`"((((..."`) must not
/// overflow the stack of the host's thread.
const MAX_DEPTH: u32 = 64;

/// Most binary operators in one constant expression (the cdef parser's
/// `MAX_EXPR_OPS`): bounds the recursion of evaluating and dropping it.
const MAX_EXPR_OPS: u32 = 500;

/// Most derivations in one declarator (the cdef parser's `MAX_DECL_OPS`):
/// every level of a type gets a name spelling the whole type at run time.
const MAX_DECL_OPS: usize = 256;

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

pub(crate) enum ArrayLen {
    Open,
    DotDotDot,
    Expr(Expr),
}

pub(crate) struct Param {
    pub spec: DeclSpec,
    pub ops: Vec<Op>,
    pub at: u32,
}

#[derive(Copy, Clone)]
pub(crate) enum UnOp {
    Neg,
    Plus,
    BitNot,
}

#[derive(Copy, Clone)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Shl,
    Shr,
    BitAnd,
    BitOr,
    BitXor,
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
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: u32,
    expr_budget: Option<u32>,
}

impl<'a> Parser<'a> {
    pub fn new(text: &'a str, toks: Vec<Token>) -> Self {
        let toks = toks
            .into_iter()
            .filter(|t| {
                !(t.kind == TokKind::Ident
                    && is_ignored_ident(&text[t.start as usize..t.end as usize]))
            })
            .collect();
        Parser {
            text,
            toks,
            pos: 0,
            depth: 0,
            expr_budget: None,
        }
    }

    /// `spec abstract-declarator <end>`.
    pub fn type_name(&mut self) -> PResult<(DeclSpec, Vec<Op>)> {
        let spec = self.decl_spec(Ctx::TypeName)?;
        let ops = self.declarator(true)?;
        if self.tok().kind != TokKind::Eof {
            return Err(self.expected("the end of the type"));
        }
        Ok((spec, ops))
    }

    // ---- tokens ------------------------------------------------------------

    fn tok(&self) -> Token {
        self.toks[self.pos]
    }

    fn tok_at(&self, n: usize) -> Token {
        self.toks[(self.pos + n).min(self.toks.len() - 1)]
    }

    fn text_of(&self, t: Token) -> &'a str {
        &self.text[t.start as usize..t.end as usize]
    }

    fn cur_text(&self) -> &'a str {
        self.text_of(self.tok())
    }

    fn bump(&mut self) -> Token {
        let t = self.tok();
        if t.kind != TokKind::Eof {
            self.pos += 1;
        }
        t
    }

    fn is_punct(&self, p: &str) -> bool {
        let t = self.tok();
        t.kind == TokKind::Punct && self.text_of(t) == p
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        let yes = self.is_punct(p);
        if yes {
            self.bump();
        }
        yes
    }

    fn describe(&self, t: Token) -> String {
        match t.kind {
            TokKind::Eof => "end of input".into(),
            TokKind::LineEnd => "end of line".into(),
            TokKind::Hash => "`#`".into(),
            _ => format!("`{}`", self.text_of(t)),
        }
    }

    fn err_here(&self, message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            at: self.tok().start,
        }
    }

    /// "expected X, found Y", pointing where the cdef parser points: at the
    /// previous token when the input ends or the next token is on a later
    /// line.
    fn expected(&self, what: &str) -> Error {
        let t = self.tok();
        let message = format!("expected {what}, found {}", self.describe(t));
        if self.pos > 0 {
            let prev = self.toks[self.pos - 1];
            let gap = &self.text[prev.end as usize..t.start as usize];
            if matches!(t.kind, TokKind::Eof | TokKind::LineEnd) || gap.contains('\n') {
                return Error {
                    message,
                    at: prev.start,
                };
            }
        }
        Error {
            message,
            at: t.start,
        }
    }

    fn expect_punct(&mut self, p: &str) -> PResult<()> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{p}`")))
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
        if self.depth >= MAX_DEPTH {
            return Err(self.err_here("declaration nested too deeply"));
        }
        self.depth += 1;
        Ok(())
    }

    fn unsupported_ext(&self) -> Error {
        self.err_here(format!("`{}` is not supported in cdef()", self.cur_text()))
    }

    // ---- specifiers --------------------------------------------------------

    fn decl_spec(&mut self, ctx: Ctx) -> PResult<DeclSpec> {
        let mut is_const = false;
        let mut volatile = false;
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
            match s {
                "typedef" | "static" | "extern" => {
                    if self.tok_at(1).kind == TokKind::Str {
                        return Err(self.err_here(
                            "extern \"...\" is only allowed at the start of a declaration",
                        ));
                    }
                    return Err(self.err_here(format!("`{s}` is not allowed here")));
                }
                "const" | "__const" | "__const__" => {
                    is_const = true;
                    self.bump();
                }
                "volatile" | "__volatile" | "__volatile__" => {
                    volatile = true;
                    self.bump();
                }
                "restrict" | "__restrict" | "__restrict__" | "_Atomic" => {
                    self.bump();
                }
                "struct" | "union" | "enum" => {
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
                _ if is_unsupported_ext(s) => return Err(self.unsupported_ext()),
                "inline" | "__inline" | "__inline__" => {
                    self.bump();
                }
                "register" if ctx == Ctx::Param => {
                    self.bump();
                }
                "_Noreturn" | "register" | "auto" | "_Thread_local" | "__thread" | "_Alignas"
                | "__extension__" | "__complex__" | "_Imaginary" => {
                    return Err(self.err_here(format!("`{s}` is not supported in cdef()")))
                }
                _ => {
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
                let what = if is_const || volatile || ctx == Ctx::TypeName {
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
            is_const,
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

    // ---- declarators ---------------------------------------------------------

    /// The derivations of a declarator, base outwards; `abstract_only`
    /// forbids a name (a type name's own declarator; parameters may have one).
    fn declarator(&mut self, abstract_only: bool) -> PResult<Vec<Op>> {
        self.enter()?;
        let r = self.declarator_inner(abstract_only);
        self.depth -= 1;
        r
    }

    fn declarator_inner(&mut self, abstract_only: bool) -> PResult<Vec<Op>> {
        let start = self.tok().start;
        let mut ops = Vec::new();
        while self.eat_punct("*") {
            let mut is_const = false;
            while self.tok().kind == TokKind::Ident {
                match self.cur_text() {
                    "const" | "__const" | "__const__" => is_const = true,
                    "volatile" | "__volatile" | "__volatile__" | "restrict" | "__restrict"
                    | "__restrict__" => {}
                    _ => break,
                }
                self.bump();
            }
            ops.push(Op::Pointer { is_const });
        }
        if self.is_punct("^") {
            return Err(self.err_here("blocks (`^`) are not supported"));
        }
        let t = self.tok();
        let inner = if t.kind == TokKind::Ident && !is_keyword(self.text_of(t)) {
            if is_unsupported_ext(self.text_of(t)) {
                return Err(self.unsupported_ext());
            }
            if abstract_only {
                return Err(
                    self.err_here(format!("unexpected name `{}` in a type", self.text_of(t)))
                );
            }
            self.bump();
            Vec::new()
        } else if t.kind == TokKind::Ident && is_unsupported_ext(self.text_of(t)) {
            return Err(self.unsupported_ext());
        } else if self.is_punct("(") && self.nested_declarator_follows() {
            self.bump();
            let inner = self.declarator(abstract_only)?;
            self.expect_punct(")")?;
            inner
        } else {
            Vec::new()
        };
        let mut suffixes = Vec::new();
        loop {
            let open = self.tok().start;
            if self.eat_punct("[") {
                // C99 `[static 3]`, `[const]`: no effect on the type.
                while self.tok().kind == TokKind::Ident
                    && matches!(
                        self.cur_text(),
                        "static" | "const" | "volatile" | "restrict" | "__restrict"
                    )
                {
                    self.bump();
                }
                let len = if self.eat_punct("]") {
                    ArrayLen::Open
                } else if self.tok().kind == TokKind::Ellipsis {
                    self.bump();
                    self.expect_punct("]")?;
                    ArrayLen::DotDotDot
                } else {
                    let e = self.expr()?;
                    self.expect_punct("]")?;
                    ArrayLen::Expr(e)
                };
                suffixes.push(Op::Array { len, at: open });
            } else if self.eat_punct("(") {
                let (params, variadic) = self.params()?;
                suffixes.push(Op::Function { params, variadic });
            } else {
                break;
            }
        }
        // Base outwards: the pointers bind to the base first, then the
        // suffixes (the rightmost is closest to the base: `a[2][3]` is an
        // array of 2 arrays of 3), then what the parenthesised part adds.
        ops.extend(suffixes.into_iter().rev());
        ops.extend(inner);
        if ops.len() > MAX_DECL_OPS {
            return Err(Error {
                message: "declarator too long".into(),
                at: start,
            });
        }
        Ok(ops)
    }

    /// At a `(` in a declarator: does a nested declarator follow (`(*f)`,
    /// `(name)`) rather than a parameter list (`(int)`, `()`)?
    fn nested_declarator_follows(&self) -> bool {
        let n = self.tok_at(1);
        match n.kind {
            TokKind::Punct => matches!(self.text_of(n), "*" | "(" | "[" | "^"),
            TokKind::Ident => {
                let s = self.text_of(n);
                !(is_keyword(s) || named_prim(s).is_some() || s == "FILE")
            }
            _ => false,
        }
    }

    fn params(&mut self) -> PResult<(Vec<Param>, bool)> {
        let mut params = Vec::new();
        if self.eat_punct(")") {
            return Ok((params, false)); // `f()` is `f(void)` in CFFI
        }
        let next = self.tok_at(1);
        if self.tok().kind == TokKind::Ident
            && self.cur_text() == "void"
            && next.kind == TokKind::Punct
            && self.text_of(next) == ")"
        {
            self.bump();
            self.bump();
            return Ok((params, false));
        }
        loop {
            if self.tok().kind == TokKind::Ellipsis {
                if params.is_empty() {
                    return Err(self.err_here(
                        "a variadic function needs at least one named parameter before `...`",
                    ));
                }
                self.bump();
                self.expect_punct(")")?;
                return Ok((params, true));
            }
            let at = self.tok().start;
            let spec = self.decl_spec(Ctx::Param)?;
            let ops = self.declarator(false)?;
            if self.is_punct("=") {
                return Err(self.err_here("default arguments are not supported"));
            }
            params.push(Param { spec, ops, at });
            if self.eat_punct(",") {
                continue;
            }
            if self.eat_punct(")") {
                return Ok((params, false));
            }
            if is_unsupported_ext(self.cur_text()) {
                return Err(self.unsupported_ext());
            }
            return Err(self.expected("`,` or `)`"));
        }
    }

    // ---- constant expressions (array lengths) --------------------------------

    fn expr(&mut self) -> PResult<Expr> {
        // A parenthesised sub-expression shares its enclosing one's budget.
        let outermost = self.expr_budget.is_none();
        if outermost {
            self.expr_budget = Some(MAX_EXPR_OPS);
        }
        let r = self.binary(0);
        if outermost {
            self.expr_budget = None;
        }
        r
    }

    fn binop(&self) -> Option<(BinOp, u8)> {
        let t = self.tok();
        if t.kind != TokKind::Punct {
            return None;
        }
        Some(match self.text_of(t) {
            "|" => (BinOp::BitOr, 1),
            "^" => (BinOp::BitXor, 2),
            "&" => (BinOp::BitAnd, 3),
            "<<" => (BinOp::Shl, 4),
            ">>" => (BinOp::Shr, 4),
            "+" => (BinOp::Add, 5),
            "-" => (BinOp::Sub, 5),
            "*" => (BinOp::Mul, 6),
            "/" => (BinOp::Div, 6),
            "%" => (BinOp::Rem, 6),
            _ => return None,
        })
    }

    fn binary(&mut self, min_prec: u8) -> PResult<Expr> {
        let start = self.tok().start;
        let mut lhs = self.unary()?;
        while let Some((op, prec)) = self.binop() {
            if prec < min_prec {
                break;
            }
            match &mut self.expr_budget {
                Some(0) => return Err(self.err_here("constant expression too long")),
                Some(n) => *n -= 1,
                None => {}
            }
            self.bump();
            let rhs = self.binary(prec + 1)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs), start);
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.unary_inner();
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self) -> PResult<Expr> {
        let t = self.tok();
        match t.kind {
            TokKind::Punct => {
                let op = match self.text_of(t) {
                    "-" => UnOp::Neg,
                    "+" => UnOp::Plus,
                    "~" => UnOp::BitNot,
                    "(" => {
                        self.bump();
                        let e = self.expr()?;
                        self.expect_punct(")")?;
                        return Ok(e);
                    }
                    _ => return Err(self.expected("an integer constant expression")),
                };
                self.bump();
                let e = self.unary()?;
                Ok(Expr::Unary(op, Box::new(e), t.start))
            }
            TokKind::Number => {
                self.bump();
                let v = parse_int_literal(self.text_of(t)).map_err(|message| Error {
                    message,
                    at: t.start,
                })?;
                Ok(Expr::Int(v as i128, t.start))
            }
            TokKind::Char => {
                self.bump();
                let v = char_literal_value(self.text_of(t)).ok_or(Error {
                    message: "unsupported character literal".into(),
                    at: t.start,
                })?;
                Ok(Expr::Int(v, t.start))
            }
            TokKind::Ident if self.cur_text() == "sizeof" => {
                Err(self.err_here("`sizeof` is not supported in cdef() constant expressions"))
            }
            TokKind::Ident => Ok(Expr::Name(self.ident()?, t.start)),
            _ => Err(self.expected("an integer constant expression")),
        }
    }
}
