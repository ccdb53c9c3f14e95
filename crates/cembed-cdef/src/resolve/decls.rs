//! Declarations: functions, variables, constants and typedefs, each
//! checked against what was declared before under the same name.

use super::*;

impl Resolver {
    pub(super) fn declaration(&mut self, d: &Declaration, ctx: DeclCtx) -> RResult<()> {
        let storage = d.spec.storage.map(|(s, _)| s);
        // Inside extern "Python" blocks typedefs and struct declarations are
        // accepted (as CFFI does); only objects are refused, below.
        if storage == Some(Storage::Typedef) {
            return self.typedef_decl(d);
        }
        if d.declarators.is_empty() {
            return match &d.spec.ty {
                TypeSpec::Record(_) | TypeSpec::Enum(_) => {
                    self.resolve_spec(&d.spec, None).map(|_| ())
                }
                _ => Err(Diag::new(
                    "declaration does not declare anything",
                    d.span,
                    "no name declared here",
                )),
            };
        }
        let (base, base_quals) = self.resolve_spec(&d.spec, None)?;
        for idecl in &d.declarators {
            let r = self.object_decl(d, idecl, base, base_quals, ctx);
            if let Err(e) = r {
                self.errors.push(e);
            }
        }
        Ok(())
    }

    pub(super) fn object_decl(
        &mut self,
        d: &Declaration,
        idecl: &InitDeclarator,
        base: TypeId,
        base_quals: Quals,
        ctx: DeclCtx,
    ) -> RResult<()> {
        let decl = &idecl.decl;
        let Some(name) = &decl.name else {
            return Err(Diag::new(
                "expected a name in this declaration",
                if decl.span.start == decl.span.end {
                    d.span
                } else {
                    decl.span
                },
                "this declares no name",
            ));
        };
        let (ty, quals) = self.apply_ops(base, base_quals, &decl.ops, &d.spec, true)?;
        let span = d.span;
        if let Some(init) = &idecl.init {
            let init_span = match init {
                Initializer::Int(_, sp) | Initializer::Other(sp) => *sp,
            };
            if matches!(self.prog.ty(ty), Type::Function { .. }) {
                return Err(Diag::new(
                    format!("function `{}` cannot have an initializer", name.name),
                    init_span,
                    "not allowed on a function",
                ));
            }
            let is_int = matches!(self.prog.ty(ty), Type::Prim(p) if matches!(
                p.class,
                PrimClass::SignedInt | PrimClass::UnsignedInt | PrimClass::Bool | PrimClass::UnknownInt
            ));
            if ctx.extern_python.is_none() && is_int && matches!(init, Initializer::Int(..)) {
                // CFFI: an integer declaration initialised with an integer
                // literal is an integer constant (`static const int N = 42;`),
                // whatever its qualifiers. Its value comes from the compiler.
                if self.declare(&name.name, OrdKind::Constant(ty), name.span)? {
                    self.prog.decls.push(Decl::Constant {
                        name: name.name.clone(),
                        ty,
                        span,
                    });
                }
                return Ok(());
            }
            // Any other initializer is ignored, as in CFFI.
        }
        match self.prog.ty(ty) {
            Type::Function { .. } => {
                let kind = match (ctx.source_kind, ctx.extern_python) {
                    (SourceKind::EmbeddingApi, _) => FuncKind::Exported,
                    (SourceKind::Cdef, None) => FuncKind::CFunction,
                    (SourceKind::Cdef, Some(false)) => FuncKind::ExternPython,
                    (SourceKind::Cdef, Some(true)) => FuncKind::ExternPythonPlusC,
                };
                let variadic = matches!(self.prog.ty(ty), Type::Function { variadic: true, .. });
                if variadic && kind != FuncKind::CFunction {
                    // CFFI refuses these too (at build time): C cannot forward
                    // a `...` argument list to Python.
                    let label = match kind {
                        FuncKind::Exported => "exported by embedding_api(), but takes `...`",
                        _ => "an extern \"Python\" function, but takes `...`",
                    };
                    return Err(Diag::new(
                        format!(
                            "variadic function `{}` cannot be implemented in Python",
                            name.name
                        ),
                        name.span,
                        label,
                    ));
                }
                if self.declare(&name.name, OrdKind::Function(ty, kind), name.span)? {
                    self.prog.decls.push(Decl::Function {
                        name: name.name.clone(),
                        ty,
                        kind,
                        span,
                    });
                }
                self.keep_written(&name.name, &d.spec, decl);
                Ok(())
            }
            _ if ctx.extern_python.is_some() => Err(Diag::new(
                "extern \"Python\" only applies to function declarations",
                name.span,
                "not a function",
            )),
            t => {
                if matches!(t, Type::Prim(p) if p.class == PrimClass::Void) {
                    return Err(Diag::new(
                        format!("variable `{}` declared void", name.name),
                        name.span,
                        "a variable cannot have type void",
                    ));
                }
                let is_array = matches!(t, Type::Array { .. });
                if quals.is_const && !is_array {
                    // CFFI: a const non-array global is a constant, read once.
                    if self.declare(&name.name, OrdKind::Constant(ty), name.span)? {
                        self.prog.decls.push(Decl::Constant {
                            name: name.name.clone(),
                            ty,
                            span,
                        });
                    }
                } else {
                    if self.declare(&name.name, OrdKind::Global(ty, quals), name.span)? {
                        self.prog.decls.push(Decl::Global {
                            name: name.name.clone(),
                            ty,
                            quals,
                            in_api: ctx.source_kind == SourceKind::EmbeddingApi,
                            span,
                        });
                    }
                    self.keep_written(&name.name, &d.spec, decl);
                }
                Ok(())
            }
        }
    }

    /// Records `name`'s declaration as written (see `Program::written`):
    /// the qualifiers, the type specifier's text and the declarator's text,
    /// with runs of white space made one space.
    pub(super) fn keep_written(&mut self, name: &str, spec: &DeclSpec, decl: &Declarator) {
        let slice = |s: Span| self.text.get(s.start as usize..s.end as usize);
        let (Some(ty), Some(d)) = (slice(spec.ty_span), slice(decl.span)) else {
            return;
        };
        if [ty, d].iter().any(|t| t.contains("/*") || t.contains("//")) {
            self.prog.written.remove(name);
            return;
        }
        let mut out = String::new();
        if spec.is_const {
            out.push_str("const ");
        }
        if spec.is_volatile {
            out.push_str("volatile ");
        }
        out.push_str(ty);
        out.push(' ');
        out.push_str(d);
        let joined = out.split_whitespace().collect::<Vec<_>>().join(" ");
        self.prog.written.insert(name.to_string(), joined);
    }

    pub(super) fn typedef_decl(&mut self, d: &Declaration) -> RResult<()> {
        let dots = matches!(
            d.spec.ty,
            TypeSpec::DotDotDot | TypeSpec::DotDotDotInt | TypeSpec::DotDotDotFloat
        );
        if d.declarators.is_empty() {
            return match &d.spec.ty {
                TypeSpec::Record(_) | TypeSpec::Enum(_) => {
                    self.resolve_spec(&d.spec, None).map(|_| ())
                }
                _ => Err(Diag::new(
                    "typedef declares no name",
                    d.span,
                    "expected a name before `;`",
                )),
            };
        }
        if dots
            && (d.declarators.len() != 1
                || !d.declarators[0].decl.ops.is_empty()
                || d.declarators[0].decl.name.is_none())
        {
            if let [InitDeclarator { decl, .. }] = d.declarators.as_slice() {
                if matches!(decl.ops.as_slice(), [DeclOp::Pointer { .. }])
                    && d.spec.ty == TypeSpec::DotDotDot
                {
                    return Err(Diag::new(
                        "`typedef ... *name;` is not supported",
                        d.span,
                        "pointer to a type of unknown kind",
                    )
                    .with_note(
                        "declare what it points to, e.g. `typedef struct foo_s *name;` \
                         (an opaque struct) or `typedef void *name;`",
                    ));
                }
            }
            return Err(Diag::new(
                "a `...` typedef must declare exactly one plain name",
                d.span,
                "write e.g. `typedef int... foo_t;`",
            ));
        }
        // An anonymous struct/union/enum takes the name of the first declarator
        // if that declarator is the plain name (`typedef struct {..} point_t;`),
        // as in CFFI.
        let first = &d.declarators[0].decl;
        let force = match (&first.name, first.ops.is_empty()) {
            (Some(n), true) => Some(n),
            _ => None,
        };
        let (base, base_quals) = self.resolve_spec(&d.spec, force)?;
        for idecl in &d.declarators {
            let decl = &idecl.decl;
            let r = (|| {
                if let Some(Initializer::Int(_, sp) | Initializer::Other(sp)) = &idecl.init {
                    return Err(Diag::new(
                        "a typedef cannot have an initializer",
                        *sp,
                        "remove the `= ...` part",
                    ));
                }
                let Some(name) = &decl.name else {
                    return Err(Diag::new(
                        "typedef declares no name",
                        decl.span,
                        "expected a name here",
                    ));
                };
                let (ty, quals) = self.apply_ops(base, base_quals, &decl.ops, &d.spec, true)?;
                if self.declare(&name.name, OrdKind::Typedef(ty, quals), name.span)? {
                    self.prog.decls.push(Decl::Typedef {
                        name: name.name.clone(),
                        ty,
                        span: d.span,
                    });
                }
                Ok(())
            })();
            if let Err(e) = r {
                self.errors.push(e);
            }
        }
        Ok(())
    }
}
