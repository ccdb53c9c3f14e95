//! The functions implemented in Python (extern descriptors, exported
//! functions and their assembly stubs) and the direct-call wrappers of cdef
//! C functions (`_cembed_d__NAME`).

use super::*;

impl<'p> Gen<'p> {
    pub(super) fn externs(&self, w: &mut SourceWriter) {
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
    pub(super) fn has_direct_wrapper(&self, ty: TypeId) -> bool {
        matches!(
            self.p.ty(ty),
            Type::Function {
                variadic: false,
                ..
            }
        )
    }

    pub(super) fn direct_wrappers(&self, w: &mut SourceWriter) {
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
}
