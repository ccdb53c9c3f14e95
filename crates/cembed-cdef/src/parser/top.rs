//! The top level: a source's declarations, preprocessor lines (`#define`),
//! `extern "Python"` blocks, declarations with their initializers.

use super::*;

impl<'a> Parser<'a> {
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
    pub(super) fn directive(&mut self) -> PResult<Option<TopDecl>> {
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
    pub(super) fn text_since(&self, start: usize) -> String {
        let mut out = String::new();
        for t in &self.toks[start..self.pos] {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(self.text_of(*t));
        }
        out
    }

    pub(super) fn span_from_tokens(&self, a: Token, b: Token) -> Span {
        Span {
            source: self.source,
            start: a.start,
            end: b.end,
        }
    }

    pub(super) fn int_value(&self, t: Token) -> PResult<u128> {
        parse_int_literal(self.text_of(t))
            .map_err(|m| Diag::new(m, self.span_of(t), "not a valid integer literal"))
    }

    pub(super) fn extern_block(&mut self) -> PResult<TopDecl> {
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
    pub(super) fn declaration(&mut self, ctx: Ctx) -> PResult<Declaration> {
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
    pub(super) fn initializer(&mut self) -> PResult<Initializer> {
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
    pub(super) fn after_declarator(&self, d: &Declarator) -> PResult<()> {
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

    pub(super) fn unexpected_after_declaration(&self) -> Diag {
        let s = self.cur_text();
        if is_unsupported_ext(s) {
            return self.unsupported_ext();
        }
        self.expected("`;`")
    }

    pub(super) fn unsupported_ext(&self) -> Diag {
        let s = self.cur_text();
        self.err_here(
            format!("`{s}` is not supported in cdef()"),
            "compiler extension not supported",
        )
    }
}
