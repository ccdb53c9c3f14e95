//! Resolution: syntax tree -> [`cembed_model::Program`]. Typedef names are
//! replaced by what they name, types are interned, and the semantic rules are
//! checked (unknown names, redefinitions, impossible types).

use std::collections::{HashMap, HashSet};

use cembed_model::{
    ArrayLen, Decl, EnumDef, EnumId, Enumerator, Field, FuncKind, MacroValue, PrimClass, Program,
    Quals, Record, RecordId, RecordKind, Span, Type, TypeId,
};

use crate::ast::*;
use crate::diag::Diag;
use crate::prims::prim_class;
use crate::SourceKind;

type RResult<T> = Result<T, Diag>;

/// What an ordinary identifier (C's "ordinary namespace": typedefs, functions,
/// variables, enumerators, macros) names.
#[derive(Clone, Debug, PartialEq)]
enum OrdKind {
    Typedef(TypeId, Quals),
    Function(TypeId, FuncKind),
    Global(TypeId, Quals),
    Constant(TypeId),
    Enumerator(Option<i128>),
    Macro(Option<i128>),
}

impl OrdKind {
    fn what(&self) -> &'static str {
        match self {
            OrdKind::Typedef(..) => "typedef",
            OrdKind::Function(..) => "function",
            OrdKind::Global(..) => "global variable",
            OrdKind::Constant(..) => "constant",
            OrdKind::Enumerator(..) => "enumerator",
            OrdKind::Macro(..) => "macro",
        }
    }
}

pub struct Resolver {
    pub prog: Program,
    ordinary: HashMap<String, (OrdKind, Span)>,
    /// struct/union/enum tags (one namespace in C).
    tags: HashMap<String, Tag>,
    anon_counter: u32,
    file_record: Option<RecordId>,
    listed_records: HashSet<RecordId>,
    /// The source being resolved was given with `override=True`.
    pub override_: bool,
    /// The source being resolved was given with `packed=True` / `pack=N`.
    pub pack: Option<u32>,
    /// The text of each record's / enum's body once defined (to tell an
    /// identical re-definition from a conflicting one).
    record_bodies: HashMap<RecordId, String>,
    enum_bodies: HashMap<EnumId, String>,
    pub errors: Vec<Diag>,
    /// The text of the source being resolved (spans index into it): the
    /// declarations are kept as written for the consumer header.
    pub text: String,
}

#[derive(Copy, Clone, Debug)]
enum Tag {
    Record(RecordId),
    Enum(EnumId),
}

/// What `cdef(..., override=True)` may replace: CFFI's `_declare` keys
/// (functions, variables, constants, typedefs). Macros and enumerators are
/// CFFI's "constants" table, which never accepts a second value.
fn overridable(k: &OrdKind) -> bool {
    match k {
        OrdKind::Typedef(..)
        | OrdKind::Function(..)
        | OrdKind::Global(..)
        | OrdKind::Constant(..) => true,
        OrdKind::Enumerator(..) | OrdKind::Macro(..) => false,
    }
}

/// The ordinary name a top-level declaration introduces, if any.
fn decl_name(d: &Decl) -> Option<&str> {
    match d {
        Decl::Function { name, .. }
        | Decl::Global { name, .. }
        | Decl::Constant { name, .. }
        | Decl::Macro { name, .. }
        | Decl::Typedef { name, .. } => Some(name),
        Decl::Record { .. } | Decl::Enum { .. } => None,
    }
}

fn kind_word(k: RecordKind) -> &'static str {
    match k {
        RecordKind::Struct => "struct",
        RecordKind::Union => "union",
    }
}

/// Per-declaration context.
#[derive(Copy, Clone)]
struct DeclCtx {
    source_kind: SourceKind,
    /// `Some(plus_c)` inside `extern "Python"` / `extern "Python+C"`.
    extern_python: Option<bool>,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::new()
    }
}

impl Resolver {
    pub fn new() -> Self {
        Resolver {
            prog: Program::new(),
            ordinary: HashMap::new(),
            tags: HashMap::new(),
            anon_counter: 0,
            file_record: None,
            listed_records: HashSet::new(),
            override_: false,
            pack: None,
            record_bodies: HashMap::new(),
            enum_bodies: HashMap::new(),
            errors: Vec::new(),
            text: String::new(),
        }
    }

    /// Resolves one source's declarations, in order. Errors are collected in
    /// [`Resolver::errors`]; a declaration with an error is skipped.
    pub fn resolve_source(&mut self, decls: &[TopDecl], kind: SourceKind) {
        for d in decls {
            let r = match d {
                // An included builder's macros are its library's constants.
                TopDecl::Define { .. } if kind == SourceKind::Included => Ok(()),
                TopDecl::Define { name, value, span } => self.define(name, value, *span),
                TopDecl::Decl(decl) => self.declaration(
                    decl,
                    DeclCtx {
                        source_kind: kind,
                        extern_python: None,
                    },
                ),
                TopDecl::ExternPython { plus_c, decls, .. } => {
                    for decl in decls {
                        let r = self.declaration(
                            decl,
                            DeclCtx {
                                source_kind: kind,
                                extern_python: Some(*plus_c),
                            },
                        );
                        if let Err(e) = r {
                            self.errors.push(e);
                        }
                    }
                    Ok(())
                }
            };
            if let Err(e) = r {
                self.errors.push(e);
            }
        }
    }

    // ---- names -------------------------------------------------------------------

    /// Declares an ordinary name. Returns `Ok(false)` if it was already declared
    /// identically (the declaration is then not repeated), an error if declared
    /// differently.
    fn declare(&mut self, name: &str, kind: OrdKind, span: Span) -> RResult<bool> {
        if let Some((prev, prev_span)) = self.ordinary.get(name) {
            if *prev == kind {
                return Ok(false);
            }
            if self.override_ && overridable(prev) && overridable(&kind) {
                // CFFI's `override=True`: the new declaration replaces the
                // old one (the declarations resolved with the old one keep
                // what they resolved to, as in CFFI).
                self.prog.decls.retain(|d| decl_name(d) != Some(name));
                self.ordinary.insert(name.to_string(), (kind, span));
                return Ok(true);
            }
            let msg = if let (OrdKind::Function(t1, k1), OrdKind::Function(t2, k2)) = (prev, &kind)
            {
                if t1 == t2 {
                    format!(
                        "function `{name}` declared again as {} (it was declared as {})",
                        func_kind_words(*k2),
                        func_kind_words(*k1)
                    )
                } else {
                    format!("redefinition of function `{name}` with a different type")
                }
            } else if prev.what() == kind.what() {
                format!(
                    "redefinition of {} `{name}` with a different type",
                    kind.what()
                )
            } else {
                format!(
                    "`{name}` redeclared as a {} (it was declared as a {})",
                    kind.what(),
                    prev.what()
                )
            };
            let mut d = Diag::new(msg, span, "redefined here")
                .with_secondary(*prev_span, "previous declaration");
            if prev.what() == kind.what() {
                if let (Some(a), Some(b)) = (
                    self.describe_kind(prev, name),
                    self.describe_kind(&kind, name),
                ) {
                    if a != b {
                        d = d.with_note(format!("previously `{a}`, now `{b}`"));
                    }
                }
            }
            return Err(d);
        }
        self.ordinary.insert(name.to_string(), (kind, span));
        Ok(true)
    }

    /// The declaration `kind` gives `name`, in C syntax, when it has a type.
    fn describe_kind(&self, kind: &OrdKind, name: &str) -> Option<String> {
        match kind {
            OrdKind::Typedef(t, _)
            | OrdKind::Function(t, _)
            | OrdKind::Global(t, _)
            | OrdKind::Constant(t) => Some(self.prog.c_decl(*t, name)),
            OrdKind::Enumerator(_) | OrdKind::Macro(_) => None,
        }
    }

    fn define(&mut self, name: &Ident, value: &DefineValue, span: Span) -> RResult<()> {
        let (v, mv) = match value {
            DefineValue::Int(v) => {
                if *v < i64::MIN as i128 {
                    return Err(Diag::new(
                        format!("#define {}: value out of range", name.name),
                        span,
                        "does not fit in a 64-bit integer",
                    ));
                }
                (Some(*v), MacroValue::Int(*v))
            }
            DefineValue::DotDotDot => (None, MacroValue::FromCompiler),
        };
        if self.declare(&name.name, OrdKind::Macro(v), name.span)? {
            self.prog.decls.push(Decl::Macro {
                name: name.name.clone(),
                value: mv,
                span,
            });
        }
        Ok(())
    }

    // ---- declarations ----------------------------------------------------------------

    fn declaration(&mut self, d: &Declaration, ctx: DeclCtx) -> RResult<()> {
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

    fn object_decl(
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
        if ctx.source_kind == SourceKind::Included {
            // A function, variable or constant of the included builder.
            return Ok(());
        }
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
                    (SourceKind::Cdef | SourceKind::Included, None) => FuncKind::CFunction,
                    (SourceKind::Cdef | SourceKind::Included, Some(false)) => {
                        FuncKind::ExternPython
                    }
                    (SourceKind::Cdef | SourceKind::Included, Some(true)) => {
                        FuncKind::ExternPythonPlusC
                    }
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
    fn keep_written(&mut self, name: &str, spec: &DeclSpec, decl: &Declarator) {
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

    fn typedef_decl(&mut self, d: &Declaration) -> RResult<()> {
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

    // ---- types -------------------------------------------------------------------

    /// The base type of a specifier list, with its qualifiers. `force_name` is
    /// the typedef name an anonymous struct/union/enum or a `...` type takes.
    fn resolve_spec(
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
    fn file_type(&mut self) -> TypeId {
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

    fn anon_name(&mut self, kw: &str, force: Option<&Ident>) -> String {
        match force {
            Some(n) => n.name.clone(),
            None => {
                self.anon_counter += 1;
                format!("{kw} ${}", self.anon_counter)
            }
        }
    }

    fn record_type(&mut self, r: &RecordSpec, force: Option<&Ident>) -> RResult<TypeId> {
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
    fn list_record(&mut self, id: RecordId) {
        if self.listed_records.insert(id) {
            self.prog.decls.push(Decl::Record { id });
        }
    }

    fn fields(&mut self, body: &RecordBody, r: &RecordSpec) -> RResult<Vec<Field>> {
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
    fn makes_partial(&self, ty: TypeId) -> bool {
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

    fn collect_field_names(&self, rid: RecordId, out: &mut Vec<(String, Span)>) {
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

    fn enum_type(&mut self, e: &EnumSpec, force: Option<&Ident>) -> RResult<TypeId> {
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

    /// Applies declarator operators (base outwards) to a base type, checking
    /// that each step makes a valid C type.
    fn apply_ops(
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
    fn param(&mut self, p: &Param) -> RResult<TypeId> {
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

    /// Evaluates a constant integer expression. Names refer to enumerators and
    /// integer `#define`s declared earlier. `None`: the value depends on one
    /// only the compiler knows (declared with `...`).
    fn eval(&self, e: &Expr) -> RResult<Option<i128>> {
        let overflow =
            |sp: Span| Diag::new("integer overflow in constant expression", sp, "overflows");
        Ok(Some(match e {
            Expr::Int(v, _) => *v,
            Expr::Name(id) => match self.ordinary.get(&id.name) {
                Some((OrdKind::Enumerator(Some(v)) | OrdKind::Macro(Some(v)), _)) => *v,
                Some((OrdKind::Enumerator(None) | OrdKind::Macro(None), _)) => return Ok(None),
                Some((other, prev)) => {
                    return Err(Diag::new(
                        format!("`{}` is not an integer constant", id.name),
                        id.span,
                        format!("this is a {}", other.what()),
                    )
                    .with_secondary(*prev, "declared here"))
                }
                None => {
                    return Err(Diag::new(
                        format!("unknown name `{}` in a constant expression", id.name),
                        id.span,
                        "not an enumerator or integer #define declared before",
                    ))
                }
            },
            Expr::Unary(op, x, sp) => {
                let Some(v) = self.eval(x)? else {
                    return Ok(None);
                };
                match op {
                    UnOp::Neg => v.checked_neg().ok_or_else(|| overflow(*sp))?,
                    UnOp::Plus => v,
                    UnOp::BitNot => !v,
                }
            }
            Expr::Binary(op, a, b, sp) => {
                let (Some(x), Some(y)) = (self.eval(a)?, self.eval(b)?) else {
                    return Ok(None);
                };
                let r = match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div | BinOp::Rem if y == 0 => {
                        return Err(Diag::new("division by zero", *sp, "divides by zero"))
                    }
                    BinOp::Div => x.checked_div(y),
                    BinOp::Rem => x.checked_rem(y),
                    BinOp::Shl | BinOp::Shr if !(0..64).contains(&y) => {
                        return Err(Diag::new(
                            format!("shift by {y} bits is out of range"),
                            *sp,
                            "shift count must be 0..63",
                        ))
                    }
                    BinOp::Shl => x.checked_shl(y as u32),
                    BinOp::Shr => Some(x >> y),
                    BinOp::BitAnd => Some(x & y),
                    BinOp::BitOr => Some(x | y),
                    BinOp::BitXor => Some(x ^ y),
                };
                let v = r.ok_or_else(|| overflow(*sp))?;
                if v > u64::MAX as i128 || v < i64::MIN as i128 {
                    return Err(overflow(*sp));
                }
                v
            }
        }))
    }
}

fn func_kind_words(k: FuncKind) -> &'static str {
    match k {
        FuncKind::Exported => "an embedding_api() function",
        FuncKind::ExternPython => "an extern \"Python\" function",
        FuncKind::ExternPythonPlusC => "an extern \"Python+C\" function",
        FuncKind::CFunction => "a C function",
    }
}

fn check_dup(seen: &mut HashMap<String, Span>, name: &str, sp: Span) -> RResult<()> {
    if let Some(prev) = seen.get(name) {
        return Err(Diag::new(
            format!("duplicate field `{name}`"),
            sp,
            "declared again here",
        )
        .with_secondary(*prev, "first declared here"));
    }
    seen.insert(name.to_string(), sp);
    Ok(())
}

trait SpanExt {
    fn merge(self, other: Span) -> Span;
}

impl SpanExt for Span {
    fn merge(self, other: Span) -> Span {
        if self.source != other.source {
            return other;
        }
        Span {
            source: self.source,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}
