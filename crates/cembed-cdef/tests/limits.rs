//! Hostile declarations get an error with the place, never a stack overflow
//! or unbounded memory: long operator chains in array lengths and enum
//! values, and very long declarators, in cdef text and in run-time type names.

use cembed_cdef::{parse_program, parse_type_expr, Source, SourceKind};

fn cdef(text: &str) -> Result<cembed_model::Program, String> {
    parse_program(&[Source {
        name: "cdef".into(),
        text: text.into(),
        kind: SourceKind::Cdef,
        override_: false,
        pack: None,
    }])
    .map_err(|d| d.to_string())
}

/// Runs `f` on a thread with a small stack (a host's thread may have one),
/// so a recursion that the limits do not bound shows up as a crash here.
fn small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn long_operator_chains_are_refused_with_the_place() {
    let chain = |n: usize| vec!["1"; n].join("+");
    for text in [
        format!("int a[{}];", chain(200_000)),
        format!("enum e {{ A = {} }};", chain(200_000)),
        format!("struct s {{ int x[{}]; }};", chain(200_000)),
    ] {
        let e = small_stack(move || cdef(&text)).unwrap_err();
        assert!(e.contains("constant expression too long"), "{e}");
        assert!(e.contains("cdef:1:"), "{e}");
    }
    let t = format!("int[{}]", chain(200_000));
    let e = small_stack(move || parse_type_expr(&t)).unwrap_err();
    assert!(e.contains("constant expression too long"), "{e}");
    // Parentheses share the budget of the expression they are in.
    let nested = format!("int a[({0}) + ({0})];", chain(300));
    assert!(small_stack(move || cdef(&nested))
        .unwrap_err()
        .contains("too long"));
    // Real expressions stay far below the limit.
    let p = cdef(&format!("enum e {{ A = {} }};", chain(400))).unwrap();
    assert!(cembed_cdef::dump_program(&p).contains("A = 400"));
}

#[test]
fn long_declarators_are_refused() {
    let e = parse_type_expr(&format!("int{}", "*".repeat(100_000))).unwrap_err();
    assert!(e.contains("declarator too long"), "{e}");
    assert!(e.contains("column 1") || e.contains("column 4"), "{e}");
    let e = cdef(&format!("int {}x;", "*".repeat(300))).unwrap_err();
    assert!(e.contains("declarator too long"), "{e}");
    let e = parse_type_expr(&format!("int{}", "[1]".repeat(300))).unwrap_err();
    assert!(e.contains("declarator too long"), "{e}");
    assert!(parse_type_expr(&format!("int{}", "*".repeat(200))).is_ok());
}

#[test]
fn messages_quote_a_long_type_shortened() {
    let e = parse_type_expr(&format!("int{}", "*".repeat(100_000))).unwrap_err();
    assert!(e.len() < 300, "{e}");
    assert!(e.ends_with("...)"), "{e}");
}
