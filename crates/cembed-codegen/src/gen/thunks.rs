//! Thunks: one C function per function type, calling a C function pointer
//! with the arguments from the args buffer (`_cembed_thunk__N`).

use super::*;

impl<'p> Gen<'p> {
    /// The type of `*(T *)args[i]`'s pointer for parameter storage.
    pub(super) fn param_storage_ptr(&self, t: TypeId) -> String {
        let n = self.n();
        match self.p.ty(t) {
            Type::Array { item, .. } => n.pointer_decl_str(*item, "**"),
            Type::Function { .. } => n.pointer_decl_str(t, "**"),
            _ => n.pointer_decl(t, ""),
        }
    }

    pub(super) fn thunks(&self, w: &mut SourceWriter) {
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

    pub(super) fn is_void(&self, t: TypeId) -> bool {
        matches!(self.p.ty(t), Type::Prim(p) if p.class == PrimClass::Void)
    }
}
