//! The generated library end to end without Python: a C host calls the
//! exported functions (through the consumer header), set_source code calls
//! extern "Python" and extern "Python+C" functions, and a fake runtime
//! (`fake_runtime.c`, loaded by the glue as the real one would be) prints the
//! arguments it receives, decoded with the library's own tables, and returns
//! recognisable results. This checks the args buffer, the zeroed result, void
//! functions, structs by value both ways and the loader, exactly.

use std::path::Path;
use std::process::Command;

use cembed_cdef::{parse_program, Source, SourceKind};
use cembed_codegen::{generate_c, generate_header, BuildInfo, Options};

const API: &str = r#"
typedef struct { int x, y; } point_t;
int add(int, int);
double mix(char, signed char, unsigned short, long long, float, double, _Bool);
point_t flip(point_t);
void touch(const char *, point_t *);
long double precise(long double);
const char *name(void);
long many(int, long, const char *, short, unsigned char, double, float);
int six(int, int, int, int, int, int);
signed char small(signed char, unsigned short);
float floats(float, double, float, double, float, double, float, double);
double nine(double, double, double, double, double, double, double, double, double);
void *ptr(void *, int);
"#;

const CDEF: &str = r#"
extern "Python" int cb(int);
extern "Python+C" point_t make_point(int, int);
"#;

const C_CODE: &str = r#"
typedef struct { int x, y; } point_t;
static int cb(int);
CFFI_DLLEXPORT int use_cb(int v) { return cb(v) + 1; }
"#;

const HOST: &str = r#"
#include <stdio.h>
#include "fake.h"
int use_cb(int);
point_t make_point(int, int);
int main(void)
{
    point_t p = { 3, -4 }, q;
    printf("add -> %d\n", add(2, 40));
    printf("mix -> %g\n", mix('a', -2, 65535, -5000000000LL, 0.5f, 1e100, 1));
    q = flip(p);
    printf("flip -> %d %d\n", q.x, q.y);
    touch("text", &p);
    printf("precise -> %Lg\n", precise(1.25L));
    printf("name -> %s\n", name());
    printf("many -> %ld\n", many(-1, 2000000000000L, "s", -3, 250, 0.25, -0.5f));
    printf("six -> %d\n", six(1, 2, 3, 4, 5, 6));
    printf("small -> %d\n", small(-7, 60000));
    printf("floats -> %g\n", floats(1.5f, 2.5, 3.5f, 4.5, 5.5f, 6.5, 7.5f, 8.5));
    printf("nine -> %g\n", nine(1, 2, 3, 4, 5, 6, 7, 8, 9));
    printf("ptr -> %s\n", (const char *)ptr(&p, 9));
    printf("use_cb -> %d\n", use_cb(7));
    q = make_point(5, 6);
    printf("make_point -> %d %d\n", q.x, q.y);
    return 0;
}
"#;

const EXPECTED: &str = r#"[runtime] add(int 2, int 40) -> int, result zeroed
add -> -42
[runtime] mix(char 'a', signed char -2, unsigned short 65535, long long -5000000000, float 0.5, double 1e+100, _Bool 1) -> double, result zeroed
mix -> 2.5
[runtime] flip(point_t {x: int 3, y: int -4}) -> point_t, result zeroed
flip -> -42 -42
[runtime] touch(const char * "text", point_t * non-NULL) -> void, result NULL
[runtime] precise(long double 1.25) -> long double, result zeroed
precise -> 2.5
[runtime] name() -> const char *, result zeroed
name -> from the fake runtime
[runtime] many(int -1, long 2000000000000, const char * "s", short -3, unsigned char 250, double 0.25, float -0.5) -> long, result zeroed
many -> -42
[runtime] six(int 1, int 2, int 3, int 4, int 5, int 6) -> int, result zeroed
six -> -42
[runtime] small(signed char -7, unsigned short 60000) -> signed char, result zeroed
small -> -42
[runtime] floats(float 1.5, double 2.5, float 3.5, double 4.5, float 5.5, double 6.5, float 7.5, double 8.5) -> float, result zeroed
floats -> 2.5
[runtime] nine(double 1, double 2, double 3, double 4, double 5, double 6, double 7, double 8, double 9) -> double, result zeroed
nine -> 2.5
[runtime] ptr(void * non-NULL, int 9) -> void *, result zeroed
ptr -> from the fake runtime
[runtime] cb(int 7) -> int, result zeroed
use_cb -> -41
[runtime] make_point(int 5, int 6) -> point_t, result zeroed
make_point -> -42 -42
"#;

fn cc(compiler: &str, dir: &Path, args: &[&str]) {
    let out = Command::new(compiler)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{compiler} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A C toolchain and how to run what it builds.
struct Target<'a> {
    /// The compiler driver (gcc, or a cross gcc).
    cc: &'a str,
    /// The host program is run through this (an emulator), if not empty.
    run: &'a [&'a str],
    /// Compiler options the library is built with, one build each; every
    /// build must give the host exactly EXPECTED.
    modes: &'a [&'a [&'a str]],
}

/// Builds the fake runtime, the library (once per mode) and the host with
/// `t`, runs the host and compares its output.
fn run_fake(t: &Target<'_>, name: &str) {
    let dir = std::env::temp_dir().join(format!("cembed-codegen-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let srcs = vec![
        Source {
            override_: false,
            pack: None,
            name: "embedding_api".into(),
            text: API.into(),
            kind: SourceKind::EmbeddingApi,
        },
        Source {
            override_: false,
            pack: None,
            name: "cdef".into(),
            text: CDEF.into(),
            kind: SourceKind::Cdef,
        },
    ];
    let program = parse_program(&srcs).unwrap_or_else(|d| panic!("{}", d.render(&srcs)));

    std::fs::write(dir.join("cembed_abi.h"), cembed_abi::ABI_HEADER).unwrap();
    std::fs::write(dir.join("fake_runtime.c"), include_str!("fake_runtime.c")).unwrap();
    cc(
        t.cc,
        &dir,
        &[
            "-Wall",
            "-Werror",
            "-shared",
            "-fPIC",
            "-o",
            "fake_runtime.so",
            "fake_runtime.c",
        ],
    );
    let runtime = dir.join("fake_runtime.so").to_str().unwrap().to_string();

    // The fake stands in for libpython too: the glue only dlopen()s it.
    let bi = BuildInfo {
        python_version: "3.11".into(),
        python_executable: "/nonexistent/python".into(),
        libpython: runtime.clone(),
        runtime,
        cembed_version: "0.1.0".into(),
        ..Default::default()
    };
    let mut opts = Options::new("fake", &bi);
    opts.c_code = Some(C_CODE);
    let c = generate_c(&program, &opts);
    // Which functions are stubs: every register-only signature.
    for f in [
        "add", "mix", "touch", "name", "many", "small", "floats", "ptr",
    ] {
        assert!(c.contains(&format!("CEMBED_ASM_ENTRY({f}, ")), "{f}");
    }
    // Struct or long double in or out, more than 5 integer or 8 floating
    // arguments: C wrappers only.
    for f in ["flip", "precise", "six", "nine"] {
        assert!(!c.contains(&format!("CEMBED_ASM_ENTRY({f}, ")), "{f}");
    }
    std::fs::write(dir.join("fake.c"), c).unwrap();
    std::fs::write(dir.join("fake.h"), generate_header(&program, "fake")).unwrap();
    std::fs::write(dir.join("host.c"), HOST).unwrap();
    for mode in t.modes {
        let mut args = vec!["-Wall", "-Werror", "-shared", "-fPIC"];
        args.extend_from_slice(mode);
        args.extend_from_slice(&["-o", "libfake.so", "fake.c", "-ldl", "-lpthread"]);
        cc(t.cc, &dir, &args);
        cc(
            t.cc,
            &dir,
            &[
                "-Wall",
                "-Werror",
                "-o",
                "host",
                "host.c",
                "-L.",
                "-lfake",
                "-Wl,-rpath,$ORIGIN",
            ],
        );
        let host = dir.join("host");
        let out = match t.run.split_first() {
            Some((emulator, args)) => Command::new(emulator).args(args).arg(&host).output(),
            None => Command::new(&host).output(),
        }
        .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{mode:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), EXPECTED, "{mode:?}");
        assert!(out.status.success(), "{mode:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn calls_reach_the_runtime_with_the_right_arguments() {
    // The exported functions are assembly stubs on x86-64 where the
    // signature allows (`six`, `nine`, `flip` and `precise` get C wrappers):
    // the same output whatever the optimisation level, with the C wrappers
    // everywhere (CEMBED_NO_ASM_ENTRIES), under LTO (which renames statics
    // and drops what it thinks unused), with CET's endbr64 and with Intel
    // assembler syntax.
    run_fake(
        &Target {
            cc: "gcc",
            run: &[],
            modes: &[
                &[],
                &["-O2"],
                &["-O2", "-DCEMBED_NO_ASM_ENTRIES"],
                &["-O2", "-flto"],
                &["-O2", "-fcf-protection=full"],
                &["-O2", "-masm=intel"],
            ],
        },
        "fake",
    );
}

/// The AArch64 stubs, built with Debian's cross gcc and run under
/// qemu-user (`./dev test` installs both: gcc-aarch64-linux-gnu,
/// libc6-dev-arm64-cross, qemu-user). Without them this test says so on
/// stderr and checks nothing.
#[test]
fn aarch64_calls_reach_the_runtime_with_the_right_arguments() {
    let cross = "aarch64-linux-gnu-gcc";
    let have = |prog: &str| {
        Command::new(prog)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have(cross) || !have("qemu-aarch64") {
        eprintln!("SKIPPED: {cross} or qemu-aarch64 is not installed (./dev test installs them)");
        return;
    }
    // With BTI landing pads (-mbranch-protection) and under LTO too.
    run_fake(
        &Target {
            cc: cross,
            run: &["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"],
            modes: &[
                &[],
                &["-O2"],
                &["-O2", "-DCEMBED_NO_ASM_ENTRIES"],
                &["-O2", "-flto"],
                &["-O2", "-mbranch-protection=standard"],
            ],
        },
        "fake-aarch64",
    );
}
