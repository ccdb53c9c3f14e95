//! The type registry of one module: every C type Python code can name.
//!
//! It starts as a copy of the library's generated table (`cembed_lib.types`,
//! sizes/alignments/offsets from the compiler) and grows on demand with the
//! derived types Python code asks for (`ffi.new("int[10]")`,
//! `ffi.typeof("point_t **")`), and with primitives the declarations never
//! mention (their sizes are the platform's, which is the one the runtime was
//! compiled for).
//!
//! Types are identified by their CFFI spelling: CFFI's names are canonical
//! (one name per structurally distinct type, `const` dropped, anonymous
//! records numbered), so the spelling is the interning key and "equal types
//! are the same object" holds for the `CType` objects made from entries.
//!
//! Entries are boxed and never removed while the registry lives, so a
//! `&TInfo` stays valid across registry growth; the registry lives in the
//! module state and every CType/CData keeps the module alive.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::desc::ctypes::Prim;
use crate::py::text;
use cembed_abi::{type_flags, BitProbe, Kind, Lib, Thunk};
use cembed_typename::{parse_type_expr, BaseType, TypeExpr, TypeOp};
use std::collections::HashMap;
use std::ffi::c_void;

/// Registry index of a type.
pub(crate) type Tid = u32;

#[derive(Debug)]
pub(crate) enum TKind {
    Void,
    Prim(Prim),
    /// Converts as `prim`; `values` in declaration order.
    Enum {
        prim: Prim,
        values: Vec<(String, i128)>,
    },
    Pointer {
        item: Tid,
    },
    Array {
        item: Tid,
        len: Option<usize>,
    },
    /// Struct or union; `fields` is None for an opaque (incomplete) record.
    Record {
        union: bool,
        fields: Option<Vec<FieldInfo>>,
    },
    /// A function pointer type (CFFI's 'function' kind is the pointer).
    Func {
        result: Tid,
        params: Vec<Tid>,
        variadic: bool,
        thunk: Option<Thunk>,
        /// The FUNCTION entry of the library's table for this type, if the
        /// declarations mention it (what `cfunc::call_fnptr` calls through).
        table_fn: Option<u32>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct FieldInfo {
    pub(crate) name: String,
    pub(crate) ty: Tid,
    pub(crate) offset: usize,
    /// -1 unless a bitfield.
    pub(crate) bitshift: i32,
    pub(crate) bitsize: i32,
    /// CFFI's BF_IGNORE_IN_CTOR: union members after the first are skipped
    /// by list initializers.
    pub(crate) flags: i32,
}

#[derive(Debug)]
pub(crate) struct TInfo {
    pub(crate) name: String,
    /// Where a declarator is inserted into `name` (CFFI's ct_name_position).
    pub(crate) name_pos: usize,
    pub(crate) kind: TKind,
    /// sizeof; 0 if unknown/incomplete (void, opaque, open array).
    pub(crate) size: usize,
    pub(crate) align: usize,
    /// The table entry declared the record/enum with `...`.
    pub(crate) partial: bool,
    /// A struct/union with a flexible array member (`double items[];`),
    /// directly or in a nested struct field: CFFI's CT_WITH_VAR_ARRAY.
    /// `ffi.new("T *", init)` sizes such a struct from the initializer,
    /// and the owner remembers the size (see `object::var_byte_size`).
    pub(crate) var_array: bool,
}

impl TInfo {
    pub(crate) fn kind_name(&self) -> &'static str {
        match &self.kind {
            TKind::Void => "void",
            TKind::Prim(_) => "primitive",
            TKind::Enum { .. } => "enum",
            TKind::Pointer { .. } => "pointer",
            TKind::Array { .. } => "array",
            TKind::Record { union: false, .. } => "struct",
            TKind::Record { union: true, .. } => "union",
            TKind::Func { .. } => "function",
        }
    }
    /// A pointer, function pointer or array (what `ffi.new` accepts, what
    /// arithmetic works on).
    pub(crate) fn is_ptr_like(&self) -> bool {
        matches!(
            self.kind,
            TKind::Pointer { .. } | TKind::Array { .. } | TKind::Func { .. }
        )
    }
    pub(crate) fn prim(&self) -> Option<Prim> {
        match &self.kind {
            TKind::Prim(p) | TKind::Enum { prim: p, .. } => Some(*p),
            _ => None,
        }
    }
    pub(crate) fn is_record(&self) -> bool {
        matches!(self.kind, TKind::Record { .. })
    }
    /// CFFI's CT_PRIMITIVE_CHAR: `char`, `wchar_t`, `char16_t`, `char32_t`.
    pub(crate) fn is_char_prim(&self) -> bool {
        matches!(
            self.kind,
            TKind::Prim(Prim::Char | Prim::WChar16 | Prim::WChar32)
        )
    }
}

/// Every type of one module (see the module comment).
pub(crate) struct Registry {
    // Boxed on purpose: a `&TInfo` must stay valid while the Vec grows
    // (see the module comment).
    #[allow(clippy::vec_box)]
    pub(crate) types: Vec<Box<TInfo>>,
    by_name: HashMap<String, Tid>,
    /// Table index -> registry index (table `const char *` and `char *` are
    /// one CFFI type).
    pub(crate) table_map: Vec<Tid>,
    pub(crate) typedefs: Vec<(String, Tid)>,
    /// Parsed type strings (what `ffi.new("...")` looks up on every call).
    parsed: HashMap<String, Tid>,
}

/// Primitives by CFFI name, with the platform's size (x86_64 Linux LP64,
/// the runtime is compiled for the platform it runs on).
fn builtin_prim(name: &str) -> Option<(Prim, usize)> {
    use std::mem::size_of;
    let l = size_of::<libc::c_long>() as u8;
    let p = match name {
        "char" => Prim::Char,
        "_Bool" => Prim::Bool,
        "wchar_t" if size_of::<libc::wchar_t>() == 2 => Prim::WChar16,
        "wchar_t" | "char32_t" => Prim::WChar32,
        "char16_t" => Prim::WChar16,
        "signed char" | "int8_t" | "int_least8_t" | "int_fast8_t" => Prim::SInt(1),
        "unsigned char" | "uint8_t" | "uint_least8_t" | "uint_fast8_t" => Prim::UInt(1),
        "short" | "int16_t" | "int_least16_t" => Prim::SInt(2),
        "unsigned short" | "uint16_t" | "uint_least16_t" => Prim::UInt(2),
        "int" | "int32_t" | "int_least32_t" => Prim::SInt(4),
        "unsigned int" | "uint32_t" | "uint_least32_t" => Prim::UInt(4),
        "long" | "ssize_t" | "intptr_t" | "ptrdiff_t" | "int_fast16_t" | "int_fast32_t" => {
            Prim::SInt(l)
        }
        "unsigned long" | "size_t" | "uintptr_t" | "uint_fast16_t" | "uint_fast32_t" => {
            Prim::UInt(l)
        }
        "long long" | "int64_t" | "int_least64_t" | "int_fast64_t" | "intmax_t" => Prim::SInt(8),
        "unsigned long long" | "uint64_t" | "uint_least64_t" | "uint_fast64_t" | "uintmax_t" => {
            Prim::UInt(8)
        }
        "float" => Prim::F32,
        "double" => Prim::F64,
        "long double" => Prim::LongDouble,
        "_cffi_float_complex_t" | "float _Complex" => Prim::C64,
        "_cffi_double_complex_t" | "double _Complex" => Prim::C128,
        _ => return None,
    };
    // A complex is aligned as its parts (C11 6.2.5p13).
    let align = match p {
        Prim::C64 => 4,
        Prim::C128 => 8,
        _ => p.size(),
    };
    Some((p, align))
}

fn prim_of(kind: Kind, size: usize) -> Option<Prim> {
    match kind {
        Kind::Char => Some(Prim::Char),
        Kind::Bool => Some(Prim::Bool),
        Kind::WChar => match size {
            2 => Some(Prim::WChar16),
            _ => Some(Prim::WChar32),
        },
        Kind::SInt | Kind::Enum => Some(Prim::SInt(size as u8)),
        Kind::UInt => Some(Prim::UInt(size as u8)),
        Kind::Float => Some(match size {
            4 => Prim::F32,
            8 => Prim::F64,
            _ => Prim::LongDouble,
        }),
        Kind::Complex => Some(match size {
            8 => Prim::C64,
            _ => Prim::C128,
        }),
        _ => None,
    }
}

/// CFFI's `ctypedescr_new_on_top`: `extra` inserted at the base's name
/// position; the new position moves by `extra_pos`.
/// CFFI's message (an OverflowError) for an array type whose byte size does
/// not fit in a `Py_ssize_t`.
pub(crate) const ARRAY_TOO_BIG: &str = "array size would overflow a Py_ssize_t";

fn name_on_top(base: &TInfo, extra: &str, extra_pos: usize) -> (String, usize) {
    let mut s = String::with_capacity(base.name.len() + extra.len());
    s.push_str(&base.name[..base.name_pos]);
    s.push_str(extra);
    s.push_str(&base.name[base.name_pos..]);
    (s, base.name_pos + extra_pos)
}

impl Registry {
    /// Builds the registry of a library from its generated tables.
    ///
    /// # Safety
    /// `lib` is a valid generated library (tables already validated by
    /// `TypeTable::from_lib`: indexes in range, kinds known).
    pub(crate) unsafe fn from_lib(lib: &Lib) -> Registry {
        let mut r = Registry {
            types: Vec::new(),
            by_name: HashMap::new(),
            table_map: Vec::new(),
            typedefs: Vec::new(),
            parsed: HashMap::new(),
        };
        let n = lib.n_types as usize;
        let raw = if n == 0 {
            &[][..]
        } else {
            // SAFETY: a valid generated library (caller) has this table of
            // as many entries as its count says, static.
            unsafe { std::slice::from_raw_parts(lib.types, n) }
        };
        let fields = if lib.n_fields == 0 {
            &[][..]
        } else {
            // SAFETY: a valid generated library (caller) has this table of
            // as many entries as its count says, static.
            unsafe { std::slice::from_raw_parts(lib.fields, lib.n_fields as usize) }
        };
        let params = if lib.n_params == 0 {
            &[][..]
        } else {
            // SAFETY: a valid generated library (caller) has this table of
            // as many entries as its count says, static.
            unsafe { std::slice::from_raw_parts(lib.params, lib.n_params as usize) }
        };
        let enumerators = if lib.n_enumerators == 0 {
            &[][..]
        } else {
            // SAFETY: a valid generated library (caller) has this table of
            // as many entries as its count says, static.
            unsafe { std::slice::from_raw_parts(lib.enumerators, lib.n_enumerators as usize) }
        };
        let thunks = if lib.n_thunks == 0 {
            &[][..]
        } else {
            // SAFETY: a valid generated library (caller) has this table of
            // as many entries as its count says, static.
            unsafe { std::slice::from_raw_parts(lib.thunks, lib.n_thunks as usize) }
        };
        let mut map: Vec<Option<Tid>> = vec![None; n];
        // Pass 1: every type (derived ones after their items, recursively).
        // The pass's whole state, threaded through the recursion.
        #[allow(clippy::too_many_arguments)]
        fn map_one(
            r: &mut Registry,
            map: &mut Vec<Option<Tid>>,
            raw: &[cembed_abi::CType],
            params: &[i32],
            enumerators: &[cembed_abi::Const],
            thunks: &[Option<Thunk>],
            i: usize,
            depth: u32,
        ) -> Tid {
            if let Some(t) = map[i] {
                return t;
            }
            let t = &raw[i];
            let kind = Kind::from_u32(t.kind).unwrap_or(Kind::Void);
            // SAFETY: names are C strings of the static table.
            let name = unsafe { text(t.name) };
            let item = |r: &mut Registry, map: &mut Vec<Option<Tid>>| -> Option<Tid> {
                (t.item >= 0 && (t.item as usize) < raw.len() && depth < 64).then(|| {
                    map_one(
                        r,
                        map,
                        raw,
                        params,
                        enumerators,
                        thunks,
                        t.item as usize,
                        depth + 1,
                    )
                })
            };
            let id = match kind {
                Kind::Void => r.void(),
                Kind::Char
                | Kind::Bool
                | Kind::WChar
                | Kind::SInt
                | Kind::UInt
                | Kind::Float
                | Kind::Complex => {
                    let p = prim_of(kind, t.size).unwrap_or(Prim::SInt(4));
                    r.intern(name.clone(), name.len(), TKind::Prim(p), t.size, t.align)
                }
                Kind::Enum => {
                    let signed = t.flags & type_flags::SIGNED != 0;
                    let sz = t.size.clamp(1, 8) as u8;
                    let prim = if signed {
                        Prim::SInt(sz)
                    } else {
                        Prim::UInt(sz)
                    };
                    let (first, count) = (t.first as usize, t.count as usize);
                    let values = enumerators
                        .get(first..first + count)
                        .unwrap_or(&[])
                        .iter()
                        .map(|c| {
                            let v = if c.negative != 0 {
                                c.bits as i64 as i128
                            } else {
                                c.bits as i128
                            };
                            // SAFETY: static table string.
                            (unsafe { text(c.name) }, v)
                        })
                        .collect();
                    let id = r.intern(
                        name.clone(),
                        name.len(),
                        TKind::Enum { prim, values },
                        t.size,
                        t.align,
                    );
                    r.types[id as usize].partial = t.flags & type_flags::PARTIAL != 0;
                    id
                }
                Kind::Struct | Kind::Union | Kind::Opaque => {
                    let union = kind == Kind::Union
                        || (kind == Kind::Opaque && t.flags & type_flags::UNION_OPAQUE != 0);
                    let id = r.intern(
                        name.clone(),
                        name.len(),
                        TKind::Record {
                            union,
                            fields: None,
                        },
                        t.size,
                        t.align,
                    );
                    r.types[id as usize].partial = t.flags & type_flags::PARTIAL != 0;
                    id
                }
                // A pointer to a FUNCTION entry is the function pointer
                // type itself in CFFI (the FUNCTION entry maps to it too).
                Kind::Pointer
                    if t.item >= 0
                        && (t.item as usize) < raw.len()
                        && Kind::from_u32(raw[t.item as usize].kind) == Some(Kind::Function) =>
                {
                    item(r, map).unwrap_or_else(|| r.void_id())
                }
                Kind::Pointer => match item(r, map) {
                    Some(it) => r.pointer_to(it),
                    None => {
                        let v = r.void_id();
                        r.pointer_to(v)
                    }
                },
                Kind::Array => {
                    let it = item(r, map).unwrap_or_else(|| r.void_id());
                    let len = (t.length >= 0).then_some(t.length as usize);
                    r.array_of(it, len)
                }
                Kind::Function => {
                    let res = item(r, map).unwrap_or_else(|| r.void_id());
                    let (first, count) = (t.first as usize, t.count as usize);
                    let ps: Vec<i32> = params.get(first..first + count).unwrap_or(&[]).to_vec();
                    let mut pt = Vec::with_capacity(ps.len());
                    for p in ps {
                        if p >= 0 && (p as usize) < raw.len() {
                            pt.push(map_one(
                                r,
                                map,
                                raw,
                                params,
                                enumerators,
                                thunks,
                                p as usize,
                                depth + 1,
                            ));
                        }
                    }
                    let thunk = (t.thunk >= 0)
                        .then(|| thunks.get(t.thunk as usize).copied().flatten())
                        .flatten();
                    let variadic = t.flags & type_flags::VARIADIC != 0;
                    let id = r.func(res, pt, variadic);
                    if let TKind::Func {
                        thunk: th,
                        table_fn,
                        ..
                    } = &mut r.types[id as usize].kind
                    {
                        if th.is_none() {
                            *th = thunk;
                        }
                        if table_fn.is_none() {
                            *table_fn = Some(i as u32);
                        }
                    }
                    id
                }
            };
            map[i] = Some(id);
            id
        }
        for i in 0..n {
            map_one(&mut r, &mut map, raw, params, enumerators, thunks, i, 0);
        }
        r.table_map = map.into_iter().map(|t| t.expect("mapped")).collect();
        // A pointer to a function in the table is the function type itself
        // in CFFI (see `pointer_to`), already handled.
        // Pass 2: record fields (may refer to any type, records included).
        for (i, t) in raw.iter().enumerate() {
            let kind = Kind::from_u32(t.kind).unwrap_or(Kind::Void);
            if !matches!(kind, Kind::Struct | Kind::Union) {
                continue;
            }
            let id = r.table_map[i];
            let (first, count) = (t.first as usize, t.count as usize);
            let fs = fields.get(first..first + count).unwrap_or(&[]);
            let mut out = Vec::new();
            // SAFETY: a record's probe is generated for it, a record of
            // `t.size` bytes, with these fields (a valid library: caller).
            let probed = t
                .probe
                .map(|p| unsafe { probe_bitfields(p, t.size, fs, &r) });
            for (k, f) in fs.iter().enumerate() {
                if f.type_ < 0 || f.type_ as usize >= n {
                    continue;
                }
                let ft = r.table_map[f.type_ as usize];
                // SAFETY: names are C strings of the static table.
                let fname = unsafe { text(f.name) };
                let (offset, bitshift, bitsize) = if f.bit_width >= 0 {
                    match probed.as_ref().and_then(|v| v[k]) {
                        Some((o, s)) => (o, s, f.bit_width),
                        None => continue,
                    }
                } else if matches!(r.get(ft).kind, TKind::Array { len: None, .. }) {
                    // CFFI's BS_EMPTY_ARRAY: a flexible array member.
                    (f.offset, -2, -1)
                } else {
                    (f.offset, -1, -1)
                };
                if fname.is_empty() && f.bit_width < 0 {
                    // Anonymous struct/union member: its fields are reachable
                    // directly (CFFI flattens them into the parent).
                    out.push(FieldInfo {
                        name: String::new(),
                        ty: ft,
                        offset,
                        bitshift,
                        bitsize,
                        flags: 0,
                    });
                    continue;
                }
                if fname.is_empty() {
                    continue; // unnamed padding bitfield
                }
                out.push(FieldInfo {
                    name: fname,
                    ty: ft,
                    offset,
                    bitshift,
                    bitsize,
                    flags: 0,
                });
            }
            r.set_fields(id, out);
        }
        // Now flatten anonymous members (their own fields are complete).
        let ids: Vec<Tid> = (0..r.types.len() as Tid).collect();
        for id in ids {
            r.flatten(id, 0);
        }
        r.mark_var_arrays();
        let tds = if lib.n_typedefs == 0 {
            &[][..]
        } else {
            // SAFETY: a valid generated library (caller) has this table of
            // as many entries as its count says, static.
            unsafe { std::slice::from_raw_parts(lib.typedefs, lib.n_typedefs as usize) }
        };
        for td in tds {
            if td.type_ >= 0 && (td.type_ as usize) < n {
                // SAFETY: names are C strings of the static table.
                let name = unsafe { text(td.name) };
                r.typedefs.push((name, r.table_map[td.type_ as usize]));
            }
        }
        r
    }

    fn set_fields(&mut self, id: Tid, mut fields: Vec<FieldInfo>) {
        let union = matches!(
            self.types[id as usize].kind,
            TKind::Record { union: true, .. }
        );
        if union {
            for f in fields.iter_mut().skip(1) {
                f.flags = 1;
            }
        }
        if let TKind::Record { fields: f, .. } = &mut self.types[id as usize].kind {
            *f = Some(fields);
        }
    }

    /// Sets `var_array` on every record with a flexible array member, or
    /// with a struct field that has one (CFFI propagates the flag through
    /// nested structs, whatever the field's position: GCC accepts them).
    fn mark_var_arrays(&mut self) {
        loop {
            let mut changed = false;
            for id in 0..self.types.len() {
                let t = &self.types[id];
                let TKind::Record {
                    fields: Some(fs), ..
                } = &t.kind
                else {
                    continue;
                };
                if t.var_array {
                    continue;
                }
                let var = fs.iter().any(|f| {
                    let ft = &self.types[f.ty as usize];
                    f.bitsize < 0
                        && match ft.kind {
                            TKind::Array { len: None, .. } => true,
                            TKind::Record { .. } => ft.var_array,
                            _ => false,
                        }
                });
                if var {
                    self.types[id].var_array = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Replaces anonymous members of `id` by their (flattened) fields.
    fn flatten(&mut self, id: Tid, depth: u32) {
        let TKind::Record {
            fields: Some(fs), ..
        } = &self.types[id as usize].kind
        else {
            return;
        };
        if !fs.iter().any(|f| f.name.is_empty()) || depth > 32 {
            return;
        }
        let fs = fs.clone();
        let mut out = Vec::new();
        for f in fs {
            if !f.name.is_empty() {
                out.push(f);
                continue;
            }
            self.flatten(f.ty, depth + 1);
            if let TKind::Record {
                fields: Some(sub), ..
            } = &self.types[f.ty as usize].kind
            {
                for (k, s) in sub.iter().enumerate() {
                    let mut s = s.clone();
                    s.offset += f.offset;
                    if k > 0 && s.flags == 0 {
                        s.flags = f.flags;
                    }
                    if k == 0 {
                        s.flags |= f.flags;
                    }
                    out.push(s);
                }
            }
        }
        if let TKind::Record { fields: f, .. } = &mut self.types[id as usize].kind {
            *f = Some(out);
        }
    }

    pub(crate) fn get(&self, id: Tid) -> &TInfo {
        &self.types[id as usize]
    }

    /// A `&TInfo` not tied to the registry borrow (so the registry may grow
    /// while it is used): entries are boxed and never removed while the
    /// registry lives (module comment).
    ///
    /// # Safety
    /// The registry (its module) outlives every use of the reference: the
    /// caller works on a CType or CData of the module, which keeps it alive.
    pub(crate) unsafe fn info(&self, id: Tid) -> &'static TInfo {
        let p: *const TInfo = &*self.types[id as usize];
        // SAFETY: see the function comment; callers keep the module (and so
        // the registry) alive through the CType/CData they work on.
        unsafe { &*p }
    }

    fn intern(&mut self, name: String, pos: usize, kind: TKind, size: usize, align: usize) -> Tid {
        if let Some(&t) = self.by_name.get(&name) {
            return t;
        }
        let id = self.types.len() as Tid;
        self.by_name.insert(name.clone(), id);
        self.types.push(Box::new(TInfo {
            name,
            name_pos: pos,
            kind,
            size,
            align,
            partial: false,
            var_array: false,
        }));
        id
    }

    pub(crate) fn void(&mut self) -> Tid {
        self.intern("void".into(), 4, TKind::Void, 0, 1)
    }
    fn void_id(&mut self) -> Tid {
        self.void()
    }

    pub(crate) fn by_name(&self, name: &str) -> Option<Tid> {
        self.by_name.get(name).copied()
    }

    /// A primitive by CFFI name (from the table if declared there).
    pub(crate) fn prim_named(&mut self, name: &str) -> Option<Tid> {
        if name == "void" {
            return Some(self.void());
        }
        if let Some(t) = self.by_name(name) {
            return Some(t);
        }
        let (p, align) = builtin_prim(name)?;
        Some(self.intern(
            name.to_string(),
            name.len(),
            TKind::Prim(p),
            p.size(),
            align,
        ))
    }

    pub(crate) fn pointer_to(&mut self, item: Tid) -> Tid {
        let it = self.get(item);
        if let TKind::Func { .. } = it.kind {
            // Pointer to a function pointer.
        }
        let extra = if matches!(it.kind, TKind::Array { .. }) {
            "(*)"
        } else {
            " *"
        };
        let (name, pos) = name_on_top(it, extra, 2);
        let size = std::mem::size_of::<*mut c_void>();
        self.intern(name, pos, TKind::Pointer { item }, size, size)
    }

    pub(crate) fn array_of(&mut self, item: Tid, len: Option<usize>) -> Tid {
        let it = self.get(item);
        let extra = match len {
            Some(n) => format!("[{n}]"),
            None => "[]".into(),
        };
        let (name, pos) = name_on_top(it, &extra, 0);
        let size = len.map_or(0, |n| n.saturating_mul(it.size));
        let align = it.align;
        self.intern(name, pos, TKind::Array { item, len }, size, align)
    }

    /// The function (pointer) type `result(*)(params)`: CFFI's `fb_build_name`.
    pub(crate) fn func(&mut self, result: Tid, params: Vec<Tid>, variadic: bool) -> Tid {
        let r = self.get(result);
        let mut args = String::new();
        for (i, &p) in params.iter().enumerate() {
            if i > 0 {
                args.push_str(", ");
            }
            args.push_str(&self.get(p).name);
        }
        if variadic {
            if !params.is_empty() {
                args.push_str(", ");
            }
            args.push_str("...");
        }
        let mut name = String::new();
        name.push_str(&r.name[..r.name_pos]);
        name.push_str("(*)(");
        name.push_str(&args);
        name.push(')');
        name.push_str(&r.name[r.name_pos..]);
        let pos = r.name_pos + 2;
        let size = std::mem::size_of::<*mut c_void>();
        self.intern(
            name,
            pos,
            TKind::Func {
                result,
                params,
                variadic,
                thunk: None,
                table_fn: None,
            },
            size,
            size,
        )
    }

    /// Resolves a type string as `ffi.new`/`cast`/`typeof` receive it.
    /// [`ARRAY_TOO_BIG`] is an OverflowError for the caller to raise. Errors
    /// are CFFI's `ffi.error` texts (the caller raises them).
    pub(crate) fn parse(&mut self, text: &str) -> Result<Tid, String> {
        if let Some(&t) = self.parsed.get(text) {
            return Ok(t);
        }
        let e = parse_type_expr(text).map_err(|m| format!("cannot parse type: {m}"))?;
        let t = self.resolve(&e, text)?;
        self.parsed.insert(text.to_string(), t);
        Ok(t)
    }

    fn resolve(&mut self, e: &TypeExpr, text: &str) -> Result<Tid, String> {
        let undefined = |what: &str, n: &str| format!("undefined {what} name\n{text}\n^ ({n})");
        let mut t = match &e.base {
            // A typedef of the declarations may redefine a built-in name
            // (`typedef long int16_t;`): it wins, as in CFFI.
            BaseType::Prim(n) | BaseType::Named(n) => {
                match self.typedefs.iter().find(|(k, _)| k == n) {
                    Some(&(_, t)) => t,
                    None => match self.prim_named(n) {
                        Some(t) => t,
                        // CFFI knows FILE without a declaration: an opaque
                        // struct (the table's, when the declarations use it).
                        None if n == "FILE" => self.intern(
                            "FILE".to_string(),
                            4,
                            TKind::Record {
                                union: false,
                                fields: None,
                            },
                            0,
                            1,
                        ),
                        None => return Err(undefined("type", n)),
                    },
                }
            }
            BaseType::Struct(tag) => self
                .by_name(&format!("struct {tag}"))
                .ok_or_else(|| undefined("struct/union", tag))?,
            BaseType::Union(tag) => self
                .by_name(&format!("union {tag}"))
                .ok_or_else(|| undefined("struct/union", tag))?,
            BaseType::Enum(tag) => self
                .by_name(&format!("enum {tag}"))
                .ok_or_else(|| undefined("enum", tag))?,
        };
        // `int(int)` and `int(*)(int)` are both the function pointer type
        // in CFFI: the first pointer after a function op is absorbed.
        let mut just_func = false;
        for op in &e.ops {
            let was_func = std::mem::replace(&mut just_func, false);
            t = match op {
                TypeOp::Pointer { .. } if was_func => t,
                TypeOp::Pointer { .. } => self.pointer_to(t),
                TypeOp::Array(len) => {
                    if let TKind::Array { len: None, .. } = self.get(t).kind {
                        return Err(format!("array type of open array type\n{text}\n^"));
                    }
                    // CFFI refuses a size a Py_ssize_t cannot hold (with
                    // OverflowError, see ARRAY_TOO_BIG); a saturated size
                    // would let from_buffer's bounds check pass.
                    let isz = self.get(t).size as u64;
                    if len.is_some_and(|n| n.checked_mul(isz).is_none_or(|b| b > isize::MAX as u64))
                    {
                        return Err(ARRAY_TOO_BIG.to_string());
                    }
                    self.array_of(t, len.map(|n| n as usize))
                }
                TypeOp::Function { params, variadic } => {
                    let mut ps = Vec::with_capacity(params.len());
                    for p in params {
                        let mut pt = self.resolve(p, text)?;
                        // A typedef'd array parameter decays.
                        if let TKind::Array { item, .. } = self.get(pt).kind {
                            pt = self.pointer_to(item);
                        }
                        ps.push(pt);
                    }
                    just_func = true;
                    self.func(t, ps, *variadic)
                }
            };
        }
        Ok(t)
    }
}

/// Reads the bitfield positions of a record from its compiler probe:
/// for field k, `Some((offset, bitshift))` in CFFI's convention (offset of a
/// storage unit of the field type's size, shift inside it).
///
/// # Safety
/// `probe` is the generated probe of a record of `size` bytes.
unsafe fn probe_bitfields(
    probe: BitProbe,
    size: usize,
    fs: &[cembed_abi::Field],
    r: &Registry,
) -> Vec<Option<(usize, i32)>> {
    let mut out = Vec::with_capacity(fs.len());
    let mut buf = vec![0u8; size.max(1) + 16];
    for (k, f) in fs.iter().enumerate() {
        if f.bit_width <= 0 {
            out.push(None);
            continue;
        }
        // SAFETY: the probe of a record of `size` bytes (caller) writes one
        // such record into `buf`, which has `size + 16` bytes; `k` is one of
        // its fields.
        unsafe { probe(buf.as_mut_ptr() as *mut c_void, k as u32) };
        let mut lo = None;
        for (i, b) in buf[..size].iter().enumerate() {
            if *b != 0 {
                lo = Some(i * 8 + b.trailing_zeros() as usize);
                break;
            }
        }
        let Some(lo) = lo else {
            out.push(None);
            continue;
        };
        let fsize = if f.type_ >= 0 && (f.type_ as usize) < r.table_map.len() {
            r.get(r.table_map[f.type_ as usize]).size.max(1)
        } else {
            4
        };
        let width = f.bit_width as usize;
        let mut offset = (lo / (8 * fsize)) * fsize;
        if lo - offset * 8 + width > fsize * 8 {
            offset = lo / 8;
        }
        out.push(Some((offset, (lo - offset * 8) as i32)));
    }
    out
}
