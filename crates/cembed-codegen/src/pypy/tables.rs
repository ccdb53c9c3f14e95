//! The module's tables for PyPy's `_cffi_backend` (see the module comment of
//! `pypy/mod.rs`), and the C functions they point to: one per constant,
//! global variable and C function, one per function implemented in Python.

use std::collections::HashMap;

use cembed_model::{
    ArrayLen, Decl, EnumId, FuncKind, PrimClass, Program, RecordId, RecordKind, Type, TypeId,
};

use crate::cstr;
use crate::spell::{Namer, RecordSpelling};
use crate::writer::SourceWriter;

// The globals table's rows and the C functions they point to (constants,
// variables, C functions, functions implemented in Python).
mod globals;

/// CFFI's primitive numbers (`_CFFI_PRIM_*`), by CFFI name.
fn prim_number(name: &str) -> Option<u32> {
    Some(match name {
        "void" => 0,
        "_Bool" => 1,
        "char" => 2,
        "signed char" => 3,
        "unsigned char" => 4,
        "short" => 5,
        "unsigned short" => 6,
        "int" => 7,
        "unsigned int" => 8,
        "long" => 9,
        "unsigned long" => 10,
        "long long" => 11,
        "unsigned long long" => 12,
        "float" => 13,
        "double" => 14,
        "long double" => 15,
        "wchar_t" => 16,
        "int8_t" => 17,
        "uint8_t" => 18,
        "int16_t" => 19,
        "uint16_t" => 20,
        "int32_t" => 21,
        "uint32_t" => 22,
        "int64_t" => 23,
        "uint64_t" => 24,
        "intptr_t" => 25,
        "uintptr_t" => 26,
        "ptrdiff_t" => 27,
        "size_t" => 28,
        "ssize_t" => 29,
        "int_least8_t" => 30,
        "uint_least8_t" => 31,
        "int_least16_t" => 32,
        "uint_least16_t" => 33,
        "int_least32_t" => 34,
        "uint_least32_t" => 35,
        "int_least64_t" => 36,
        "uint_least64_t" => 37,
        "int_fast8_t" => 38,
        "uint_fast8_t" => 39,
        "int_fast16_t" => 40,
        "uint_fast16_t" => 41,
        "int_fast32_t" => 42,
        "uint_fast32_t" => 43,
        "int_fast64_t" => 44,
        "uint_fast64_t" => 45,
        "intmax_t" => 46,
        "uintmax_t" => 47,
        "_cffi_float_complex_t" => 48,
        "_cffi_double_complex_t" => 49,
        "char16_t" => 50,
        "char32_t" => 51,
        _ => return None,
    })
}

/// One `_cffi_global_s` row, before sorting.
struct Global {
    name: String,
    address: String,
    op: String,
    direct: String,
}

/// One field row of a record.
struct FieldRow {
    name: String,
    offset: String,
    size: String,
    op: String,
}

pub struct Tables<'a> {
    p: &'a Program,
    n: &'a Namer<'a>,
    module: &'a str,
    /// First slot of each program type.
    slot: Vec<usize>,
    /// Slots added after the program's types (pointers C adjusts parameters
    /// to, records and enums no type names): their opcodes.
    extra: Vec<String>,
    extra_ptr: HashMap<TypeId, usize>,
    record_slot: HashMap<RecordId, usize>,
    enum_slot: HashMap<EnumId, usize>,
    /// Index of each record in the sorted struct_unions table.
    record_index: Vec<usize>,
    enum_index: Vec<usize>,
    record_names: Vec<String>,
    enum_names: Vec<String>,
    /// Generated C placed before the tables (helpers, functions).
    body: SourceWriter,
    errors: Vec<String>,
}

impl<'a> Tables<'a> {
    pub fn new(p: &'a Program, n: &'a Namer<'a>, module: &'a str) -> Tables<'a> {
        let mut slot = Vec::with_capacity(p.types.len());
        let mut next = 0usize;
        let mut record_slot = HashMap::new();
        let mut enum_slot = HashMap::new();
        for (i, ty) in p.types.iter().enumerate() {
            slot.push(next);
            next += match ty {
                Type::Function { params, .. } => params.len() + 2,
                Type::Array {
                    len: ArrayLen::Fixed(_) | ArrayLen::FromCompiler,
                    ..
                } => 2,
                Type::Record(r) => {
                    record_slot.entry(*r).or_insert(slot[i]);
                    1
                }
                Type::Enum(e) => {
                    enum_slot.entry(*e).or_insert(slot[i]);
                    1
                }
                _ => 1,
            };
        }
        // Names, then sorted order (PyPy bisects the tables by name).
        let mut anon = 0;
        let record_names: Vec<String> = p
            .records
            .iter()
            .map(|r| match &r.tag {
                Some(t) => t.clone(),
                None => match r.c_name.split_once(' ') {
                    Some((_, rest)) if rest.starts_with('$') => rest.to_string(),
                    _ if r.c_name.is_empty() => {
                        anon += 1;
                        format!("${anon}")
                    }
                    _ => format!("${}", r.c_name),
                },
            })
            .collect();
        let enum_names: Vec<String> = p
            .enums
            .iter()
            .map(|e| match &e.tag {
                Some(t) => t.clone(),
                None => match e.c_name.split_once(' ') {
                    Some((_, rest)) if rest.starts_with('$') => rest.to_string(),
                    _ => format!("${}", e.c_name),
                },
            })
            .collect();
        let record_index = sorted_positions(&record_names);
        let enum_index = sorted_positions(&enum_names);
        let mut t = Tables {
            p,
            n,
            module,
            slot,
            extra: Vec::new(),
            extra_ptr: HashMap::new(),
            record_slot,
            enum_slot,
            record_index,
            enum_index,
            record_names,
            enum_names,
            body: SourceWriter::new(),
            errors: Vec::new(),
        };
        let base = t.base_len();
        for r in 0..p.records.len() {
            let id = RecordId(r as u32);
            if !t.record_slot.contains_key(&id) {
                let idx = base + t.extra.len();
                t.extra.push(format!(
                    "CEMBED_PYPY_OP(CEMBED_PYPY_OP_STRUCT_UNION, {})",
                    t.record_index[r]
                ));
                t.record_slot.insert(id, idx);
            }
        }
        for e in 0..p.enums.len() {
            let id = EnumId(e as u32);
            if !t.enum_slot.contains_key(&id) {
                let idx = t.base_len() + t.extra.len();
                t.extra.push(format!(
                    "CEMBED_PYPY_OP(CEMBED_PYPY_OP_ENUM, {})",
                    t.enum_index[e]
                ));
                t.enum_slot.insert(id, idx);
            }
        }
        t
    }

    fn base_len(&self) -> usize {
        match self.p.types.last() {
            None => 0,
            Some(_) => {
                let last = self.p.types.len() - 1;
                self.slot[last] + self.width(TypeId(last as u32))
            }
        }
    }

    fn width(&self, id: TypeId) -> usize {
        match self.p.ty(id) {
            Type::Function { params, .. } => params.len() + 2,
            Type::Array {
                len: ArrayLen::Fixed(_) | ArrayLen::FromCompiler,
                ..
            } => 2,
            _ => 1,
        }
    }

    fn slot(&self, id: TypeId) -> usize {
        self.slot[id.0 as usize]
    }

    /// The slot of a pointer to `pointee`: the program's own pointer type if
    /// it has one (qualifiers do not matter to PyPy), else one added.
    fn ptr_slot(&mut self, pointee: TypeId) -> usize {
        if let Some(s) = self.extra_ptr.get(&pointee) {
            return *s;
        }
        let found = self
            .p
            .types
            .iter()
            .position(|t| matches!(t, Type::Pointer { pointee: q, .. } if *q == pointee));
        let s = match found {
            Some(i) => self.slot[i],
            None => {
                let idx = self.base_len() + self.extra.len();
                let op = format!(
                    "CEMBED_PYPY_OP(CEMBED_PYPY_OP_POINTER, {})",
                    self.slot(pointee)
                );
                self.extra.push(op);
                idx
            }
        };
        self.extra_ptr.insert(pointee, s);
        s
    }

    /// The slot of a parameter as C adjusts it (arrays and functions become
    /// pointers).
    fn param_slot(&mut self, id: TypeId) -> usize {
        match self.p.ty(id) {
            Type::Array { item, .. } => {
                let item = *item;
                self.ptr_slot(item)
            }
            Type::Function { .. } => self.ptr_slot(id),
            _ => self.slot(id),
        }
    }

    /// The opcodes of every program type, slot by slot.
    fn type_ops(&mut self) -> Vec<(String, String)> {
        let mut ops = Vec::new();
        for i in 0..self.p.types.len() {
            let id = TypeId(i as u32);
            let comment = self.p.c_name(id);
            match self.p.ty(id).clone() {
                Type::Prim(prim) => {
                    let arg = match (prim_number(&prim.name), prim.class) {
                        (Some(n), _) => n.to_string(),
                        (None, PrimClass::UnknownFloat) => {
                            format!("CEMBED_PYPY_PRIM_FLOAT(sizeof({}))", prim.name)
                        }
                        (None, _) => format!(
                            "CEMBED_PYPY_PRIM_INT(sizeof({0}), (({0})-1) <= 0)",
                            prim.name
                        ),
                    };
                    ops.push((
                        format!("CEMBED_PYPY_OP(CEMBED_PYPY_OP_PRIMITIVE, {arg})"),
                        comment,
                    ));
                }
                Type::Pointer { pointee, .. } => ops.push((
                    format!(
                        "CEMBED_PYPY_OP(CEMBED_PYPY_OP_POINTER, {})",
                        self.slot(pointee)
                    ),
                    comment,
                )),
                Type::Array { item, len } => {
                    let item_slot = self.slot(item);
                    match len {
                        ArrayLen::Open => ops.push((
                            format!("CEMBED_PYPY_OP(CEMBED_PYPY_OP_OPEN_ARRAY, {item_slot})"),
                            comment,
                        )),
                        ArrayLen::Fixed(n) => {
                            ops.push((
                                format!("CEMBED_PYPY_OP(CEMBED_PYPY_OP_ARRAY, {item_slot})"),
                                comment,
                            ));
                            ops.push((format!("(cembed_pypy_op)(uintptr_t){n}"), String::new()));
                        }
                        ArrayLen::FromCompiler => {
                            ops.push((
                                format!("CEMBED_PYPY_OP(CEMBED_PYPY_OP_ARRAY, {item_slot})"),
                                comment.clone(),
                            ));
                            let len = match self.n.s.arrays.get(&id) {
                                Some(a) => format!(
                                    "(cembed_pypy_op)(uintptr_t)(sizeof({0}) / sizeof(({0})[0]))",
                                    a.expr
                                ),
                                None => {
                                    self.errors.push(format!(
                                        "the length of the array type {comment} cannot be known: no declaration names it"
                                    ));
                                    "(cembed_pypy_op)0".to_string()
                                }
                            };
                            ops.push((len, String::new()));
                        }
                    }
                }
                Type::Record(r) => ops.push((
                    format!(
                        "CEMBED_PYPY_OP(CEMBED_PYPY_OP_STRUCT_UNION, {})",
                        self.record_index[r.0 as usize]
                    ),
                    comment,
                )),
                Type::Enum(e) => ops.push((
                    format!(
                        "CEMBED_PYPY_OP(CEMBED_PYPY_OP_ENUM, {})",
                        self.enum_index[e.0 as usize]
                    ),
                    comment,
                )),
                Type::Function {
                    result,
                    params,
                    variadic,
                } => {
                    let r = self.param_slot(result);
                    ops.push((
                        format!("CEMBED_PYPY_OP(CEMBED_PYPY_OP_FUNCTION, {r})"),
                        comment,
                    ));
                    for p in params {
                        let s = self.param_slot(p);
                        ops.push((
                            format!("CEMBED_PYPY_OP(CEMBED_PYPY_OP_NOOP, {s})"),
                            String::new(),
                        ));
                    }
                    ops.push((
                        format!(
                            "CEMBED_PYPY_OP(CEMBED_PYPY_OP_FUNCTION_END, {})",
                            u8::from(variadic)
                        ),
                        String::new(),
                    ));
                }
            }
        }
        ops
    }

    /// Fields of a record as PyPy sees them: anonymous members flattened into
    /// their parent (the compiler gives each inner field's offset in it).
    fn fields_of(&self, r: RecordId, outer: &str, known: bool, out: &mut Vec<FieldRow>) {
        let rec = self.p.record(r);
        let Some(fields) = &rec.fields else { return };
        for f in fields {
            match (&f.name, f.bit_width) {
                (None, None) => {
                    if let Type::Record(inner) = self.p.ty(f.ty) {
                        self.fields_of(*inner, outer, known, out);
                    }
                }
                (name, Some(bits)) => out.push(FieldRow {
                    name: name.clone().unwrap_or_default(),
                    offset: "(size_t)-1".into(),
                    size: format!("{bits}"),
                    op: format!(
                        "CEMBED_PYPY_OP(CEMBED_PYPY_OP_BITFIELD, {})",
                        self.slot(f.ty)
                    ),
                }),
                (Some(name), None) => {
                    let open = matches!(
                        self.p.ty(f.ty),
                        Type::Array {
                            len: ArrayLen::Open,
                            ..
                        }
                    );
                    let (offset, size) = if known {
                        (
                            format!("offsetof({outer}, {name})"),
                            if open {
                                "(size_t)-1".to_string()
                            } else {
                                format!("sizeof((({outer} *)0)->{name})")
                            },
                        )
                    } else {
                        ("(size_t)-1".to_string(), "(size_t)-1".to_string())
                    };
                    out.push(FieldRow {
                        name: name.clone(),
                        offset,
                        size,
                        op: format!("CEMBED_PYPY_OP(CEMBED_PYPY_OP_NOOP, {})", self.slot(f.ty)),
                    });
                }
            }
        }
    }

    pub fn write(mut self, w: &mut SourceWriter) {
        let ops = self.type_ops();
        let mut globals = self.globals();
        globals.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        globals.dedup_by(|a, b| a.name == b.name);
        let has_externpy = self.p.functions().any(|(_, _, k)| k != FuncKind::CFunction);

        // Records: fields and rows, in sorted order.
        let mut order: Vec<usize> = (0..self.p.records.len()).collect();
        order.sort_by_key(|&i| self.record_index[i]);
        let mut fields: Vec<FieldRow> = Vec::new();
        let mut rows: Vec<String> = Vec::new();
        let mut aligns = SourceWriter::new();
        for &i in &order {
            let id = RecordId(i as u32);
            let rec = self.p.record(id);
            let spelled = match &self.n.s.records[i] {
                RecordSpelling::Real(s) => Some(s.clone()),
                RecordSpelling::Shadow => None,
            };
            let mut flags = Vec::new();
            if rec.kind == RecordKind::Union {
                flags.push("CEMBED_PYPY_F_UNION");
            }
            let name = cstr::literal(&self.record_names[i]);
            let slot = self.record_slot[&id];
            if rec.fields.is_none() {
                flags.push("CEMBED_PYPY_F_OPAQUE");
                rows.push(format!(
                    "{{ {name}, {slot}, {}, (size_t)-1, -1, -1, 0 }},",
                    flags.join("|")
                ));
                continue;
            }
            let has_anon = rec
                .fields
                .as_ref()
                .map(|f| f.iter().any(|f| f.name.is_none() && f.bit_width.is_none()))
                .unwrap_or(false);
            if spelled.is_some() && !rec.partial && !has_anon && matches!(rec.pack, None | Some(1))
            {
                flags.push("CEMBED_PYPY_F_CHECK_FIELDS");
            }
            if rec.pack == Some(1) {
                flags.push("CEMBED_PYPY_F_PACKED");
            }
            let flags = if flags.is_empty() {
                "0".to_string()
            } else {
                flags.join("|")
            };
            let first = fields.len();
            let outer = spelled.clone().unwrap_or_default();
            self.fields_of(id, &outer, spelled.is_some(), &mut fields);
            let count = fields.len() - first;
            match spelled {
                Some(s) => {
                    aligns.line(format!("struct _cembed_align__{i} {{ char x; {s} y; }};"));
                    rows.push(format!(
                        "{{ {name}, {slot}, {flags}, sizeof({s}), (int)offsetof(struct _cembed_align__{i}, y), {first}, {count} }},"
                    ));
                }
                // An anonymous member: PyPy lays it out from its fields.
                None => rows.push(format!(
                    "{{ {name}, {slot}, {flags}, (size_t)-2, -2, {first}, {count} }},"
                )),
            }
        }

        // Enums, sorted.
        let mut eorder: Vec<usize> = (0..self.p.enums.len()).collect();
        eorder.sort_by_key(|&i| self.enum_index[i]);
        let mut enum_rows = Vec::new();
        for &i in &eorder {
            let e = &self.p.enums[i];
            let sp = self.n.s.enums[i].clone();
            let names: Vec<&str> = e.enumerators.iter().map(|x| x.name.as_str()).collect();
            enum_rows.push(format!(
                "{{ {}, {}, CEMBED_PYPY_PRIM_INT(sizeof({sp}), (({sp})-1) <= 0), {} }},",
                cstr::literal(&self.enum_names[i]),
                self.enum_slot[&EnumId(i as u32)],
                cstr::literal(&names.join(","))
            ));
        }

        // Typedef names, sorted.
        let mut typenames: Vec<(String, usize)> = Vec::new();
        for d in &self.p.decls {
            if let Decl::Typedef { name, ty, .. } = d {
                typenames.push((name.clone(), self.slot(*ty)));
            }
        }
        typenames.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        typenames.dedup_by(|a, b| a.0 == b.0);

        // ---- output ----
        w.line("/* ---- constants, variables, functions ---- */");
        for e in &self.errors {
            w.line(format!("#error {}", cstr::literal(&format!("cembed: {e}"))));
        }
        let body = std::mem::take(&mut self.body).finish();
        w.raw(&body);
        w.raw(&aligns.finish());
        w.blank();
        w.line("/* ---- the tables PyPy's _cffi_backend reads ---- */");
        let all_ops: Vec<(String, String)> = ops
            .into_iter()
            .chain(self.extra.iter().map(|o| (o.clone(), String::new())))
            .collect();
        w.line("static cembed_pypy_op _cembed_pypy_types[] = {");
        for (i, (op, comment)) in all_ops.iter().enumerate() {
            if comment.is_empty() {
                w.line(format!("/* {i:3} */ {op},"));
            } else {
                w.line(format!(
                    "/* {i:3} */ {op}, /* {} */",
                    comment.replace("*/", "* /")
                ));
            }
        }
        if all_ops.is_empty() {
            w.line("0");
        }
        w.line("};");
        w.blank();
        w.line("static const struct cembed_pypy_global _cembed_pypy_globals[] = {");
        for g in &globals {
            w.line(format!(
                "{{ {}, {}, {}, {} }},",
                cstr::literal(&g.name),
                g.address,
                g.op,
                g.direct
            ));
        }
        if globals.is_empty() {
            w.line("{ 0, 0, 0, 0 }");
        }
        w.line("};");
        w.line("static const struct cembed_pypy_field _cembed_pypy_fields[] = {");
        for f in &fields {
            w.line(format!(
                "{{ {}, {}, {}, {} }},",
                cstr::literal(&f.name),
                f.offset,
                f.size,
                f.op
            ));
        }
        if fields.is_empty() {
            w.line("{ 0, 0, 0, 0 }");
        }
        w.line("};");
        w.line("static const struct cembed_pypy_struct_union _cembed_pypy_struct_unions[] = {");
        for r in &rows {
            w.line(r);
        }
        if rows.is_empty() {
            w.line("{ 0, 0, 0, 0, 0, 0, 0 }");
        }
        w.line("};");
        w.line("static const struct cembed_pypy_enum _cembed_pypy_enums[] = {");
        for r in &enum_rows {
            w.line(r);
        }
        if enum_rows.is_empty() {
            w.line("{ 0, 0, 0, 0 }");
        }
        w.line("};");
        w.line("static const struct cembed_pypy_typename _cembed_pypy_typenames[] = {");
        for (name, slot) in &typenames {
            w.line(format!("{{ {}, {slot} }},", cstr::literal(name)));
        }
        if typenames.is_empty() {
            w.line("{ 0, 0 }");
        }
        w.line("};");
        w.blank();
        w.line("static const struct cembed_pypy_type_context _cembed_pypy_context = {");
        w.line("    _cembed_pypy_types, _cembed_pypy_globals, _cembed_pypy_fields,");
        w.line("    _cembed_pypy_struct_unions, _cembed_pypy_enums, _cembed_pypy_typenames,");
        w.line(format!(
            "    {}, {}, {}, {}, NULL, {}, {}",
            globals.len(),
            rows.len(),
            enum_rows.len(),
            typenames.len(),
            all_ops.len(),
            u8::from(has_externpy)
        ));
        w.line("};");
        w.blank();
    }
}

/// For each name, its position in byte order.
fn sorted_positions(names: &[String]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| names[a].as_bytes().cmp(names[b].as_bytes()));
    let mut pos = vec![0; names.len()];
    for (rank, &i) in order.iter().enumerate() {
        pos[i] = rank;
    }
    pos
}
