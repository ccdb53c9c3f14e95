//! What only the compiler knows, computed in the library: bitfield
//! probes (a bitfield's offset and width) and the getters of constants.

use super::*;

impl<'p> Gen<'p> {
    pub(super) fn probe_name(&self, r: RecordId) -> String {
        format!(
            "_cembed_probe__{}",
            self.s.shadow_names[r.0 as usize].trim_start_matches("_cembed_shadow__")
        )
    }

    pub(super) fn bit_probes(&self, w: &mut SourceWriter) {
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

    pub(super) fn const_getters(&self, w: &mut SourceWriter) {
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
}
