//! The generated C file, section by section, in the order of
//! docs/architecture.md "Generated C layout".

use std::collections::HashMap;

use cembed_abi::Kind;
use cembed_model::{
    ArrayLen, Decl, Field, FuncKind, MacroValue, PrimClass, Program, RecordId, RecordKind, Type,
    TypeId,
};

use crate::cstr::{literal, multiline_literal};
use crate::spell::{Namer, RecordSpelling, Spellings};
use crate::writer::SourceWriter;
use crate::Options;

/// Where a parameter or result travels in the x86-64 System V and AArch64
/// conventions (for the assembly entry stubs).
enum RegClass {
    Int,
    Sse,
    /// `void`: no value (a result only).
    Void,
}

/// The entry helper of function type `ty` (see `Gen::entry_helpers`).
fn entry_helper_name(ty: TypeId) -> String {
    format!("_cembed_entry__{}", ty.0)
}

/// One entry of `_cembed_fields[]`, with where it came from.
struct FieldRow<'p> {
    record: RecordId,
    field: &'p Field,
    /// For an anonymous member: its index among the record's anonymous
    /// members (the shadow names it `_cembed_anon<k>`).
    anon_index: Option<usize>,
}

/// A named field reachable from a record, flattening anonymous members.
struct Leaf<'p> {
    /// Path in the record's shadow (`x`, `_cembed_anon0.x`).
    shadow_path: String,
    field: &'p Field,
    name: &'p str,
}

pub struct Gen<'p> {
    p: &'p Program,
    s: Spellings,
    /// Thunk index of every non-variadic function type.
    thunks: Vec<TypeId>,
    thunk_index: HashMap<TypeId, usize>,
    /// The type id of each record, if the record is a type of the program.
    record_type: HashMap<RecordId, TypeId>,
    field_rows: Vec<FieldRow<'p>>,
    /// (first, count) into `_cembed_fields` / `_cembed_params` /
    /// `_cembed_enumerators`, per type.
    ranges: HashMap<TypeId, (usize, usize)>,
    params: Vec<TypeId>,
    enumerators: Vec<(TypeId, &'p str)>,
    /// Records needing a bitfield probe.
    probes: Vec<RecordId>,
}

impl<'p> Gen<'p> {
    pub fn new(p: &'p Program) -> Gen<'p> {
        let s = Spellings::new(p);
        let mut g = Gen {
            p,
            s,
            thunks: Vec::new(),
            thunk_index: HashMap::new(),
            record_type: HashMap::new(),
            field_rows: Vec::new(),
            ranges: HashMap::new(),
            params: Vec::new(),
            enumerators: Vec::new(),
            probes: Vec::new(),
        };
        for id in p.function_types() {
            if let Type::Function {
                variadic: false, ..
            } = p.ty(id)
            {
                g.thunk_index.insert(id, g.thunks.len());
                g.thunks.push(id);
            }
        }
        // Tables follow the type order, so a type's rows are contiguous.
        for (i, ty) in p.types.iter().enumerate() {
            let id = TypeId(i as u32);
            match ty {
                Type::Record(r) => {
                    g.record_type.entry(*r).or_insert(id);
                    if let Some(fields) = &p.record(*r).fields {
                        if g.record_type[r] != id {
                            continue;
                        }
                        let first = g.field_rows.len();
                        let mut anon = 0;
                        for field in fields {
                            let anon_index = match (&field.name, field.bit_width) {
                                (None, None) => {
                                    anon += 1;
                                    Some(anon - 1)
                                }
                                _ => None,
                            };
                            g.field_rows.push(FieldRow {
                                record: *r,
                                field,
                                anon_index,
                            });
                        }
                        g.ranges.insert(id, (first, fields.len()));
                        if fields
                            .iter()
                            .any(|f| f.bit_width.is_some() && f.name.is_some())
                        {
                            g.probes.push(*r);
                        }
                    }
                }
                Type::Function { params, .. } => {
                    g.ranges.insert(id, (g.params.len(), params.len()));
                    g.params.extend(params.iter().copied());
                }
                Type::Enum(e) => {
                    let en = p.enum_def(*e);
                    g.ranges
                        .insert(id, (g.enumerators.len(), en.enumerators.len()));
                    g.enumerators
                        .extend(en.enumerators.iter().map(|x| (id, x.name.as_str())));
                }
                Type::Prim(_) | Type::Pointer { .. } | Type::Array { .. } => {}
            }
        }
        g
    }

    fn n(&self) -> Namer<'_> {
        Namer {
            p: self.p,
            s: &self.s,
        }
    }

    pub fn generate(&self, opts: &Options) -> String {
        let mut w = SourceWriter::new();
        self.prologue(&mut w, opts);
        self.user_code(&mut w, opts);
        self.entry_helpers(&mut w);
        self.boilerplate_optimisation(&mut w);
        self.layout_checks(&mut w);
        self.decl_checks(&mut w);
        self.thunks(&mut w);
        self.bit_probes(&mut w);
        self.const_getters(&mut w);
        self.direct_wrappers(&mut w);
        self.tables(&mut w);
        self.externs(&mut w);
        self.lib(&mut w, opts);
        w.finish()
    }

    // ---- prologue -------------------------------------------------------

    fn prologue(&self, w: &mut SourceWriter, opts: &Options) {
        w.line(format!(
            "/* Generated by cembed {} for module '{}'. Do not edit: it is",
            opts.build.cembed_version,
            comment_safe(opts.module_name)
        ));
        w.line(" * regenerated from the build script's declarations on every build. */");
        w.blank();
        w.line("/* As in CFFI's generated C: set_source() code may test it. */");
        w.line("#ifndef _CFFI_");
        w.line("#define _CFFI_");
        w.line("#endif");
        w.line("/* <dlfcn.h> only declares RTLD_DEFAULT and RTLD_NODELETE with it. */");
        w.line("#ifndef _GNU_SOURCE");
        w.line("#define _GNU_SOURCE");
        w.line("#endif");
        w.line("#include <stddef.h>");
        w.line("#include <stdint.h>");
        // Headers defining primitive type names the declarations use that
        // <stddef.h>/<stdint.h> do not.
        let mut extra = std::collections::BTreeSet::new();
        for ty in &self.p.types {
            if let Type::Prim(prim) = ty {
                match prim.name.as_str() {
                    "bool" => extra.insert("stdbool.h"),
                    "char16_t" | "char32_t" => extra.insert("uchar.h"),
                    "ssize_t" => extra.insert("sys/types.h"),
                    "FILE" => extra.insert("stdio.h"),
                    _ => false,
                };
            }
        }
        for h in extra {
            w.line(format!("#include <{h}>"));
        }
        w.blank();
        w.raw(cembed_abi::ABI_HEADER);
        w.blank();
        w.raw(cembed_abi::GLUE_HEADER);
        w.blank();
    }

    fn user_code(&self, w: &mut SourceWriter, opts: &Options) {
        let Some(code) = opts.c_code else { return };
        w.line("/* ---- set_source() code ---- */");
        w.line(format!("#line 1 {}", literal(opts.c_code_name)));
        w.raw(code);
        let file = match opts.c_file_name {
            Some(f) => f.to_string(),
            None => format!("{}.c", opts.module_name),
        };
        let next = w.next_line_number() + 1;
        w.line(format!("#line {next} {}", literal(&file)));
        w.blank();
    }

    // ---- entry helpers -------------------------------------------------------

    /// The function types of the functions implemented in Python, once each,
    /// in declaration order (variadic ones cannot be implemented: `externs`
    /// reports them).
    fn entry_types(&self) -> Vec<TypeId> {
        let mut seen = std::collections::HashSet::new();
        self.p
            .functions()
            .filter(|(_, _, kind)| *kind != FuncKind::CFunction)
            .map(|(_, ty, _)| ty)
            .filter(|ty| {
                matches!(
                    self.p.ty(*ty),
                    Type::Function {
                        variadic: false,
                        ..
                    }
                )
            })
            .filter(|ty| seen.insert(*ty))
            .collect()
    }

    /// One entry helper per function type: the C->Python call itself (pack
    /// the arguments' addresses, call the runtime). It is placed before the
    /// -O0 pragma, so it is compiled once at the command line's level with
    /// `_cembed_call` inlined, however many functions share the type. Each
    /// function implemented in Python is then only a jump into its helper
    /// with its descriptor as an extra first argument: an assembly stub
    /// where the ABI allows it (see `asm_shift`), else a one-line C wrapper.
    /// Why: gcc spends about 0.25 ms on even the smallest C function at
    /// -O0 (0.6 ms with the call inlined), so a 200-function library spent
    /// most of its build compiling wrappers; a stub costs the assembler
    /// microseconds.
    fn entry_helpers(&self, w: &mut SourceWriter) {
        let types = self.entry_types();
        if types.is_empty() {
            return;
        }
        let n = self.n();
        w.line("/* ---- entry helpers: one per function type, the call into Python (at the");
        w.line(" * command line's optimisation level; each function jumps here) ---- */");
        w.blank();
        for ty in types {
            let Type::Function { result, params, .. } = self.p.ty(ty) else {
                unreachable!("entry_types only holds function types")
            };
            let mut plist = vec!["cembed_extern *d".to_string()];
            plist.extend(
                params
                    .iter()
                    .enumerate()
                    .map(|(i, t)| n.param_decl(*t, &format!("a{i}"))),
            );
            let signature = n.wrap_str(
                *result,
                format!("{}({})", entry_helper_name(ty), plist.join(", ")),
            );
            w.line(format!("/* {} */", comment_safe(&self.p.c_name(ty))));
            w.block(&format!("CEMBED_ENTRY {signature}"), "", |w| {
                let void = self.is_void(*result);
                if !void {
                    w.line(format!("{};", n.decl(*result, "result")));
                }
                if !params.is_empty() {
                    w.line(format!("void *args[{}];", params.len()));
                }
                if !void {
                    w.line("memset(&result, 0, sizeof result);");
                }
                for a in 0..params.len() {
                    w.line(format!("args[{a}] = &a{a};"));
                }
                let args = if params.is_empty() { "NULL" } else { "args" };
                let res = if void { "NULL" } else { "&result" };
                w.line(format!("_cembed_call(d, {args}, {res});"));
                if !void {
                    w.line("return result;");
                }
            });
            w.blank();
        }
    }

    /// How many integer registers an assembly entry stub must shift up by
    /// one to insert the descriptor as the first argument, if a stub can
    /// stand for the function. The glue has stubs for x86-64 System V and
    /// AArch64 (AAPCS64), and the same rule holds in both: adding a pointer
    /// argument in front moves every integer-class argument one register up
    /// (rdi->rsi, ... / x0->x1, ...) and leaves floating-point registers
    /// alone, so the stub is exactly the helper's calling convention when:
    /// every parameter is an integer, character, enum or pointer (one
    /// integer register) or a float/double (one SIMD register); at most 5
    /// integer parameters (x86-64 has 6 integer argument registers, the
    /// descriptor takes one) and 8 floating ones (no stack arguments); and
    /// the result comes back in a register (no struct, which x86-64 may
    /// return through a hidden first argument, and no long double).
    /// Everything else, and every type whose size only the compiler knows
    /// (`typedef int... t`), gets the C wrapper.
    fn asm_shift(&self, ty: TypeId) -> Option<usize> {
        let Type::Function {
            result,
            params,
            variadic: false,
        } = self.p.ty(ty)
        else {
            return None;
        };
        let (mut ints, mut floats) = (0, 0);
        for &t in params {
            match self.register_class(t)? {
                RegClass::Int => ints += 1,
                RegClass::Sse => floats += 1,
                RegClass::Void => return None,
            }
        }
        if self.register_class(*result).is_none() || ints > 5 || floats > 8 {
            return None;
        }
        Some(ints)
    }

    /// The register class a value of type `t` travels in (the same in
    /// x86-64 System V and AAPCS64 for these types), for the types an
    /// assembly stub handles; None for the others.
    fn register_class(&self, t: TypeId) -> Option<RegClass> {
        match self.p.ty(t) {
            Type::Pointer { .. } | Type::Array { .. } | Type::Function { .. } | Type::Enum(_) => {
                Some(RegClass::Int)
            }
            Type::Prim(prim) => match prim.class {
                PrimClass::Void => Some(RegClass::Void),
                PrimClass::Char
                | PrimClass::Bool
                | PrimClass::WideChar
                | PrimClass::SignedInt
                | PrimClass::UnsignedInt => Some(RegClass::Int),
                PrimClass::Float => {
                    matches!(prim.name.as_str(), "float" | "double").then_some(RegClass::Sse)
                }
                // Two registers (SSE pairs) or memory: not what a stub handles.
                PrimClass::UnknownInt | PrimClass::UnknownFloat | PrimClass::Complex => None,
            },
            Type::Record(_) => None,
        }
    }

    /// Everything after the user's code and the entry helpers is generated
    /// boilerplate: thunks, layout checks, tables, small C wrappers. gcc's
    /// -O2 pipeline costs about 1-2 ms per function whatever its size: a
    /// 200-function library once took 0.8 s to compile (cffi's whole build
    /// takes 0.5 s). At -O0 the boilerplate costs a fraction of that, and
    /// nothing in it is hot: the call into Python is in the entry helpers,
    /// above the pragma, at the command line's level (checked with
    /// objdump). -Og: 0.29 s for identical code to -O2. The user's
    /// set_source() code keeps the command line's level too (CFLAGS,
    /// extra_compile_args). clang has no such pragma.
    fn boilerplate_optimisation(&self, w: &mut SourceWriter) {
        w.line("/* ---- generated code: compiled at -O0 (a fraction of -O2's compile time;");
        w.line(" * the calls into Python are in the entry helpers above) ---- */");
        w.line("#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__)");
        w.line("#pragma GCC optimize (\"O0\")");
        w.line("#endif");
        w.blank();
    }

    // ---- layout checks ---------------------------------------------------

    /// The named fields of record `r`, anonymous members flattened (as C and
    /// CFFI make them reachable from the parent).
    fn leaves(&self, r: RecordId) -> Vec<Leaf<'p>> {
        let mut out = Vec::new();
        self.collect_leaves(r, "", &mut out);
        out
    }

    fn collect_leaves(&self, r: RecordId, prefix: &str, out: &mut Vec<Leaf<'p>>) {
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
    fn is_complete(&self, ty: TypeId) -> bool {
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

    fn has_shadow(&self, r: RecordId) -> bool {
        let rec = self.p.record(r);
        rec.fields.is_some()
            && (self.s.records[r.0 as usize] == RecordSpelling::Shadow || !rec.partial)
    }

    fn layout_checks(&self, w: &mut SourceWriter) {
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
    fn shadow(&self, w: &mut SourceWriter, r: RecordId, emitted: &mut Vec<bool>) {
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

    fn record_checks(&self, w: &mut SourceWriter, r: RecordId, spelled: &str) {
        let n = self.n();
        let rec = self.p.record(r);
        let disp = &self.s.record_display[r.0 as usize];
        let leaves = self.leaves(r);
        w.line(format!("/* {} */", comment_safe(disp)));
        let mut compat = Vec::new();
        for leaf in &leaves {
            if leaf.field.bit_width.is_some() {
                continue;
            }
            let t = n.ty(leaf.field.ty);
            let access = format!("(({spelled} *)0)->{}", leaf.name);
            if self.is_complete(leaf.field.ty) {
                let msg = format!(
                    "cembed: {disp}: field {} has a different size in the C definition than in the cdef ({})",
                    leaf.name,
                    self.p.c_name(leaf.field.ty)
                );
                w.line(format!(
                    "_Static_assert(sizeof({access}) == sizeof({t}), {});",
                    literal(&msg)
                ));
            }
            // A `T[...]` field is spelled from the real definition: compare
            // its element type instead.
            let (access, t) = match self.p.ty(leaf.field.ty) {
                Type::Array {
                    item,
                    len: ArrayLen::FromCompiler,
                } => (format!("({access})[0]"), n.ty(*item)),
                _ => (access, t),
            };
            // Types spelled from the real definitions (anonymous ones) or by a
            // shadow cannot be compared meaningfully: their fields are checked
            // on their own.
            if !t.contains("__typeof__") && !t.contains("_cembed_shadow__") {
                let msg = format!(
                    "cembed: {disp}: field {} has a different type in the C definition than in the cdef ({})",
                    leaf.name,
                    self.p.c_name(leaf.field.ty)
                );
                compat.push(format!(
                    "_Static_assert(__builtin_types_compatible_p(__typeof__({access}), {t}), {});",
                    literal(&msg)
                ));
            }
        }
        if !compat.is_empty() {
            w.line("#ifdef __GNUC__");
            for c in compat {
                w.line(c);
            }
            w.line("#endif");
        }
        if !rec.partial {
            let shadow = n.shadow_type(r);
            for leaf in &leaves {
                if leaf.field.bit_width.is_some() {
                    continue;
                }
                let msg = format!(
                    "cembed: {disp}: field {} is at a different offset in the C definition than in the cdef (fields missing, in another order or of other types?)",
                    leaf.name
                );
                w.line(format!(
                    "_Static_assert(offsetof({spelled}, {}) == offsetof({shadow}, {}), {});",
                    leaf.name,
                    leaf.shadow_path,
                    literal(&msg)
                ));
            }
            let what = match rec.kind {
                RecordKind::Struct => "struct",
                RecordKind::Union => "union",
            };
            let msg = format!(
                "cembed: {disp}: the C definition has a different size than the cdef (fields missing? declare the {what} with '...;' to list only some fields)"
            );
            w.line(format!(
                "_Static_assert(sizeof({spelled}) == sizeof({shadow}), {});",
                literal(&msg)
            ));
            let msg =
                format!("cembed: {disp}: the C definition has a different alignment than the cdef");
            w.line(format!(
                "_Static_assert(_Alignof({spelled}) == _Alignof({shadow}), {});",
                literal(&msg)
            ));
        }
        w.blank();
    }

    /// Globals and C functions: a declaration that disagrees with the C one
    /// makes the compiler warn here (as CFFI's generated code does), naming
    /// the declaration.
    fn decl_checks(&self, w: &mut SourceWriter) {
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

    // ---- thunks ------------------------------------------------------------

    /// The type of `*(T *)args[i]`'s pointer for parameter storage.
    fn param_storage_ptr(&self, t: TypeId) -> String {
        let n = self.n();
        match self.p.ty(t) {
            Type::Array { item, .. } => n.pointer_decl_str(*item, "**"),
            Type::Function { .. } => n.pointer_decl_str(t, "**"),
            _ => n.pointer_decl(t, ""),
        }
    }

    fn thunks(&self, w: &mut SourceWriter) {
        if self.thunks.is_empty() {
            return;
        }
        w.line("/* ---- call thunks: one per function type, how C functions are called ---- */");
        w.blank();
        let n = self.n();
        for &ft in &self.thunks {
            let Type::Function { result, params, .. } = self.p.ty(ft) else {
                unreachable!("thunks only holds function types")
            };
            w.line(format!("/* {} */", comment_safe(&self.p.c_name(ft))));
            let name = format!("_cembed_thunk__{}", ft.0);
            w.block(
                &format!("static void {name}(void *fn, void **args, void *result)"),
                "",
                |w| {
                    let args: Vec<String> = params
                        .iter()
                        .enumerate()
                        .map(|(i, t)| format!("*({})args[{i}]", self.param_storage_ptr(*t)))
                        .collect();
                    if params.is_empty() {
                        w.line("(void)args;");
                    }
                    let call = format!("(({})fn)({})", n.pointer_decl(ft, ""), args.join(", "));
                    if self.is_void(*result) {
                        w.line("(void)result;");
                        w.line(format!("{call};"));
                    } else {
                        w.line(format!(
                            "*({})result = {call};",
                            n.pointer_decl(*result, "")
                        ));
                    }
                },
            );
            w.blank();
        }
    }

    fn is_void(&self, t: TypeId) -> bool {
        matches!(self.p.ty(t), Type::Prim(p) if p.class == PrimClass::Void)
    }

    // ---- bitfield probes --------------------------------------------------

    fn probe_name(&self, r: RecordId) -> String {
        format!(
            "_cembed_probe__{}",
            self.s.shadow_names[r.0 as usize].trim_start_matches("_cembed_shadow__")
        )
    }

    fn bit_probes(&self, w: &mut SourceWriter) {
        if self.probes.is_empty() {
            return;
        }
        w.line("/* ---- bitfield probes: the compiler places bitfields, the runtime reads back");
        w.line(" * which bits setting one to all-ones changed ---- */");
        w.blank();
        let n = self.n();
        for &r in &self.probes {
            let rec = self.p.record(r);
            let spelled = n.record(r);
            let fields = rec
                .fields
                .as_ref()
                .expect("probes only for defined records");
            w.line(format!(
                "/* {} */",
                comment_safe(&self.s.record_display[r.0 as usize])
            ));
            w.block(
                &format!(
                    "static void {}(void *buf, uint32_t field)",
                    self.probe_name(r)
                ),
                "",
                |w| {
                    // A const bitfield cannot be assigned through the real
                    // type: it is set through the shadow, which has the same
                    // layout (checked above) and no qualifiers.
                    let any_const = fields
                        .iter()
                        .any(|f| f.bit_width.is_some() && f.quals.is_const);
                    let shadow = any_const && self.has_shadow(r);
                    w.line(format!("{spelled} *p = ({spelled} *)buf;"));
                    if shadow {
                        let st = n.shadow_type(r);
                        w.line(format!("{st} *s = ({st} *)buf;"));
                    }
                    w.line(format!("memset(buf, 0, sizeof({spelled}));"));
                    // Decrementing a zero field sets all its bits, signed or
                    // not, and is the one way that no warning flag objects
                    // to (an assignment of a wider value warns under
                    // -Wconversion); a _Bool cannot be decremented, it is set
                    // to 1 (its only bit).
                    w.line("switch (field) {");
                    for (i, f) in fields.iter().enumerate() {
                        if let (Some(name), Some(_)) = (&f.name, f.bit_width) {
                            let set = if matches!(self.p.ty(f.ty), Type::Prim(p) if p.class == PrimClass::Bool)
                            {
                                " = 1"
                            } else {
                                "--"
                            };
                            match (f.quals.is_const, shadow) {
                                (false, _) => w.line(format!("case {i}: p->{name}{set}; break;")),
                                (true, true) => {
                                    w.line(format!("case {i}: s->{name}{set}; break;"))
                                }
                                // A partial record has no shadow: the
                                // runtime sees no bits for this field.
                                (true, false) => w.line(format!(
                                    "case {i}: break; /* const bitfield of a partial record */"
                                )),
                            }
                        }
                    }
                    w.line("default: break;");
                    w.line("}");
                },
            );
            w.blank();
        }
    }

    // ---- constants -------------------------------------------------------

    fn const_getters(&self, w: &mut SourceWriter) {
        let n = self.n();
        let mut any = false;
        for d in &self.p.decls {
            let Decl::Constant { name, ty, .. } = d else {
                continue;
            };
            if !any {
                w.line(
                    "/* ---- getters of `static const` values: a value may be a variable, which a",
                );
                w.line(" * static table cannot hold (not a constant expression) ---- */");
                w.blank();
                any = true;
            }
            w.line(format!("/* {} */", comment_safe(&self.p.c_decl(*ty, name))));
            w.block(
                &format!("static void _cembed_const__{name}(void *out)"),
                "",
                |w| {
                    if matches!(self.p.ty(*ty), Type::Array { .. }) {
                        w.line(format!("memcpy(out, {name}, sizeof({name}));"));
                    } else {
                        // A copy, not `&name`: the constant may be a macro.
                        w.line(format!("{} = {name};", n.decl(*ty, "value")));
                        w.line("memcpy(out, &value, sizeof value);");
                    }
                },
            );
            w.blank();
        }
    }

    // ---- tables ----------------------------------------------------------

    fn type_row(&self, id: TypeId) -> String {
        let n = self.n();
        let p = self.p;
        let spelled = n.ty(id);
        let name = match p.ty(id) {
            Type::Prim(prim) if prim.class == PrimClass::UnknownInt => {
                unknown_int_name(&spelled, &prim.name)
            }
            Type::Prim(prim) if prim.class == PrimClass::UnknownFloat => {
                unknown_float_name(&spelled)
            }
            _ => literal(&p.c_name(id)),
        };
        let sized = |s: &str| (format!("sizeof({s})"), format!("_Alignof({s})"));
        let none = ("0".to_string(), "0".to_string());
        let (first, count) = self.ranges.get(&id).copied().unwrap_or((0, 0));
        let mut item = -1i64;
        let mut thunk = -1i64;
        let mut length = "0".to_string();
        let mut flags: Vec<String> = Vec::new();
        let mut probe = "NULL".to_string();
        let (kind, (size, align)) = match p.ty(id) {
            Type::Prim(prim) => {
                let kind = match prim.class {
                    PrimClass::Void => Kind::Void.c_name().to_string(),
                    PrimClass::Char => Kind::Char.c_name().to_string(),
                    PrimClass::Bool => Kind::Bool.c_name().to_string(),
                    PrimClass::WideChar => Kind::WChar.c_name().to_string(),
                    PrimClass::SignedInt => Kind::SInt.c_name().to_string(),
                    PrimClass::UnsignedInt => Kind::UInt.c_name().to_string(),
                    PrimClass::UnknownInt => format!(
                        "(({spelled})-1 <= 0) ? {} : {}",
                        Kind::SInt.c_name(),
                        Kind::UInt.c_name()
                    ),
                    PrimClass::Float | PrimClass::UnknownFloat => Kind::Float.c_name().to_string(),
                    PrimClass::Complex => Kind::Complex.c_name().to_string(),
                };
                let layout = if prim.class == PrimClass::Void {
                    none
                } else {
                    sized(&spelled)
                };
                (kind, layout)
            }
            Type::Pointer { pointee, quals } => {
                item = pointee.0 as i64;
                if quals.is_const {
                    flags.push("CEMBED_F_CONST_ITEM".into());
                }
                (Kind::Pointer.c_name().into(), sized(&spelled))
            }
            Type::Array { item: it, len } => {
                item = it.0 as i64;
                let layout = match len {
                    ArrayLen::Fixed(k) => {
                        length = k.to_string();
                        sized(&spelled)
                    }
                    ArrayLen::Open => {
                        length = "-1".into();
                        none
                    }
                    ArrayLen::FromCompiler => match self.s.arrays.get(&id) {
                        Some(a) => {
                            length =
                                format!("(int64_t)(sizeof({e}) / sizeof(({e})[0]))", e = a.expr);
                            sized(&spelled)
                        }
                        None => {
                            length = "-1".into();
                            none
                        }
                    },
                };
                (Kind::Array.c_name().into(), layout)
            }
            Type::Record(r) => {
                let rec = p.record(*r);
                match (&rec.fields, rec.dotdotdot_typedef) {
                    (Some(_), false) => {
                        if rec.partial {
                            flags.push("CEMBED_F_PARTIAL".into());
                        }
                        if self.probes.contains(r) {
                            probe = self.probe_name(*r);
                        }
                        let kind = match rec.kind {
                            RecordKind::Struct => Kind::Struct,
                            RecordKind::Union => Kind::Union,
                        };
                        (kind.c_name().into(), sized(&spelled))
                    }
                    _ => {
                        if rec.kind == RecordKind::Union {
                            flags.push("CEMBED_F_UNION_OPAQUE".into());
                        }
                        (Kind::Opaque.c_name().into(), none)
                    }
                }
            }
            Type::Enum(e) => {
                if p.enum_def(*e).partial {
                    flags.push("CEMBED_F_PARTIAL".into());
                }
                flags.push(format!("((({spelled})-1 <= 0) ? CEMBED_F_SIGNED : 0)"));
                (Kind::Enum.c_name().into(), sized(&spelled))
            }
            Type::Function {
                result, variadic, ..
            } => {
                item = result.0 as i64;
                if *variadic {
                    flags.push("CEMBED_F_VARIADIC".into());
                }
                if let Some(t) = self.thunk_index.get(&id) {
                    thunk = *t as i64;
                }
                (Kind::Function.c_name().into(), none)
            }
        };
        let flags = if flags.is_empty() {
            "0".to_string()
        } else {
            flags.join(" | ")
        };
        format!(
            "/* {:>3} */ {{ {name}, {kind}, {flags}, {size}, {align}, {item}, {thunk}, {length}, {first}, {count}, {probe} }},",
            id.0
        )
    }

    fn table(
        &self,
        w: &mut SourceWriter,
        decl: &str,
        columns: &str,
        rows: Vec<String>,
    ) -> Option<String> {
        if rows.is_empty() {
            return None;
        }
        let name = decl
            .rsplit(' ')
            .next()
            .expect("decl names the table")
            .trim_end_matches("[]")
            .to_string();
        w.line(format!("/* {columns} */"));
        w.inline_block(&format!("{decl} ="), ";", |w| {
            // A row may be several lines (preprocessor conditionals).
            for r in rows {
                for l in r.split('\n') {
                    w.line(l);
                }
            }
        });
        w.blank();
        Some(name)
    }

    fn tables(&self, w: &mut SourceWriter) {
        let n = self.n();
        let p = self.p;
        w.line("/* ---- tables: the declarations, with every size, offset and value from the compiler ---- */");
        w.blank();

        let rows: Vec<String> = (0..p.types.len())
            .map(|i| self.type_row(TypeId(i as u32)))
            .collect();
        self.table(
            w,
            "static const cembed_type _cembed_types[]",
            "index: name, kind, flags, size, align, item, thunk, length, first, count, probe",
            rows,
        );

        let rows: Vec<String> = self
            .field_rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let rec = p.record(row.record);
                let f = row.field;
                let spelled = n.record(row.record);
                let offset = match (&f.name, f.bit_width, row.anon_index) {
                    (_, Some(_), _) => "0".to_string(),
                    (Some(name), None, _) => format!("offsetof({spelled}, {name})"),
                    (None, None, Some(k)) => self.anon_offset(row.record, f, k),
                    (None, None, None) => "0".to_string(),
                };
                let flags = if f.quals.is_const {
                    "CEMBED_F_CONST_ITEM"
                } else {
                    "0"
                };
                let width = f.bit_width.map(|b| b as i64).unwrap_or(-1);
                let _ = rec;
                format!(
                    "/* {:>3} */ {{ {}, {}, {width}, {offset}, {flags} }},",
                    i,
                    literal(f.name.as_deref().unwrap_or("")),
                    f.ty.0,
                )
            })
            .collect();
        self.table(
            w,
            "static const cembed_field _cembed_fields[]",
            "name, type, bit_width, offset, flags (fields of each record, in type order)",
            rows,
        );

        let rows: Vec<String> = self.params.iter().map(|t| format!("{},", t.0)).collect();
        self.table(
            w,
            "static const int32_t _cembed_params[]",
            "parameter types of each function type, in type order",
            rows,
        );

        let rows: Vec<String> = self
            .enumerators
            .iter()
            .map(|(t, name)| int_const_row(name, t.0 as i64))
            .collect();
        self.table(
            w,
            "static const cembed_const _cembed_enumerators[]",
            "name, type, negative, bits, get (enumerators of each enum, in type order)",
            rows,
        );

        let rows: Vec<String> = p
            .decls
            .iter()
            .filter_map(|d| match d {
                Decl::Typedef { name, ty, .. } => {
                    Some(format!("{{ {}, {} }},", literal(name), ty.0))
                }
                _ => None,
            })
            .collect();
        self.table(
            w,
            "static const cembed_typedef _cembed_typedefs[]",
            "name, type",
            rows,
        );

        let rows: Vec<String> = p
            .decls
            .iter()
            .filter_map(|d| match d {
                // Macros have no C type: type -1, the value is a plain integer.
                Decl::Macro { name, .. } => Some(int_const_row(name, -1)),
                Decl::Constant { name, ty, .. } => Some(format!(
                    "{{ {}, {}, 0, 0, _cembed_const__{name} }},",
                    literal(name),
                    ty.0
                )),
                _ => None,
            })
            .collect();
        self.table(
            w,
            "static const cembed_const _cembed_consts[]",
            "name, type (-1: a #define), negative, bits, get",
            rows,
        );

        let rows: Vec<String> = p
            .decls
            .iter()
            .filter_map(|d| match d {
                Decl::Global {
                    name,
                    ty,
                    quals,
                    in_api,
                    ..
                } => {
                    let mut flags = Vec::new();
                    if quals.is_const {
                        flags.push("CEMBED_G_CONST");
                    }
                    if *in_api {
                        flags.push("CEMBED_G_API");
                    }
                    let flags = if flags.is_empty() {
                        "0".to_string()
                    } else {
                        flags.join(" | ")
                    };
                    // A global that is a macro (`#define v (*get_v())`) has
                    // no constant address: a getter computes it on every
                    // access, as CFFI's `_cffi_var_v()` does.
                    Some(format!(
                        "#ifdef {name}\n{{ {lit}, {ty}, {flags} | CEMBED_G_GETTER, (void *)&_cembed_gaddr__{name} }},\n\
                         #else\n{{ {lit}, {ty}, {flags}, (void *)&{name} }},\n#endif",
                        lit = literal(name),
                        ty = ty.0
                    ))
                }
                _ => None,
            })
            .collect();
        for d in &p.decls {
            if let Decl::Global { name, .. } = d {
                w.line(format!("#ifdef {name}"));
                w.line(format!(
                    "static void *_cembed_gaddr__{name}(void) {{ return (void *)&({name}); }}"
                ));
                w.line("#endif");
            }
        }
        self.table(
            w,
            "static const cembed_global _cembed_globals[]",
            "name, type, flags, address",
            rows,
        );

        let rows: Vec<String> = p
            .functions()
            .filter(|(_, _, k)| *k == FuncKind::CFunction)
            .map(|(name, ty, _)| {
                let target = if self.has_direct_wrapper(ty) {
                    format!("_cembed_d__{name}")
                } else {
                    name.to_string()
                };
                format!("{{ {}, {}, (void *)&{target} }},", literal(name), ty.0)
            })
            .collect();
        self.table(
            w,
            "static const cembed_cfunc _cembed_cfuncs[]",
            "name, type, function (C functions of the cdef)",
            rows,
        );

        let rows: Vec<String> = self
            .thunks
            .iter()
            .map(|t| format!("_cembed_thunk__{},", t.0))
            .collect();
        self.table(
            w,
            "static const cembed_thunk _cembed_thunks[]",
            "thunk index -> thunk (cembed_type.thunk)",
            rows,
        );
    }

    /// Offset of anonymous member number `k` of record `r`.
    fn anon_offset(&self, r: RecordId, f: &Field, k: usize) -> String {
        let n = self.n();
        let rec = self.p.record(r);
        if self.s.records[r.0 as usize] == RecordSpelling::Shadow || !rec.partial {
            // The parent's shadow has the member by name, and the layout
            // checks proved the shadow's layout is the real one.
            return format!("offsetof({}, _cembed_anon{k})", n.shadow_type(r));
        }
        // A partial parent has no shadow: a named field inside the member is
        // at the same place in the parent and in the member (plus the
        // member's offset), both of which the compiler knows.
        let Type::Record(inner) = self.p.ty(f.ty) else {
            return "0".into();
        };
        match self
            .leaves(*inner)
            .into_iter()
            .find(|l| l.field.bit_width.is_none())
        {
            Some(leaf) => format!(
                "offsetof({}, {}) - offsetof({}, {})",
                n.record(r),
                leaf.name,
                n.record(*inner),
                leaf.shadow_path
            ),
            None => "0 /* no named field to locate it by */".into(),
        }
    }

    // ---- functions implemented in Python ------------------------------------

    fn externs(&self, w: &mut SourceWriter) {
        let n = self.n();
        let mut descs = Vec::new();
        for (name, ty, kind) in self.p.functions() {
            let (flags, storage) = match kind {
                FuncKind::CFunction => continue,
                FuncKind::Exported => ("CEMBED_X_EXPORTED", "CFFI_DLLEXPORT "),
                FuncKind::ExternPython => ("0", "static CEMBED_UNUSED "),
                FuncKind::ExternPythonPlusC => ("CEMBED_X_PLUS_C", ""),
            };
            if descs.is_empty() {
                w.line("/* ---- functions implemented in Python ---- */");
                w.blank();
            }
            descs.push(format!("&_cembed_desc__{name},"));
            let Type::Function {
                result,
                params,
                variadic,
            } = self.p.ty(ty)
            else {
                w.line(format!(
                    "#error \"cembed: '{name}' is declared as a function but its type is not a function type\""
                ));
                continue;
            };
            w.line(format!("/* {} */", comment_safe(&self.p.c_decl(ty, name))));
            if *variadic {
                w.line(format!(
                    "#error {}",
                    literal(&format!(
                        "cembed: function '{name}': a variadic function (with '...') cannot be implemented in Python"
                    ))
                ));
                w.blank();
                continue;
            }
            let pnames: Vec<String> = (0..params.len()).map(|i| format!("a{i}")).collect();
            let plist: Vec<String> = params
                .iter()
                .zip(&pnames)
                .map(|(t, a)| n.param_decl(*t, a))
                .collect();
            let plist = if plist.is_empty() {
                "void".to_string()
            } else {
                plist.join(", ")
            };
            let signature = n.wrap_str(*result, format!("{name}({plist})"));
            let helper = entry_helper_name(ty);
            w.line(format!("{storage}{signature};"));
            w.line(format!(
                "CEMBED_DESC cembed_extern _cembed_desc__{name} = {{ {}, {}, {flags}, &_cembed_lib, NULL, (void *)&{name} }};",
                literal(name),
                ty.0
            ));
            // The C definition: one call of the type's entry helper.
            let c_wrapper = |w: &mut SourceWriter| {
                w.block(&format!("{storage}{signature}"), "", |w| {
                    let mut args = vec![format!("&_cembed_desc__{name}")];
                    args.extend(pnames.iter().cloned());
                    let call = format!("{helper}({})", args.join(", "));
                    if self.is_void(*result) {
                        w.line(format!("{call};"));
                    } else {
                        w.line(format!("return {call};"));
                    }
                });
            };
            match (kind, self.asm_shift(ty)) {
                (FuncKind::Exported, Some(shift)) => {
                    w.line("#if CEMBED_ASM_ENTRIES");
                    w.line(format!(
                        "CEMBED_ASM_ENTRY({name}, _cembed_desc__{name}, {helper}, CEMBED_ASM_SHIFT{shift})"
                    ));
                    w.line("#else");
                    c_wrapper(w);
                    w.line("#endif");
                }
                _ => c_wrapper(w),
            }
            w.blank();
        }
        if !descs.is_empty() {
            w.inline_block(
                "static cembed_extern *const _cembed_externs[] =",
                ";",
                |w| {
                    for d in descs {
                        w.line(d);
                    }
                },
            );
            w.blank();
        }
    }

    /// C functions of the cdef get a wrapper that calls them by name, and the
    /// table points at the wrapper, not at the function: a "function" the C
    /// headers only define as a macro (sqlite3ext.h routes every sqlite3_*
    /// call through `sqlite3_api->...`; Lua's API has function-like macros)
    /// has no address, but can be called. This is what CFFI does
    /// (`_cffi_d_<name>`). Variadic functions cannot be forwarded in C, so
    /// they keep their own address.
    fn has_direct_wrapper(&self, ty: TypeId) -> bool {
        matches!(
            self.p.ty(ty),
            Type::Function {
                variadic: false,
                ..
            }
        )
    }

    fn direct_wrappers(&self, w: &mut SourceWriter) {
        let n = self.n();
        let mut first = true;
        for (name, ty, kind) in self.p.functions() {
            if kind != FuncKind::CFunction || !self.has_direct_wrapper(ty) {
                continue;
            }
            let Type::Function { result, params, .. } = self.p.ty(ty) else {
                continue;
            };
            if first {
                w.line("/* ---- direct-call wrappers of the cdef's C functions (macros work too) ---- */");
                w.blank();
                first = false;
            }
            let plist: Vec<String> = params
                .iter()
                .enumerate()
                .map(|(i, t)| n.param_decl(*t, &format!("a{i}")))
                .collect();
            let plist = if plist.is_empty() {
                "void".to_string()
            } else {
                plist.join(", ")
            };
            let call_args: Vec<String> = (0..params.len()).map(|i| format!("a{i}")).collect();
            let call = format!("{name}({})", call_args.join(", "));
            w.line(format!("/* {} */", comment_safe(&self.p.c_decl(ty, name))));
            let signature = n.wrap_str(*result, format!("_cembed_d__{name}({plist})"));
            w.block(&format!("static {signature}"), "", |w| {
                if self.is_void(*result) {
                    w.line(format!("{call};"));
                } else {
                    w.line(format!("return {call};"));
                }
            });
            w.blank();
        }
    }

    // ---- the library -----------------------------------------------------

    fn lib(&self, w: &mut SourceWriter, opts: &Options) {
        let b = opts.build;
        w.line("/* ---- the library ---- */");
        w.blank();
        w.inline_block(
            "static const cembed_build_info _cembed_build_info =",
            ";",
            |w| {
                w.line(format!(".python_version = {},", literal(&b.python_version)));
                w.line(format!(
                    ".python_executable = {},",
                    literal(&b.python_executable)
                ));
                w.line(format!(".libpython = {},", literal(&b.libpython)));
                w.line(format!(".runtime = {},", literal(&b.runtime)));
                w.line(format!(".cembed_version = {},", literal(&b.cembed_version)));
            },
        );
        w.blank();
        // The same facts as text in a section of their own, so tools read
        // them from the file without loading it: `cembed bundle` recognises
        // a cembed library by this section (cembed-build's bundle.rs).
        let info = format!(
            "cembed-library 1\nmodule={}\nabi={}.{}\npython_version={}\n\
             python_executable={}\nlibpython={}\nruntime={}\ncembed_version={}\n",
            opts.module_name,
            cembed_abi::ABI_VERSION,
            cembed_abi::ABI_MINOR,
            b.python_version,
            b.python_executable,
            b.libpython,
            b.runtime,
            b.cembed_version
        );
        w.line("#if defined(__ELF__) && defined(__GNUC__)");
        w.line(format!(
            "__attribute__((used, section(\".cembed\"))) static const char _cembed_info[] = {};",
            literal(&info)
        ));
        w.line("#endif");
        w.blank();
        let init = match opts.init_code {
            Some(code) => {
                w.line("/* embedding_init_code(), UTF-8 */");
                w.line("static const char _cembed_init_code[] =");
                let lits = multiline_literal(code);
                let last = lits.len() - 1;
                for (i, l) in lits.into_iter().enumerate() {
                    w.line(format!("    {l}{}", if i == last { ";" } else { "" }));
                }
                w.blank();
                "_cembed_init_code"
            }
            None => "NULL",
        };
        let p = self.p;
        let n_enum = self.enumerators.len();
        let n_typedefs = p
            .decls
            .iter()
            .filter(|d| matches!(d, Decl::Typedef { .. }))
            .count();
        let n_consts = p
            .decls
            .iter()
            .filter(|d| matches!(d, Decl::Macro { .. } | Decl::Constant { .. }))
            .count();
        let n_globals = p
            .decls
            .iter()
            .filter(|d| matches!(d, Decl::Global { .. }))
            .count();
        let n_cfuncs = p
            .functions()
            .filter(|(_, _, k)| *k == FuncKind::CFunction)
            .count();
        let n_externs = p
            .functions()
            .filter(|(_, _, k)| *k != FuncKind::CFunction)
            .count();
        let tables = [
            ("types", "_cembed_types", p.types.len()),
            ("fields", "_cembed_fields", self.field_rows.len()),
            ("params", "_cembed_params", self.params.len()),
            ("enumerators", "_cembed_enumerators", n_enum),
            ("typedefs", "_cembed_typedefs", n_typedefs),
            ("consts", "_cembed_consts", n_consts),
            ("globals", "_cembed_globals", n_globals),
            ("cfuncs", "_cembed_cfuncs", n_cfuncs),
            ("externs", "_cembed_externs", n_externs),
            ("thunks", "_cembed_thunks", self.thunks.len()),
        ];
        w.inline_block("static cembed_lib _cembed_lib =", ";", |w| {
            w.line(".abi_version = CEMBED_ABI_VERSION,");
            w.line(".struct_size = sizeof(cembed_lib),");
            w.line(format!(".module_name = {},", literal(opts.module_name)));
            w.line(format!(".init_code = {init},"));
            w.line(".build = &_cembed_build_info,");
            for (field, var, count) in tables {
                // C has no zero-length arrays: an empty table is NULL.
                let var = if count == 0 { "NULL" } else { var };
                w.line(format!(".{field} = {var}, .n_{field} = {count},"));
            }
            w.line(".runtime = NULL,");
        });
        w.blank();
        let last = opts
            .module_name
            .rsplit('.')
            .next()
            .unwrap_or(opts.module_name);
        w.line("/* A running Python imports the library as the extension module it also is. */");
        w.block(
            &format!("CFFI_DLLEXPORT void *PyInit_{last}(void)"),
            "",
            |w| {
                w.line("return _cembed_pyinit();");
            },
        );
    }
}

fn int_const_row(name: &str, ty: i64) -> String {
    format!(
        "{{ {}, {ty}, ({name}) <= 0, (uint64_t)({name}), NULL }},",
        literal(name)
    )
}

/// An integer as a C literal of a type wide enough for it.
pub fn int_literal(v: i128) -> String {
    if v == i64::MIN as i128 {
        "(-9223372036854775807LL - 1)".to_string()
    } else if v < 0 {
        format!("({v}LL)")
    } else if v > i64::MAX as i128 {
        format!("{v}ULL")
    } else {
        format!("{v}")
    }
}

/// Text safe inside a `/* ... */` comment.
pub fn comment_safe(s: &str) -> String {
    s.replace("*/", "* /").replace("/*", "/ *")
}

/// The table name of `typedef int... name`: what CFFI's `_cffi_prim_int`
/// makes of it, the fixed-width type of the same size and signedness
/// (`uint16_t`), chosen by the compiler (a constant expression of string
/// literals). A size with no fixed-width type keeps the typedef name.
fn unknown_int_name(spelled: &str, typedef_name: &str) -> String {
    let mut e = literal(typedef_name);
    for bits in [64, 32, 16, 8] {
        e = format!(
            "sizeof({spelled}) == {} ? ((({spelled})-1 <= 0) ? \"int{bits}_t\" : \"uint{bits}_t\") : {e}",
            bits / 8
        );
    }
    format!("({e})")
}

/// The table name of `typedef float... name`: CFFI's `_cffi_prim_float`
/// (`float`, `double`, anything else is `long double`).
fn unknown_float_name(spelled: &str) -> String {
    format!(
        "(sizeof({spelled}) == sizeof(float) ? \"float\" : sizeof({spelled}) == sizeof(double) ? \"double\" : \"long double\")"
    )
}
