//! What the two C parsers share: this crate's parser of one type name
//! (`parse`) and cembed-cdef's parser of whole declarations. Both read the
//! same tokens, apply the same bounds and parse declarators and constant
//! expressions by the same grammar; only what they build (offsets here,
//! spanned syntax trees there) and how they report an error (a message and
//! an offset here, diagnostics with labels and notes there) differ.
//!
//! So the state ([`Cursor`]) and the grammars ([`declarator`],
//! [`ConstExpr::expr`]) live here, once, and each parser supplies its own
//! node constructors and error rendering through [`Declarators`] and
//! [`ConstExpr`]. The error *messages* are defined here too
//! ([`ExprError::message`], [`DeclError::message`]): the two parsers must
//! word them the same. Where the parsers differ in behaviour the trait
//! asks (`is_type_name`: cdef knows typedef names; `param`: the specifier
//! lists differ).
//!
//! The specifier lists themselves stay in each parser: beyond the word
//! table they share (`words::spec_word`), almost every branch differs
//! (storage classes, struct and enum bodies, `int...` forms, unknown
//! names, spans), so a shared loop would be all hooks.
//!
//! Generic rather than dynamic: each parser gets its own copy of the grammar
//! compiled for its types, so the runtime (which uses only `parse`) carries
//! about the code it carried with a grammar of its own, and no vtables.

use std::ops::DerefMut;

use crate::lexer::{char_literal_value, parse_int_literal, TokKind, Token};
use crate::words::{is_ignored_ident, is_keyword, is_unsupported_ext, spec_word, SpecWord};

/// Deepest nesting of declarators, struct bodies and parenthesised
/// expressions accepted. Real declarations stay far below; the limit keeps a
/// hostile type string (`ffi.typeof("((((...")`) from overflowing the stack of
/// the host's thread.
pub const MAX_DEPTH: u32 = 64;

/// Most binary operators in one constant expression. A chain `1+1+1+...`
/// parses iteratively but builds a left-deep tree that every later pass
/// (evaluation, drop) walks recursively: the limit bounds that recursion
/// (and the work) far above what real `#define`s and enum values use.
pub const MAX_EXPR_OPS: u32 = 500;

/// Most derivations (pointers, arrays, functions) in one declarator. Each
/// level of a type has a name spelling the whole type, so the run-time type
/// registry's memory grows with the square of this (`"int" + "*" * 100000`
/// would need gigabytes).
pub const MAX_DECL_OPS: usize = 256;

/// The tokens being parsed and the position in them, with the state both
/// parsers bound their recursion by. Each parser derefs to its cursor, so
/// the token helpers are written once and called as the parser's own.
pub struct Cursor<'a> {
    pub text: &'a str,
    /// Ends with an `Eof` token, which `bump` never passes.
    pub toks: Vec<Token>,
    pub pos: usize,
    /// Current nesting of recursive constructs (see [`MAX_DEPTH`]).
    pub depth: u32,
    /// Binary operators the constant expression being parsed may still
    /// contain (`None`: not inside one; see [`MAX_EXPR_OPS`]).
    pub expr_budget: Option<u32>,
}

impl<'a> Cursor<'a> {
    /// `toks` as the lexer gives them; the identifiers CFFI removes before
    /// parsing (`words::is_ignored_ident`: `__cdecl` and the like) are
    /// dropped here.
    pub fn new(text: &'a str, toks: Vec<Token>) -> Self {
        let toks = toks
            .into_iter()
            .filter(|t| {
                !(t.kind == TokKind::Ident
                    && is_ignored_ident(&text[t.start as usize..t.end as usize]))
            })
            .collect();
        Cursor {
            text,
            toks,
            pos: 0,
            depth: 0,
            expr_budget: None,
        }
    }

    pub fn tok(&self) -> Token {
        self.toks[self.pos]
    }

    pub fn tok_at(&self, n: usize) -> Token {
        self.toks[(self.pos + n).min(self.toks.len() - 1)]
    }

    pub fn text_of(&self, t: Token) -> &'a str {
        &self.text[t.start as usize..t.end as usize]
    }

    pub fn cur_text(&self) -> &'a str {
        self.text_of(self.tok())
    }

    pub fn bump(&mut self) -> Token {
        let t = self.tok();
        if t.kind != TokKind::Eof {
            self.pos += 1;
        }
        t
    }

    pub fn is_punct(&self, p: &str) -> bool {
        let t = self.tok();
        t.kind == TokKind::Punct && self.text_of(t) == p
    }

    pub fn is_ident(&self, s: &str) -> bool {
        let t = self.tok();
        t.kind == TokKind::Ident && self.text_of(t) == s
    }

    pub fn eat_punct(&mut self, p: &str) -> bool {
        let yes = self.is_punct(p);
        if yes {
            self.bump();
        }
        yes
    }

    pub fn describe(&self, t: Token) -> String {
        match t.kind {
            TokKind::Eof => "end of input".into(),
            TokKind::LineEnd => "end of line".into(),
            TokKind::Hash => "`#`".into(),
            _ => format!("`{}`", self.text_of(t)),
        }
    }

    /// "expected X, found Y" for the current token.
    pub fn expected_message(&self, what: &str) -> String {
        format!("expected {what}, found {}", self.describe(self.tok()))
    }

    /// Where "expected X" points: `Some(previous token)` when the input
    /// ends or the next token is on a later line (the missing piece belongs
    /// after the previous token), `None` for the current token.
    pub fn expected_after(&self) -> Option<Token> {
        if self.pos == 0 {
            return None;
        }
        let t = self.tok();
        let prev = self.toks[self.pos - 1];
        let gap = &self.text[prev.end as usize..t.start as usize];
        (matches!(t.kind, TokKind::Eof | TokKind::LineEnd) || gap.contains('\n')).then_some(prev)
    }

    /// Enters one level of nesting: false past [`MAX_DEPTH`] (the parser
    /// reports it its way). Paired with `depth -= 1`.
    pub fn try_enter(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            return false;
        }
        self.depth += 1;
        true
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Plus,
    BitNot,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BinOp {
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

/// An error of the constant-expression grammar; the parser gives it a
/// position (and, in cdef, a label).
pub enum ExprError {
    /// More than [`MAX_EXPR_OPS`] binary operators (at the operator).
    TooLong,
    /// An integer literal `parse_int_literal` refuses, with its message.
    BadInt(String),
    /// A character literal `char_literal_value` refuses.
    BadChar,
    /// `sizeof`, which CFFI does not evaluate either.
    Sizeof,
}

impl ExprError {
    pub fn message(&self) -> String {
        match self {
            ExprError::TooLong => "constant expression too long".into(),
            ExprError::BadInt(m) => m.clone(),
            ExprError::BadChar => "unsupported character literal".into(),
            ExprError::Sizeof => "`sizeof` is not supported in cdef() constant expressions".into(),
        }
    }
}

/// A parser of integer constant expressions (`|`, `^`, `&`, shifts, `+ -`,
/// `* / %`, unary `- + ~`, parentheses, literals and names): the grammar is
/// [`ConstExpr::expr`]; the implementor builds the nodes and the errors.
pub trait ConstExpr<'a>: DerefMut<Target = Cursor<'a>> {
    type Expr;
    type Error;

    /// Enters one level of nesting (an error past [`MAX_DEPTH`]).
    fn enter(&mut self) -> Result<(), Self::Error>;
    /// "expected X, found Y" at the current token.
    fn expected(&self, what: &str) -> Self::Error;
    fn expr_error(&self, e: ExprError, at: Token) -> Self::Error;
    /// An identifier (an enumerator or a `#define`d constant) at the
    /// current token, consumed.
    fn name(&mut self) -> Result<Self::Expr, Self::Error>;
    /// `t`: the literal.
    fn int(&self, v: i128, t: Token) -> Self::Expr;
    /// `start`: the offset of the operator (nodes end at the last token
    /// consumed).
    fn unary(&self, op: UnOp, e: Self::Expr, start: u32) -> Self::Expr;
    /// `start`: the offset of the left operand.
    fn binary(&self, op: BinOp, lhs: Self::Expr, rhs: Self::Expr, start: u32) -> Self::Expr;

    /// One constant expression; a parenthesised sub-expression shares its
    /// enclosing one's operator budget.
    fn expr(&mut self) -> Result<Self::Expr, Self::Error>
    where
        Self: Sized,
    {
        let outermost = self.expr_budget.is_none();
        if outermost {
            self.expr_budget = Some(MAX_EXPR_OPS);
        }
        let r = binary(self, 0);
        if outermost {
            self.expr_budget = None;
        }
        r
    }
}

/// The binary operator at `t` and its precedence (higher binds tighter).
fn binop(c: &Cursor<'_>, t: Token) -> Option<(BinOp, u8)> {
    if t.kind != TokKind::Punct {
        return None;
    }
    Some(match c.text_of(t) {
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

/// Precedence climbing: operators of precedence `min_prec` and above.
fn binary<'a, P: ConstExpr<'a>>(p: &mut P, min_prec: u8) -> Result<P::Expr, P::Error> {
    let start = p.tok().start;
    let mut lhs = unary(p)?;
    while let Some((op, prec)) = binop(p, p.tok()) {
        if prec < min_prec {
            break;
        }
        match &mut p.expr_budget {
            Some(0) => return Err(p.expr_error(ExprError::TooLong, p.tok())),
            Some(n) => *n -= 1,
            None => {}
        }
        p.bump();
        let rhs = binary(p, prec + 1)?;
        lhs = p.binary(op, lhs, rhs, start);
    }
    Ok(lhs)
}

fn unary<'a, P: ConstExpr<'a>>(p: &mut P) -> Result<P::Expr, P::Error> {
    p.enter()?;
    let r = unary_inner(p);
    p.depth -= 1;
    r
}

fn unary_inner<'a, P: ConstExpr<'a>>(p: &mut P) -> Result<P::Expr, P::Error> {
    let t = p.tok();
    match t.kind {
        TokKind::Punct => {
            let op = match p.text_of(t) {
                "-" => UnOp::Neg,
                "+" => UnOp::Plus,
                "~" => UnOp::BitNot,
                "(" => {
                    p.bump();
                    let e = p.expr()?;
                    if !p.eat_punct(")") {
                        return Err(p.expected("`)`"));
                    }
                    return Ok(e);
                }
                _ => return Err(p.expected("an integer constant expression")),
            };
            p.bump();
            let e = unary(p)?;
            Ok(p.unary(op, e, t.start))
        }
        TokKind::Number => {
            p.bump();
            let v = parse_int_literal(p.text_of(t))
                .map_err(|m| p.expr_error(ExprError::BadInt(m), t))?;
            Ok(p.int(v as i128, t))
        }
        TokKind::Char => {
            p.bump();
            let v = char_literal_value(p.text_of(t))
                .ok_or_else(|| p.expr_error(ExprError::BadChar, t))?;
            Ok(p.int(v, t))
        }
        TokKind::Ident if p.cur_text() == "sizeof" => Err(p.expr_error(ExprError::Sizeof, t)),
        TokKind::Ident => p.name(),
        _ => Err(p.expected("an integer constant expression")),
    }
}

/// An array declarator's length.
#[derive(Clone, Debug, PartialEq)]
pub enum ArraySize<E> {
    /// `[]`
    Open,
    /// `[...]`
    DotDotDot,
    Expr(E),
}

/// An error of the declarator grammar, at the current token; the parser
/// gives it a position (and, in cdef, a label).
pub enum DeclError<'t> {
    /// `^` (Apple's blocks).
    Block,
    /// A declarator name where only an abstract declarator may stand.
    NameInType(&'t str),
    /// `f(...)`: CFFI, as C before C23, needs a named parameter first.
    VariadicFirst,
    /// `f(int x = 1)`.
    DefaultArg,
}

impl DeclError<'_> {
    pub fn message(&self) -> String {
        match self {
            DeclError::Block => "blocks (`^`) are not supported".into(),
            DeclError::NameInType(s) => format!("unexpected name `{s}` in a type"),
            DeclError::VariadicFirst => {
                "a variadic function needs at least one named parameter before `...`".into()
            }
            DeclError::DefaultArg => "default arguments are not supported".into(),
        }
    }
}

/// A parser of C declarators (pointers, arrays, functions with their
/// parameter lists, nested declarators), read inside-out into derivations
/// from the base outwards: the grammar is [`declarator`]; the implementor
/// builds the nodes, parses a parameter's specifiers (which differ: cdef
/// knows typedef names, storage classes and struct bodies) and builds the
/// errors.
pub trait Declarators<'a>: ConstExpr<'a> {
    /// A derivation (pointer, array, function).
    type Op;
    /// A declarator's name (`()` where only the type matters).
    type Name;
    type Param;

    fn decl_error(&self, e: DeclError<'_>) -> Self::Error;
    /// "`{name}` is not supported in cdef()" at the current token (a
    /// compiler extension, `words::is_unsupported_ext`).
    fn unsupported_ext(&self) -> Self::Error;
    /// More than [`MAX_DECL_OPS`] derivations in the declarator starting
    /// at `start`.
    fn decl_too_long(&self, start: u32) -> Self::Error;
    /// Is the identifier `s` a type name (then `(s` opens a parameter
    /// list, not a nested declarator)?
    fn is_type_name(&self, s: &str) -> bool;
    /// The declarator name at the current token (not a keyword), consumed.
    fn decl_name(&mut self) -> Result<Self::Name, Self::Error>;
    /// One parameter: specifiers, then `declarator(p, false)`.
    fn param(&mut self) -> Result<Self::Param, Self::Error>;
    /// `start`: the offset of the `*`; the qualifiers are consumed.
    fn pointer(&self, is_const: bool, is_volatile: bool, start: u32) -> Self::Op;
    /// `open`: the offset of the `[`; the `]` is consumed.
    fn array(&self, len: ArraySize<Self::Expr>, open: u32) -> Self::Op;
    /// `open`: the offset of the `(`; the `)` is consumed.
    fn function(&self, params: Vec<Self::Param>, variadic: bool, open: u32) -> Self::Op;
}

fn expect_punct<'a, P: ConstExpr<'a>>(p: &mut P, punct: &str) -> Result<(), P::Error> {
    if p.eat_punct(punct) {
        Ok(())
    } else {
        Err(p.expected(&format!("`{punct}`")))
    }
}

/// What [`declarator`] gives: the declarator's name (if any) and its
/// derivations, base outwards.
pub type Parsed<'a, P> = Result<
    (
        Option<<P as Declarators<'a>>::Name>,
        Vec<<P as Declarators<'a>>::Op>,
    ),
    <P as ConstExpr<'a>>::Error,
>;

/// A declarator: its name (if any) and its derivations, base outwards;
/// `abstract_only` forbids a name (type names). Whether a name is required
/// is the caller's check, so that its error can say what needed it.
pub fn declarator<'a, P: Declarators<'a>>(p: &mut P, abstract_only: bool) -> Parsed<'a, P> {
    p.enter()?;
    let r = declarator_inner(p, abstract_only);
    p.depth -= 1;
    r
}

fn declarator_inner<'a, P: Declarators<'a>>(p: &mut P, abstract_only: bool) -> Parsed<'a, P> {
    let start = p.tok().start;
    let mut ops = Vec::new();
    while p.is_punct("*") {
        let star = p.bump().start;
        let (mut is_const, mut is_volatile) = (false, false);
        while p.tok().kind == TokKind::Ident {
            // Not `_Atomic` or `inline`, which only a specifier list takes.
            match spec_word(p.cur_text()) {
                Some(SpecWord::Const) => is_const = true,
                Some(SpecWord::Volatile) => is_volatile = true,
                Some(SpecWord::Restrict) => {}
                _ => break,
            }
            p.bump();
        }
        ops.push(p.pointer(is_const, is_volatile, star));
    }
    if p.is_punct("^") {
        return Err(p.decl_error(DeclError::Block));
    }
    let t = p.tok();
    let (name, inner) = if t.kind == TokKind::Ident && !is_keyword(p.text_of(t)) {
        if is_unsupported_ext(p.text_of(t)) {
            return Err(p.unsupported_ext());
        }
        if abstract_only {
            return Err(p.decl_error(DeclError::NameInType(p.text_of(t))));
        }
        (Some(p.decl_name()?), Vec::new())
    } else if t.kind == TokKind::Ident && is_unsupported_ext(p.text_of(t)) {
        return Err(p.unsupported_ext());
    } else if p.is_punct("(") && nested_declarator_follows(p) {
        p.bump();
        let inner = declarator(p, abstract_only)?;
        expect_punct(p, ")")?;
        inner
    } else {
        (None, Vec::new())
    };
    let mut suffixes = Vec::new();
    loop {
        let open = p.tok().start;
        if p.eat_punct("[") {
            // C99 `[static 3]`, `[const]` in parameters: no effect on the
            // (decayed) parameter type.
            while p.tok().kind == TokKind::Ident
                && matches!(
                    p.cur_text(),
                    "static" | "const" | "volatile" | "restrict" | "__restrict"
                )
            {
                p.bump();
            }
            let len = if p.eat_punct("]") {
                ArraySize::Open
            } else if p.tok().kind == TokKind::Ellipsis {
                p.bump();
                expect_punct(p, "]")?;
                ArraySize::DotDotDot
            } else {
                let e = p.expr()?;
                expect_punct(p, "]")?;
                ArraySize::Expr(e)
            };
            suffixes.push(p.array(len, open));
        } else if p.eat_punct("(") {
            let (params, variadic) = params(p)?;
            suffixes.push(p.function(params, variadic, open));
        } else {
            break;
        }
    }
    // Base outwards: the pointers bind to the base first, then the suffixes
    // (the rightmost is closest to the base: `a[2][3]` is an array of 2
    // arrays of 3), then whatever the parenthesised inner declarator adds.
    ops.extend(suffixes.into_iter().rev());
    ops.extend(inner);
    if ops.len() > MAX_DECL_OPS {
        return Err(p.decl_too_long(start));
    }
    Ok((name, ops))
}

/// At a `(` in a declarator: does a nested declarator follow (`(*f)`,
/// `(name)`) rather than a parameter list (`(int)`, `()`)?
fn nested_declarator_follows<'a, P: Declarators<'a>>(p: &P) -> bool {
    let n = p.tok_at(1);
    match n.kind {
        TokKind::Punct => matches!(p.text_of(n), "*" | "(" | "[" | "^"),
        TokKind::Ident => {
            let s = p.text_of(n);
            !(is_keyword(s) || p.is_type_name(s))
        }
        _ => false,
    }
}

/// A parameter list after its `(`, through the `)`: the parameters and
/// whether it ends with `...`.
fn params<'a, P: Declarators<'a>>(p: &mut P) -> Result<(Vec<P::Param>, bool), P::Error> {
    let mut params = Vec::new();
    if p.eat_punct(")") {
        // `f()` means no parameters in CFFI (as `f(void)`).
        return Ok((params, false));
    }
    let next = p.tok_at(1);
    if p.is_ident("void") && next.kind == TokKind::Punct && p.text_of(next) == ")" {
        p.bump();
        p.bump();
        return Ok((params, false));
    }
    loop {
        if p.tok().kind == TokKind::Ellipsis {
            if params.is_empty() {
                return Err(p.decl_error(DeclError::VariadicFirst));
            }
            p.bump();
            expect_punct(p, ")")?;
            return Ok((params, true));
        }
        let param = p.param()?;
        if p.is_punct("=") {
            return Err(p.decl_error(DeclError::DefaultArg));
        }
        params.push(param);
        if p.eat_punct(",") {
            continue;
        }
        if p.eat_punct(")") {
            return Ok((params, false));
        }
        if is_unsupported_ext(p.cur_text()) {
            return Err(p.unsupported_ext());
        }
        return Err(p.expected("`,` or `)`"));
    }
}
