//! Specifier lists: storage classes, qualifiers, primitive keywords, typedef
//! names, struct/union bodies with their fields, enum bodies.

use super::*;

impl<'a> Parser<'a> {
    pub(super) fn decl_spec(&mut self, ctx: Ctx) -> PResult<DeclSpec> {
        let start = self.tok().start;
        let mut storage: Option<(Storage, Span)> = None;
        let mut quals = Quals::default();
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
            let word = spec_word(s);
            // Qualifiers; `_Atomic` and `inline` are accepted and ignored,
            // as CFFI does.
            if word.is_some_and(|w| quals.take(w, ctx == Ctx::Param)) {
                self.bump();
                continue;
            }
            match word {
                Some(SpecWord::Storage) => {
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
                Some(SpecWord::Tag) => {
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
                Some(SpecWord::Extension) => return Err(self.unsupported_ext()),
                // `register` outside a parameter, the keywords CFFI refuses.
                Some(_) => {
                    return Err(self.err_here(
                        format!("`{s}` is not supported in cdef()"),
                        "unsupported keyword",
                    ))
                }
                None => {
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
                let what = if storage.is_some() || quals.is_const || quals.is_volatile {
                    "a type name"
                } else {
                    match ctx {
                        Ctx::Top => "a declaration",
                        Ctx::Field => "a field declaration",
                        Ctx::Param => "a parameter type",
                    }
                };
                return Err(self.expected(what));
            }
        };
        Ok(DeclSpec {
            storage,
            is_const: quals.is_const,
            is_volatile: quals.is_volatile,
            ty,
            ty_span,
            span: self.span_from(start),
        })
    }

    pub(super) fn two_types(&self, sp: Span) -> Diag {
        Diag::new(
            "two or more data types in declaration",
            sp,
            "a type was already given",
        )
    }

    pub(super) fn unknown_type(&self, ctx: Ctx) -> Diag {
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
    pub(super) fn closest_type_name(&self, s: &str) -> Option<String> {
        let max = if s.len() <= 3 { 1 } else { 2 };
        self.typedefs
            .iter()
            .map(|n| n.as_str())
            .chain(NAMED.iter().map(|(n, _)| *n))
            .filter_map(|n| {
                let d = edit_distance(s, n);
                (d <= max).then_some((d, n))
            })
            .min()
            .map(|(_, n)| n.to_string())
    }

    pub(super) fn record_spec(&mut self) -> PResult<RecordSpec> {
        self.enter()?;
        let r = self.record_spec_inner();
        self.depth -= 1;
        r
    }

    pub(super) fn record_spec_inner(&mut self) -> PResult<RecordSpec> {
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

    pub(super) fn field_decl(&mut self) -> PResult<FieldDecl> {
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

    pub(super) fn enum_spec(&mut self) -> PResult<EnumSpec> {
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
}
