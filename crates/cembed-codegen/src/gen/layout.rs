//! Layout checks: `_Static_assert`s comparing each record and field of
//! the declarations with the real C definition (shadow structs), and the
//! declarations of cdef globals and functions checked by address.

use super::*;

impl<'p> Gen<'p> {
    /// The named fields of record `r`, anonymous members flattened (as C and
    /// CFFI make them reachable from the parent).
    pub(super) fn leaves(&self, r: RecordId) -> Vec<Leaf<'p>> {
        let mut out = Vec::new();
        self.collect_leaves(r, "", &mut out);
        out
    }

    pub(super) fn collect_leaves(&self, r: RecordId, prefix: &str, out: &mut Vec<Leaf<'p>>) {
        let p: &'p Program = self.p;
        let Some(fields) = &p.record(r).fields else {
            return;
        };
        let mut anon = 0;
        for f in fields {
            match (&f.name, f.bit_width) {
                (Some(name), _) => out.push(Leaf {
                    shadow_path: format!("{prefix}{name}"),
                    field: f,
                    name,
                }),
                (None, None) => {
                    if let Type::Record(inner) = p.ty(f.ty) {
                        self.collect_leaves(*inner, &format!("{prefix}_cembed_anon{anon}."), out);
                    }
                    anon += 1;
                }
                (None, Some(_)) => {}
            }
        }
    }

    /// Whether values of `ty` have a size (`sizeof` is valid).
    pub(super) fn is_complete(&self, ty: TypeId) -> bool {
        match self.p.ty(ty) {
            Type::Prim(prim) => prim.class != PrimClass::Void,
            Type::Pointer { .. } | Type::Enum(_) => true,
            Type::Array { item, len } => *len != ArrayLen::Open && self.is_complete(*item),
            Type::Record(r) => {
                let rec = self.p.record(*r);
                rec.fields.is_some() && !rec.dotdotdot_typedef
            }
            Type::Function { .. } => false,
        }
    }

    pub(super) fn has_shadow(&self, r: RecordId) -> bool {
        let rec = self.p.record(r);
        rec.fields.is_some()
            && (self.s.records[r.0 as usize] == RecordSpelling::Shadow || !rec.partial)
    }

    pub(super) fn layout_checks(&self, w: &mut SourceWriter) {
        let mut emitted = vec![false; self.p.records.len()];
        let mut any = false;
        for i in 0..self.p.records.len() {
            let r = RecordId(i as u32);
            if self.has_shadow(r) || self.p.record(r).fields.is_some() {
                if !any {
                    w.line(
                        "/* ---- layout checks: the declarations against the C definitions ---- */",
                    );
                    w.blank();
                    any = true;
                }
                self.shadow(w, r, &mut emitted);
            }
        }
        for i in 0..self.p.records.len() {
            let r = RecordId(i as u32);
            if let RecordSpelling::Real(spelled) = &self.s.records[i] {
                if self.p.record(r).fields.is_some() {
                    self.record_checks(w, r, spelled);
                }
            }
        }
        for e in &self.p.enums {
            let declared: Vec<_> = e
                .enumerators
                .iter()
                .filter_map(|x| x.declared_value.map(|v| (x, v)))
                .collect();
            if declared.is_empty() {
                continue;
            }
            w.line(format!("/* {} */", comment_safe(&e.c_name)));
            for (x, v) in declared {
                let msg = format!(
                    "cembed: {}: {} is not {} in the C definition",
                    e.c_name, x.name, v
                );
                w.line(format!(
                    "_Static_assert(({}) == {}, {});",
                    x.name,
                    int_literal(v),
                    literal(&msg)
                ));
            }
            w.blank();
        }
        // `typedef double... name` / `typedef int... name`: the runtime
        // converts values by the size alone, which would read an integer
        // type as a float or the reverse (CFFI refuses the first at first
        // use with ffi.error, the second at build time; here the build
        // fails for both). _Generic keeps it an integer constant
        // expression for every compiler.
        let n = self.n();
        for (i, ty) in self.p.types.iter().enumerate() {
            let Type::Prim(prim) = ty else { continue };
            let (declared, want_float) = match prim.class {
                PrimClass::UnknownFloat => ("double...", true),
                PrimClass::UnknownInt => ("int...", false),
                _ => continue,
            };
            let spelled = n.ty(TypeId(i as u32));
            let msg = format!(
                "cembed: typedef {}: declared as `{declared}` in the cdef, but the C type {} float, double or long double",
                prim.name,
                if want_float { "is not" } else { "is" }
            );
            let (f, other) = if want_float { (1, 0) } else { (0, 1) };
            w.line(format!(
                "_Static_assert(_Generic(({spelled})0, float: {f}, double: {f}, long double: {f}, default: {other}), {});",
                literal(&msg)
            ));
        }
        let macros: Vec<_> = self
            .p
            .decls
            .iter()
            .filter_map(|d| match d {
                Decl::Macro {
                    name,
                    value: MacroValue::Int(v),
                    ..
                } => Some((name, *v)),
                _ => None,
            })
            .collect();
        if !macros.is_empty() {
            w.line("/* #define constants with a value in the cdef */");
            for (name, v) in macros {
                let msg = format!("cembed: #define {name}: the C value is not {v}");
                w.line(format!(
                    "_Static_assert(({name}) == {}, {});",
                    int_literal(v),
                    literal(&msg)
                ));
            }
            w.blank();
        }
        for (i, ty) in self.p.types.iter().enumerate() {
            if let Type::Array {
                len: ArrayLen::FromCompiler,
                ..
            } = ty
            {
                if !self.s.arrays.contains_key(&TypeId(i as u32)) {
                    let msg = format!(
                        "cembed: type {}: the length of a '[...]' array is only known for a global, a constant, a typedef or a field",
                        self.p.c_name(TypeId(i as u32))
                    );
                    w.line(format!("#error {}", literal(&msg)));
                }
            }
        }
    }

    /// Emits the shadow struct of `r` (after those it contains by value).
    pub(super) fn shadow(&self, w: &mut SourceWriter, r: RecordId, emitted: &mut Vec<bool>) {
        if emitted[r.0 as usize] || !self.has_shadow(r) {
            return;
        }
        emitted[r.0 as usize] = true;
        let rec = self.p.record(r);
        let fields = rec.fields.as_ref().expect("has_shadow checks fields");
        // Shadows this one contains by value come first.
        for f in fields {
            let mut t = f.ty;
            while let Type::Array { item, .. } = self.p.ty(t) {
                t = *item;
            }
            if let Type::Record(inner) = self.p.ty(t) {
                if f.name.is_none() || self.s.records[inner.0 as usize] == RecordSpelling::Shadow {
                    self.shadow(w, *inner, emitted);
                }
            }
        }
        let n = self.n();
        let what = match self.s.records[r.0 as usize] {
            RecordSpelling::Real(_) => "as declared in the cdef, laid out by the compiler",
            RecordSpelling::Shadow => "an anonymous member: its only C spelling",
        };
        w.line(format!(
            "/* {}: {what} */",
            comment_safe(&self.s.record_display[r.0 as usize])
        ));
        // The declared packing (cdef(packed=True) / pack=N), so that the
        // checks compare against the layout the cdef asked for.
        if let Some(pack) = rec.pack {
            w.line(format!("#pragma pack(push, {pack})"));
        }
        w.inline_block(&n.shadow_type(r), ";", |w| {
            let mut anon = 0;
            for f in fields {
                let decl = match (&f.name, f.bit_width) {
                    (Some(name), None) => n.decl(f.ty, name),
                    (Some(name), Some(width)) => format!("{} : {width}", n.decl(f.ty, name)),
                    (None, Some(width)) => format!("{} : {width}", n.ty(f.ty)),
                    (None, None) => {
                        anon += 1;
                        n.decl(f.ty, &format!("_cembed_anon{}", anon - 1))
                    }
                };
                w.line(format!("{decl};"));
            }
        });
        if rec.pack.is_some() {
            w.line("#pragma pack(pop)");
        }
        w.blank();
    }

    pub(super) fn record_checks(&self, w: &mut SourceWriter, r: RecordId, spelled: &str) {
        let n = self.n();
        let rec = self.p.record(r);
        let disp = &self.s.record_display[r.0 as usize];
        let rec_lit = literal(disp);
        w.line(format!("/* {} */", comment_safe(disp)));
        // A record declared with `...;` has no shadow: its offsets are the
        // compiler's, compared with themselves.
        let shadow = (!rec.partial).then(|| n.shadow_type(r));
        for leaf in self.leaves(r) {
            if leaf.field.bit_width.is_some() {
                continue;
            }
            let name = leaf.name;
            // Arrays the compiler sizes (`T x[...]`) and flexible array
            // members are compared by their element.
            let (sub, ft) = match self.p.ty(leaf.field.ty) {
                Type::Array {
                    item,
                    len: ArrayLen::FromCompiler | ArrayLen::Open,
                } => ("[0]", n.ty(*item)),
                _ => ("", n.ty(leaf.field.ty)),
            };
            let own_type = format!("__typeof__((({spelled} *)0)->{name}{sub})");
            // A type the cdef does not know the size of is compared with
            // itself (the size is the compiler's).
            let size_type = if sub.is_empty() && !self.is_complete(leaf.field.ty) {
                own_type.clone()
            } else {
                ft.clone()
            };
            // Types spelled from the real definitions (anonymous ones) or by a
            // shadow cannot be compared meaningfully: their fields are checked
            // on their own.
            let same_type = if ft.contains("__typeof__") || ft.contains("_cembed_shadow__") {
                own_type
            } else {
                ft
            };
            let (s, sf) = match &shadow {
                Some(sh) => (sh.as_str(), leaf.shadow_path.as_str()),
                None => (spelled, name),
            };
            w.line(format!(
                "CEMBED_CHECK_FIELD({spelled}, {name}, {sub}, {size_type}, {same_type}, {s}, {sf}, {rec_lit}, {});",
                literal(&self.p.c_name(leaf.field.ty))
            ));
        }
        if let Some(sh) = &shadow {
            let kind = match rec.kind {
                RecordKind::Struct => "struct",
                RecordKind::Union => "union",
            };
            w.line(format!(
                "CEMBED_CHECK_RECORD({spelled}, {sh}, {rec_lit}, \"{kind}\");"
            ));
        }
        w.blank();
    }

    /// Globals and C functions: a declaration that disagrees with the C one
    /// makes the compiler warn here (as CFFI's generated code does), naming
    /// the declaration.
    pub(super) fn decl_checks(&self, w: &mut SourceWriter) {
        let n = self.n();
        let mut lines = Vec::new();
        for d in &self.p.decls {
            match d {
                Decl::Function {
                    name,
                    ty,
                    kind: FuncKind::CFunction,
                    ..
                } => {
                    // A function the C headers define as a macro (sqlite3ext.h's
                    // `#define sqlite3_create_function sqlite3_api->create_function`,
                    // Lua's `lua_tostring(L,i)`) has no address to check: the
                    // direct-call wrapper below still calls it, as CFFI's does.
                    lines.push(format!("/* {} */", comment_safe(&self.p.c_decl(*ty, name))));
                    lines.push(format!("#ifndef {name}"));
                    let var = format!("_cembed_check__{name}");
                    lines.push(format!("{} = &{name};", n.pointer_decl(*ty, &var)));
                    lines.push(format!("(void){var};"));
                    lines.push("#endif".to_string());
                }
                Decl::Global {
                    name, ty, quals, ..
                } => {
                    // A global that is a macro has no address to check.
                    lines.push(format!("/* {} */", comment_safe(&self.p.c_decl(*ty, name))));
                    lines.push(format!("#ifndef {name}"));
                    let var = format!("_cembed_check__{name}");
                    let decl = n.pointer_decl_q(*ty, &var, *quals);
                    lines.push(format!("{decl} = &{name};"));
                    lines.push(format!("(void){var};"));
                    lines.push("#endif".to_string());
                }
                _ => {}
            }
        }
        if lines.is_empty() {
            return;
        }
        w.line("/* Functions and globals of the cdef: a declaration that disagrees with the C");
        w.line(" * one makes the compiler complain here, on the line naming it. */");
        w.block(
            "static CEMBED_UNUSED void _cembed_check_declarations(void)",
            "",
            |w| {
                for l in lines {
                    w.line(l);
                }
            },
        );
        w.blank();
    }
}
