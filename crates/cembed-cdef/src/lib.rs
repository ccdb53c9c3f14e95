//! cembed's declaration front end: CFFI's `cdef()` language (C declarations plus
//! CFFI's `...` extensions, `extern "Python"` and integer `#define`s) parsed and
//! resolved into the type model ([`cembed_model::Program`]), with every error
//! reported at its line and column.
//!
//! * [`parse_program`]: a list of sources -> one resolved `Program`.
//! * [`parse_type_expr`]: one type name (`"int(*)(int)"`, `"struct foo[3]"`)
//!   as used by `ffi.new`, `ffi.cast`, `ffi.typeof` at run time, without a
//!   program (names stay unresolved); re-exported from cembed-typename, the
//!   crate the runtime links instead of this one.
//! * [`dump_program`]: a readable listing of a resolved program (tests, debugging).
//!
//! Pipeline: [`lexer`] (cembed-typename's, shared with the runtime) -> [`parser`] (syntax tree in [`ast`], byte spans) ->
//! [`resolve`] (typedefs resolved away, types interned, semantic checks). The
//! lexer and parser are hand-written (see [`parser`] for why).
//!
//! # The language
//!
//! * The C declarator grammar: pointers, arrays (`[n]`, `[]`, `[...]`),
//!   functions (`(void)`, `()`, unnamed parameters, `...`), function pointers
//!   and nested declarators, `const`/`volatile`/`restrict`, `typedef`,
//!   `struct`/`union`/`enum` (named, anonymous, nested, forward-declared,
//!   anonymous members), bitfields (named and unnamed).
//! * All of CFFI's primitive type names; multi-keyword spellings in any order
//!   are normalised to CFFI's names (`short unsigned int` -> `unsigned short`,
//!   `unsigned` -> `unsigned int`); `bool` is `_Bool`; `FILE` is known.
//! * Parameters are adjusted as C and CFFI do: arrays decay to pointers,
//!   functions to function pointers, top-level qualifiers are dropped.
//! * Constant integer expressions (array sizes, enum values, bitfield widths):
//!   literals, `'c'` characters, `+ - * / % << >> & | ^ ~`, parentheses and
//!   names of earlier enumerators and integer `#define`s. A value that depends
//!   on a `#define N ...` (or an `= ...` enumerator) is left to the compiler.
//! * `#define NAME <integer literal>` (decimal/hex/octal/binary, suffixes,
//!   negative) and `#define NAME ...`; `extern "Python"`, `extern "Python+C"`
//!   (also `"C+Python"`), single declarations and `{ }` blocks.
//! * CFFI's `...` forms: `struct s { int x; ...; }`, `enum e { A, ... }`,
//!   `A = ...`, `int a[...]`, `typedef int... t;`, `typedef float... t;`,
//!   `typedef ... t;`.
//! * What CFFI accepts and ignores is accepted and ignored: `inline`,
//!   `register` parameters, `_Atomic`, `__cdecl`/`__stdcall`/`WINAPI`,
//!   `[static n]` parameters, stray `;`, initializers (`static const int N = 42;`
//!   makes `N` a constant; other initializers are ignored).
//!
//! # How declarations map to the model
//!
//! * Functions: [`cembed_model::FuncKind::Exported`] in an
//!   [`SourceKind::EmbeddingApi`] source, `ExternPython`/`ExternPythonPlusC`
//!   inside `extern "Python"`/`"Python+C"`, `CFunction` otherwise.
//! * A `const`, non-array object is a `Decl::Constant`; so is an integer object
//!   initialised with an integer literal (CFFI makes it an integer constant).
//!   Other objects are `Decl::Global` (`in_api` in embedding_api sources).
//! * Records get the C name CFFI shows: `struct tag`, or the name of the first
//!   typedef that names them directly (`typedef struct foo foo_t;` makes
//!   `struct foo` print as `foo_t`, as in CFFI), or `struct $N` for anonymous
//!   ones no typedef names. Each record is listed once (`Decl::Record`) when
//!   first mentioned.
//! * Identical re-declarations (same type, or for struct/enum bodies the same
//!   tokens) are accepted and listed once; different ones are errors.
//!
//! # Deliberate differences from CFFI's `cdef()`
//!
//! cembed refuses at once what C (or CFFI later, when building or verifying)
//! refuses anyway: `void` objects, arrays of `void` or of functions, functions
//! returning arrays or functions, negative array sizes, duplicate fields,
//! bitfields on non-integers or with bad widths, incomplete field types, a tag
//! used as both struct and union, one name declared as two kinds of things,
//! variadic `extern "Python"`/embedding_api functions. It accepts some valid C
//! that CFFI's parser does not (`~` in enum values, any specifier order,
//! identical re-definitions). `tests/cffi_compare.py` lists every difference
//! found on the test inputs against the real `cffi`.

// Only cembed-runtime may use `unsafe` (docs/architecture.md); the
// compiler enforces it for every other crate.
#![forbid(unsafe_code)]
// Errors are the cold path (a syntax error ends the parse; semantic errors are
// few), so a large `Err` variant costs nothing that matters; boxing every
// diagnostic would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::HashSet;

pub mod ast;
mod diag;
pub mod parser;
mod prims;
pub mod resolve;

pub use cembed_typename::lexer;
pub use cembed_typename::words::named_prim;
pub use cembed_typename::{parse_type_expr, BaseType, TypeExpr, TypeOp};
pub use diag::{Diag, Diagnostics};
pub use prims::prim_class;

/// Which builder call a source came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// `ffi.cdef(...)`: shared declarations; functions are C functions unless
    /// inside `extern "Python"`.
    Cdef,
    /// `ffi.embedding_api(...)`: functions are exported and implemented in Python.
    EmbeddingApi,
}

/// One source text handed to the parser.
#[derive(Clone, Debug)]
pub struct Source {
    /// Shown in messages, e.g. `"cdef() at build.py:12"`.
    pub name: String,
    pub text: String,
    pub kind: SourceKind,
    /// CFFI's `cdef(..., override=True)`: a function, global variable,
    /// constant or typedef declared again with a different type replaces
    /// the earlier declaration instead of being an error (macros,
    /// enumerators and struct bodies still may not change, as in CFFI).
    pub override_: bool,
    /// CFFI's `packed=True` (`Some(1)`) / `pack=N`: the structs and unions
    /// defined in this source are declared with that packing.
    pub pack: Option<u32>,
}

/// Parses and resolves `sources` in order (later sources see the typedefs,
/// structs and constants of earlier ones) into one [`cembed_model::Program`].
///
/// A syntax error stops the parse (later errors would only be consequences);
/// semantic errors are collected, so one run reports all of them.
pub fn parse_program(sources: &[Source]) -> Result<cembed_model::Program, Diagnostics> {
    let mut typedefs: HashSet<String> = HashSet::new();
    let mut resolver = resolve::Resolver::new();
    for (i, src) in sources.iter().enumerate() {
        let idx = i as u32;
        let decls = lexer::lex(&src.text)
            .map_err(|e| Diag::lex(e, idx))
            .and_then(|toks| {
                parser::Parser::new(&src.text, toks, idx, &mut typedefs).parse_source()
            });
        let decls = match decls {
            Ok(d) => d,
            Err(e) => {
                let mut all = std::mem::take(&mut resolver.errors);
                all.push(e);
                return Err(Diagnostics::new(all, sources));
            }
        };
        resolver.override_ = src.override_;
        resolver.pack = src.pack;
        resolver.text.clone_from(&src.text);
        resolver.resolve_source(&decls, src.kind);
    }
    if !resolver.errors.is_empty() {
        return Err(Diagnostics::new(resolver.errors, sources));
    }
    Ok(resolver.prog)
}

/// A readable, deterministic listing of a resolved program (declarations in
/// order, records with their fields, enums with their values), used by the
/// snapshot tests and handy when debugging codegen.
pub fn dump_program(p: &cembed_model::Program) -> String {
    use cembed_model::{Decl, MacroValue};
    use std::fmt::Write;
    let mut out = String::new();
    // Top-level qualifiers (of the object itself, not of a pointee) are shown
    // after the declaration: `int *p [const]` is `int *const p`.
    let q = |quals: &cembed_model::Quals| match (quals.is_const, quals.is_volatile) {
        (false, false) => "",
        (true, false) => " [const]",
        (false, true) => " [volatile]",
        (true, true) => " [const volatile]",
    };
    for d in &p.decls {
        match d {
            Decl::Function { name, ty, kind, .. } => {
                let _ = writeln!(out, "function {:?}: {}", kind, p.c_decl(*ty, name));
            }
            Decl::Global {
                name,
                ty,
                quals,
                in_api,
                ..
            } => {
                let _ = writeln!(
                    out,
                    "global{}: {}{}",
                    if *in_api { " (in api)" } else { "" },
                    p.c_decl(*ty, name),
                    q(quals)
                );
            }
            Decl::Constant { name, ty, .. } => {
                let _ = writeln!(out, "constant: {}", p.c_decl(*ty, name));
            }
            Decl::Macro { name, value, .. } => {
                let v = match value {
                    MacroValue::Int(v) => v.to_string(),
                    MacroValue::FromCompiler => "...".into(),
                };
                let _ = writeln!(out, "macro {name} = {v}");
            }
            Decl::Typedef { name, ty, .. } => {
                let unknown = match p.ty(*ty) {
                    cembed_model::Type::Prim(pr) => match pr.class {
                        cembed_model::PrimClass::UnknownInt => " [int...]",
                        cembed_model::PrimClass::UnknownFloat => " [float...]",
                        _ => "",
                    },
                    _ => "",
                };
                let _ = writeln!(out, "typedef {name} = {}{unknown}", p.c_name(*ty));
            }
            Decl::Record { id } => {
                let r = p.record(*id);
                let mut flags = Vec::new();
                if let Some(t) = &r.tag {
                    flags.push(format!("tag {t}"));
                }
                if r.fields.is_none() {
                    flags.push("opaque".into());
                }
                if r.partial {
                    flags.push("partial".into());
                }
                if r.dotdotdot_typedef {
                    flags.push("typedef ...".into());
                }
                let _ = writeln!(
                    out,
                    "record {:?} `{}` [{}]",
                    r.kind,
                    r.c_name,
                    flags.join(", ")
                );
                for f in r.fields.iter().flatten() {
                    let decl = match &f.name {
                        Some(n) => p.c_decl(f.ty, n),
                        None if f.bit_width.is_some() => {
                            format!("{} <unnamed bitfield>", p.c_name(f.ty))
                        }
                        None => format!("{} <anonymous member>", p.c_name(f.ty)),
                    };
                    let bits = f.bit_width.map(|w| format!(" : {w}")).unwrap_or_default();
                    let _ = writeln!(out, "    {decl}{bits}{}", q(&f.quals));
                }
            }
            Decl::Enum { id } => {
                let e = p.enum_def(*id);
                let _ = writeln!(
                    out,
                    "enum `{}`{}",
                    e.c_name,
                    if e.partial { " [partial]" } else { "" }
                );
                for en in &e.enumerators {
                    let v = en
                        .declared_value
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "?".into());
                    let _ = writeln!(out, "    {} = {v}", en.name);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cdef(text: &str) -> Result<String, String> {
        let src = [Source {
            override_: false,
            pack: None,
            name: "cdef".into(),
            text: text.into(),
            kind: SourceKind::Cdef,
        }];
        parse_program(&src)
            .map(|p| dump_program(&p))
            .map_err(|d| d.render(&src))
    }

    #[test]
    fn smoke() {
        let out = cdef(
            "typedef struct { int x, y; } point_t;\n\
             struct node { struct node *next; point_t p[2]; };\n\
             int add(int, int);\n\
             unsigned long long big(const char *s, ...);\n\
             int (*cb)(int);\n",
        )
        .unwrap();
        assert_eq!(
            out,
            "record Struct `point_t` []\n    int x\n    int y\n\
             typedef point_t = point_t\n\
             record Struct `struct node` [tag node]\n    struct node *next\n    point_t p[2]\n\
             function CFunction: int add(int, int)\n\
             function CFunction: unsigned long long big(const char *, ...)\n\
             global: int(*cb)(int)\n"
        );
    }

    /// Two cdef() calls, the second with `override`.
    fn two(first: &str, second: &str, override_: bool) -> Result<String, String> {
        let src = [
            Source {
                override_: false,
                pack: None,
                name: "a".into(),
                text: first.into(),
                kind: SourceKind::Cdef,
            },
            Source {
                override_,
                pack: None,
                name: "b".into(),
                text: second.into(),
                kind: SourceKind::Cdef,
            },
        ];
        parse_program(&src)
            .map(|p| dump_program(&p))
            .map_err(|d| d.render(&src))
    }

    #[test]
    fn override_replaces_functions_globals_typedefs() {
        let first = "int f(int); typedef int foo_t; extern int g; static const int K;";
        let second = "long f(long); typedef long foo_t; extern long g; static const long K;";
        let e = two(first, second, false).unwrap_err();
        assert!(e.contains("redefinition of function `f`"), "{e}");
        assert_eq!(
            two(first, second, true).unwrap(),
            "function CFunction: long f(long)\n\
             typedef foo_t = long\n\
             global: long g\n\
             constant: long K\n"
        );
        // The same declaration again is fine either way; macros and
        // enumerators never change (CFFI: "multiple declarations of constant").
        assert!(two(first, first, false).is_ok());
        let e = two("#define N 1", "#define N 2", true).unwrap_err();
        assert!(e.contains("`N`"), "{e}");
        let e = two("enum e { A };", "#define A 2", true).unwrap_err();
        assert!(e.contains("`A`"), "{e}");
        // Struct bodies cannot change either (CFFI: duplicate declaration).
        let e = two("struct s { int a; };", "struct s { long b; };", true).unwrap_err();
        assert!(e.contains("redefinition of `struct s`"), "{e}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let n = 100_000;
        let decl = format!("int {}x{};", "(*".repeat(n), ")".repeat(n));
        let e = cdef(&decl).unwrap_err();
        assert!(e.contains("nested too deeply"), "{}", &e[..200]);
        let expr = format!("enum e {{ A = {}1{} }};", "(".repeat(n), ")".repeat(n));
        assert!(cdef(&expr).unwrap_err().contains("nested too deeply"));
        let neg = format!("enum e {{ A = {}1 }};", "~".repeat(n));
        assert!(cdef(&neg).unwrap_err().contains("nested too deeply"));
        let rec = format!("{} int x; {}", "struct s { ".repeat(n), "};".repeat(n));
        assert!(cdef(&rec).unwrap_err().contains("nested too deeply"));
        let ty = format!("int{}{}", "(*".repeat(n), ")".repeat(n));
        assert!(parse_type_expr(&ty)
            .unwrap_err()
            .contains("nested too deeply"));
        // Moderately deep nesting is fine.
        let ok = format!("int {}x{};", "(*".repeat(30), ")".repeat(30));
        assert!(cdef(&ok).is_ok());
    }

    #[test]
    fn large_input_parses() {
        // 2,000 structs, typedefs and functions: every declaration resolved.
        let mut text = String::new();
        for i in 0..2000 {
            text.push_str(&format!(
                "typedef struct s{i} {{ int a; double b[4]; struct s{i} *next; }} s{i}_t;\n\
                 int f{i}(s{i}_t *, const char *, int (*cb)(int, void *));\n"
            ));
        }
        let src = [Source {
            override_: false,
            pack: None,
            name: "big".into(),
            text,
            kind: SourceKind::EmbeddingApi,
        }];
        let start = std::time::Instant::now();
        let p = parse_program(&src).unwrap();
        let took = start.elapsed();
        assert_eq!(p.records.len(), 2000);
        assert_eq!(p.functions().count(), 2000);
        // One function-pointer type shared by all, one function type each.
        assert_eq!(p.function_types().len(), 2001);
        eprintln!("parsed 4000 declarations in {took:?}");
    }

    #[test]
    fn deterministic() {
        let text =
            "typedef struct { int x; } a_t; struct q { union { int i; float f; }; a_t a; };\n\
                    enum e { A = 1 << 3, B }; int f(a_t *, enum e, struct q);";
        let a = cdef(text).unwrap();
        for _ in 0..5 {
            assert_eq!(cdef(text).unwrap(), a);
        }
    }

    #[test]
    fn crlf_and_unicode() {
        let out =
            cdef("// caf\u{e9} \u{2603}\r\n#define A \\\r\n 5\r\nint x; /* \u{e9} */\r\n").unwrap();
        assert_eq!(out, "macro A = 5\nglobal: int x\n");
        let e = cdef("int \u{e9}t\u{e9};\n").unwrap_err();
        assert!(e.contains("unexpected character '\u{e9}'"), "{e}");
        assert!(e.contains("cdef:1:5"), "{e}");
        let e = cdef("const char *s = \"\u{e9}\\\u{e9}\";\nint y y;").unwrap_err();
        assert!(e.contains("cdef:2:7"), "{e}");
        assert_eq!(cdef("").unwrap(), "");
    }

    /// Random token soup never panics: every input gives a program or
    /// diagnostics (the runtime parses user-supplied type strings).
    #[test]
    fn random_input_never_panics() {
        const WORDS: &[&str] = &[
            "int",
            "char",
            "unsigned",
            "long",
            "short",
            "void",
            "double",
            "const",
            "volatile",
            "struct",
            "union",
            "enum",
            "typedef",
            "static",
            "extern",
            "\"Python\"",
            "\"Python+C\"",
            "s",
            "t",
            "x",
            "size_t",
            "bool",
            "FILE",
            "*",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            ";",
            ",",
            "...",
            ":",
            "=",
            "-",
            "+",
            "~",
            "<<",
            ">>",
            "|",
            "&",
            "^",
            "/",
            "%",
            "0",
            "1",
            "3",
            "0x10",
            "077",
            "'a'",
            "#define",
            "#line",
            "#pragma",
            "#if",
            "\n",
            "A",
            "B",
            "__attribute__",
            "sizeof",
            "inline",
            "_Atomic",
            "restrict",
            "__stdcall",
            "/* c */",
            "// c\n",
            "\\\n",
            "9999999999999999999999",
            "0b",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // CDEF_FUZZ_N=1000000 for a longer run.
        let cases: usize = std::env::var("CDEF_FUZZ_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        for _ in 0..cases {
            let n = (next() % 24) as usize;
            let mut text = String::new();
            for _ in 0..n {
                text.push_str(WORDS[(next() % WORDS.len() as u64) as usize]);
                text.push(' ');
            }
            let src = [Source {
                override_: false,
                pack: None,
                name: "fuzz".into(),
                text: text.clone(),
                kind: if next() % 2 == 0 {
                    SourceKind::Cdef
                } else {
                    SourceKind::EmbeddingApi
                },
            }];
            let r = std::panic::catch_unwind(|| match parse_program(&src) {
                Ok(p) => {
                    dump_program(&p);
                }
                Err(d) => {
                    assert!(!d.render(&src).is_empty());
                }
            });
            assert!(r.is_ok(), "panic on {text:?}");
            let r = std::panic::catch_unwind(|| {
                let _ = parse_type_expr(&text);
            });
            assert!(r.is_ok(), "panic in parse_type_expr on {text:?}");
        }
    }

    #[test]
    fn error_has_location() {
        let e = cdef("int x;\nfoo_t y;\n").unwrap_err();
        assert!(e.contains("unknown type name `foo_t`"), "{e}");
        assert!(e.contains("cdef:2:1"), "{e}");
        assert!(e.contains("foo_t y;"), "{e}");
        assert!(e.contains("^^^^^"), "{e}");
    }
}
