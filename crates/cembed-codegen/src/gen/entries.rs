//! Entry helpers: one C function per function type of the functions
//! implemented in Python (the call into the runtime, at the command line's
//! -O level), and which of them the assembly entry stubs can reach.

use super::*;

/// Where a parameter or result travels in the x86-64 System V and AArch64
/// conventions (for the assembly entry stubs).
pub(super) enum RegClass {
    Int,
    Sse,
    /// `void`: no value (a result only).
    Void,
}

impl<'p> Gen<'p> {
    /// The function types of the functions implemented in Python, once each,
    /// in declaration order (variadic ones cannot be implemented: `externs`
    /// reports them).
    pub(super) fn entry_types(&self) -> Vec<TypeId> {
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
    pub(super) fn entry_helpers(&self, w: &mut SourceWriter) {
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
    pub(super) fn asm_shift(&self, ty: TypeId) -> Option<usize> {
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
    pub(super) fn register_class(&self, t: TypeId) -> Option<RegClass> {
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
}
