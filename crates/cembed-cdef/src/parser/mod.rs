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
//! The token cursor, the bounds (`MAX_DEPTH`, ...) and the grammar of
//! constant expressions are cembed-typename's `grammar`, shared with the
//! run-time parser of one type name, so that the two read tokens and
//! expressions the same way.
//!
//! `Parser` (here) holds the cursor and the error helpers; by section:
//! [`top`] (declarations, directives, `extern "Python"` blocks), [`specs`]
//! (specifier lists, struct/union/enum bodies), [`declarators`] and
//! [`exprs`] (constant expressions).

use std::collections::HashSet;
use std::ops::{Deref, DerefMut};

use cembed_model::{RecordKind, Span};

use crate::ast::*;
use crate::diag::Diag;
use cembed_typename::grammar::{ConstExpr, Cursor, MAX_DECL_OPS, MAX_DEPTH, MAX_EXPR_OPS};
use cembed_typename::lexer::{parse_int_literal, TokKind, Token};
use cembed_typename::words::{
    is_keyword, is_unsupported_ext, named_prim, spec_word, Kw, KwSet, Quals, SpecWord, NAMED,
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
    /// The tokens, the position, the nesting depth and the operator budget.
    cur: Cursor<'a>,
    source: u32,
    /// Typedef names declared so far (by earlier sources too).
    typedefs: &'a mut HashSet<String>,
}

// The parser is its token cursor plus the grammar: `self.tok()`,
// `self.bump()`, `self.pos` are the cursor's.
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
    pub fn new(
        text: &'a str,
        toks: Vec<Token>,
        source: u32,
        typedefs: &'a mut HashSet<String>,
    ) -> Self {
        Parser {
            cur: Cursor::new(text, toks),
            source,
            typedefs,
        }
    }

    // ---- token helpers -------------------------------------------------

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

    fn err_here(&self, message: impl Into<String>, label: impl Into<String>) -> Diag {
        let t = self.tok();
        Diag::new(message, self.span_of(t), label)
    }

    fn expected(&self, what: &str) -> Diag {
        let message = self.expected_message(what);
        // When the input ends or the next token is on a later line, the
        // missing piece belongs after the previous token: point there.
        match self.expected_after() {
            Some(prev) => Diag::new(
                message,
                self.span_of(prev),
                format!("expected {what} after this"),
            ),
            None => self.err_here(message, format!("expected {what}")),
        }
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
        if !self.try_enter() {
            return Err(self.err_here(
                "declaration nested too deeply",
                format!("more than {MAX_DEPTH} levels of nesting"),
            ));
        }
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
