//! Programs built by hand (independent of the parser): the generated C
//! compiles with -Wall -Werror and links into a shared object.

use std::path::PathBuf;
use std::process::Command;

use cembed_codegen::{generate_c, generate_header, BuildInfo, Options};
use cembed_model::{Decl, FuncKind, PrimClass, Program, Span, Type};

fn build_info() -> BuildInfo {
    BuildInfo {
        python_version: "3.11".into(),
        python_executable: "/venv/bin/python".into(),
        libpython: "/usr/lib/libpython3.11.so.1.0".into(),
        runtime: "/venv/lib/cembed/_runtime.so".into(),
        cembed_version: "0.1.0".into(),
        ..Default::default()
    }
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cembed-codegen-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Compiles `c` with gcc -Wall -Werror into a shared object; Err(stderr).
fn compile_shared(name: &str, c: &str) -> Result<(), String> {
    let d = tmpdir(name);
    let src = d.join(format!("{name}.c"));
    std::fs::write(&src, c).unwrap();
    let out = Command::new("gcc")
        .args(["-Wall", "-Werror", "-shared", "-fPIC", "-o"])
        .arg(d.join(format!("{name}.so")))
        .arg(&src)
        .args(["-ldl", "-lpthread"])
        .output()
        .unwrap();
    if out.status.success() {
        std::fs::remove_dir_all(&d).ok();
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn func(
    p: &mut Program,
    name: &str,
    result: cembed_model::TypeId,
    params: Vec<cembed_model::TypeId>,
    kind: FuncKind,
) {
    let ty = p.intern(Type::Function {
        result,
        params,
        variadic: false,
    });
    p.decls.push(Decl::Function {
        name: name.into(),
        ty,
        kind,
        span: Span::default(),
    });
}

#[test]
fn primitives_compile_and_link() {
    let mut p = Program::new();
    let int = p.prim("int", PrimClass::SignedInt);
    let void = p.prim("void", PrimClass::Void);
    let dbl = p.prim("double", PrimClass::Float);
    let flt = p.prim("float", PrimClass::Float);
    let ull = p.prim("unsigned long long", PrimClass::UnsignedInt);
    let sc = p.prim("signed char", PrimClass::SignedInt);
    let us = p.prim("unsigned short", PrimClass::UnsignedInt);
    let long = p.prim("long", PrimClass::SignedInt);
    let b = p.prim("_Bool", PrimClass::Bool);
    let ch = p.prim("char", PrimClass::Char);
    let wc = p.prim("wchar_t", PrimClass::WideChar);
    let ld = p.prim("long double", PrimClass::Float);
    func(&mut p, "add", int, vec![int, int], FuncKind::Exported);
    func(&mut p, "hello", void, vec![], FuncKind::Exported);
    func(&mut p, "scale", dbl, vec![dbl, flt], FuncKind::Exported);
    func(
        &mut p,
        "big",
        ull,
        vec![sc, us, long, b, ch, wc, ld],
        FuncKind::Exported,
    );
    func(&mut p, "cb", int, vec![int], FuncKind::ExternPython);
    func(
        &mut p,
        "cb2",
        int,
        vec![int, int],
        FuncKind::ExternPythonPlusC,
    );
    func(&mut p, "twice", int, vec![int], FuncKind::CFunction);
    let bi = build_info();
    let mut o = Options::new("pkg.prims", &bi);
    o.c_code = Some("static int twice(int x) { return 2 * x; }\n");
    o.init_code = Some(
        "from prims import ffi\n@ffi.def_extern()\ndef add(a, b):\n    return a + b  # \"é\" ??=\n",
    );
    let c = generate_c(&p, &o);
    compile_shared("prims", &c).unwrap();
    let h = generate_header(&p, "pkg.prims");
    assert!(h.contains("unsigned long long big(signed char, unsigned short, long, bool, char, wchar_t, long double);"));
}

mod build {
    use cembed_model::*;

    pub fn field(name: &str, ty: TypeId) -> Field {
        Field {
            name: Some(name.into()),
            ty,
            quals: Quals::default(),
            bit_width: None,
            span: Span::default(),
        }
    }
    pub fn bits(name: &str, ty: TypeId, w: u32) -> Field {
        Field {
            bit_width: Some(w),
            ..field(name, ty)
        }
    }
    pub fn anon(ty: TypeId) -> Field {
        Field {
            name: None,
            ty,
            quals: Quals::default(),
            bit_width: None,
            span: Span::default(),
        }
    }
    pub fn record(
        p: &mut Program,
        kind: RecordKind,
        tag: Option<&str>,
        c_name: &str,
        fields: Vec<Field>,
        partial: bool,
    ) -> TypeId {
        let id = p.add_record(Record {
            kind,
            tag: tag.map(str::to_string),
            c_name: c_name.into(),
            fields: Some(fields),
            partial,
            dotdotdot_typedef: false,
            pack: None,
            span: Span::default(),
        });
        p.decls.push(Decl::Record { id });
        p.intern(Type::Record(id))
    }
    pub fn ptr(p: &mut Program, t: TypeId) -> TypeId {
        p.intern(Type::Pointer {
            pointee: t,
            quals: Quals::default(),
        })
    }
    pub fn typedef(p: &mut Program, name: &str, ty: TypeId) {
        p.decls.push(Decl::Typedef {
            name: name.into(),
            ty,
            span: Span::default(),
        });
    }
}

/// The C definitions matching `records_program`.
const RECORDS_C: &str = r#"
struct point { int x; int y; };
typedef struct {
    unsigned a : 3;
    int b : 5;
    union { int i; float f; };
    struct { long l; } named;
    double tail[2];
} mixed_t;
enum color { RED = 1, GREEN, BLUE = 7 };
struct partial { char pad[3]; int known; long more; };
struct point origin = { 0, 0 };
int table[5];
static const double PI = 3.14;
#define ANSWER 42
static struct point shift(struct point p, int (*f)(int)) { p.x = f(p.x); return p; }
"#;

fn records_program() -> Program {
    use build::*;
    use cembed_model::*;
    let mut p = Program::new();
    let int = p.prim("int", PrimClass::SignedInt);
    let uns = p.prim("unsigned int", PrimClass::UnsignedInt);
    let flt = p.prim("float", PrimClass::Float);
    let dbl = p.prim("double", PrimClass::Float);
    let long = p.prim("long", PrimClass::SignedInt);
    let point = record(
        &mut p,
        RecordKind::Struct,
        Some("point"),
        "struct point",
        vec![field("x", int), field("y", int)],
        false,
    );
    let u = record(
        &mut p,
        RecordKind::Union,
        None,
        "union $1",
        vec![field("i", int), field("f", flt)],
        false,
    );
    let named = record(
        &mut p,
        RecordKind::Struct,
        None,
        "struct $2",
        vec![field("l", long)],
        false,
    );
    let dbl2 = p.intern(Type::Array {
        item: dbl,
        len: ArrayLen::Fixed(2),
    });
    let mixed = record(
        &mut p,
        RecordKind::Struct,
        None,
        "mixed_t",
        vec![
            bits("a", uns, 3),
            bits("b", int, 5),
            anon(u),
            field("named", named),
            field("tail", dbl2),
        ],
        false,
    );
    typedef(&mut p, "mixed_t", mixed);
    let ch = p.prim("char", PrimClass::Char);
    let _ = record(
        &mut p,
        RecordKind::Struct,
        Some("partial"),
        "struct partial",
        vec![field("known", int)],
        true,
    );
    let _ = ch;
    let e = p.add_enum(EnumDef {
        tag: Some("color".into()),
        c_name: "enum color".into(),
        enumerators: vec![
            Enumerator {
                name: "RED".into(),
                declared_value: Some(1),
                span: Span::default(),
            },
            Enumerator {
                name: "GREEN".into(),
                declared_value: None,
                span: Span::default(),
            },
            Enumerator {
                name: "BLUE".into(),
                declared_value: Some(7),
                span: Span::default(),
            },
        ],
        partial: false,
        span: Span::default(),
    });
    p.decls.push(Decl::Enum { id: e });
    let _color = p.intern(Type::Enum(e));
    p.decls.push(Decl::Global {
        name: "origin".into(),
        ty: point,
        quals: Quals::default(),
        in_api: false,
        span: Span::default(),
    });
    let arr = p.intern(Type::Array {
        item: int,
        len: ArrayLen::FromCompiler,
    });
    p.decls.push(Decl::Global {
        name: "table".into(),
        ty: arr,
        quals: Quals::default(),
        in_api: false,
        span: Span::default(),
    });
    p.decls.push(Decl::Constant {
        name: "PI".into(),
        ty: dbl,
        span: Span::default(),
    });
    p.decls.push(Decl::Macro {
        name: "ANSWER".into(),
        value: MacroValue::Int(42),
        span: Span::default(),
    });
    let f = p.intern(Type::Function {
        result: int,
        params: vec![int],
        variadic: false,
    });
    let fp = ptr(&mut p, f);
    let shift = p.intern(Type::Function {
        result: point,
        params: vec![point, fp],
        variadic: false,
    });
    p.decls.push(Decl::Function {
        name: "shift".into(),
        ty: shift,
        kind: FuncKind::CFunction,
        span: Span::default(),
    });
    p.decls.push(Decl::Function {
        name: "move_point".into(),
        ty: shift,
        kind: FuncKind::Exported,
        span: Span::default(),
    });
    let pmixed = ptr(&mut p, mixed);
    let g = p.intern(Type::Function {
        result: int,
        params: vec![pmixed],
        variadic: false,
    });
    p.decls.push(Decl::Function {
        name: "get".into(),
        ty: g,
        kind: FuncKind::ExternPython,
        span: Span::default(),
    });
    p
}

#[test]
fn records_compile_and_link() {
    let p = records_program();
    let bi = build_info();
    let mut o = Options::new("records", &bi);
    o.c_code = Some(RECORDS_C);
    let c = generate_c(&p, &o);
    compile_shared("records", &c).unwrap();
}

#[test]
fn records_mismatch_is_named() {
    let p = records_program();
    let bi = build_info();
    let mut o = Options::new("records", &bi);
    let bad = RECORDS_C.replace(
        "struct point { int x; int y; };",
        "struct point { int y; int x; };",
    );
    o.c_code = Some(&bad);
    let err = compile_shared("records_bad", &generate_c(&p, &o)).unwrap_err();
    assert!(
        err.contains("cembed: struct point: field x is at a different offset"),
        "{err}"
    );
}

/// The init code reaches the runtime byte for byte: every ASCII character,
/// trigraph-looking sequences, CR/LF, non-ASCII UTF-8 and a very long line.
#[test]
fn init_code_round_trips() {
    let mut code = String::from("# -*- coding: utf-8 -*-\nprint('héllo ✓ 🐍') ??= ??/ ???\r\n");
    code.extend((1u8..128).map(|b| b as char));
    code.push('\n');
    code.push_str(&"x = '\"\\\\'  # ".repeat(800));
    code.push_str("\nend");
    let p = Program::new();
    let bi = build_info();
    let mut o = Options::new("init", &bi);
    o.init_code = Some(&code);
    let c = generate_c(&p, &o);
    let main = "\n#include <stdio.h>\nint main(void) { fputs(_cembed_lib.init_code, stdout); return 0; }\n";
    let d = tmpdir("init");
    let src = d.join("init.c");
    std::fs::write(&src, format!("{c}{main}")).unwrap();
    let exe = d.join("init");
    let out = Command::new("gcc")
        .args(["-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(&src)
        .args(["-ldl", "-lpthread"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    assert_eq!(run.stdout, code.as_bytes());
    std::fs::remove_dir_all(&d).ok();
}

/// An empty program (no declarations, no C code, no init code) still makes
/// a valid library: C has no zero-length arrays, empty tables are NULL.
#[test]
fn empty_program_compiles_and_links() {
    let p = Program::new();
    let bi = build_info();
    let c = generate_c(&p, &Options::new("empty", &bi));
    assert!(c.contains(".types = NULL, .n_types = 0,"));
    assert!(c.contains(".init_code = NULL,"));
    compile_shared("empty", &c).unwrap();
}
