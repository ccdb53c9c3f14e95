//! Recursive-descent parser for CFFI's cdef language.
//!
//! Hand-written on purpose: C declarations need the "lexer hack" (whether an
//! identifier is a typedef name decides how `(` and identifiers parse, so the
//! parser must know the typedefs declared so far, across sources), declarators
//! read inside-out, and CFFI adds its own `...` forms (`int a[...]`,
//! `typedef int... t;`, `...;` in structs, `#define X ...`). A generic parser
//! generator handles none of these well, and a hand-written parser gives precise
//! spans and messages for every error.

use std::collections::HashSet;

use cembed_model::{RecordKind, Span};

use crate::ast::*;
use crate::diag::Diag;
use crate::lexer::{parse_int_literal, TokKind, Token};
use crate::prims::{named_prim, Kw, KwSet};

type PResult<T> = Result<T, Diag>;

/// Where a specifier list appears: decides which storage classes are allowed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Ctx {
    Top,
    Field,
    Param,
    /// A bare type name (`parse_type_expr`).
    TypeName,
}

pub struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    source: u32,
    /// Typedef names declared so far (by earlier sources too).
    typedefs: &'a mut HashSet<String>,
    /// Type-expression mode: an unknown identifier in type position is taken as
    /// a typedef name (the caller resolves it against its own tables).
    lenient: bool,
    /// Current nesting of recursive constructs (see [`MAX_DEPTH`]).
    depth: u32,
    /// Binary operators the constant expression being parsed may still
    /// contain (`None`: not inside one; see [`MAX_EXPR_OPS`]).
    expr_budget: Option<u32>,
}

/// Deepest nesting of declarators, struct bodies and parenthesised
/// expressions accepted. Real declarations stay far below; the limit keeps a
/// hostile type string (`ffi.typeof("((((...")`) from overflowing the stack of
/// the host's thread.
const MAX_DEPTH: u32 = 64;

/// Most binary operators in one constant expression. A chain `1+1+1+...`
/// parses iteratively but builds a left-deep tree that every later pass
/// (evaluation, drop) walks recursively: the limit bounds that recursion
/// (and the work) far above what real `#define`s and enum values use.
const MAX_EXPR_OPS: u32 = 500;

/// Most derivations (pointers, arrays, functions) in one declarator. Each
/// level of a type has a name spelling the whole type, so the run-time type
/// registry's memory grows with the square of this (`"int" + "*" * 100000`
/// would need gigabytes).
const MAX_DECL_OPS: usize = 256;

/// Identifiers CFFI removes before parsing on non-Windows platforms.
fn is_ignored_ident(s: &str) -> bool {
    matches!(s, "__cdecl" | "__stdcall" | "WINAPI")
}

impl<'a> Parser<'a> {
    pub fn new(
        text: &'a str,
        toks: Vec<Token>,
        source: u32,
        typedefs: &'a mut HashSet<String>,
        lenient: bool,
    ) -> Self {
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
            source,
            typedefs,
            lenient,
            depth: 0,
            expr_budget: None,
        }
    }

    // ---- token helpers -------------------------------------------------

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

    fn span_of(&self, t: Token) -> Span {
        Span {
            source: self.source,
            start: t.start,
            end: t.end,
        }
    }

    /// Span from `start` (a byte offset) to the end of the last consumed token.
    fn span_from(&self, start: u32) -> Span {
        let end = if self.pos == 0 {
            start
        } else {
            self.toks[self.pos - 1].end.max(start)
        };
        Span {
            source: self.source,
            start,
            end,
        }
    }

    fn is_punct(&self, p: &str) -> bool {
        let t = self.tok();
        t.kind == TokKind::Punct && self.text_of(t) == p
    }

    fn is_ident(&self, s: &str) -> bool {
        let t = self.tok();
        t.kind == TokKind::Ident && self.text_of(t) == s
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn describe(&self, t: Token) -> String {
        match t.kind {
            TokKind::Eof => "end of input".into(),
            TokKind::LineEnd => "end of line".into(),
            TokKind::Hash => "`#`".into(),
            _ => format!("`{}`", self.text_of(t)),
        }
    }

    fn err_here(&self, message: impl Into<String>, label: impl Into<String>) -> Diag {
        let t = self.tok();
        Diag::new(message, self.span_of(t), label)
    }

    fn expected(&self, what: &str) -> Diag {
        let t = self.tok();
        let message = format!("expected {what}, found {}", self.describe(t));
        // When the input ends or the next token is on a later line, the
        // missing piece belongs after the previous token: point there.
        if self.pos > 0 {
            let prev = self.toks[self.pos - 1];
            let gap = &self.text[prev.end as usize..t.start as usize];
            if matches!(t.kind, TokKind::Eof | TokKind::LineEnd) || gap.contains('\n') {
                return Diag::new(
                    message,
                    self.span_of(prev),
                    format!("expected {what} after this"),
                );
            }
        }
        self.err_here(message, format!("expected {what}"))
    }

    fn expect_punct(&mut self, p: &str) -> PResult<Token> {
        if self.is_punct(p) {
            Ok(self.bump())
        } else {
            Err(self.expected(&format!("`{p}`")))
        }
    }

    fn ident(&mut self) -> PResult<Ident> {
        let t = self.tok();
        if t.kind == TokKind::Ident && !is_keyword(self.text_of(t)) {
            self.bump();
            Ok(Ident {
                name: self.text_of(t).to_string(),
                span: self.span_of(t),
            })
        } else {
            Err(self.expected("an identifier"))
        }
    }

    /// Is `s` a type name here: a typedef declared so far or a named primitive.
    fn is_type_name(&self, s: &str) -> bool {
        self.typedefs.contains(s) || named_prim(s).is_some() || s == "FILE"
    }

    /// Enters one level of nesting; errors past [`MAX_DEPTH`].
    fn enter(&mut self) -> PResult<()> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err_here(
                "declaration nested too deeply",
                format!("more than {MAX_DEPTH} levels of nesting"),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    // ---- top level -------------------------------------------------------

    pub fn parse_source(&mut self) -> PResult<Vec<TopDecl>> {
        let mut out = Vec::new();
        loop {
            let t = self.tok();
            match t.kind {
                TokKind::Eof => return Ok(out),
                TokKind::Hash => out.extend(self.directive()?),
                TokKind::Punct if self.text_of(t) == ";" => {
                    // A stray `;` is accepted by pycparser (and so by CFFI).
                    self.bump();
                }
                TokKind::Ident
                    if self.text_of(t) == "extern" && self.tok_at(1).kind == TokKind::Str =>
                {
                    out.push(self.extern_block()?)
                }
                _ => {
                    let d = self.declaration(Ctx::Top)?;
                    out.push(TopDecl::Decl(d));
                }
            }
        }
    }

    /// A `#` line. `None` for the lines CFFI ignores: `#line N "file"` and
    /// `# N "file"` (as the C preprocessor writes them), `#pragma`, and the
    /// empty directive `#`.
    fn directive(&mut self) -> PResult<Option<TopDecl>> {
        let hash = self.bump();
        let t = self.tok();
        let word = self.cur_text();
        let ignored = match t.kind {
            TokKind::LineEnd | TokKind::Eof | TokKind::Number => true,
            TokKind::Ident => matches!(word, "line" | "pragma"),
            _ => false,
        };
        if ignored {
            while !matches!(self.tok().kind, TokKind::LineEnd | TokKind::Eof) {
                self.bump();
            }
            self.bump();
            return Ok(None);
        }
        if t.kind != TokKind::Ident {
            return Err(self.err_here(
                "unsupported preprocessor line",
                "cdef() only supports `#define NAME <integer>` and `#define NAME ...`",
            ));
        }
        if word != "define" {
            let msg = match word {
                "include" => "#include is not supported in cdef(): write out the declarations \
                              you need (the header belongs in set_source())"
                    .to_string(),
                _ => format!("unsupported preprocessor directive `#{word}`"),
            };
            return Err(
                Diag::new(msg, self.span_from_tokens(hash, t), "not supported here").with_note(
                    "cdef() only supports `#define NAME <integer literal>` and `#define NAME ...`",
                ),
            );
        }
        self.bump();
        let name = self.ident()?;
        // The rest of the line is the value.
        let vstart = self.pos;
        while !matches!(self.tok().kind, TokKind::LineEnd | TokKind::Eof) {
            self.bump();
        }
        let vtoks: Vec<Token> = self.toks[vstart..self.pos].to_vec();
        let line_end = self.bump();
        let span = Span {
            source: self.source,
            start: hash.start,
            end: vtoks.last().map(|t| t.end).unwrap_or(name.span.end),
        };
        let bad = |this: &Self, msg: String| {
            let vspan = match (vtoks.first(), vtoks.last()) {
                (Some(a), Some(b)) => Span {
                    source: this.source,
                    start: a.start,
                    end: b.end,
                },
                _ => Span {
                    source: this.source,
                    start: name.span.end,
                    end: line_end.start.max(name.span.end),
                },
            };
            Diag::new(msg, vspan, "unsupported value").with_note(format!(
                "cdef() only supports `#define {0} ...` (literally dot-dot-dot) and \
                 `#define {0} NUMBER` (an integer constant, decimal/hex/octal)",
                name.name
            ))
        };
        let kinds: Vec<TokKind> = vtoks.iter().map(|t| t.kind).collect();
        let value = match kinds.as_slice() {
            [TokKind::Ellipsis] => DefineValue::DotDotDot,
            [TokKind::Number] => DefineValue::Int(self.int_value(vtoks[0])? as i128),
            [TokKind::Punct, TokKind::Number] if self.text_of(vtoks[0]) == "-" => {
                DefineValue::Int(-(self.int_value(vtoks[1])? as i128))
            }
            [] => return Err(bad(self, format!("#define {} has no value", name.name))),
            _ => {
                let t0 = vtoks[0];
                let is_fn_like = self.text_of(t0) == "(" && t0.start == name.span.end;
                let msg = if is_fn_like {
                    format!("function-like macro `{}` is not supported", name.name)
                } else {
                    format!(
                        "unsupported #define value `{}`",
                        &self.text[t0.start as usize..vtoks.last().unwrap().end as usize]
                    )
                };
                return Err(bad(self, msg));
            }
        };
        Ok(Some(TopDecl::Define { name, value, span }))
    }

    /// The texts of the tokens from index `start` to the last consumed one,
    /// joined by single spaces.
    fn text_since(&self, start: usize) -> String {
        let mut out = String::new();
        for t in &self.toks[start..self.pos] {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(self.text_of(*t));
        }
        out
    }

    fn span_from_tokens(&self, a: Token, b: Token) -> Span {
        Span {
            source: self.source,
            start: a.start,
            end: b.end,
        }
    }

    fn int_value(&self, t: Token) -> PResult<u128> {
        parse_int_literal(self.text_of(t))
            .map_err(|m| Diag::new(m, self.span_of(t), "not a valid integer literal"))
    }

    fn extern_block(&mut self) -> PResult<TopDecl> {
        let kw = self.bump();
        let st = self.bump();
        let lit = self.text_of(st);
        let inner: String = lit[1..lit.len() - 1]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let plus_c = match inner.as_str() {
            "Python" => false,
            "Python+C" | "C+Python" => true,
            "C" => {
                return Err(Diag::new(
                    "extern \"C\" is not supported in cdef()",
                    self.span_from_tokens(kw, st),
                    "remove this: cdef() declarations are C already",
                ))
            }
            _ => {
                return Err(Diag::new(
                    format!("unknown linkage {lit}"),
                    self.span_of(st),
                    "expected \"Python\" or \"Python+C\"",
                ))
            }
        };
        let mut decls = Vec::new();
        if self.eat_punct("{") {
            while !self.is_punct("}") {
                if self.tok().kind == TokKind::Eof {
                    return Err(Diag::new(
                        format!("unclosed extern {lit} block"),
                        self.span_from_tokens(kw, st),
                        "this block has no closing `}`",
                    ));
                }
                if self.eat_punct(";") {
                    continue;
                }
                decls.push(self.declaration(Ctx::Top)?);
            }
            self.bump();
            self.eat_punct(";");
        } else {
            decls.push(self.declaration(Ctx::Top)?);
        }
        Ok(TopDecl::ExternPython {
            plus_c,
            decls,
            span: self.span_from(kw.start),
        })
    }

    /// A declaration ending with `;`.
    fn declaration(&mut self, ctx: Ctx) -> PResult<Declaration> {
        let start = self.tok().start;
        let spec = self.decl_spec(ctx)?;
        let mut declarators = Vec::new();
        if !self.is_punct(";") {
            loop {
                let decl = self.declarator(false)?;
                let init = if ctx == Ctx::Top && self.is_punct("=") {
                    Some(self.initializer()?)
                } else {
                    None
                };
                self.after_declarator(&decl)?;
                declarators.push(InitDeclarator { decl, init });
                if !self.eat_punct(",") {
                    break;
                }
            }
        }
        if !self.is_punct(";") {
            return Err(self.unexpected_after_declaration());
        }
        self.bump();
        if matches!(spec.storage, Some((Storage::Typedef, _))) {
            // The lexer hack: from here on these names parse as types.
            for d in &declarators {
                if let Some(n) = &d.decl.name {
                    self.typedefs.insert(n.name.clone());
                }
            }
        }
        Ok(Declaration {
            spec,
            declarators,
            span: self.span_from(start),
        })
    }

    /// `= ...` after a top-level declarator: an integer literal (possibly
    /// negated) is kept, anything else is skipped as CFFI ignores it.
    fn initializer(&mut self) -> PResult<Initializer> {
        let eq = self.bump();
        let start = self.pos;
        let mut depth = 0usize;
        loop {
            let t = self.tok();
            match t.kind {
                TokKind::Eof | TokKind::Hash | TokKind::LineEnd => {
                    return Err(Diag::new(
                        "unterminated initializer",
                        self.span_of(eq),
                        "this initializer has no closing `;` (or its brackets do not match)",
                    ))
                }
                TokKind::Punct => match self.text_of(t) {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" if depth > 0 => depth -= 1,
                    ")" | "]" | "}" => {
                        return Err(self.err_here(
                            format!("unbalanced `{}` in initializer", self.text_of(t)),
                            "no matching opening bracket",
                        ))
                    }
                    "," | ";" if depth == 0 => break,
                    _ => {}
                },
                _ => {}
            }
            self.bump();
        }
        let toks = &self.toks[start..self.pos];
        if toks.is_empty() {
            return Err(self.expected("an initializer after `=`"));
        }
        let span = Span {
            source: self.source,
            start: toks[0].start,
            end: toks[toks.len() - 1].end,
        };
        let kinds: Vec<TokKind> = toks.iter().map(|t| t.kind).collect();
        Ok(match kinds.as_slice() {
            [TokKind::Number] => match parse_int_literal(self.text_of(toks[0])) {
                Ok(v) => Initializer::Int(v as i128, span),
                Err(_) => Initializer::Other(span),
            },
            [TokKind::Punct, TokKind::Number] if self.text_of(toks[0]) == "-" => {
                match parse_int_literal(self.text_of(toks[1])) {
                    Ok(v) => Initializer::Int(-(v as i128), span),
                    Err(_) => Initializer::Other(span),
                }
            }
            _ => Initializer::Other(span),
        })
    }

    /// Errors for what may follow a declarator but is not supported.
    fn after_declarator(&self, d: &Declarator) -> PResult<()> {
        if self.is_punct("=") {
            return Err(self.err_here(
                "initializers are not allowed here",
                "remove the `= ...` part",
            ));
        }
        if self.is_punct("{") && matches!(d.ops.last(), Some(DeclOp::Function { .. })) {
            return Err(self
                .err_here(
                    "function definitions are not supported in cdef()",
                    "a body is not allowed here",
                )
                .with_note("declare the function with `;` and define it in set_source()"));
        }
        Ok(())
    }

    fn unexpected_after_declaration(&self) -> Diag {
        let s = self.cur_text();
        if is_unsupported_ext(s) {
            return self.unsupported_ext();
        }
        self.expected("`;`")
    }

    fn unsupported_ext(&self) -> Diag {
        let s = self.cur_text();
        self.err_here(
            format!("`{s}` is not supported in cdef()"),
            "compiler extension not supported",
        )
    }

    // ---- specifiers --------------------------------------------------------

    fn decl_spec(&mut self, ctx: Ctx) -> PResult<DeclSpec> {
        let start = self.tok().start;
        let mut storage: Option<(Storage, Span)> = None;
        let mut is_const = false;
        let mut is_volatile = false;
        let mut kws = KwSet::default();
        let mut kw_span: Option<Span> = None;
        let mut ty: Option<(TypeSpec, Span)> = None;
        loop {
            let t = self.tok();
            if t.kind == TokKind::Ellipsis {
                // `int...`, `float...` (typedefs only) and `...` alone.
                let sp = self.span_of(t);
                let spec = if ty.is_some() {
                    break;
                } else if kws.is_empty() {
                    TypeSpec::DotDotDot
                } else if kws.float + kws.double > 0 {
                    // As CFFI: 'typedef double... t;' stands for float or
                    // double only; 'long double...' is refused.
                    if kws.long + kws.short + kws.signed + kws.unsigned + kws.char + kws.int > 0 {
                        return Err(self.err_here(
                            "only `float...` and `double...` are allowed for an unknown floating-point type",
                            "unexpected `...`",
                        ));
                    }
                    TypeSpec::DotDotDotFloat
                } else if kws.void + kws.bool_ == 0 {
                    TypeSpec::DotDotDotInt
                } else {
                    return Err(self.err_here("`...` cannot follow this type", "unexpected `...`"));
                };
                self.bump();
                let full = match kw_span {
                    Some(k) => Span { end: sp.end, ..k },
                    None => sp,
                };
                kws = KwSet::default();
                kw_span = None;
                ty = Some((spec, full));
                continue;
            }
            if t.kind != TokKind::Ident {
                break;
            }
            let s = self.text_of(t);
            let sp = self.span_of(t);
            match s {
                "typedef" | "static" | "extern" => {
                    let st = match s {
                        "typedef" => Storage::Typedef,
                        "static" => Storage::Static,
                        _ => Storage::Extern,
                    };
                    if self.tok_at(1).kind == TokKind::Str {
                        return Err(self.err_here(
                            "extern \"...\" is only allowed at the start of a declaration",
                            "misplaced linkage specification",
                        ));
                    }
                    if ctx != Ctx::Top {
                        return Err(self.err_here(
                            format!("`{s}` is not allowed here"),
                            "storage class not allowed in this position",
                        ));
                    }
                    if let Some((_, prev)) = storage {
                        return Err(Diag::new(
                            "more than one storage class in a declaration",
                            sp,
                            "second storage class",
                        )
                        .with_secondary(prev, "first one here"));
                    }
                    storage = Some((st, sp));
                    self.bump();
                }
                "const" | "__const" | "__const__" => {
                    is_const = true;
                    self.bump();
                }
                "volatile" | "__volatile" | "__volatile__" => {
                    is_volatile = true;
                    self.bump();
                }
                // `_Atomic` is accepted and ignored, as CFFI does.
                "restrict" | "__restrict" | "__restrict__" | "_Atomic" => {
                    self.bump();
                }
                "struct" | "union" | "enum" => {
                    if ty.is_some() || !kws.is_empty() {
                        return Err(self.two_types(sp));
                    }
                    let (spec, sspan) = if s == "enum" {
                        let e = self.enum_spec()?;
                        let sp = e.span;
                        (TypeSpec::Enum(e), sp)
                    } else {
                        let r = self.record_spec()?;
                        let sp = r.span;
                        (TypeSpec::Record(r), sp)
                    };
                    ty = Some((spec, sspan));
                }
                _ if is_unsupported_ext(s) => return Err(self.unsupported_ext()),
                // Accepted and ignored, as CFFI does.
                "inline" | "__inline" | "__inline__" => {
                    self.bump();
                }
                "register" if ctx == Ctx::Param => {
                    self.bump();
                }
                "_Noreturn" | "register" | "auto" | "_Thread_local" | "__thread" | "_Alignas"
                | "__extension__" | "__complex__" | "_Imaginary" => {
                    return Err(self.err_here(
                        format!("`{s}` is not supported in cdef()"),
                        "unsupported keyword",
                    ))
                }
                _ => {
                    if let Some(k) = Kw::from_ident(s) {
                        if ty.is_some() {
                            return Err(self.two_types(sp));
                        }
                        kws.add(k);
                        kw_span = Some(match kw_span {
                            Some(k) => Span { end: sp.end, ..k },
                            None => sp,
                        });
                        self.bump();
                        continue;
                    }
                    if ty.is_some() || !kws.is_empty() {
                        // The declarator's name (even if it is also a type name:
                        // `int size_t` declares a variable called size_t).
                        break;
                    }
                    if self.typedefs.contains(s) || s == "FILE" {
                        ty = Some((TypeSpec::Named(s.to_string()), sp));
                    } else if let Some(p) = named_prim(s) {
                        ty = Some((TypeSpec::Prim(p), sp));
                    } else if self.lenient {
                        ty = Some((TypeSpec::Named(s.to_string()), sp));
                    } else {
                        return Err(self.unknown_type(ctx));
                    }
                    self.bump();
                }
            }
        }
        let (ty, ty_span) = match ty {
            Some(t) => t,
            None if !kws.is_empty() => {
                let sp = kw_span.unwrap_or_default();
                match kws.normalise() {
                    Some(p) => (TypeSpec::Prim(p), sp),
                    None => {
                        return Err(Diag::new(
                            "invalid combination of type specifiers",
                            sp,
                            "this is not a C type",
                        ))
                    }
                }
            }
            None => {
                let what = if storage.is_some() || is_const || is_volatile {
                    "a type name"
                } else {
                    match ctx {
                        Ctx::Top => "a declaration",
                        Ctx::Field => "a field declaration",
                        Ctx::Param => "a parameter type",
                        Ctx::TypeName => "a type name",
                    }
                };
                return Err(self.expected(what));
            }
        };
        Ok(DeclSpec {
            storage,
            is_const,
            is_volatile,
            ty,
            ty_span,
            span: self.span_from(start),
        })
    }

    fn two_types(&self, sp: Span) -> Diag {
        Diag::new(
            "two or more data types in declaration",
            sp,
            "a type was already given",
        )
    }

    fn unknown_type(&self, ctx: Ctx) -> Diag {
        let t = self.tok();
        let s = self.text_of(t);
        let next = self.tok_at(1);
        if ctx == Ctx::Param
            && next.kind == TokKind::Punct
            && matches!(self.text_of(next), "," | ")")
        {
            return self
                .err_here(
                    format!("unknown type name `{s}`"),
                    "parameter without a type",
                )
                .with_note(
                    "K&R-style parameter lists are not supported: give each parameter a type",
                );
        }
        let mut d = self.err_here(format!("unknown type name `{s}`"), "unknown type");
        if let Some(close) = self.closest_type_name(s) {
            d = d.with_note(format!("did you mean `{close}`?"));
        } else {
            d = d.with_note(format!(
                "declare it before its first use, e.g. `typedef struct {s} {s};` or `typedef ... {s};`"
            ));
        }
        d
    }

    /// A known type name within a small edit distance of `s`, for "did you
    /// mean" hints (deterministic: the smallest distance, then the name).
    fn closest_type_name(&self, s: &str) -> Option<String> {
        let max = if s.len() <= 3 { 1 } else { 2 };
        self.typedefs
            .iter()
            .map(|n| n.as_str())
            .chain(crate::prims::NAMED.iter().map(|(n, _)| *n))
            .filter_map(|n| {
                let d = edit_distance(s, n);
                (d <= max).then_some((d, n))
            })
            .min()
            .map(|(_, n)| n.to_string())
    }

    fn record_spec(&mut self) -> PResult<RecordSpec> {
        self.enter()?;
        let r = self.record_spec_inner();
        self.depth -= 1;
        r
    }

    fn record_spec_inner(&mut self) -> PResult<RecordSpec> {
        let kw = self.bump();
        let kind = if self.text_of(kw) == "union" {
            RecordKind::Union
        } else {
            RecordKind::Struct
        };
        if is_unsupported_ext(self.cur_text()) {
            return Err(self.unsupported_ext());
        }
        let tag = if self.tok().kind == TokKind::Ident {
            Some(self.ident()?)
        } else {
            None
        };
        let body = if self.is_punct("{") {
            let open_pos = self.pos;
            let open = self.bump();
            let mut fields = Vec::new();
            let mut partial = false;
            loop {
                if self.is_punct("}") {
                    self.bump();
                    break;
                }
                match self.tok().kind {
                    TokKind::Eof => {
                        return Err(Diag::new(
                            format!("unclosed {} body", self.text_of(kw)),
                            self.span_of(open),
                            "this `{` is never closed",
                        ))
                    }
                    TokKind::Ellipsis => {
                        self.bump();
                        self.expect_punct(";")?;
                        partial = true;
                        continue;
                    }
                    _ => {}
                }
                if self.eat_punct(";") {
                    continue;
                }
                fields.push(self.field_decl()?);
            }
            Some(RecordBody {
                fields,
                partial,
                text: self.text_since(open_pos),
            })
        } else {
            None
        };
        if tag.is_none() && body.is_none() {
            return Err(self.expected(&format!("a {} tag or `{{`", self.text_of(kw))));
        }
        Ok(RecordSpec {
            kind,
            tag,
            body,
            span: self.span_from(kw.start),
        })
    }

    fn field_decl(&mut self) -> PResult<FieldDecl> {
        let start = self.tok().start;
        let spec = self.decl_spec(Ctx::Field)?;
        let mut declarators = Vec::new();
        if !self.is_punct(";") {
            loop {
                let dstart = self.tok().start;
                let decl = if self.is_punct(":") {
                    // unnamed bitfield
                    Declarator {
                        name: None,
                        ops: Vec::new(),
                        span: Span {
                            source: self.source,
                            start: dstart,
                            end: dstart,
                        },
                    }
                } else {
                    self.declarator(false)?
                };
                let bits = if self.eat_punct(":") {
                    Some(self.expr()?)
                } else {
                    if decl.name.is_none() {
                        return Err(Diag::new(
                            "expected a field name",
                            decl.span,
                            "this field has no name",
                        ));
                    }
                    None
                };
                self.after_declarator(&decl)?;
                declarators.push(FieldDeclarator { decl, bits });
                if !self.eat_punct(",") {
                    break;
                }
            }
        }
        if !self.is_punct(";") {
            return Err(self.unexpected_after_declaration());
        }
        self.bump();
        Ok(FieldDecl {
            spec,
            declarators,
            span: self.span_from(start),
        })
    }

    fn enum_spec(&mut self) -> PResult<EnumSpec> {
        let kw = self.bump();
        if is_unsupported_ext(self.cur_text()) {
            return Err(self.unsupported_ext());
        }
        let tag = if self.tok().kind == TokKind::Ident {
            Some(self.ident()?)
        } else {
            None
        };
        let body = if self.is_punct("{") {
            let open_pos = self.pos;
            self.bump();
            let mut items = Vec::new();
            let mut partial = false;
            loop {
                if self.eat_punct("}") {
                    break;
                }
                if self.tok().kind == TokKind::Ellipsis {
                    self.bump();
                    partial = true;
                    self.eat_punct(",");
                    if !self.is_punct("}") {
                        return Err(self.expected("`}` after `...` in an enum"));
                    }
                    continue;
                }
                let name = self.ident()?;
                let value = if self.eat_punct("=") {
                    if self.tok().kind == TokKind::Ellipsis {
                        self.bump();
                        partial = true;
                        EnumValue::DotDotDot
                    } else {
                        EnumValue::Expr(self.expr()?)
                    }
                } else {
                    EnumValue::Implicit
                };
                items.push(EnumItem { name, value });
                if !self.eat_punct(",") && !self.is_punct("}") {
                    return Err(self.expected("`,` or `}`"));
                }
            }
            if items.is_empty() && !partial {
                return Err(Diag::new(
                    "empty enum",
                    self.span_from(kw.start),
                    "an enum needs at least one enumerator",
                ));
            }
            Some(EnumBody {
                items,
                partial,
                text: self.text_since(open_pos),
            })
        } else {
            None
        };
        if tag.is_none() && body.is_none() {
            return Err(self.expected("an enum tag or `{`"));
        }
        Ok(EnumSpec {
            tag,
            body,
            span: self.span_from(kw.start),
        })
    }

    // ---- declarators ----------------------------------------------------------

    /// Parses a declarator; `abstract_only` forbids a name (type names).
    /// Whether a name is required is checked by the caller / resolver, so that
    /// the error can say what needed it.
    fn declarator(&mut self, abstract_only: bool) -> PResult<Declarator> {
        self.enter()?;
        let r = self.declarator_inner(abstract_only);
        self.depth -= 1;
        r
    }

    fn declarator_inner(&mut self, abstract_only: bool) -> PResult<Declarator> {
        let start = self.tok().start;
        let mut ptrs = Vec::new();
        while self.is_punct("*") {
            let star = self.bump();
            let (mut c, mut v) = (false, false);
            loop {
                match self.cur_text() {
                    "const" | "__const" | "__const__" if self.tok().kind == TokKind::Ident => {
                        c = true
                    }
                    "volatile" | "__volatile" | "__volatile__"
                        if self.tok().kind == TokKind::Ident =>
                    {
                        v = true
                    }
                    "restrict" | "__restrict" | "__restrict__"
                        if self.tok().kind == TokKind::Ident => {}
                    _ => break,
                }
                self.bump();
            }
            ptrs.push(DeclOp::Pointer {
                is_const: c,
                is_volatile: v,
                span: self.span_from(star.start),
            });
        }
        if self.is_punct("^") {
            return Err(self.err_here("blocks (`^`) are not supported", "not supported"));
        }
        let t = self.tok();
        let (name, inner_ops) = if t.kind == TokKind::Ident && !is_keyword(self.text_of(t)) {
            if is_unsupported_ext(self.text_of(t)) {
                return Err(self.unsupported_ext());
            }
            if abstract_only {
                return Err(self.err_here(
                    format!("unexpected name `{}` in a type", self.text_of(t)),
                    "a type name has no declarator name",
                ));
            }
            (Some(self.ident()?), Vec::new())
        } else if t.kind == TokKind::Ident && is_unsupported_ext(self.text_of(t)) {
            return Err(self.unsupported_ext());
        } else if self.is_punct("(") && self.nested_declarator_follows() {
            self.bump();
            let inner = self.declarator(abstract_only)?;
            self.expect_punct(")")?;
            (inner.name, inner.ops)
        } else {
            (None, Vec::new())
        };
        let mut suffixes = Vec::new();
        loop {
            if self.is_punct("[") {
                let open = self.bump();
                // C99 `[static 3]`, `[const]` in parameters: no effect on the
                // (decayed) parameter type.
                while self.tok().kind == TokKind::Ident
                    && matches!(
                        self.cur_text(),
                        "static" | "const" | "volatile" | "restrict" | "__restrict"
                    )
                {
                    self.bump();
                }
                let len = if self.eat_punct("]") {
                    ArraySize::Open
                } else if self.tok().kind == TokKind::Ellipsis {
                    self.bump();
                    self.expect_punct("]")?;
                    ArraySize::DotDotDot
                } else {
                    let e = self.expr()?;
                    self.expect_punct("]")?;
                    ArraySize::Expr(e)
                };
                suffixes.push(DeclOp::Array {
                    len,
                    span: self.span_from(open.start),
                });
            } else if self.is_punct("(") {
                let open = self.bump();
                let (params, variadic) = self.params()?;
                suffixes.push(DeclOp::Function {
                    params,
                    variadic,
                    span: self.span_from(open.start),
                });
            } else {
                break;
            }
        }
        // Base outwards: the pointers bind to the base first, then the suffixes
        // (the rightmost is closest to the base: `a[2][3]` is an array of 2
        // arrays of 3), then whatever the parenthesised inner declarator adds.
        let mut ops = ptrs;
        ops.extend(suffixes.into_iter().rev());
        ops.extend(inner_ops);
        if ops.len() > MAX_DECL_OPS {
            return Err(Diag::new(
                "declarator too long",
                self.span_from(start),
                format!("more than {MAX_DECL_OPS} pointers, arrays and functions in one type"),
            ));
        }
        Ok(Declarator {
            name,
            ops,
            span: self.span_from(start),
        })
    }

    /// At a `(` in a declarator: does a nested declarator follow (`(*f)`,
    /// `(name)`) rather than a parameter list (`(int)`, `()`)?
    fn nested_declarator_follows(&self) -> bool {
        let n = self.tok_at(1);
        match n.kind {
            TokKind::Punct => matches!(self.text_of(n), "*" | "(" | "[" | "^"),
            TokKind::Ident => {
                let s = self.text_of(n);
                !(is_keyword(s) || self.is_type_name(s))
            }
            _ => false,
        }
    }

    fn params(&mut self) -> PResult<(Vec<Param>, bool)> {
        let mut params = Vec::new();
        if self.eat_punct(")") {
            // `f()` means no parameters in CFFI (as `f(void)`).
            return Ok((params, false));
        }
        let next = self.tok_at(1);
        if self.is_ident("void") && next.kind == TokKind::Punct && self.text_of(next) == ")" {
            self.bump();
            self.bump();
            return Ok((params, false));
        }
        loop {
            if self.tok().kind == TokKind::Ellipsis {
                let t = self.bump();
                if params.is_empty() {
                    return Err(Diag::new(
                        "a variadic function needs at least one named parameter before `...`",
                        self.span_of(t),
                        "`...` cannot come first",
                    ));
                }
                self.expect_punct(")")?;
                return Ok((params, true));
            }
            let start = self.tok().start;
            let spec = self.decl_spec(Ctx::Param)?;
            let decl = self.declarator(false)?;
            if self.is_punct("=") {
                return Err(self.err_here(
                    "default arguments are not supported",
                    "remove the `= ...` part",
                ));
            }
            params.push(Param {
                spec,
                decl,
                span: self.span_from(start),
            });
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

    // ---- constant expressions ---------------------------------------------------

    pub(crate) fn expr(&mut self) -> PResult<Expr> {
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
                Some(0) => {
                    return Err(self.err_here(
                        "constant expression too long",
                        format!("more than {MAX_EXPR_OPS} operators in one expression"),
                    ))
                }
                Some(n) => *n -= 1,
                None => {}
            }
            self.bump();
            let rhs = self.binary(prec + 1)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs), self.span_from(start));
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
        let start = t.start;
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
                Ok(Expr::Unary(op, Box::new(e), self.span_from(start)))
            }
            TokKind::Number => {
                self.bump();
                Ok(Expr::Int(self.int_value(t)? as i128, self.span_of(t)))
            }
            TokKind::Char => {
                self.bump();
                let v = char_literal_value(self.text_of(t)).ok_or_else(|| {
                    Diag::new(
                        "unsupported character literal",
                        self.span_of(t),
                        "only single characters and simple escapes are supported",
                    )
                })?;
                Ok(Expr::Int(v, self.span_of(t)))
            }
            TokKind::Ident if self.cur_text() == "sizeof" => Err(self.err_here(
                "`sizeof` is not supported in cdef() constant expressions",
                "use `...` to let the compiler supply the value",
            )),
            TokKind::Ident => Ok(Expr::Name(self.ident()?)),
            _ => Err(self.expected("an integer constant expression")),
        }
    }

    // ---- type names (parse_type_expr) -------------------------------------------

    /// `spec abstract-declarator <end>`.
    pub fn type_name(&mut self) -> PResult<(DeclSpec, Declarator)> {
        let spec = self.decl_spec(Ctx::TypeName)?;
        let decl = self.declarator(true)?;
        if self.tok().kind != TokKind::Eof {
            return Err(self.expected("the end of the type"));
        }
        Ok((spec, decl))
    }
}

/// C keywords that cannot be declarator names.
fn is_keyword(s: &str) -> bool {
    Kw::from_ident(s).is_some()
        || matches!(
            s,
            "struct"
                | "union"
                | "enum"
                | "const"
                | "volatile"
                | "restrict"
                | "__restrict"
                | "__restrict__"
                | "__const"
                | "typedef"
                | "static"
                | "extern"
                | "sizeof"
                | "inline"
                | "register"
                | "auto"
                | "return"
                | "if"
                | "else"
                | "while"
                | "for"
                | "do"
                | "switch"
                | "case"
                | "default"
                | "break"
                | "continue"
                | "goto"
        )
}

/// GCC/MSVC extensions CFFI does not accept.
fn is_unsupported_ext(s: &str) -> bool {
    matches!(
        s,
        "__attribute__"
            | "__attribute"
            | "__declspec"
            | "__asm__"
            | "__asm"
            | "asm"
            | "__typeof__"
            | "typeof"
            | "__typeof"
    )
}

/// The value of a character literal like `'a'` or `'\n'`.
fn char_literal_value(lit: &str) -> Option<i128> {
    let inner = &lit[1..lit.len() - 1];
    let mut chars = inner.chars();
    let v = match chars.next()? {
        '\\' => {
            let rest: String = chars.collect();
            return Some(match rest.as_str() {
                "n" => 10,
                "t" => 9,
                "r" => 13,
                "0" => 0,
                "\\" => 92,
                "'" => 39,
                "\"" => 34,
                "a" => 7,
                "b" => 8,
                "f" => 12,
                "v" => 11,
                r if r.starts_with('x') => i128::from_str_radix(&r[1..], 16).ok()?,
                r if !r.is_empty() && r.chars().all(|c| ('0'..='7').contains(&c)) => {
                    i128::from_str_radix(r, 8).ok()?
                }
                _ => return None,
            });
        }
        c => c as i128,
    };
    if chars.next().is_some() {
        return None;
    }
    Some(v)
}

/// Levenshtein distance (names are short; quadratic is fine).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
