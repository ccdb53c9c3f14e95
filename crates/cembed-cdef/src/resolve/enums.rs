//! Enums: tags, enumerators and their values.

use super::*;

impl Resolver {
    pub(super) fn enum_type(&mut self, e: &EnumSpec, force: Option<&Ident>) -> RResult<TypeId> {
        let existing = match &e.tag {
            Some(tag) => match self.tags.get(&tag.name) {
                Some(Tag::Enum(id)) => Some(*id),
                Some(Tag::Record(rid)) => {
                    let rec = self.prog.record(*rid);
                    let what = kind_word(rec.kind);
                    return Err(Diag::new(
                        format!("`{}` was declared as a {what}, not an enum", tag.name),
                        tag.span,
                        "used as an enum here",
                    )
                    .with_secondary(rec.span, format!("declared as a {what} here")));
                }
                None => None,
            },
            None => None,
        };
        let Some(body) = &e.body else {
            // `enum foo` without a body: use the earlier definition, or declare
            // an enum whose values only the compiler knows.
            let id = match existing {
                Some(id) => id,
                None => {
                    let tag = e.tag.as_ref().expect("parser: enum without tag or body");
                    let id = self.prog.add_enum(EnumDef {
                        tag: Some(tag.name.clone()),
                        c_name: format!("enum {}", tag.name),
                        enumerators: Vec::new(),
                        partial: true,
                        span: e.span,
                    });
                    self.tags.insert(tag.name.clone(), Tag::Enum(id));
                    self.prog.decls.push(Decl::Enum { id });
                    id
                }
            };
            return Ok(self.prog.intern(Type::Enum(id)));
        };
        if let Some(id) = existing {
            let old = self.prog.enum_def(id);
            match self.enum_bodies.get(&id) {
                // The same definition again: nothing to add.
                Some(prev) if *prev == body.text => {
                    return Ok(self.prog.intern(Type::Enum(id)));
                }
                // A forward-declared enum (no values yet) may be completed once.
                None => {}
                Some(_) => {
                    return Err(Diag::new(
                        format!("redefinition of `{}`", old.c_name),
                        e.span,
                        "redefined here",
                    )
                    .with_secondary(old.span, "first defined here"))
                }
            }
        }
        // Enumerators: values are computed as the C compiler would for a
        // complete enum; in a partial one (`...`) an implicit value after the
        // `...` position is unknown.
        let mut enumerators = Vec::new();
        let mut next: Option<i128> = Some(0);
        for item in &body.items {
            let value = match &item.value {
                EnumValue::Implicit => next,
                // None: refers to a value only the compiler knows (`...`).
                EnumValue::Expr(x) => self.eval(x)?,
                EnumValue::DotDotDot => None,
            };
            let declared = if body.partial && matches!(item.value, EnumValue::Implicit) {
                // CFFI: in a partial enum, values not written are not checked.
                None
            } else {
                value
            };
            if let Some(v) = value {
                if v < i64::MIN as i128 || v > u64::MAX as i128 {
                    return Err(Diag::new(
                        format!("enumerator `{}` value {v} is out of range", item.name.name),
                        item.name.span,
                        "does not fit in 64 bits",
                    ));
                }
            }
            self.declare(
                &item.name.name,
                OrdKind::Enumerator(declared),
                item.name.span,
            )
            .map_err(|d| Diag {
                message: format!("redefinition of enumerator `{}`", item.name.name),
                ..d
            })?;
            next = value.map(|v| v + 1);
            enumerators.push(Enumerator {
                name: item.name.name.clone(),
                declared_value: declared,
                span: item.name.span,
            });
        }
        let def = EnumDef {
            tag: e.tag.as_ref().map(|t| t.name.clone()),
            c_name: match &e.tag {
                Some(t) => format!("enum {}", t.name),
                None => self.anon_name("enum", force),
            },
            enumerators,
            partial: body.partial,
            span: e.span,
        };
        let id = match existing {
            Some(id) => {
                self.prog.enums[id.0 as usize] = def;
                self.enum_bodies.insert(id, body.text.clone());
                id
            }
            None => {
                let id = self.prog.add_enum(def);
                self.enum_bodies.insert(id, body.text.clone());
                if let Some(t) = &e.tag {
                    self.tags.insert(t.name.clone(), Tag::Enum(id));
                }
                self.prog.decls.push(Decl::Enum { id });
                id
            }
        };
        Ok(self.prog.intern(Type::Enum(id)))
    }
}
