//! End-to-end tests of the runtime with hand-written fixture libraries in the
//! shape of cembed's generated C (tests/fixtures/*.c), compiled with gcc
//! against the ABI headers, loaded by C hosts (linked, or dlopen()ed with
//! RTLD_LOCAL / RTLD_GLOBAL) that run as separate processes, from another
//! directory, with an empty environment. Output is compared exactly (object
//! addresses are normalized).
//!
//! The runtime under test is the real artifact: this crate built as a cdylib
//! with the `extension-module` feature (no libpython link), as maturin builds
//! it. The Python used is `PYO3_PYTHON` or `python3`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

struct Env {
    runtime: PathBuf,
    py_version: String,
    exe: String,
    libpython: String,
    root: PathBuf,
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> String {
    std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Builds the runtime once per test process and gathers the Python facts.
fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let base = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate_dir().join("../../target"));
        let tdir = base.join("runtime-fixture-build");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        run_ok(
            Command::new(cargo)
                .args(["build", "-p", "cembed-runtime", "--features", "extension-module"])
                .env("CARGO_TARGET_DIR", &tdir)
                .current_dir(crate_dir()),
        );
        let runtime = tdir.join("debug/lib_runtime.so");
        assert!(runtime.exists(), "{runtime:?} not built");
        let facts = run_ok(Command::new(python()).args([
            "-c",
            "import sys, sysconfig, os\n\
             print('%d.%d' % sys.version_info[:2])\n\
             print(sys.executable)\n\
             print(os.path.join(sysconfig.get_config_var('LIBDIR'), sysconfig.get_config_var('INSTSONAME')))",
        ]));
        let facts = String::from_utf8(facts.stdout).unwrap();
        let mut l = facts.lines().map(str::to_string);
        let root = base.join("runtime-fixtures");
        std::fs::create_dir_all(&root).unwrap();
        Env {
            runtime,
            py_version: l.next().unwrap(),
            exe: l.next().unwrap(),
            libpython: l.next().unwrap(),
            root,
        }
    })
}

/// A scenario's directory, emptied.
fn scratch(name: &str) -> PathBuf {
    let d = env().root.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("lib")).unwrap();
    std::fs::create_dir_all(d.join("run")).unwrap();
    d
}

fn c_string_literal(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
    out
}

struct LibSpec<'a> {
    source: &'a str,
    module: &'a str,
    init: &'a str,
    exe: Option<&'a str>,
}

/// Compiles a fixture library into `dir/lib/lib<module>.so`.
fn build_lib(dir: &Path, spec: &LibSpec) -> PathBuf {
    let e = env();
    let init_h = dir.join(format!("{}_init.h", spec.module));
    std::fs::write(
        &init_h,
        format!(
            "#define FIXTURE_INIT_CODE {}\n",
            c_string_literal(spec.init)
        ),
    )
    .unwrap();
    let out = dir.join("lib").join(format!("lib{}.so", spec.module));
    let q = |s: &str| format!("\"{s}\"");
    run_ok(
        Command::new("gcc")
            .args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o"])
            .arg(&out)
            .arg(crate_dir().join("tests/fixtures").join(spec.source))
            .arg(format!(
                "-I{}",
                crate_dir().join("../cembed-abi/include").display()
            ))
            .arg(format!("-DFIXTURE_MODULE={}", q(spec.module)))
            .arg(format!("-DFIXTURE_PYINIT=PyInit_{}", spec.module))
            .arg(format!("-DFIXTURE_PY_VERSION={}", q(&e.py_version)))
            .arg(format!("-DFIXTURE_EXE={}", q(spec.exe.unwrap_or(&e.exe))))
            .arg(format!("-DFIXTURE_LIBPYTHON={}", q(&e.libpython)))
            .arg(format!(
                "-DFIXTURE_RUNTIME={}",
                q(&e.runtime.display().to_string())
            ))
            .arg(format!(
                "-DFIXTURE_INIT_H={}",
                q(&init_h.display().to_string())
            ))
            .arg("-lpthread")
            .arg("-ldl"),
    );
    out
}

/// Compiles a host; `link` names libraries in dir/lib to link against.
fn build_host(dir: &Path, source: &str, link: &[&str]) -> PathBuf {
    let out = dir.join(source.trim_end_matches(".c"));
    let mut cmd = Command::new("gcc");
    cmd.args(["-O1", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg(crate_dir().join("tests/fixtures").join(source));
    if !link.is_empty() {
        cmd.arg(format!("-L{}", dir.join("lib").display()));
        cmd.arg(format!("-Wl,-rpath,{}", dir.join("lib").display()));
        for l in link {
            cmd.arg(format!("-l{l}"));
        }
    }
    cmd.args(["-lpthread", "-ldl"]);
    run_ok(&mut cmd);
    out
}

/// Runs a host from `dir/run` with an empty environment (PATH only); stdout
/// and stderr are pipes, as in CI.
fn run_host(dir: &Path, host: &Path, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(host)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir(dir.join("run"))
        .output()
        .unwrap();
    (
        normalize(&String::from_utf8_lossy(&out.stdout)),
        normalize(&String::from_utf8_lossy(&out.stderr)),
        out.status.code().unwrap_or(-1),
    )
}

/// Replaces object addresses ("at 0x7f...") and the runtime/python paths.
fn normalize(s: &str) -> String {
    let e = env();
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(" at 0x") {
        out.push_str(&rest[..i]);
        out.push_str(" at 0xADDR");
        rest = &rest[i + 6..];
        let end = rest
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.replace(&e.runtime.display().to_string(), "<RUNTIME>")
        .replace(&e.exe, "<EXE>")
}

fn fixture_init(name: &str) -> String {
    std::fs::read_to_string(crate_dir().join("tests/fixtures").join(name)).unwrap()
}

#[test]
fn linked_host_every_primitive() {
    let d = scratch("basic");
    build_lib(
        &d,
        &LibSpec {
            source: "fix_a.c",
            module: "fix_a",
            init: &fixture_init("init_basic.py"),
            exe: None,
        },
    );
    let host = build_host(&d, "host_basic.c", &["fix_a"]);
    let (out, err, code) = run_host(&d, &host, &[]);
    assert_eq!(
        out,
        "add=42 errno=42\n\
         scale=3\n\
         flip=1 0\n\
         next_char=b\n\
         wide=121\n\
         big=-1\n\
         tiny=-128\n\
         utiny=7\n\
         ldbl=5\n\
         unattached=0\n\
         errno=7\n\
         spin=99\n\
         spin=-5\n\
         error: ffi.def_extern('<lambda>'): no 'extern \"Python\"' function with this name\n\
         init done\n\
         ping 7\n\
         onerror: ZeroDivisionError integer division or modulo by zero traceback\n\
         onerror: ValueError negative traceback\n\
         python atexit ran\n",
        "stderr was:\n{err}"
    );
    assert_eq!(
        err,
        "Exception ignored from cffi callback <function utiny at 0xADDR>, trying to convert the result back to C:\n\
         OverflowError: integer 300 does not fit 'unsigned char'\n\
         extern \"Python\": function fix_a.unattached() called, but no code was attached to it yet with @ffi.def_extern().  Returning 0.\n"
    );
    assert_eq!(code, 0);
}
