//! Types: a specifier list's base type and the declarator's pointers,
//! arrays and functions applied to it, each step checked to make a valid C
//! type; parameters adjusted as C does.

use super::*;

impl Resolver {
    /// The base type of a specifier list, with its qualifiers. `force_name` is
    /// the typedef name an anonymous struct/union/enum or a `...` type takes.
    pub(super) fn resolve_spec(
        &mut self,
        spec: &DeclSpec,
        force_name: Option<&Ident>,
    ) -> RResult<(TypeId, Quals)> {
        let mut quals = Quals {
            is_const: spec.is_const,
            is_volatile: spec.is_volatile,
        };
        let ty = match &spec.ty {
            TypeSpec::Prim(p) => self.prog.prim(p, prim_class(p)),
            TypeSpec::Named(n) => match self.ordinary.get(n) {
                Some((OrdKind::Typedef(t, q), _)) => {
                    quals.is_const |= q.is_const;
                    quals.is_volatile |= q.is_volatile;
                    *t
                }
                Some((other, prev)) => {
                    return Err(Diag::new(
                        format!("`{n}` is not a type"),
                        spec.ty_span,
                        format!("this is a {}", other.what()),
                    )
                    .with_secondary(*prev, "declared here"))
                }
                None if n == "FILE" => self.file_type(),
                None => {
                    return Err(Diag::new(
                        format!("unknown type name `{n}`"),
                        spec.ty_span,
                        "unknown type",
                    ))
                }
            },
            TypeSpec::DotDotDotInt | TypeSpec::DotDotDotFloat | TypeSpec::DotDotDot => {
                let Some(name) =
                    force_name.filter(|_| spec.storage.map(|s| s.0) == Some(Storage::Typedef))
                else {
                    return Err(Diag::new(
                        "`...` types are only allowed in a typedef",
                        spec.ty_span,
                        "write e.g. `typedef int... foo_t;`",
                    ));
                };
                match spec.ty {
                    TypeSpec::DotDotDotInt => self.prog.prim(&name.name, PrimClass::UnknownInt),
                    TypeSpec::DotDotDotFloat => self.prog.prim(&name.name, PrimClass::UnknownFloat),
                    _ => {
                        let id = self.prog.add_record(Record {
                            kind: RecordKind::Struct,
                            tag: None,
                            c_name: name.name.clone(),
                            fields: None,
                            partial: false,
                            dotdotdot_typedef: true,
                            pack: None,
                            span: spec.span,
                        });
                        self.list_record(id);
                        self.prog.intern(Type::Record(id))
                    }
                }
            }
            TypeSpec::Record(r) => self.record_type(r, force_name)?,
            TypeSpec::Enum(e) => self.enum_type(e, force_name)?,
        };
        Ok((ty, quals))
    }

    /// CFFI knows `FILE` without a declaration: an opaque type.
    pub(super) fn file_type(&mut self) -> TypeId {
        let id = match self.file_record {
            Some(id) => id,
            None => {
                let id = self.prog.add_record(Record {
                    kind: RecordKind::Struct,
                    tag: None,
                    c_name: "FILE".into(),
                    fields: None,
                    partial: false,
                    dotdotdot_typedef: true,
                    pack: None,
                    span: Span::default(),
                });
                self.file_record = Some(id);
                id
            }
        };
        self.prog.intern(Type::Record(id))
    }

    /// Applies declarator operators (base outwards) to a base type, checking
    /// that each step makes a valid C type.
    pub(super) fn apply_ops(
        &mut self,
        base: TypeId,
        base_quals: Quals,
        ops: &[DeclOp],
        spec: &DeclSpec,
        partial_ok: bool,
    ) -> RResult<(TypeId, Quals)> {
        let mut ty = base;
        let mut quals = base_quals;
        for (i, op) in ops.iter().enumerate() {
            // A length only the compiler knows (`[...]`) can be computed as
            // `sizeof(x) / sizeof(x[0])` only for the outermost array
            // dimensions of a global, a field or a typedef (CFFI's rule too).
            let from_compiler_ok = partial_ok
                && ops[i + 1..]
                    .iter()
                    .all(|o| matches!(o, DeclOp::Array { .. }));
            let from_compiler = |span: Span| -> RResult<ArrayLen> {
                if from_compiler_ok {
                    Ok(ArrayLen::FromCompiler)
                } else {
                    Err(Diag::new(
                        "an array length only the compiler knows is not supported here",
                        span,
                        "the length cannot be derived in this position",
                    )
                    .with_note(
                        "`[...]` (or a length from `#define N ...`) is only allowed for the \
                         outermost dimensions of a global variable, a field or a typedef",
                    ))
                }
            };
            match op {
                DeclOp::Pointer {
                    is_const,
                    is_volatile,
                    ..
                } => {
                    ty = self.prog.intern(Type::Pointer { pointee: ty, quals });
                    quals = Quals {
                        is_const: *is_const,
                        is_volatile: *is_volatile,
                    };
                }
                DeclOp::Array { len, span } => {
                    match self.prog.ty(ty) {
                        Type::Prim(p) if p.class == PrimClass::Void => {
                            return Err(Diag::new(
                                "array of void",
                                spec.ty_span.merge(*span),
                                "the element type is void",
                            ))
                        }
                        Type::Function { .. } => {
                            return Err(Diag::new(
                                "array of functions",
                                *span,
                                "use an array of function pointers: `(*name[n])(...)`",
                            ))
                        }
                        Type::Array {
                            len: ArrayLen::Open,
                            ..
                        } => {
                            return Err(Diag::new(
                                "array of arrays of unknown length",
                                *span,
                                "only the outermost dimension may be `[]`",
                            ))
                        }
                        _ => {}
                    }
                    let len = match len {
                        ArraySize::Open => ArrayLen::Open,
                        ArraySize::DotDotDot => from_compiler(*span)?,
                        ArraySize::Expr(e) => {
                            // A length computed from a `#define N ...` is, like
                            // `[...]`, only known to the compiler.
                            let Some(n) = self.eval(e)? else {
                                let len = from_compiler(e.span())?;
                                ty = self.prog.add_distinct(Type::Array { item: ty, len });
                                continue;
                            };
                            if n < 0 {
                                return Err(Diag::new(
                                    format!("array size is negative ({n})"),
                                    e.span(),
                                    "negative size",
                                ));
                            }
                            if n > u64::MAX as i128 {
                                return Err(Diag::new(
                                    "array size too large",
                                    e.span(),
                                    "too large",
                                ));
                            }
                            ArrayLen::Fixed(n as u64)
                        }
                    };
                    // Each `[...]` is its own type: the lengths of two
                    // declarations spelled alike still come from the compiler
                    // separately.
                    ty = if len == ArrayLen::FromCompiler {
                        self.prog.add_distinct(Type::Array { item: ty, len })
                    } else {
                        self.prog.intern(Type::Array { item: ty, len })
                    };
                }
                DeclOp::Function {
                    params,
                    variadic,
                    span,
                } => {
                    match self.prog.ty(ty) {
                        Type::Array { .. } => {
                            return Err(Diag::new(
                                "function returning an array",
                                *span,
                                "a function cannot return an array; return a pointer",
                            ))
                        }
                        Type::Function { .. } => {
                            return Err(Diag::new(
                                "function returning a function",
                                *span,
                                "a function cannot return a function; return a function pointer",
                            ))
                        }
                        _ => {}
                    }
                    let mut ps = Vec::with_capacity(params.len());
                    if let [p] = params.as_slice() {
                        // `(void_t)` with `typedef void void_t;` also means no
                        // parameters (CFFI agrees).
                        let plain = matches!(p.spec.ty, TypeSpec::Named(_) | TypeSpec::Prim(_));
                        if plain && p.decl.name.is_none() && p.decl.ops.is_empty() {
                            let (t, _) = self.resolve_spec(&p.spec, None)?;
                            if matches!(self.prog.ty(t), Type::Prim(pr) if pr.class == PrimClass::Void)
                            {
                                ty = self.prog.intern(Type::Function {
                                    result: ty,
                                    params: Vec::new(),
                                    variadic: *variadic,
                                });
                                quals = Quals::default();
                                continue;
                            }
                        }
                    }
                    for p in params {
                        ps.push(self.param(p)?);
                    }
                    ty = self.prog.intern(Type::Function {
                        result: ty,
                        params: ps,
                        variadic: *variadic,
                    });
                    quals = Quals::default();
                }
            }
        }
        Ok((ty, quals))
    }

    /// A parameter's type, adjusted as C (and CFFI) do: arrays decay to
    /// pointers, functions to function pointers, top-level qualifiers dropped.
    pub(super) fn param(&mut self, p: &Param) -> RResult<TypeId> {
        let (base, bq) = self.resolve_spec(&p.spec, None)?;
        let (ty, quals) = self.apply_ops(base, bq, &p.decl.ops, &p.spec, false)?;
        Ok(match self.prog.ty(ty).clone() {
            Type::Prim(pr) if pr.class == PrimClass::Void => {
                return Err(Diag::new(
                    "parameter has type void",
                    p.span,
                    "`void` is only allowed alone, as `(void)`",
                ))
            }
            Type::Array { item, .. } => self.prog.intern(Type::Pointer {
                pointee: item,
                quals,
            }),
            Type::Function { .. } => self.prog.intern(Type::Pointer {
                pointee: ty,
                quals: Quals::default(),
            }),
            _ => ty,
        })
    }
}
