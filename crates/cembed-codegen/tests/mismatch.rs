//! A declaration that disagrees with the real C definition fails the build
//! with a message naming the record (or enum, or constant) and the field.

use std::process::Command;

use cembed_cdef::{parse_program, Source, SourceKind};
use cembed_codegen::{generate_c, BuildInfo, Options};

/// Generates the library for `cdef` with `c_code` as set_source() code,
/// compiles it (without -Werror: the layout checks must be errors on their
/// own) and returns the compiler's stderr, or None if it compiled.
fn compile_errors(cdef: &str, c_code: &str) -> Option<String> {
    let srcs = vec![Source {
        override_: false,
        pack: None,
        name: "cdef".into(),
        text: cdef.into(),
        kind: SourceKind::Cdef,
    }];
    let program = parse_program(&srcs).unwrap_or_else(|d| panic!("{}", d.render(&srcs)));
    let bi = BuildInfo::default();
    let mut opts = Options::new("mismatch", &bi);
    opts.c_code = Some(c_code);
    let c = generate_c(&program, &opts);
    let d = std::env::temp_dir().join(format!("cembed-codegen-mismatch-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let file = d.join(format!(
        "{:x}.c",
        cdef.len() * 1_000_003
            + c_code.len() * 7919
            + c_code.bytes().map(|b| b as usize).sum::<usize>()
    ));
    std::fs::write(&file, &c).unwrap();
    let out = Command::new("gcc")
        .args(["-fsyntax-only"])
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_file(&file).ok();
    if out.status.success() {
        None
    } else {
        Some(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[track_caller]
fn assert_error(cdef: &str, c_code: &str, expected: &str) {
    let err = compile_errors(cdef, c_code).expect("the mismatch compiled without error");
    assert!(
        err.contains(expected),
        "expected {expected:?} in the compiler's errors:\n{err}"
    );
}

#[test]
fn the_matching_definition_compiles() {
    assert_eq!(
        compile_errors(
            "struct s { int x; double y; }; enum e { A = 1, B = 2 };\n#define N 3",
            "struct s { int x; double y; }; enum e { A = 1, B = 2 }; enum { N = 3 };"
        ),
        None
    );
}

#[test]
fn field_of_another_size() {
    assert_error(
        "struct s { int x; int y; };",
        "struct s { long x; int y; };",
        "cembed: struct s: field x has a different size in the C definition than in the cdef (int)",
    );
}

#[test]
fn field_of_another_type_of_the_same_size() {
    assert_error(
        "struct s { float x; };",
        "struct s { int x; };",
        "cembed: struct s: field x has a different type in the C definition than in the cdef (float)",
    );
}

#[test]
fn fields_in_another_order() {
    assert_error(
        "struct s { int x; double y; };",
        "struct s { double y; int x; };",
        "cembed: struct s: field x is at a different offset",
    );
}

#[test]
fn fields_missing_from_the_cdef() {
    assert_error(
        "struct s { int x; };",
        "struct s { int x; int more; };",
        "cembed: struct s: the C definition has a different size than the cdef",
    );
}

#[test]
fn typedef_of_an_anonymous_struct() {
    assert_error(
        "typedef struct { int a; } t;",
        "typedef struct { short a; } t;",
        "cembed: t: field a has a different size",
    );
}

#[test]
fn partial_struct_checks_the_declared_fields() {
    assert_eq!(
        compile_errors(
            "struct p { int x; ...; };",
            "struct p { char pad; int x; long more; };"
        ),
        None
    );
    assert_error(
        "struct p { int x; ...; };",
        "struct p { char pad; long x; };",
        "cembed: struct p: field x has a different size",
    );
}

#[test]
fn field_of_an_anonymous_member() {
    assert_error(
        "struct o { int tag; union { int i; float f; }; };",
        "struct o { int tag; union { int i; double f; }; };",
        "cembed: struct o: field f has a different size",
    );
}

#[test]
fn wrong_enum_value() {
    assert_error(
        "enum e { A = 1, B = 2 };",
        "enum e { A = 1, B = 3 };",
        "cembed: enum e: B is not 2 in the C definition",
    );
}

#[test]
fn wrong_define_value() {
    assert_error(
        "#define N 3",
        "#define N 4",
        "cembed: #define N: the C value is not 3",
    );
}
