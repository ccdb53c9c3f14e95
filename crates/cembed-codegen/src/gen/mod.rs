//! The generated C file, section by section, in the order of
//! docs/architecture.md "Generated C layout". `Gen` (here) holds what the
//! sections share (spellings, thunk and table indexes) and writes the
//! prologue and the user's code; each later section is a file:
//! [`entries`] (entry helpers), [`layout`] (layout checks), [`thunks`],
//! [`probes`] (bitfield probes, constant getters), [`tables`] (the type,
//! field, parameter and enumerator tables), [`externs`] (functions
//! implemented in Python, direct-call wrappers) and [`library`]
//! (`_cembed_lib`, build facts, `PyInit_<module>`).

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

mod entries;
mod externs;
mod layout;
mod library;
mod probes;
mod tables;
mod thunks;

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
        w.raw(cembed_abi::LAYOUT_HEADER);
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
}

fn int_const_row(name: &str, ty: i64) -> String {
    format!(
        "{{ {}, {ty}, ({name}) <= 0, (uint64_t)({name}), NULL }},",
        literal(name)
    )
}

/// An integer as a C literal of a type wide enough for it.
/// The layout checks alone: the PyPy target (`crate::pypy`) checks the
/// declarations against the C definitions at build time with them too (the
/// `CEMBED_CHECK_*` macros are then defined by `templates/cembed_pypy.h`).
pub(crate) fn layout_checks(p: &Program) -> String {
    let mut w = SourceWriter::new();
    Gen::new(p).layout_checks(&mut w);
    w.finish()
}

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
