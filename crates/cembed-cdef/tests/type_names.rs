//! The run-time type-name parser (cembed-typename, linked into the runtime)
//! and the cdef parser (this crate, the builder's) implement the same
//! declarator grammar twice: the runtime must not carry the cdef parser. This
//! test keeps them in line: random well-formed type names, built from a
//! known structure, must parse to that structure with `parse_type_expr` and,
//! as the parameter of a cdef function (`void _f(T);`), to the same type in
//! the resolved program.

use cembed_cdef::{parse_program, parse_type_expr, BaseType, Source, SourceKind, TypeExpr, TypeOp};
use cembed_model::{ArrayLen, Decl, Program, Type, TypeId};

const PRELUDE: &str = "struct s; union u; enum e { E0 };\n";

/// Base types: (text, expected base, const).
const BASES: &[(&str, &str, bool)] = &[
    ("int", "int", false),
    ("unsigned long", "unsigned long", false),
    ("long int unsigned", "unsigned long", false),
    ("char", "char", false),
    ("const char", "char", true),
    ("double", "double", false),
    ("_Bool", "_Bool", false),
    ("size_t", "size_t", false),
    ("struct s", "struct s", false),
    ("union u", "union u", false),
    ("enum e", "enum e", false),
];

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// A random type name and the structure it spells. Declarators are built by
/// substitution into a placeholder for the (absent) name, with parentheses
/// around every pointer, so C's precedence is exercised both ways.
fn gen(r: &mut Rng, depth: u32) -> (String, TypeExpr) {
    let (text, base, is_const) = BASES[r.below(BASES.len())];
    let base = match base.split_once(' ') {
        Some(("struct", tag)) => BaseType::Struct(tag.into()),
        Some(("union", tag)) => BaseType::Union(tag.into()),
        Some(("enum", tag)) => BaseType::Enum(tag.into()),
        _ => BaseType::Prim(base.into()),
    };
    let mut decl = String::from("N");
    let mut ops: Vec<TypeOp> = Vec::new();
    for _ in 0..r.below(5) {
        // No array of functions, no function returning an array or a
        // function: a function type is always followed by a pointer.
        let last = ops.last();
        let choice = if matches!(last, Some(TypeOp::Function { .. })) {
            0
        } else if matches!(last, Some(TypeOp::Array(_))) {
            r.below(2)
        } else {
            r.below(if depth > 0 { 3 } else { 2 })
        };
        match choice {
            0 => {
                let c = r.below(4) == 0;
                let q = if c { " const" } else { "" };
                decl = decl.replace('N', &format!("(*{q}N)"));
                ops.push(TypeOp::Pointer { is_const: c });
            }
            1 => {
                let n = 1 + r.below(40) as u64;
                decl = decl.replace('N', &format!("N[{n}]"));
                ops.push(TypeOp::Array(Some(n)));
            }
            _ => {
                let mut texts = Vec::new();
                let mut params = Vec::new();
                for _ in 0..r.below(3) {
                    let (t, mut e) = gen(r, depth - 1);
                    if e.base == BaseType::Prim("void".into()) && e.ops.is_empty() {
                        continue;
                    }
                    // C's adjustment of parameter types.
                    match e.ops.last() {
                        Some(TypeOp::Array(_)) => {
                            e.ops.pop();
                            e.ops.push(TypeOp::Pointer { is_const: false });
                        }
                        Some(TypeOp::Function { .. }) => {
                            e.ops.push(TypeOp::Pointer { is_const: false })
                        }
                        _ => {}
                    }
                    texts.push(t);
                    params.push(e);
                }
                let list = if texts.is_empty() {
                    "void".to_string()
                } else {
                    texts.join(", ")
                };
                decl = decl.replace('N', &format!("N({list})"));
                ops.push(TypeOp::Function {
                    params,
                    variadic: false,
                });
            }
        }
    }
    // A function type alone is not a value: make it a function pointer.
    if matches!(ops.last(), Some(TypeOp::Function { .. })) {
        decl = decl.replace('N', "(*N)");
        ops.push(TypeOp::Pointer { is_const: false });
    }
    let text = format!("{text} {}", decl.replace('N', ""));
    (
        text,
        TypeExpr {
            base,
            base_const: is_const,
            ops,
        },
    )
}

/// Does the program's type `id` have the structure `e` (ops applied from the
/// base outwards, so read here from the outermost one)?
fn same(p: &Program, id: TypeId, base: &BaseType, ops: &[TypeOp]) -> bool {
    let Some((last, inner)) = ops.split_last() else {
        return match (p.ty(id), base) {
            (Type::Prim(prim), BaseType::Prim(name)) => &prim.name == name,
            (Type::Record(r), BaseType::Struct(t) | BaseType::Union(t)) => {
                p.record(*r).tag.as_deref() == Some(t.as_str())
            }
            (Type::Enum(_), BaseType::Enum(_)) => true,
            _ => false,
        };
    };
    match (p.ty(id), last) {
        (Type::Pointer { pointee, .. }, TypeOp::Pointer { .. }) => same(p, *pointee, base, inner),
        (Type::Array { item, len }, TypeOp::Array(n)) => {
            let len_ok = match (len, n) {
                (ArrayLen::Fixed(a), Some(b)) => a == b,
                (ArrayLen::Open, None) => true,
                _ => false,
            };
            len_ok && same(p, *item, base, inner)
        }
        (
            Type::Function {
                result,
                params,
                variadic,
            },
            TypeOp::Function {
                params: eps,
                variadic: ev,
            },
        ) => {
            variadic == ev
                && params.len() == eps.len()
                && params
                    .iter()
                    .zip(eps)
                    .all(|(pid, pe)| same(p, *pid, &pe.base, &pe.ops))
                && same(p, *result, base, inner)
        }
        _ => false,
    }
}

#[test]
fn both_parsers_read_type_names_alike() {
    let mut r = Rng(0x5eed);
    for _ in 0..3000 {
        let (text, expected) = gen(&mut r, 2);
        let got = parse_type_expr(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(got, expected, "parse_type_expr({text:?})");

        let src = [Source {
            name: "cdef".into(),
            text: format!("{PRELUDE}void _f({text});"),
            kind: SourceKind::Cdef,
            override_: false,
            pack: None,
        }];
        let p = parse_program(&src).unwrap_or_else(|d| panic!("{text}: {}", d.render(&src)));
        let ty = p
            .decls
            .iter()
            .find_map(|d| match d {
                Decl::Function { name, ty, .. } if name == "_f" => Some(*ty),
                _ => None,
            })
            .unwrap();
        let Type::Function { params, .. } = p.ty(ty) else {
            panic!("{text}: _f is not a function")
        };
        // The parameter, adjusted as C adjusts parameters.
        let mut adjusted = expected.ops.clone();
        match adjusted.last() {
            Some(TypeOp::Array(_)) => {
                adjusted.pop();
                adjusted.push(TypeOp::Pointer { is_const: false });
            }
            Some(TypeOp::Function { .. }) => adjusted.push(TypeOp::Pointer { is_const: false }),
            _ => {}
        }
        assert!(
            params.len() == 1 && same(&p, params[0], &expected.base, &adjusted),
            "cdef reads {text:?} otherwise: {}",
            cembed_cdef::dump_program(&p)
        );
    }
}
