//! Structs and unions: tags, anonymous records, fields (bitfields,
//! flexible array members, anonymous members) and when a record is partial.

use super::*;

impl Resolver {
    pub(super) fn anon_name(&mut self, kw: &str, force: Option<&Ident>) -> String {
        match force {
            Some(n) => n.name.clone(),
            None => {
                self.anon_counter += 1;
                format!("{kw} ${}", self.anon_counter)
            }
        }
    }

    pub(super) fn record_type(&mut self, r: &RecordSpec, force: Option<&Ident>) -> RResult<TypeId> {
        let word = kind_word(r.kind);
        let id = match &r.tag {
            Some(tag) => match self.tags.get(&tag.name) {
                Some(Tag::Record(id)) if self.prog.record(*id).kind == r.kind => *id,
                Some(other) => {
                    let (what, prev) = match other {
                        Tag::Record(id) => {
                            let rec = self.prog.record(*id);
                            (kind_word(rec.kind), rec.span)
                        }
                        Tag::Enum(id) => ("enum", self.prog.enum_def(*id).span),
                    };
                    return Err(Diag::new(
                        format!("`{}` was declared as a {what}, not a {word}", tag.name),
                        tag.span,
                        format!("used as a {word} here"),
                    )
                    .with_secondary(prev, format!("declared as a {what} here")));
                }
                None => {
                    let id = self.prog.add_record(Record {
                        kind: r.kind,
                        tag: Some(tag.name.clone()),
                        c_name: format!("{word} {}", tag.name),
                        fields: None,
                        partial: false,
                        dotdotdot_typedef: false,
                        pack: None,
                        span: r.span,
                    });
                    self.tags.insert(tag.name.clone(), Tag::Record(id));
                    self.list_record(id);
                    id
                }
            },
            None => {
                let c_name = self.anon_name(word, force);
                let id = self.prog.add_record(Record {
                    kind: r.kind,
                    tag: None,
                    c_name,
                    fields: None,
                    partial: false,
                    dotdotdot_typedef: false,
                    pack: None,
                    span: r.span,
                });
                self.list_record(id);
                id
            }
        };

        if let Some(body) = &r.body {
            match self.record_bodies.get(&id) {
                // Defined again with the same text: the same definition (as when
                // two cdef() calls share a header), nothing to add.
                Some(prev) if *prev == body.text => {}
                Some(_) => {
                    let rec = self.prog.record(id);
                    return Err(Diag::new(
                        format!("redefinition of `{}` with different fields", rec.c_name),
                        r.span,
                        "redefined here",
                    )
                    .with_secondary(rec.span, "first defined here"));
                }
                None => {
                    let fields = self.fields(body, r)?;
                    // A struct with a `[...]` field (or a partial struct
                    // by value) has a layout only the compiler knows: CFFI
                    // treats it as partial too.
                    let partial_field = r.kind == RecordKind::Struct
                        && fields.iter().any(|f| self.makes_partial(f.ty));
                    let rec = &mut self.prog.records[id.0 as usize];
                    rec.fields = Some(fields);
                    rec.partial = body.partial || partial_field;
                    rec.pack = self.pack;
                    rec.span = r.span;
                    self.record_bodies.insert(id, body.text.clone());
                }
            }
        }
        Ok(self.prog.intern(Type::Record(id)))
    }

    /// Adds the `Decl::Record` of `id` (once), when the record is first
    /// mentioned: a record containing nested ones is listed before them (codegen
    /// relies on this order to spell nested anonymous types inline).
    pub(super) fn list_record(&mut self, id: RecordId) {
        if self.listed_records.insert(id) {
            self.prog.decls.push(Decl::Record { id });
        }
    }

    pub(super) fn fields(&mut self, body: &RecordBody, r: &RecordSpec) -> RResult<Vec<Field>> {
        let mut out = Vec::new();
        // Names seen so far, including those reachable through anonymous members.
        let mut seen: HashMap<String, Span> = HashMap::new();
        for fd in &body.fields {
            if fd.spec.storage.is_some() {
                // The parser rejects storage classes in fields already.
                unreachable!("storage class in a field");
            }
            let (base, base_quals) = self.resolve_spec(&fd.spec, None)?;
            if fd.declarators.is_empty() {
                // An anonymous struct/union member.
                let anon_ok = matches!(&fd.spec.ty, TypeSpec::Record(rs) if rs.tag.is_none());
                if !anon_ok {
                    return Err(Diag::new(
                        "declaration does not declare a field",
                        fd.span,
                        "only an anonymous struct or union can be a member without a name",
                    ));
                }
                let Type::Record(rid) = self.prog.ty(base).clone() else {
                    unreachable!()
                };
                let mut names = Vec::new();
                self.collect_field_names(rid, &mut names);
                for (n, sp) in names {
                    check_dup(&mut seen, &n, sp)?;
                }
                out.push(Field {
                    name: None,
                    ty: base,
                    quals: base_quals,
                    bit_width: None,
                    span: fd.span,
                });
                continue;
            }
            for fdecl in &fd.declarators {
                let (ty, quals) =
                    self.apply_ops(base, base_quals, &fdecl.decl.ops, &fd.spec, true)?;
                let fname = fdecl.decl.name.as_ref();
                let where_span = fname.map(|n| n.span).unwrap_or(fd.span);
                let shown = fname.map(|n| n.name.as_str()).unwrap_or("<unnamed>");
                match self.prog.ty(ty) {
                    Type::Prim(p) if p.class == PrimClass::Void => {
                        return Err(Diag::new(
                            format!("field `{shown}` declared void"),
                            where_span,
                            "a field cannot have type void",
                        ))
                    }
                    Type::Function { .. } => {
                        return Err(Diag::new(
                            format!("field `{shown}` declared as a function"),
                            where_span,
                            "use a function pointer: `(*name)(...)`",
                        ))
                    }
                    Type::Record(rid) => {
                        let rec = self.prog.record(*rid);
                        if rec.fields.is_none() && !rec.dotdotdot_typedef {
                            return Err(Diag::new(
                                format!("field `{shown}` has incomplete type `{}`", rec.c_name),
                                where_span,
                                "this type was declared but never defined",
                            ));
                        }
                    }
                    _ => {}
                }
                let bit_width = match &fdecl.bits {
                    None => None,
                    Some(e) => {
                        let int_like = match self.prog.ty(ty) {
                            Type::Prim(p) => matches!(
                                p.class,
                                PrimClass::Char
                                    | PrimClass::Bool
                                    | PrimClass::SignedInt
                                    | PrimClass::UnsignedInt
                                    | PrimClass::UnknownInt
                                    | PrimClass::WideChar
                            ),
                            Type::Enum(_) => true,
                            _ => false,
                        };
                        if !int_like {
                            return Err(Diag::new(
                                format!(
                                    "bitfield `{shown}` has non-integer type `{}`",
                                    self.prog.c_name(ty)
                                ),
                                where_span,
                                "bitfields must have an integer type",
                            ));
                        }
                        let Some(w) = self.eval(e)? else {
                            return Err(Diag::new(
                                format!("the width of bitfield `{shown}` must be known to cdef()"),
                                e.span(),
                                "uses a value only the compiler knows",
                            ));
                        };
                        if w < 0 {
                            return Err(Diag::new(
                                format!("bitfield `{shown}` has a negative width ({w})"),
                                e.span(),
                                "negative width",
                            ));
                        }
                        if w == 0 && fname.is_some() {
                            return Err(Diag::new(
                                format!("named bitfield `{shown}` has zero width"),
                                e.span(),
                                "zero width",
                            ));
                        }
                        if w > 64 {
                            return Err(Diag::new(
                                format!("bitfield `{shown}` is wider than its type ({w} bits)"),
                                e.span(),
                                "too wide",
                            ));
                        }
                        Some(w as u32)
                    }
                };
                if let Some(n) = fname {
                    check_dup(&mut seen, &n.name, n.span)?;
                }
                out.push(Field {
                    name: fname.map(|n| n.name.clone()),
                    ty,
                    quals,
                    bit_width,
                    span: fdecl.decl.span,
                });
            }
        }
        if r.kind == RecordKind::Struct {
            // The layout of a partial struct comes from offsetof(), which C
            // does not allow on bitfields: CFFI refuses the combination, for a
            // struct ending with `...;` and for one whose layout is partial
            // because of a `[...]` field or a partial struct field.
            let partial_field = out.iter().find(|f| self.makes_partial(f.ty));
            let why = match (body.partial, partial_field) {
                (true, _) => Some((r.span, "this struct ends with `...;`")),
                (false, Some(f)) => Some((f.span, "this field's layout comes from the compiler")),
                (false, None) => None,
            };
            if let (Some((sp, label)), Some(bf)) = (why, out.iter().find(|f| f.bit_width.is_some()))
            {
                return Err(Diag::new(
                    "a partially declared struct cannot have bitfields",
                    bf.span,
                    "bitfield in a partial struct",
                )
                .with_secondary(sp, label)
                .with_note("declare all the fields exactly, or leave the bitfields out"));
            }
        }
        Ok(out)
    }

    /// Does a field of type `ty` make its struct's layout partial (as CFFI
    /// sees it): an array whose length the compiler supplies, or a partial
    /// struct held by value.
    pub(super) fn makes_partial(&self, ty: TypeId) -> bool {
        match self.prog.ty(ty) {
            Type::Array { item, len } => {
                *len == ArrayLen::FromCompiler || self.makes_partial(*item)
            }
            Type::Record(rid) => {
                let rec = self.prog.record(*rid);
                rec.kind == RecordKind::Struct && rec.partial
            }
            _ => false,
        }
    }

    pub(super) fn collect_field_names(&self, rid: RecordId, out: &mut Vec<(String, Span)>) {
        if let Some(fields) = &self.prog.record(rid).fields {
            for f in fields {
                match &f.name {
                    Some(n) => out.push((n.clone(), f.span)),
                    None => {
                        if let Type::Record(inner) = self.prog.ty(f.ty) {
                            self.collect_field_names(*inner, out);
                        }
                    }
                }
            }
        }
    }
}
