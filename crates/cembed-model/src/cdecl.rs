//! The one C declarator printer: C's inside-out declarator syntax (`int
//! (*name)(int)`, `char *name[4]`), printed structurally from the type model,
//! never by string surgery on type names.
//!
//! Two spellings of the same types are needed, and they differ on purpose:
//!
//! * CFFI's display names ([`Program::c_name`] / [`Program::c_decl`]): what
//!   Python shows in reprs and error messages, so they must match CFFI byte
//!   for byte (`int(*)(int)` with no space, `int[...]`, records by their CFFI
//!   name, only `const` shown);
//! * compilable C (cembed-codegen's `Namer`): every name must be one the
//!   compiler accepts (anonymous records spelled `__typeof__(...)` or by a
//!   shadow struct, `[...]` arrays replaced by a spelling taken from a
//!   declaration), and qualifiers must keep their meaning (`volatile` too).
//!
//! The walk itself (pointers, arrays, functions, where parentheses go) is the
//! same for both; [`DeclStyle`] holds the points where the spellings differ.

use crate::{ArrayLen, EnumId, Prim, Program, Quals, RecordId, Type, TypeId};

/// The hooks that make one declarator walk print either spelling.
pub trait DeclStyle {
    /// The base name of a primitive. Both spellings use CFFI's name, which is
    /// also the C name (`unsigned long long`, `int32_t`, a `typedef int...`
    /// name).
    fn prim(&self, p: &Prim) -> String {
        p.name.clone()
    }

    /// The base name of a struct/union: CFFI's name for display, the name the
    /// generated C can use (tag, `__typeof__`, shadow) for compilable C.
    fn record(&self, r: RecordId) -> String;

    /// The base name of an enum, as for [`DeclStyle::record`].
    fn enum_name(&self, e: EnumId) -> String;

    /// Which of `q` are printed. CFFI's names show `const` only; C code must
    /// keep `volatile` too or accesses change meaning.
    fn shown_quals(&self, q: Quals) -> Quals;

    /// C has no qualified array types: qualifying an array qualifies its
    /// elements. Compilable C must carry the qualifiers down to the element;
    /// CFFI's names drop them at the array (as CFFI's own printer does).
    fn quals_through_arrays(&self) -> bool;

    /// The text between the brackets of an array declarator. CFFI shows
    /// `[...]`; compilable C cannot, and leaves such an array unsized (only
    /// reached when no declaration spells it: see
    /// [`DeclStyle::whole_type`]).
    fn array_len(&self, len: ArrayLen) -> String;

    /// A complete spelling of type `id` that replaces the walk from there on
    /// (codegen spells a `[...]` array as `__typeof__(decl)` because its
    /// length is only known to the compiler). A type spelled this way is a
    /// plain base name, so a pointer to it needs no parentheses.
    fn whole_type(&self, _id: TypeId) -> Option<String> {
        None
    }

    /// CFFI glues a parenthesized declarator to its base (`int(*)(int)`); the
    /// generated C uses the usual `int (*)(int)`.
    fn paren_hugs_base(&self) -> bool;
}

/// Whether a pointer to `id` must parenthesize its declarator: `int (*)[3]`,
/// `int (*)(int)`, but `T *` when `id` is spelled as a whole base name.
pub fn needs_parens<S: DeclStyle + ?Sized>(p: &Program, style: &S, id: TypeId) -> bool {
    match p.ty(id) {
        Type::Array { .. } => style.whole_type(id).is_none(),
        Type::Function { .. } => true,
        Type::Prim(_) | Type::Pointer { .. } | Type::Record(_) | Type::Enum(_) => false,
    }
}

/// Prints `inner` (a declarator: a name, `*name`, `` for an abstract type,
/// ...) declared with type `id` whose outermost level is qualified by `quals`.
pub fn declare<S: DeclStyle + ?Sized>(
    p: &Program,
    style: &S,
    id: TypeId,
    mut inner: String,
    quals: Quals,
) -> String {
    // Walk from the outermost type inwards; each step wraps `inner`.
    // `pending` qualifies the type reached next.
    let mut cur = id;
    let mut pending = quals;
    loop {
        let q = style.shown_quals(std::mem::take(&mut pending));
        let base = if let Some(whole) = style.whole_type(cur) {
            whole
        } else {
            match p.ty(cur) {
                Type::Pointer { pointee, quals } => {
                    inner = pointer_inner(q, &inner);
                    if needs_parens(p, style, *pointee) {
                        inner = format!("({inner})");
                    }
                    pending = *quals;
                    cur = *pointee;
                    continue;
                }
                Type::Array { item, len } => {
                    inner = format!("{inner}[{}]", style.array_len(*len));
                    if style.quals_through_arrays() {
                        pending = q;
                    }
                    cur = *item;
                    continue;
                }
                Type::Function {
                    result,
                    params,
                    variadic,
                } => {
                    let mut ps: Vec<String> = params
                        .iter()
                        .map(|t| declare(p, style, *t, String::new(), Quals::default()))
                        .collect();
                    if *variadic {
                        ps.push("...".into());
                    }
                    if ps.is_empty() {
                        ps.push("void".into());
                    }
                    inner = format!("{inner}({})", ps.join(", "));
                    cur = *result;
                    continue;
                }
                Type::Prim(prim) => style.prim(prim),
                Type::Record(r) => style.record(*r),
                Type::Enum(e) => style.enum_name(*e),
            }
        };
        let words = qual_words(q);
        let base = if words.is_empty() {
            base
        } else {
            format!("{words} {base}")
        };
        let glued = inner.is_empty()
            || inner.starts_with('[')
            || (style.paren_hugs_base() && inner.starts_with('('));
        return if glued {
            format!("{base}{inner}")
        } else {
            format!("{base} {inner}")
        };
    }
}

/// `const`, `volatile`, `const volatile` or nothing.
pub fn qual_words(q: Quals) -> &'static str {
    match (q.is_const, q.is_volatile) {
        (false, false) => "",
        (true, false) => "const",
        (false, true) => "volatile",
        (true, true) => "const volatile",
    }
}

/// `*inner` with the pointer itself qualified: `*name`, `*const name`,
/// `*const` (abstract).
pub fn pointer_inner(q: Quals, inner: &str) -> String {
    match (qual_words(q), inner.is_empty()) {
        ("", _) => format!("*{inner}"),
        (w, true) => format!("*{w}"),
        (w, false) => format!("*{w} {inner}"),
    }
}

/// CFFI's display spelling (see the module comment).
pub(crate) struct CffiStyle<'p>(pub(crate) &'p Program);

impl DeclStyle for CffiStyle<'_> {
    fn record(&self, r: RecordId) -> String {
        self.0.record(r).c_name.clone()
    }

    fn enum_name(&self, e: EnumId) -> String {
        self.0.enum_def(e).c_name.clone()
    }

    fn shown_quals(&self, q: Quals) -> Quals {
        Quals {
            is_const: q.is_const,
            is_volatile: false,
        }
    }

    fn quals_through_arrays(&self) -> bool {
        false
    }

    fn array_len(&self, len: ArrayLen) -> String {
        match len {
            ArrayLen::Fixed(n) => n.to_string(),
            ArrayLen::Open => String::new(),
            ArrayLen::FromCompiler => "...".to_string(),
        }
    }

    fn paren_hugs_base(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PrimClass;

    /// A compilable-C-like style, to check the hooks steer the one walk.
    struct CStyle;

    impl DeclStyle for CStyle {
        fn record(&self, _r: RecordId) -> String {
            unreachable!("no records in these tests")
        }
        fn enum_name(&self, _e: EnumId) -> String {
            unreachable!("no enums in these tests")
        }
        fn shown_quals(&self, q: Quals) -> Quals {
            q
        }
        fn quals_through_arrays(&self) -> bool {
            true
        }
        fn array_len(&self, len: ArrayLen) -> String {
            match len {
                ArrayLen::Fixed(n) => n.to_string(),
                ArrayLen::Open | ArrayLen::FromCompiler => String::new(),
            }
        }
        fn whole_type(&self, _id: TypeId) -> Option<String> {
            None
        }
        fn paren_hugs_base(&self) -> bool {
            false
        }
    }

    #[test]
    fn the_two_styles_differ_only_where_the_hooks_say() {
        let mut p = Program::new();
        let i = p.prim("int", PrimClass::SignedInt);
        let arr = p.intern(Type::Array {
            item: i,
            len: ArrayLen::FromCompiler,
        });
        let cv = Quals {
            is_const: true,
            is_volatile: true,
        };
        let parr = p.intern(Type::Pointer {
            pointee: arr,
            quals: cv,
        });
        let vp = p.intern(Type::Pointer {
            pointee: i,
            quals: cv,
        });
        let vpp = p.intern(Type::Pointer {
            pointee: vp,
            quals: cv,
        });
        let c = |id| declare(&p, &CStyle, id, String::new(), Quals::default());
        // CFFI: `[...]` shown, qualifiers dropped at the array, no space
        // before `(`, only `const` shown.
        assert_eq!(p.c_name(parr), "int(*)[...]");
        assert_eq!(p.c_name(vpp), "const int *const *");
        assert_eq!(p.c_decl(vpp, "x"), "const int *const *x");
        // Compilable C: qualifiers reach the element, `volatile` kept.
        assert_eq!(c(parr), "const volatile int (*)[]");
        assert_eq!(c(vpp), "const volatile int *const volatile *");
    }
}
