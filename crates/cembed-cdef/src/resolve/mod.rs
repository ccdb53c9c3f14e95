//! Resolution: syntax tree -> [`cembed_model::Program`]. Typedef names are
//! replaced by what they name, types are interned, and the semantic rules are
//! checked (unknown names, redefinitions, impossible types).
//!
//! `Resolver` (here) holds the program being built and the names declared so
//! far (ordinary names, tags, `#define`s); by section: [`decls`]
//! (declarations), [`types`] (specifiers and declarators), [`records`]
//! (structs and unions), [`enums`] and [`consts`] (constant evaluation).

use std::collections::{HashMap, HashSet};

use cembed_model::{
    ArrayLen, Decl, EnumDef, EnumId, Enumerator, Field, FuncKind, MacroValue, PrimClass, Program,
    Quals, Record, RecordId, RecordKind, Span, Type, TypeId,
};

use crate::ast::*;
use crate::diag::Diag;
use crate::prims::prim_class;
use crate::SourceKind;

mod consts;
mod decls;
mod enums;
mod records;
mod types;

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
