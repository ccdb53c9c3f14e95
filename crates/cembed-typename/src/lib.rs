//! C type names as the runtime receives them (`ffi.new("point_t *")`,
//! `ffi.cast("int(*)(int)", p)`, `ffi.typeof("struct foo[3]")`), parsed
//! without the declarations: names are left for the caller to resolve.
//!
//! This crate is what the runtime, loaded into every host process, carries
//! of the C language: the lexer, the keyword tables and one type name's
//! grammar. The cdef parser (cembed-cdef, the builder's) uses the same
//! lexer, tables and declarator and expression grammars, so a type reads
//! the same in a cdef and at run time.
//!
//! * [`lexer`]: tokens of the cdef language (shared with cembed-cdef);
//! * [`words`]: primitive type names, keyword combinations, keywords;
//! * [`grammar`]: the token cursor, the bounds and the declarator and
//!   constant-expression grammars both parsers use;
//! * [`parse_type_expr`]: one type name to a [`TypeExpr`].

pub mod grammar;
pub mod lexer;
mod parse;
pub mod words;

use parse::{ArrayLen, BinOp, DeclSpec, Error, Expr, Op, Parser, Spec, UnOp};

/// The base type of a type name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BaseType {
    /// A primitive under CFFI's canonical name (`"unsigned int"` for
    /// `unsigned`, `"_Bool"` for `bool`, `"size_t"`, `"void"`).
    Prim(String),
    /// Any other identifier: a typedef name the caller must look up.
    Named(String),
    /// `struct tag`
    Struct(String),
    /// `union tag`
    Union(String),
    /// `enum tag`
    Enum(String),
}

/// A parsed type name.
///
/// `ops` apply to `base` **from the base outwards**, i.e. in the order a type is
/// built: each op wraps the type built so far. C's inside-out declarator syntax
/// is already undone:
///
/// | text                 | ops                                             |
/// |----------------------|-------------------------------------------------|
/// | `int *`              | `[Pointer]`                                     |
/// | `char *[4]`          | `[Pointer, Array(Some(4))]` (array of pointers) |
/// | `int (*)[3]`         | `[Array(Some(3)), Pointer]` (pointer to array)  |
/// | `int(*)(int)`        | `[Function{params:[int]}, Pointer]`             |
/// | `struct foo[]`       | `[Array(None)]`                                 |
///
/// Qualifiers: `base_const` is a `const` on the base type (`const char *`);
/// `Pointer { is_const }` is a `const` on that pointer itself (`char *const`).
/// In the model a const pointee is recorded on the pointer to it
/// (`Type::Pointer { quals }`): for the first `Pointer` op that is `base_const`,
/// for a later one the `is_const` of the previous `Pointer` op.
/// `volatile` and `restrict` are accepted and not represented (CFFI would show
/// `volatile` in the type's name; it changes nothing else).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypeExpr {
    pub base: BaseType,
    pub base_const: bool,
    pub ops: Vec<TypeOp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeOp {
    /// A pointer to the type so far; `is_const`: the pointer itself is const.
    Pointer { is_const: bool },
    /// An array of the type so far; `None` is `[]` (length given at `ffi.new`).
    Array(Option<u64>),
    /// A function returning the type so far. Parameters are already adjusted as
    /// C does: array parameters are pointers, function parameters are function
    /// pointers, `(void)` and `()` are both no parameters. (A parameter naming a
    /// typedef of an array or function type is left as written: the caller
    /// decays it after resolving the name.)
    Function {
        params: Vec<TypeExpr>,
        variadic: bool,
    },
}

/// Parses one C type name. Errors are a one-line message with the 1-based
/// column: `"column 5: expected `)`, found end of input (in type "int (")"`.
pub fn parse_type_expr(text: &str) -> Result<TypeExpr, String> {
    let shown = shown_text(text);
    let fail = |message: &str, at: u32| {
        let col = text[..(at as usize).min(text.len())].chars().count() + 1;
        format!("column {col}: {message} (in type {shown})")
    };
    let toks = lexer::lex(text).map_err(|e| fail(&e.message, e.start))?;
    let (spec, ops) = Parser::new(text, toks)
        .type_name()
        .map_err(|e| fail(&e.message, e.at))?;
    convert(spec, ops).map_err(|e| fail(&e.message, e.at))
}

/// The type text as error messages quote it: cut after 100 characters, so
/// that a huge hostile string does not become a huge message.
fn shown_text(text: &str) -> String {
    const MAX: usize = 100;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}...", &text[..cut]),
        None => format!("{text:?}"),
    }
}

fn error(message: impl Into<String>, at: u32) -> Error {
    Error {
        message: message.into(),
        at,
    }
}

fn convert(spec: DeclSpec, ops: Vec<Op>) -> Result<TypeExpr, Error> {
    let base = match spec.ty {
        Spec::Prim(p) => BaseType::Prim(p.to_string()),
        Spec::Named(n) => BaseType::Named(n),
        Spec::Struct(t) => BaseType::Struct(t),
        Spec::Union(t) => BaseType::Union(t),
        Spec::Enum(t) => BaseType::Enum(t),
        Spec::DotDotDot => return Err(error("`...` is not allowed in a type name", spec.ty_at)),
    };
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        out.push(match op {
            Op::Pointer { is_const } => TypeOp::Pointer { is_const },
            Op::Array { len, at } => TypeOp::Array(match len {
                ArrayLen::Open => None,
                ArrayLen::DotDotDot => {
                    return Err(error("`[...]` is not allowed in a type name", at))
                }
                ArrayLen::Expr(e) => Some(array_length(&e)?),
            }),
            Op::Function { params, variadic } => {
                let mut ps = Vec::with_capacity(params.len());
                for p in params {
                    // A parameter's name (`int(*)(int x)`) is allowed and
                    // ignored, as in C and CFFI.
                    let mut t = convert(p.spec, p.ops)?;
                    if t.base == BaseType::Prim("void".into()) && t.ops.is_empty() {
                        return Err(error("parameter has type void", p.at));
                    }
                    // C's adjustment of parameter types.
                    match t.ops.last() {
                        Some(TypeOp::Array(_)) => {
                            t.ops.pop();
                            t.ops.push(TypeOp::Pointer { is_const: false });
                        }
                        Some(TypeOp::Function { .. }) => {
                            t.ops.push(TypeOp::Pointer { is_const: false })
                        }
                        _ => {}
                    }
                    ps.push(t);
                }
                TypeOp::Function {
                    params: ps,
                    variadic,
                }
            }
        });
    }
    Ok(TypeExpr {
        base,
        base_const: spec.is_const,
        ops: out,
    })
}

/// Array lengths in type names are integer constants (CFFI also accepts
/// simple arithmetic on literals).
fn array_length(e: &Expr) -> Result<u64, Error> {
    fn ev(e: &Expr) -> Result<i128, Error> {
        Ok(match e {
            Expr::Int(v, _) => *v,
            Expr::Name(name, at) => {
                return Err(error(
                    format!("`{name}`: only integer constants are allowed as array lengths here"),
                    *at,
                ))
            }
            Expr::Unary(op, x, _) => {
                let v = ev(x)?;
                match op {
                    UnOp::Neg => -v,
                    UnOp::Plus => v,
                    UnOp::BitNot => !v,
                }
            }
            Expr::Binary(op, a, b, at) => {
                let (x, y) = (ev(a)?, ev(b)?);
                let r = match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div => x.checked_div(y),
                    BinOp::Rem => x.checked_rem(y),
                    BinOp::Shl if (0..64).contains(&y) => x.checked_shl(y as u32),
                    BinOp::Shr if (0..64).contains(&y) => Some(x >> y),
                    BinOp::Shl | BinOp::Shr => None,
                    BinOp::BitAnd => Some(x & y),
                    BinOp::BitOr => Some(x | y),
                    BinOp::BitXor => Some(x ^ y),
                };
                r.filter(|v| (-(1i128 << 64)..(1i128 << 64)).contains(v))
                    .ok_or_else(|| error("invalid constant expression", *at))?
            }
        })
    }
    let v = ev(e)?;
    u64::try_from(v).map_err(|_| error(format!("array length {v} is negative"), e.at()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prim(n: &str) -> TypeExpr {
        TypeExpr {
            base: BaseType::Prim(n.into()),
            base_const: false,
            ops: vec![],
        }
    }

    fn ptr() -> TypeOp {
        TypeOp::Pointer { is_const: false }
    }

    fn ok(s: &str) -> TypeExpr {
        parse_type_expr(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn simple() {
        assert_eq!(ok("int"), prim("int"));
        assert_eq!(ok("  unsigned  "), prim("unsigned int"));
        assert_eq!(ok("long int unsigned"), prim("unsigned long"));
        assert_eq!(ok("bool"), prim("_Bool"));
        assert_eq!(ok("size_t"), prim("size_t"));
        assert_eq!(ok("void"), prim("void"));
        let t = ok("point_t *");
        assert_eq!(t.base, BaseType::Named("point_t".into()));
        assert_eq!(t.ops, vec![ptr()]);
        assert_eq!(ok("struct foo[3]").base, BaseType::Struct("foo".into()));
        assert_eq!(ok("struct foo[3]").ops, vec![TypeOp::Array(Some(3))]);
        assert_eq!(ok("union u *").base, BaseType::Union("u".into()));
        assert_eq!(ok("enum e").base, BaseType::Enum("e".into()));
        assert_eq!(ok("FILE *").base, BaseType::Named("FILE".into()));
    }

    #[test]
    fn declarator_order_is_base_outwards() {
        assert_eq!(ok("char *[4]").ops, vec![ptr(), TypeOp::Array(Some(4))]);
        assert_eq!(ok("int (*)[3]").ops, vec![TypeOp::Array(Some(3)), ptr()]);
        assert_eq!(
            ok("int[2][3]").ops,
            vec![TypeOp::Array(Some(3)), TypeOp::Array(Some(2))]
        );
        assert_eq!(ok("int[]").ops, vec![TypeOp::Array(None)]);
        assert_eq!(ok("int[0x10]").ops, vec![TypeOp::Array(Some(16))]);
        assert_eq!(ok("int[2*3]").ops, vec![TypeOp::Array(Some(6))]);
        assert_eq!(
            ok("int(*)(int)").ops,
            vec![
                TypeOp::Function {
                    params: vec![prim("int")],
                    variadic: false
                },
                ptr()
            ]
        );
        assert_eq!(
            ok("void(*)(void)").ops,
            vec![
                TypeOp::Function {
                    params: vec![],
                    variadic: false
                },
                ptr()
            ]
        );
        // a function returning a pointer to an array of 3 pointers to int
        assert_eq!(
            ok("int *(*(*)(long))[3]").ops,
            vec![
                ptr(),
                TypeOp::Array(Some(3)),
                ptr(),
                TypeOp::Function {
                    params: vec![prim("long")],
                    variadic: false
                },
                ptr()
            ]
        );
    }

    #[test]
    fn params_are_adjusted() {
        let t = ok("int(*)(int[3], int(int), const char *, ...)");
        let TypeOp::Function { params, variadic } = &t.ops[0] else {
            panic!("{t:?}")
        };
        assert!(*variadic);
        assert_eq!(params[0].ops, vec![ptr()]);
        assert!(matches!(
            params[1].ops.as_slice(),
            [TypeOp::Function { .. }, TypeOp::Pointer { .. }]
        ));
        assert!(params[2].base_const);
        // parameter names are allowed and ignored
        assert_eq!(ok("int(*)(int x, char *name)"), ok("int(*)(int, char *)"));
        assert_eq!(ok("int(*)()"), ok("int(*)(void)"));
    }

    #[test]
    fn qualifiers() {
        let t = ok("const char *");
        assert!(t.base_const);
        assert_eq!(t.ops, vec![ptr()]);
        let t = ok("char *const");
        assert!(!t.base_const);
        assert_eq!(t.ops, vec![TypeOp::Pointer { is_const: true }]);
        assert_eq!(ok("char const *"), ok("const char *"));
        assert_eq!(ok("volatile int *"), ok("int *"));
        assert_eq!(ok("int * restrict"), ok("int *"));
    }

    #[test]
    fn errors() {
        let err = |s: &str| parse_type_expr(s).unwrap_err();
        assert!(err("").contains("column 1"), "{}", err(""));
        assert!(
            err("int x").contains("unexpected name `x`"),
            "{}",
            err("int x")
        );
        assert!(err("int x").starts_with("column 5:"), "{}", err("int x"));
        assert!(err("struct { int x; }").contains("body"));
        assert!(err("int[...]").contains("[...]"));
        assert!(err("int[-1]").contains("negative"));
        assert!(err("int (").contains("column"), "{}", err("int ("));
        assert!(err("unsigned double").contains("invalid combination"));
        assert!(err("int int").contains("invalid combination"));
        assert!(err("typedef int").contains("`typedef` is not allowed"));
        assert!(err("int[N]").contains("`N`"));
        assert!(err("int(*)(void, int)").contains("void"));
        assert!(err("int *)").contains("end of the type"));
        assert!(err("struct").contains("tag"));
    }
}
