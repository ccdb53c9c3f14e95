//! The `cembed` command as a user runs it (a separate process).

use std::path::PathBuf;
use std::process::{Command, Output};

fn cembed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cembed"))
        .args(args)
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cembed-cli-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn config_prints_the_interpreter_facts() {
    let out = cembed(&["config", "--python", "python3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    let keys: Vec<&str> = s.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "found_by",
            "executable",
            "version",
            "libpython",
            "runtime",
            "cembed_version"
        ]
    );
    assert!(s.starts_with("found_by=--python\n"), "{s}");
    assert!(s.contains("\nversion=3."), "{s}");
}

#[test]
fn config_with_a_missing_interpreter_says_so() {
    let out = cembed(&["config", "--python", "/nonexistent/python9"]);
    assert!(!out.status.success());
    let e = text(&out.stderr);
    assert!(
        e.contains("cannot run the Python interpreter /nonexistent/python9"),
        "{e}"
    );
    assert!(e.contains("found by --python"), "{e}");
}

#[test]
fn pkg_config_flags() {
    // A directory with a space: escaped with a backslash, as pkg-config does.
    let d = scratch("pkg dir");
    std::fs::write(d.join("libplugin.so"), b"").unwrap();
    std::fs::write(d.join("plugin-1.5.so"), b"").unwrap();
    let dir = d.display().to_string().replace(' ', "\\ ");
    let lib = d.join("libplugin.so");
    let out = cembed(&["pkg-config", "--cflags", "--libs", lib.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("-I{dir} -L{dir} -lplugin\n"));
    // The rpath only when asked for; a name the linker cannot -l is passed
    // by path.
    let lib = d.join("plugin-1.5.so");
    let out = cembed(&["pkg-config", "--libs", "--rpath", lib.to_str().unwrap()]);
    assert_eq!(
        text(&out.stdout),
        format!("{dir}/plugin-1.5.so -Wl,-rpath,{dir}\n")
    );
    let out = cembed(&[
        "pkg-config",
        "--cflags",
        d.join("missing.so").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("error: no library at"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn help_has_examples_and_exit_codes() {
    let out = cembed(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    assert!(help.contains("Examples:\n  # libplugin.so"), "{help}");
    assert!(help.contains("Exit status:\n  0  success"), "{help}");
    // No arguments: the help, exit status 2.
    let out = cembed(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Usage: cembed"));
}

#[test]
fn completions_for_bash() {
    let out = cembed(&["completions", "bash"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let script = text(&out.stdout);
    assert!(script.contains("complete -F _cembed"), "{script}");
    assert!(script.contains("--cmake-dir"), "{script}");
    assert!(script.contains("pkg-config"), "{script}");
}

#[test]
fn cmake_dir_outside_an_installation_says_why() {
    let out = cembed(&["--cmake-dir"]);
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stderr);
    assert!(e.starts_with("error: no CMake package next to"), "{e}");
}

#[test]
fn build_reports_a_missing_input_file() {
    let d = scratch("missing");
    let out = cembed(&[
        "build",
        "--module",
        "m",
        "--api",
        d.join("nope.h").to_str().unwrap(),
        "-o",
        d.join("libm.so").to_str().unwrap(),
        "--python",
        "python3",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let e = text(&out.stderr);
    assert!(e.starts_with("error: cannot read "), "{e}");
    assert!(e.contains("nope.h"), "{e}");
    assert!(!d.join("libm.so").exists());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn build_needs_declarations() {
    let out = cembed(&["build", "--module", "m", "-o", "libm.so"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("give at least one --api"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn request_runs_a_raw_json_request() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cembed"))
        .arg("request")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"action": "check", "module_name": "m", "sources": [{"kind": "cdef", "text": "int f(int);", "origin": "x.h:1"}]}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "{\"ok\":true,\"log\":[]}\n");
}

#[test]
fn isolation_values_are_checked_when_the_arguments_are_read() {
    // Before any Python is looked for or any file read.
    for (arg, why) in [
        (
            "pool:0",
            "the pool size must be at least 1 (got 0); leave it out for the number of CPUs",
        ),
        (
            "pool:x",
            r#"bad size "x" in "pool:x": the size is a positive integer (pool:4)"#,
        ),
        (
            "isolated:4",
            r#"isolation "isolated" takes no size (got 4): only "pool" has one"#,
        ),
        (
            "parallel",
            r#"unknown isolation mode "parallel": the modes are "shared" (the default), "isolated" and "pool""#,
        ),
    ] {
        for command in ["build", "emit-c"] {
            let out = cembed(&[
                command,
                "--module",
                "m",
                "--api",
                "/nonexistent/api.h",
                "-o",
                "/nonexistent/out",
                "--python",
                "/nonexistent/python9",
                "--isolation",
                arg,
            ]);
            assert_eq!(out.status.code(), Some(2));
            let e = text(&out.stderr);
            assert_eq!(
                e.lines().next().unwrap(),
                format!("error: invalid value '{arg}' for '--isolation <MODE[:SIZE]>': {why}"),
                "{e}"
            );
        }
    }
    let help = text(&cembed(&["build", "--help"]).stdout);
    assert!(help.contains("--isolation <MODE[:SIZE]>"), "{help}");
}
