//! Recursive-descent parser for CFFI's cdef language.
//!
//! Hand-written on purpose: C declarations need the "lexer hack" (whether an
//! identifier is a typedef name decides how `(` and identifiers parse, so the
//! parser must know the typedefs declared so far, across sources), declarators
//! read inside-out, and CFFI adds its own `...` forms (`int a[...]`,
//! `typedef int... t;`, `...;` in structs, `#define X ...`). A generic parser
//! generator handles none of these well, and a hand-written parser gives precise
//! spans and messages for every error.
//!
//! `Parser` (here) holds the tokens and the token helpers; by section:
//! [`top`] (declarations, directives, `extern "Python"` blocks), [`specs`]
//! (specifier lists, struct/union/enum bodies), [`declarators`] and
//! [`exprs`] (constant expressions).

use std::collections::HashSet;

use cembed_model::{RecordKind, Span};

use crate::ast::*;
use crate::diag::Diag;
use cembed_typename::lexer::{char_literal_value, parse_int_literal, TokKind, Token};
use cembed_typename::words::{
    is_ignored_ident, is_keyword, is_unsupported_ext, named_prim, Kw, KwSet, NAMED,
};

mod declarators;
mod exprs;
mod specs;
mod top;

type PResult<T> = Result<T, Diag>;

/// Where a specifier list appears: decides which storage classes are allowed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Ctx {
    Top,
    Field,
    Param,
}

pub struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    source: u32,
    /// Typedef names declared so far (by earlier sources too).
    typedefs: &'a mut HashSet<String>,
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

impl<'a> Parser<'a> {
    pub fn new(
        text: &'a str,
        toks: Vec<Token>,
        source: u32,
        typedefs: &'a mut HashSet<String>,
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
