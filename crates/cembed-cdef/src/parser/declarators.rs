//! Declarators: pointers, arrays, functions and their parameter lists,
//! read inside-out into operators from the base outwards.

use super::*;

impl<'a> Parser<'a> {
    /// Parses a declarator; `abstract_only` forbids a name (type names).
    /// Whether a name is required is checked by the caller / resolver, so that
    /// the error can say what needed it.
    pub(super) fn declarator(&mut self, abstract_only: bool) -> PResult<Declarator> {
        self.enter()?;
        let r = self.declarator_inner(abstract_only);
        self.depth -= 1;
        r
    }

    pub(super) fn declarator_inner(&mut self, abstract_only: bool) -> PResult<Declarator> {
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
    pub(super) fn nested_declarator_follows(&self) -> bool {
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

    pub(super) fn params(&mut self) -> PResult<(Vec<Param>, bool)> {
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
}
