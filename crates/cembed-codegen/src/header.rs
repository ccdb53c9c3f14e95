//! The consumer header: what a C program using the library includes.
//!
//! It repeats the declarations in C: types first (tagged records forward
//! declared, then defined with what they contain by value defined before
//! them; anonymous records and enums written inline where they are used),
//! `#define` constants, then the library's interface (the `embedding_api()`
//! functions and globals). Declarations the cdef only gives partially (`...`)
//! cannot be written from the cdef: a comment asks to include the real
//! definition first.

use std::collections::{BTreeSet, HashMap, HashSet};

use cembed_model::{
    ArrayLen, Decl, EnumId, FuncKind, MacroValue, PrimClass, Program, Quals, RecordId, RecordKind,
    Type, TypeId,
};

use crate::cstr::ident_fragment;
use crate::gen::comment_safe;
use crate::spell::{pointer_inner, qual_words, tagged};
use crate::writer::SourceWriter;

pub fn generate(p: &Program, module_name: &str) -> String {
    let mut h = Header {
        p,
        w: SourceWriter::new(),
        records_done: HashSet::new(),
        enums_done: HashSet::new(),
        inline_records: HashSet::new(),
        inline_enums: HashSet::new(),
        typedef_named: HashSet::new(),
        typedef_names: HashMap::new(),
    };
    for d in &p.decls {
        if let Decl::Typedef { ty, .. } = d {
            if matches!(p.ty(*ty), Type::Record(_) | Type::Enum(_)) {
                h.typedef_named.insert(p.ty(*ty).clone());
            }
        }
    }
    // Anonymous records and enums are written where they are used.
    for (i, r) in p.records.iter().enumerate() {
        if r.tag.is_none() {
            h.inline_records.insert(RecordId(i as u32));
        }
    }
    for (i, e) in p.enums.iter().enumerate() {
        if e.tag.is_none() {
            h.inline_enums.insert(EnumId(i as u32));
        }
    }
    h.run(module_name);
    h.w.finish()
}

struct Header<'p> {
    p: &'p Program,
    w: SourceWriter,
    records_done: HashSet<RecordId>,
    enums_done: HashSet<EnumId>,
    inline_records: HashSet<RecordId>,
    inline_enums: HashSet<EnumId>,
    /// Anonymous records and enums a typedef names: written inline in that
    /// typedef only, by the typedef's name everywhere else.
    typedef_named: HashSet<Type>,
    /// Typedefs already written, by type: the only C spelling of a type
    /// containing an anonymous record or a `[...]` array.
    typedef_names: HashMap<TypeId, String>,
}

/// A declarator split into its base type and the rest, so the base can be
/// printed as a name or as an inline body.
struct Split {
    base: TypeId,
    base_quals: Quals,
    inner: String,
}

impl Header<'_> {
    fn run(&mut self, module_name: &str) {
        let p = self.p;
        let guard = format!(
            "CEMBED_{}_H",
            ident_fragment(module_name).to_ascii_uppercase()
        );
        self.w.line(format!(
            "/* C interface of the library built by cembed for module '{}'.",
            comment_safe(module_name)
        ));
        self.w
            .line(" * Generated from the build script's declarations: do not edit. */");
        self.w.line(format!("#ifndef {guard}"));
        self.w.line(format!("#define {guard}"));
        self.w.blank();
        self.w.line("#include <stddef.h>");
        self.w.line("#include <stdint.h>");
        let mut extra = BTreeSet::new();
        for ty in &p.types {
            if let Type::Prim(prim) = ty {
                match prim.name.as_str() {
                    // C++ spells _Bool as bool: <stdbool.h> maps it.
                    "bool" | "_Bool" => extra.insert("stdbool.h"),
                    "char16_t" | "char32_t" => extra.insert("uchar.h"),
                    "ssize_t" => extra.insert("sys/types.h"),
                    "FILE" => extra.insert("stdio.h"),
                    _ => false,
                };
            }
        }
        // CFFI knows FILE without a declaration (an opaque record).
        if p.records
            .iter()
            .any(|r| r.dotdotdot_typedef && r.c_name == "FILE")
        {
            extra.insert("stdio.h");
        }
        for e in extra {
            self.w.line(format!("#include <{e}>"));
        }
        self.w.blank();
        self.w.line("#ifdef __cplusplus");
        self.w.line("extern \"C\" {");
        self.w.line("#endif");
        self.w.blank();

        // Forward declarations: pointers to records declared later work.
        let mut any = false;
        for r in &p.records {
            if let (Some(tag), false) = (&r.tag, r.dotdotdot_typedef) {
                let kw = kw(r.kind);
                self.w.line(format!("{kw} {tag};"));
                any = true;
            }
        }
        if any {
            self.w.blank();
        }

        let used_enums = enums_used_as_types(p);
        for d in &p.decls {
            match d {
                Decl::Record { id } => {
                    if !self.inline_records.contains(id) {
                        self.define_record(*id);
                    }
                }
                Decl::Enum { id } => {
                    let e = p.enum_def(*id);
                    // An anonymous enum is written where it is used (a
                    // typedef, a field); one used nowhere declares its
                    // constants on its own.
                    if e.tag.is_some() || !used_enums.contains(id) {
                        self.define_enum(*id);
                    }
                }
                Decl::Typedef { name, ty, .. } => self.typedef(name, *ty),
                Decl::Macro { name, value, .. } => match value {
                    MacroValue::Int(v) => self
                        .w
                        .line(format!("#define {name} {}", header_literal(*v))),
                    MacroValue::FromCompiler => self.w.line(format!(
                        "/* #define {name} ...: its value is in the library's own headers */"
                    )),
                },
                Decl::Function { .. } | Decl::Global { .. } | Decl::Constant { .. } => {}
            }
        }
        self.w.blank();

        let mut any = false;
        for d in &p.decls {
            let line = match d {
                // As the cdef wrote them (typedef names and parameter names
                // kept), else rebuilt from the types.
                Decl::Function {
                    name,
                    ty,
                    kind: FuncKind::Exported,
                    ..
                } => match p.written.get(name) {
                    Some(w) => format!("{};", cxx_bool(w)),
                    None => format!("{};", self.decl(*ty, name)),
                },
                Decl::Global {
                    name,
                    ty,
                    quals,
                    in_api: true,
                    ..
                } => match p.written.get(name) {
                    Some(w) => format!("extern {};", cxx_bool(w)),
                    None => format!("extern {};", self.decl_q(*ty, name, *quals)),
                },
                _ => continue,
            };
            if !any {
                self.w
                    .line("/* The library's interface (embedding_api()). */");
                any = true;
            }
            self.w.line(line);
        }
        self.w.blank();
        self.w.line("#ifdef __cplusplus");
        self.w.line("}");
        self.w.line("#endif");
        self.w.blank();
        self.w.line(format!("#endif /* {guard} */"));
    }

    /// Like the generated C's printer (spell.rs), with qualifiers carried
    /// through arrays to their elements.
    fn split(&self, id: TypeId, name: &str) -> Split {
        self.split_q(id, name, Quals::default())
    }

    fn split_q(&self, id: TypeId, name: &str, quals: Quals) -> Split {
        let p = self.p;
        let mut inner = name.to_string();
        let mut cur = id;
        let mut pending = quals;
        loop {
            let q = std::mem::take(&mut pending);
            // base_name() prints the typedef's name for this type.
            if self.typedef_for(cur).is_some() {
                return Split {
                    base: cur,
                    base_quals: q,
                    inner,
                };
            }
            match p.ty(cur) {
                Type::Pointer { pointee, quals } => {
                    inner = pointer_inner(q, &inner);
                    if matches!(p.ty(*pointee), Type::Array { .. } | Type::Function { .. })
                        && self.typedef_for(*pointee).is_none()
                    {
                        inner = format!("({inner})");
                    }
                    pending = *quals;
                    cur = *pointee;
                }
                Type::Array { item, len } => {
                    let n = match len {
                        ArrayLen::Fixed(n) => n.to_string(),
                        ArrayLen::Open | ArrayLen::FromCompiler => String::new(),
                    };
                    inner = format!("{inner}[{n}]");
                    pending = q;
                    cur = *item;
                }
                Type::Function {
                    result,
                    params,
                    variadic,
                } => {
                    let mut ps: Vec<String> = params.iter().map(|t| self.decl(*t, "")).collect();
                    if *variadic {
                        ps.push("...".into());
                    }
                    if ps.is_empty() {
                        ps.push("void".into());
                    }
                    inner = format!("{inner}({})", ps.join(", "));
                    cur = *result;
                }
                Type::Prim(_) | Type::Record(_) | Type::Enum(_) => {
                    return Split {
                        base: cur,
                        base_quals: q,
                        inner,
                    }
                }
            }
        }
    }

    /// The name of a typedef already written for `t`, if `t` has no other
    /// spelling in a header.
    fn typedef_for(&self, t: TypeId) -> Option<&str> {
        if self.unspellable(t) {
            self.typedef_names.get(&t).map(String::as_str)
        } else {
            None
        }
    }

    /// Whether `t` contains an anonymous record or enum no typedef names, or
    /// a `[...]` array: things only a typedef can name in a header.
    fn unspellable(&self, t: TypeId) -> bool {
        let p = self.p;
        match p.ty(t) {
            Type::Prim(_) => false,
            Type::Record(r) => {
                let rec = p.record(*r);
                rec.tag.is_none() && !rec.dotdotdot_typedef && !self.typedef_named.contains(p.ty(t))
            }
            Type::Enum(e) => p.enum_def(*e).tag.is_none() && !self.typedef_named.contains(p.ty(t)),
            Type::Pointer { pointee, .. } => self.unspellable(*pointee),
            Type::Array { item, len } => *len == ArrayLen::FromCompiler || self.unspellable(*item),
            Type::Function { result, params, .. } => {
                self.unspellable(*result) || params.iter().any(|x| self.unspellable(*x))
            }
        }
    }

    fn base_name(&self, t: TypeId) -> String {
        if let Some(name) = self.typedef_for(t) {
            return name.to_string();
        }
        match self.p.ty(t) {
            // `bool` (from <stdbool.h> in C) is also C++'s spelling.
            Type::Prim(prim) if prim.name == "_Bool" => "bool".to_string(),
            Type::Prim(prim) => prim.c_spelling().to_string(),
            // Tagged types by their tag: CFFI's name may be a typedef that
            // is not declared yet at this point of the header.
            Type::Record(r) => {
                let rec = self.p.record(*r);
                match &rec.tag {
                    Some(tag) => tagged(rec.kind, tag),
                    None => rec.c_name.clone(),
                }
            }
            Type::Enum(e) => {
                let en = self.p.enum_def(*e);
                match &en.tag {
                    Some(tag) => format!("enum {tag}"),
                    None => en.c_name.clone(),
                }
            }
            Type::Pointer { .. } | Type::Array { .. } | Type::Function { .. } => {
                unreachable!("split() stops at a base type or a typedef")
            }
        }
    }

    fn join(base: &str, inner: &str) -> String {
        if inner.is_empty() {
            base.to_string()
        } else if inner.starts_with('[') {
            format!("{base}{inner}")
        } else {
            format!("{base} {inner}")
        }
    }

    /// A one-line declaration (named types only).
    fn decl(&self, id: TypeId, name: &str) -> String {
        self.decl_q(id, name, Quals::default())
    }

    fn decl_q(&self, id: TypeId, name: &str, quals: Quals) -> String {
        let s = self.split_q(id, name, quals);
        let mut base = self.base_name(s.base);
        let words = qual_words(s.base_quals);
        if !words.is_empty() {
            base = format!("{words} {base}");
        }
        Self::join(&base, &s.inner)
    }

    /// Writes `prefix <decl>;`, with an anonymous record or enum at the base
    /// written inline (`typedef struct { ... } point_t;`).
    fn decl_lines(
        &mut self,
        prefix: &str,
        id: TypeId,
        name: &str,
        quals: Quals,
        suffix: &str,
        in_typedef: bool,
    ) {
        let s = self.split_q(id, name, quals);
        let konst = match qual_words(s.base_quals) {
            "" => String::new(),
            w => format!("{w} "),
        };
        let base_ty = self.p.ty(s.base);
        let may_inline = in_typedef || !self.typedef_named.contains(base_ty);
        let inline_body = match base_ty {
            Type::Record(r)
                if may_inline
                    && self.inline_records.contains(r)
                    && !self.records_done.contains(r) =>
            {
                Some(Err(*r))
            }
            Type::Enum(e)
                if may_inline && self.inline_enums.contains(e) && !self.enums_done.contains(e) =>
            {
                Some(Ok(*e))
            }
            _ => None,
        };
        match inline_body {
            None => {
                let base = format!("{konst}{}", self.base_name(s.base));
                self.w
                    .line(format!("{prefix}{}{suffix};", Self::join(&base, &s.inner)));
            }
            Some(Err(r)) => {
                self.records_done.insert(r);
                let rec = self.p.record(r);
                let kwd = kw(rec.kind);
                let tail = if s.inner.is_empty() {
                    String::new()
                } else {
                    format!(" {}", s.inner)
                };
                self.w.line(format!("{prefix}{konst}{kwd} {{"));
                self.record_body(r);
                self.w.line(format!("}}{tail}{suffix};"));
            }
            Some(Ok(e)) => {
                self.enums_done.insert(e);
                let tail = if s.inner.is_empty() {
                    String::new()
                } else {
                    format!(" {}", s.inner)
                };
                self.w.line(format!("{prefix}{konst}enum {{"));
                self.enum_body(e);
                self.w.line(format!("}}{tail}{suffix};"));
            }
        }
    }

    fn record_body(&mut self, r: RecordId) {
        let p = self.p;
        let Some(fields) = &p.record(r).fields else {
            return;
        };
        // Fields are written one indentation level in: the writer indents
        // inside its blocks only, so do it by hand here.
        for f in fields {
            let suffix = match f.bit_width {
                Some(w) => format!(" : {w}"),
                None => String::new(),
            };
            let name = f.name.clone().unwrap_or_default();
            self.decl_lines_indented(f.ty, &name, f.quals, &suffix);
        }
    }

    /// [`Self::decl_lines`] for a field: nested inline bodies get indented.
    fn decl_lines_indented(&mut self, id: TypeId, name: &str, quals: Quals, suffix: &str) {
        let mut sub = Header {
            p: self.p,
            w: SourceWriter::new(),
            records_done: std::mem::take(&mut self.records_done),
            enums_done: std::mem::take(&mut self.enums_done),
            inline_records: std::mem::take(&mut self.inline_records),
            inline_enums: std::mem::take(&mut self.inline_enums),
            typedef_named: std::mem::take(&mut self.typedef_named),
            typedef_names: std::mem::take(&mut self.typedef_names),
        };
        sub.decl_lines("", id, name, quals, suffix, false);
        self.records_done = sub.records_done;
        self.enums_done = sub.enums_done;
        self.inline_records = sub.inline_records;
        self.inline_enums = sub.inline_enums;
        self.typedef_named = sub.typedef_named;
        self.typedef_names = sub.typedef_names;
        for l in sub.w.finish().lines() {
            self.w.line(format!("    {l}"));
        }
    }

    fn enum_body(&mut self, e: EnumId) {
        let en = self.p.enum_def(e);
        for x in &en.enumerators {
            match x.declared_value {
                Some(v) => self
                    .w
                    .line(format!("    {} = {},", x.name, header_literal(v))),
                None => self.w.line(format!("    {},", x.name)),
            }
        }
    }

    fn define_record(&mut self, r: RecordId) {
        if self.records_done.contains(&r) {
            return;
        }
        let p = self.p;
        let rec = p.record(r);
        if rec.fields.is_none() {
            return; // opaque: the forward declaration is all there is
        }
        self.records_done.insert(r);
        self.w.blank();
        if rec.partial {
            self.w.line(format!(
                "/* {} is only partly declared (with '...'): include its real definition before this header. */",
                comment_safe(&rec.c_name)
            ));
            self.w.blank();
            return;
        }
        self.define_deps(r);
        let head = match &rec.tag {
            Some(tag) => tagged(rec.kind, tag),
            None => rec.c_name.clone(),
        };
        self.w.line(format!("{head} {{"));
        self.record_body(r);
        self.w.line("};");
        self.w.blank();
    }

    /// Defines the tagged records and enums `r` contains by value (directly
    /// or in anonymous members written inline), so it is complete.
    fn define_deps(&mut self, r: RecordId) {
        let p = self.p;
        let Some(fields) = &p.record(r).fields else {
            return;
        };
        for f in fields {
            let mut t = f.ty;
            while let Type::Array { item, .. } = p.ty(t) {
                t = *item;
            }
            match p.ty(t) {
                // Written inline in this record (unless a typedef names it).
                Type::Record(inner)
                    if self.inline_records.contains(inner)
                        && !self.typedef_named.contains(p.ty(t)) =>
                {
                    self.define_deps(*inner)
                }
                Type::Record(inner) if self.inline_records.contains(inner) => {}
                Type::Record(inner) => self.define_record(*inner),
                Type::Enum(e) if !self.inline_enums.contains(e) => self.define_enum(*e),
                _ => {}
            }
        }
    }

    fn define_enum(&mut self, e: EnumId) {
        if !self.enums_done.insert(e) {
            return;
        }
        self.w.blank();
        let en = self.p.enum_def(e);
        if en.partial {
            self.w.line(format!(
                "/* {} is only partly declared (with '...'): include its real definition before this header. */",
                comment_safe(&en.c_name)
            ));
            self.w.blank();
            return;
        }
        let head = match &en.tag {
            Some(tag) => format!("enum {tag} {{"),
            None => "enum {".to_string(),
        };
        self.w.line(head);
        self.enum_body(e);
        self.w.line("};");
        self.w.blank();
    }

    fn typedef(&mut self, name: &str, ty: TypeId) {
        let p = self.p;
        let s = self.split(ty, name);
        // `typedef int... foo_t;` and `typedef ... foo_t;`: only the real
        // header knows them.
        let unknown = match p.ty(s.base) {
            Type::Prim(prim) => {
                matches!(prim.class, PrimClass::UnknownInt | PrimClass::UnknownFloat)
            }
            Type::Record(r) => {
                let rec = p.record(*r);
                rec.dotdotdot_typedef || (rec.partial && rec.tag.is_none())
            }
            Type::Enum(e) => {
                let en = p.enum_def(*e);
                en.partial && en.tag.is_none()
            }
            _ => false,
        };
        let from_compiler = {
            let mut t = ty;
            let mut found = false;
            loop {
                match p.ty(t) {
                    Type::Array { item, len } => {
                        found |= *len == ArrayLen::FromCompiler;
                        t = *item;
                    }
                    Type::Pointer { pointee, .. } => t = *pointee,
                    _ => break,
                }
            }
            found
        };
        if unknown || from_compiler {
            self.w.line(format!(
                "/* typedef {name}: declared with '...' in the cdef: include its real definition before this header. */"
            ));
            self.w.blank();
            self.typedef_names
                .entry(ty)
                .or_insert_with(|| name.to_string());
            return;
        }
        // The named record a typedef refers to by value must be defined for
        // the typedef to be usable by value: define it first.
        if let Type::Record(r) = p.ty(s.base) {
            if self.inline_records.contains(r) {
                self.define_deps(*r);
            } else {
                self.define_record(*r);
            }
        }
        self.decl_lines("typedef ", ty, name, Quals::default(), "", true);
        self.typedef_names
            .entry(ty)
            .or_insert_with(|| name.to_string());
        if matches!(p.ty(s.base), Type::Record(_) | Type::Enum(_)) {
            self.w.blank();
        }
    }
}

/// `text` with the keyword `_Bool` spelled `bool`: C++ has no `_Bool`, and
/// the header includes <stdbool.h>, which makes `bool` C's `_Bool`.
fn cxx_bool(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("_Bool") {
        let before = rest[..i].chars().next_back();
        let after = rest[i + 5..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        out.push_str(&rest[..i]);
        out.push_str(if ident(before) || ident(after) {
            "_Bool"
        } else {
            "bool"
        });
        rest = &rest[i + 5..];
    }
    out.push_str(rest);
    out
}

fn kw(k: RecordKind) -> &'static str {
    match k {
        RecordKind::Struct => "struct",
        RecordKind::Union => "union",
    }
}

/// An integer as written in a header: the plain literal, so a `#define` keeps
/// the type C gives that literal (`(-1)` is an int, as in the user's header).
fn header_literal(v: i128) -> String {
    if v == i64::MIN as i128 {
        "(-9223372036854775807LL - 1)".to_string()
    } else if v > i64::MAX as i128 {
        format!("{v}ULL")
    } else if v < 0 {
        format!("({v})")
    } else {
        v.to_string()
    }
}

/// Enums that are the type (possibly through arrays and pointers) of a field
/// or a typedef.
fn enums_used_as_types(p: &Program) -> HashSet<EnumId> {
    fn base(p: &Program, mut t: TypeId) -> Option<EnumId> {
        loop {
            match p.ty(t) {
                Type::Array { item, .. } => t = *item,
                Type::Pointer { pointee, .. } => t = *pointee,
                Type::Enum(e) => return Some(*e),
                _ => return None,
            }
        }
    }
    let mut used = HashSet::new();
    for r in &p.records {
        for f in r.fields.iter().flatten() {
            used.extend(base(p, f.ty));
        }
    }
    for d in &p.decls {
        if let Decl::Typedef { ty, .. } = d {
            used.extend(base(p, *ty));
        }
    }
    used
}
