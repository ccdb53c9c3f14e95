//! How to spell every type in valid C, and how to print C declarators.
//!
//! The model's [`Program::c_decl`] prints CFFI's spelling (`int[...]`,
//! `struct $1`), which is what Python shows but not always valid C. The
//! generated C needs a spelling the compiler accepts for *every* type it
//! mentions in a `sizeof`, a cast or a declaration:
//!
//! * named records, enums and typedefs are spelled by name;
//! * an anonymous record or enum reachable from something named (a typedef, a
//!   global, a named field of a spelled record) is spelled
//!   `__typeof__(expression)`, e.g. `__typeof__(((struct outer *)0)->inner)`;
//!   an expression of a typedef's type is `(*(name *)0)`;
//! * an `[...]` array is spelled from the first declaration using it, the same
//!   way, and its length is `sizeof(e) / sizeof((e)[0])`;
//! * an anonymous member (`struct { union { int a; float b; }; }`) has no C
//!   name at all: it is spelled by its *shadow*, a named copy of its
//!   declaration (`union _cembed_shadow__3`) whose layout is the compiler's
//!   layout of the declared fields, checked against the real parent by the
//!   layout checks.
//!
//! Expressions like `((T *)0)->f` only ever appear inside `sizeof`,
//! `__typeof__` and `offsetof`, where they are not evaluated.

use std::collections::HashMap;

use cembed_model::cdecl::{self, DeclStyle};
// The qualifier and pointer spellings are the declarator printer's; header.rs
// uses them through this module.
pub use cembed_model::cdecl::{pointer_inner, qual_words};
use cembed_model::{ArrayLen, Decl, EnumId, Program, Quals, RecordId, Type, TypeId};

use crate::cstr::ident_fragment;

/// How a record (struct/union) is spelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordSpelling {
    /// By the real C definition: `struct foo`, `point_t`, `__typeof__(...)`.
    Real(String),
    /// No real C spelling exists (anonymous member): by its shadow struct.
    Shadow,
}

/// A `T[...]` array: its C spelling and an expression of that type.
#[derive(Clone, Debug)]
pub struct ArraySpelling {
    pub spelling: String,
    pub expr: String,
}

pub struct Spellings {
    pub records: Vec<RecordSpelling>,
    /// Shadow struct tag of each record (`_cembed_shadow__point_t`).
    pub shadow_names: Vec<String>,
    /// Name used in error messages (`point_t`, `struct outer.inner`).
    pub record_display: Vec<String>,
    pub enums: Vec<String>,
    pub arrays: HashMap<TypeId, ArraySpelling>,
}

impl Spellings {
    pub fn new(p: &Program) -> Spellings {
        let mut b = Builder {
            p,
            records: vec![None; p.records.len()],
            display: vec![None; p.records.len()],
            enums: vec![None; p.enums.len()],
            arrays: HashMap::new(),
        };
        // 1. Tagged records and enums are spelled by their tag; `typedef ...
        // foo_t;` (and CFFI's built-in FILE) by their typedef name.
        // (Not `c_name`: CFFI names `struct foo` after a typedef of it, and
        // the tag is the spelling that needs nothing else to be declared.)
        for (i, r) in p.records.iter().enumerate() {
            if let Some(tag) = &r.tag {
                b.records[i] = Some(tagged(r.kind, tag));
                b.display[i] = Some(r.c_name.clone());
            } else if r.dotdotdot_typedef {
                b.records[i] = Some(r.c_name.clone());
                b.display[i] = Some(r.c_name.clone());
            }
        }
        for (i, e) in p.enums.iter().enumerate() {
            if let Some(tag) = &e.tag {
                b.enums[i] = Some(format!("enum {tag}"));
            }
        }
        // 2. Typedef names, then globals and constants.
        for d in &p.decls {
            if let Decl::Typedef { name, ty, .. } = d {
                b.visit(*ty, Some(name.clone()), format!("(*({name} *)0)"), name);
            }
        }
        for d in &p.decls {
            match d {
                Decl::Global { name, ty, .. } | Decl::Constant { name, ty, .. } => {
                    b.visit(*ty, None, name.clone(), name)
                }
                _ => {}
            }
        }
        // 3. Named fields of spelled records, until nothing changes.
        loop {
            let before = b.count();
            for (i, r) in p.records.iter().enumerate() {
                let (Some(sp), Some(fields)) = (b.records[i].clone(), &r.fields) else {
                    continue;
                };
                let disp = b.display[i].clone().unwrap_or_else(|| sp.clone());
                for f in fields {
                    // __typeof__ cannot be applied to a bitfield.
                    if let (Some(name), None) = (&f.name, f.bit_width) {
                        let expr = format!("(({sp} *)0)->{name}");
                        b.visit(f.ty, None, expr, &format!("{disp}.{name}"));
                    }
                }
            }
            if b.count() == before {
                break;
            }
        }
        // 4. What is left has no C spelling: shadows (records), the type of
        // their first enumerator (anonymous enums: C gives enumerators the
        // enum's compatible integer type in practice, int otherwise).
        let mut used = std::collections::HashSet::new();
        let mut shadow_names = Vec::new();
        for (i, r) in p.records.iter().enumerate() {
            let frag = match &b.records[i] {
                Some(_) => ident_fragment(&r.c_name),
                None => String::new(),
            };
            let mut name = if frag.is_empty() {
                format!("_cembed_shadow__{i}")
            } else {
                format!("_cembed_shadow__{frag}")
            };
            if !used.insert(name.clone()) {
                name = format!("{name}__{i}");
                used.insert(name.clone());
            }
            shadow_names.push(name);
        }
        let records = b
            .records
            .iter()
            .map(|s| match s {
                Some(s) => RecordSpelling::Real(s.clone()),
                None => RecordSpelling::Shadow,
            })
            .collect();
        let record_display = b
            .display
            .iter()
            .zip(&p.records)
            .map(|(d, r)| d.clone().unwrap_or_else(|| r.c_name.clone()))
            .collect();
        let enums = b
            .enums
            .iter()
            .zip(&p.enums)
            .map(|(s, e)| match (s, e.enumerators.first()) {
                (Some(s), _) => s.clone(),
                (None, Some(first)) => format!("__typeof__({})", first.name),
                (None, None) => "int".to_string(),
            })
            .collect();
        Spellings {
            records,
            shadow_names,
            record_display,
            enums,
            arrays: b.arrays,
        }
    }
}

struct Builder<'p> {
    p: &'p Program,
    records: Vec<Option<String>>,
    display: Vec<Option<String>>,
    enums: Vec<Option<String>>,
    arrays: HashMap<TypeId, ArraySpelling>,
}

impl Builder<'_> {
    fn count(&self) -> usize {
        self.records.iter().filter(|r| r.is_some()).count()
            + self.enums.iter().filter(|e| e.is_some()).count()
            + self.arrays.len()
    }

    /// `expr` is an expression of type `ty`; `name`, if any, spells `ty`.
    fn visit(&mut self, ty: TypeId, name: Option<String>, expr: String, display: &str) {
        let spelling = || {
            name.clone()
                .unwrap_or_else(|| format!("__typeof__({expr})"))
        };
        match self.p.ty(ty) {
            Type::Record(r) => {
                let i = r.0 as usize;
                if self.records[i].is_none() {
                    self.records[i] = Some(spelling());
                    self.display[i] = Some(display.to_string());
                }
            }
            Type::Enum(e) => {
                let i = e.0 as usize;
                if self.enums[i].is_none() {
                    self.enums[i] = Some(spelling());
                }
            }
            Type::Array { item, len } => {
                if *len == ArrayLen::FromCompiler && !self.arrays.contains_key(&ty) {
                    let s = ArraySpelling {
                        spelling: spelling(),
                        expr: expr.clone(),
                    };
                    self.arrays.insert(ty, s);
                }
                let item = *item;
                self.visit(item, None, format!("({expr})[0]"), display);
            }
            Type::Pointer { pointee, .. } => {
                let pointee = *pointee;
                self.visit(pointee, None, format!("(*({expr}))"), display);
            }
            Type::Prim(_) | Type::Function { .. } => {}
        }
    }
}

/// Prints types and declarators in valid C (see the module comment).
#[derive(Copy, Clone)]
pub struct Namer<'a> {
    pub p: &'a Program,
    pub s: &'a Spellings,
}

impl<'a> Namer<'a> {
    /// The spelling of a record.
    pub fn record(&self, r: cembed_model::RecordId) -> String {
        let i = r.0 as usize;
        match &self.s.records[i] {
            RecordSpelling::Real(s) => s.clone(),
            RecordSpelling::Shadow => self.shadow_type(r),
        }
    }

    /// `struct _cembed_shadow__x` / `union ...`.
    pub fn shadow_type(&self, r: cembed_model::RecordId) -> String {
        let rec = self.p.record(r);
        let kw = match rec.kind {
            cembed_model::RecordKind::Struct => "struct",
            cembed_model::RecordKind::Union => "union",
        };
        format!("{kw} {}", self.s.shadow_names[r.0 as usize])
    }

    /// A type name usable in `sizeof(...)` and casts: `int *`, `int (*)(int)`.
    pub fn ty(&self, id: TypeId) -> String {
        self.decl(id, "")
    }

    /// The declaration of `name` with type `id`: `int (*name)(int)`.
    pub fn decl(&self, id: TypeId, name: &str) -> String {
        self.wrap(id, name.to_string())
    }

    /// The declaration of `name` as a pointer to `id`: `int (*name)[3]`.
    pub fn pointer_decl(&self, id: TypeId, name: &str) -> String {
        let mut inner = format!("*{name}");
        if self.needs_parens(id) {
            inner = format!("({inner})");
        }
        self.wrap(id, inner)
    }

    /// The declaration of `name` as a pointer to `id` qualified by `quals`
    /// (the address of a `const` global): `char *const *name`.
    pub fn pointer_decl_q(&self, id: TypeId, name: &str, quals: Quals) -> String {
        let mut inner = format!("*{name}");
        if self.needs_parens(id) {
            inner = format!("({inner})");
        }
        self.wrap_q(id, inner, quals)
    }

    /// The type of parameter storage: C adjusts array and function parameters
    /// to pointers, and so do the thunks and the args buffer.
    pub fn param_decl(&self, id: TypeId, name: &str) -> String {
        match self.p.ty(id) {
            Type::Array { item, .. } => self.pointer_decl(*item, name),
            Type::Function { .. } => self.pointer_decl(id, name),
            _ => self.decl(id, name),
        }
    }

    /// `inner` (e.g. `**`) applied to `id`, parenthesized when `id` is an
    /// array or function: `int (**)(int)`.
    pub fn pointer_decl_str(&self, id: TypeId, stars: &str) -> String {
        let mut inner = stars.to_string();
        if self.needs_parens(id) {
            inner = format!("({inner})");
        }
        self.wrap(id, inner)
    }

    /// The declaration with an arbitrary declarator: `int add(int a0)`.
    pub fn wrap_str(&self, id: TypeId, inner: String) -> String {
        self.wrap(id, inner)
    }

    fn needs_parens(&self, id: TypeId) -> bool {
        cdecl::needs_parens(self.p, self, id)
    }

    fn wrap(&self, id: TypeId, inner: String) -> String {
        self.wrap_q(id, inner, Quals::default())
    }

    /// The core printer: the model's one declarator walk
    /// ([`cdecl::declare`]) in this module's compilable-C style (see the
    /// `DeclStyle` impl below). `quals` qualify the type `id` itself.
    fn wrap_q(&self, id: TypeId, inner: String, quals: Quals) -> String {
        cdecl::declare(self.p, self, id, inner, quals)
    }
}

/// The compilable-C spelling. It differs from CFFI's display spelling
/// (`Program::c_name`) on purpose: every name here must compile, and
/// qualifiers must keep their meaning in the generated code.
impl DeclStyle for Namer<'_> {
    /// `float _Complex`, not CFFI's `_cffi_float_complex_t`.
    fn prim(&self, p: &cembed_model::Prim) -> String {
        p.c_spelling().to_string()
    }

    /// Tag, typedef name, `__typeof__(...)` or shadow (see [`Spellings`]),
    /// never CFFI's name, which may not exist in C (`struct $1`).
    fn record(&self, r: RecordId) -> String {
        Namer::record(self, r)
    }

    fn enum_name(&self, e: EnumId) -> String {
        self.s.enums[e.0 as usize].clone()
    }

    /// `volatile` changes what the compiler may do with an access: keep it.
    fn shown_quals(&self, q: Quals) -> Quals {
        q
    }

    /// C qualifies an array's elements, not the array: `const int (*)[3]`.
    fn quals_through_arrays(&self) -> bool {
        true
    }

    fn array_len(&self, len: ArrayLen) -> String {
        match len {
            ArrayLen::Fixed(n) => n.to_string(),
            // Only reached for a `[...]` array no declaration spells (see
            // Spellings and `whole_type`): the layout section emits an #error
            // for it, this keeps the rest readable.
            ArrayLen::Open | ArrayLen::FromCompiler => String::new(),
        }
    }

    /// A `[...]` array's length is only known to the compiler, so it is
    /// spelled whole from a declaration that uses it (`__typeof__(g)`).
    fn whole_type(&self, id: TypeId) -> Option<String> {
        self.s.arrays.get(&id).map(|a| a.spelling.clone())
    }

    fn paren_hugs_base(&self) -> bool {
        false
    }
}

/// `struct tag` / `union tag`.
pub fn tagged(kind: cembed_model::RecordKind, tag: &str) -> String {
    match kind {
        cembed_model::RecordKind::Struct => format!("struct {tag}"),
        cembed_model::RecordKind::Union => format!("union {tag}"),
    }
}
