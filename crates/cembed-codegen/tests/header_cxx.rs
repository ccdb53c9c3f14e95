//! The consumer header as C and C++ programs include it: every exported
//! prototype keeps the cdef's spelling (typedef names, parameter names,
//! `bool`), and the header compiles warning-free with gcc, clang, g++ and
//! clang++ under `-Wall -Wextra -Werror` (`./dev test` installs clang).

use std::process::Command;

use cembed_cdef::{parse_program, Source, SourceKind};
use cembed_codegen::generate_header;

const API: &str = r#"
typedef struct { int x, y; } point_t;
typedef struct node node_t;
struct node { node_t *next; point_t where; unsigned char tag[4]; };
typedef enum { RED, GREEN = 5, BLUE } color_t;
typedef int (*visit_fn)(const node_t *n, void *user);
typedef unsigned long long counter_t;
#define MAX_POINTS 16
bool is_origin(const point_t *p);
_Bool any(const bool *flags, size_t count);
int walk(node_t *head, visit_fn visit, void *user);
counter_t count_points(point_t  points[],
                       int      n);
color_t mix(color_t a, color_t b);
void reset(void);
double scale(double (*f)(double), double x);
counter_t total;
"#;

fn header() -> String {
    let srcs = vec![Source {
        override_: false,
        pack: None,
        name: "embedding_api".into(),
        text: API.into(),
        kind: SourceKind::EmbeddingApi,
    }];
    let program = parse_program(&srcs).unwrap_or_else(|d| panic!("{}", d.render(&srcs)));
    generate_header(&program, "shapes")
}

#[test]
fn prototypes_are_written_as_declared() {
    let h = header();
    for line in [
        "bool is_origin(const point_t *p);",
        "bool any(const bool *flags, size_t count);",
        "int walk(node_t *head, visit_fn visit, void *user);",
        "counter_t count_points(point_t points[], int n);",
        "color_t mix(color_t a, color_t b);",
        "void reset(void);",
        "double scale(double (*f)(double), double x);",
        "extern counter_t total;",
    ] {
        assert!(h.lines().any(|l| l == line), "missing {line:?} in:\n{h}");
    }
    assert!(!h.contains("_Bool"), "{h}");
}

#[test]
fn header_compiles_as_c_and_cxx_with_gcc_and_clang() {
    let dir = std::env::temp_dir().join(format!("cembed-header-cxx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("shapes.h"), header()).unwrap();
    // Uses every declaration, so an unusable one fails to compile.
    let user = r#"#include "shapes.h"
int use_all(void);
static int visit(const node_t *n, void *user) { (void)n; (void)user; return 0; }
static double twice(double x) { return 2 * x; }
int use_all(void)
{
    point_t p = { 1, 2 };
    node_t n;
    bool flags[2] = { true, false };
    n.next = 0; n.where = p; n.tag[0] = 1;
    return (int)is_origin(&p) + (int)any(flags, 2) + walk(&n, visit, 0)
        + (int)count_points(&p, MAX_POINTS) + (int)mix(RED, BLUE) + (int)scale(twice, 1.0)
        + (int)total + (reset(), 0);
}
"#;
    std::fs::write(dir.join("use.c"), user).unwrap();
    std::fs::write(dir.join("use.cpp"), user).unwrap();
    for (cc, file, std) in [
        ("gcc", "use.c", "-std=c11"),
        ("clang", "use.c", "-std=c11"),
        ("g++", "use.cpp", "-std=c++11"),
        ("clang++", "use.cpp", "-std=c++11"),
    ] {
        let out = Command::new(cc)
            .args([std, "-Wall", "-Wextra", "-Werror", "-c", file, "-o"])
            .arg(format!("{cc}.o"))
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cc} (./dev test installs it): {e}"));
        assert!(
            out.status.success(),
            "{cc} rejects the header:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
