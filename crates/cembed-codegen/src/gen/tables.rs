//! The tables the runtime reads: `_cembed_types[]`, `_cembed_fields[]`,
//! `_cembed_params[]`, `_cembed_enumerators[]` and the rest of
//! `cembed_abi.h`'s descriptors.

use super::*;

impl<'p> Gen<'p> {
    pub(super) fn type_row(&self, id: TypeId) -> String {
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

    pub(super) fn table(
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

    pub(super) fn tables(&self, w: &mut SourceWriter) {
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
    pub(super) fn anon_offset(&self, r: RecordId, f: &Field, k: usize) -> String {
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
}
