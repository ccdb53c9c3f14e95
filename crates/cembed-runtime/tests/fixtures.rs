//! End-to-end tests of the runtime with fixture libraries built as the
//! Python builder builds them: the declarations (tests/fixtures/fix_*.h)
//! and set_source() code (fix_*.c) go in a build request to cembed-build
//! (codegen, then the system compiler), so the C is exactly what users get.
//! C hosts (linked, or dlopen()ing the library with RTLD_LOCAL /
//! RTLD_GLOBAL) run as separate processes, from another directory, with an
//! empty environment. Output is compared exactly (object addresses are
//! normalized).
//!
//! The runtime under test is the real artifact: this crate built as a cdylib
//! with the `extension-module` feature (no libpython link), as maturin builds
//! it. The Python used is `PYO3_PYTHON` or `python3`.
//!
//! With `CEMBED_ASAN=1` everything runs under AddressSanitizer: the runtime
//! is built with `-Zsanitizer=address` (accepted by stable rustc through
//! `RUSTC_BOOTSTRAP=1`, as the fuzz set does), the fixture libraries and
//! hosts with gcc's `-fsanitize=address` (whose libasan serves both), a
//! Python host gets libasan preloaded, and Python allocates with malloc so
//! that its objects are checked too. Leak detection is off: an embedded
//! Python keeps memory until the process ends.

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
        let facts = run_ok(Command::new(python()).args([
            "-c",
            "import sys, sysconfig, os\n\
             print('%d.%d' % sys.version_info[:2])\n\
             print(sys.executable)\n\
             print(os.path.join(sysconfig.get_config_var('LIBDIR'), sysconfig.get_config_var('INSTSONAME')))",
        ]));
        let facts = String::from_utf8(facts.stdout).unwrap();
        let mut l = facts.lines().map(str::to_string);
        let (py_version, exe, libpython) = (l.next().unwrap(), l.next().unwrap(), l.next().unwrap());
        // One runtime build and one scratch tree per Python version (and
        // sanitizer).
        let tag = if asan() { "-asan" } else { "" };
        let tdir = base.join(format!("runtime-fixture-build-{py_version}{tag}"));
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args(["build", "-p", "cembed-runtime", "--features", "extension-module"])
            .env("CARGO_TARGET_DIR", &tdir)
            .env("PYO3_PYTHON", &exe)
            .current_dir(crate_dir());
        let runtime = if asan() {
            // An explicit --target keeps build scripts and proc macros
            // uninstrumented.
            let host = host_triple();
            build
                .args(["--target", &host])
                .env("RUSTC_BOOTSTRAP", "1")
                .env("RUSTFLAGS", "-Zsanitizer=address");
            tdir.join(host).join("debug/lib_runtime.so")
        } else {
            tdir.join("debug/lib_runtime.so")
        };
        run_ok(&mut build);
        assert!(runtime.exists(), "{runtime:?} not built");
        let root = base.join(format!("runtime-fixtures-{py_version}{tag}"));
        std::fs::create_dir_all(&root).unwrap();
        Env {
            runtime,
            py_version,
            exe,
            libpython,
            root,
        }
    })
}

/// `CEMBED_ASAN=1`: run under AddressSanitizer (see the top of the file).
fn asan() -> bool {
    std::env::var_os("CEMBED_ASAN").is_some_and(|v| v == "1")
}

fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = run_ok(Command::new(rustc).arg("-vV"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host")
}

/// The environment of every process a test starts: empty but for PATH (and
/// the sanitizer's settings under `CEMBED_ASAN=1`); `python_host`: the
/// process is a Python interpreter, not a host compiled here.
fn host_env(cmd: &mut Command, python_host: bool) -> &mut Command {
    cmd.env_clear().env("PATH", "/usr/bin:/bin");
    if asan() {
        cmd.env(
            "ASAN_OPTIONS",
            "detect_leaks=0:abort_on_error=0:exitcode=99",
        )
        .env("PYTHONMALLOC", "malloc");
        if python_host {
            let out = run_ok(Command::new("gcc").arg("-print-file-name=libasan.so"));
            cmd.env("LD_PRELOAD", String::from_utf8_lossy(&out.stdout).trim());
        }
    }
    cmd
}

/// A scenario's directory, emptied.
fn scratch(name: &str) -> PathBuf {
    let d = env().root.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("lib")).unwrap();
    std::fs::create_dir_all(d.join("run")).unwrap();
    d
}

struct LibSpec<'a> {
    /// Also the fixture's name: tests/fixtures/<module>.h (declarations),
    /// tests/fixtures/<module>.c (set_source() code, optional).
    module: &'a str,
    init: &'a str,
    exe: Option<&'a str>,
}

/// The declarations of a fixture: embedding_api() text, and cdef() text
/// after a line `/* cembed: cdef */` (the codegen snapshots' convention).
fn fixture_sources(module: &str) -> Vec<serde_json::Value> {
    let path = crate_dir()
        .join("tests/fixtures")
        .join(format!("{module}.h"));
    let text = std::fs::read_to_string(&path).unwrap();
    let (api, cdef) = text.split_once("/* cembed: cdef */").unwrap_or((&text, ""));
    let origin = path.display().to_string();
    let mut out = vec![serde_json::json!({"kind": "embedding_api", "text": api, "origin": origin})];
    if !cdef.trim().is_empty() {
        out.push(serde_json::json!({"kind": "cdef", "text": cdef, "origin": origin}));
    }
    out
}

/// Compiler flags of the fixture libraries and hosts beyond production's.
fn fixture_cflags() -> Vec<String> {
    if asan() {
        vec![
            "-fsanitize=address".into(),
            "-fno-omit-frame-pointer".into(),
        ]
    } else {
        Vec::new()
    }
}

/// Builds a fixture library into `dir/lib/lib<module>.so` through
/// cembed-build, with the runtime under test as the library's runtime.
/// [`fixture_cflags`] go to the compile and link commands.
fn build_lib(dir: &Path, spec: &LibSpec) -> PathBuf {
    let e = env();
    let c_path = crate_dir()
        .join("tests/fixtures")
        .join(format!("{}.c", spec.module));
    let c_code = std::fs::read_to_string(&c_path).ok();
    let flags = fixture_cflags();
    let request = serde_json::json!({
        "action": "compile",
        "module_name": spec.module,
        "sources": fixture_sources(spec.module),
        "c_code": c_code,
        "c_origin": c_path.display().to_string(),
        "options": {"extra_compile_args": flags, "extra_link_args": flags},
        "init_code": spec.init,
        "init_origin": format!("{}:1", spec.module),
        "python": {
            "version": e.py_version,
            "executable": spec.exe.unwrap_or(&e.exe),
            "libpython": e.libpython,
            "runtime": e.runtime.display().to_string(),
            "cembed_version": env!("CARGO_PKG_VERSION"),
        },
        "tmpdir": dir.join("lib").display().to_string(),
        "target": format!("lib{}.so", spec.module),
    });
    let response: serde_json::Value =
        serde_json::from_str(&cembed_build::run_json(&request.to_string())).unwrap();
    assert_eq!(
        response["ok"], true,
        "building {}: {response:#}",
        spec.module
    );
    PathBuf::from(response["path"].as_str().unwrap())
}

/// Compiles a host; `link` names libraries in dir/lib to link against.
fn build_host(dir: &Path, source: &str, link: &[&str]) -> PathBuf {
    let out = dir.join(source.trim_end_matches(".c"));
    let mut cmd = Command::new("gcc");
    cmd.args(["-O1", "-Wall", "-Werror"])
        .args(fixture_cflags())
        .arg("-o")
        .arg(&out)
        .arg(crate_dir().join("tests/fixtures").join(source));
    if !link.is_empty() {
        cmd.arg(format!("-L{}", dir.join("lib").display()));
        cmd.arg(format!("-Wl,-rpath,{}", dir.join("lib").display()));
        // Keep every named library even if the host only finds its symbols
        // with dlsym (host_threads' second library).
        cmd.arg("-Wl,--no-as-needed");
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
///
/// With `CEMBED_VALGRIND=1` the host runs under valgrind's memcheck (and
/// PYTHONMALLOC=malloc, so every Python object is its own heap block), and
/// any invalid read, write or free fails the test; leaks are not checked.
fn run_host(dir: &Path, host: &Path, args: &[&str]) -> (String, String, i32) {
    let memcheck = std::env::var_os("CEMBED_VALGRIND").is_some_and(|v| v == "1");
    let mut cmd = if memcheck {
        let mut c = Command::new("valgrind");
        c.args(["--tool=memcheck", "--leak-check=no", "--num-callers=30"])
            .arg(format!("--log-file={}/valgrind.%p.log", dir.display()))
            .arg(host);
        c
    } else {
        Command::new(host)
    };
    host_env(cmd.args(args), false);
    if memcheck {
        cmd.env("PYTHONMALLOC", "malloc");
    }
    let out = cmd.current_dir(dir.join("run")).output().unwrap();
    if memcheck {
        check_valgrind_logs(dir);
    }
    (
        normalize(&String::from_utf8_lossy(&out.stdout)),
        normalize(&String::from_utf8_lossy(&out.stderr)),
        out.status.code().unwrap_or(-1),
    )
}

/// Fails on any invalid memory access valgrind logged in `dir`.
fn check_valgrind_logs(dir: &Path) {
    const ERRORS: &[&str] = &[
        "Invalid read",
        "Invalid write",
        "Invalid free",
        "Mismatched free",
        "Source and destination overlap",
    ];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("valgrind.") && name.ends_with(".log") {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(
                !ERRORS.iter().any(|e| text.contains(e)),
                "valgrind found invalid memory accesses ({}):\n{text}",
                p.display()
            );
        }
    }
}

/// Replaces object addresses ("at 0x7f...", "<cdata 'T' 0x7f...>") and the
/// runtime/python paths.
fn normalize(s: &str) -> String {
    let e = env();
    let mut out = s.to_string();
    for marker in [" at 0x", "' 0x"] {
        let mut done = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find(marker) {
            done.push_str(&rest[..i]);
            done.push_str(&marker.replace("0x", "0xADDR"));
            rest = &rest[i + marker.len()..];
            let end = rest
                .find(|c: char| !c.is_ascii_hexdigit())
                .unwrap_or(rest.len());
            rest = &rest[end..];
        }
        done.push_str(rest);
        out = done;
    }
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

fn lib_a(d: &Path, init: &str) -> PathBuf {
    build_lib(
        d,
        &LibSpec {
            module: "fix_a",
            init: &fixture_init(init),
            exe: None,
        },
    )
}

fn expected_threads(n: usize) -> String {
    (0..n)
        .map(|i| format!("thread {i}: {}\n", 100_000 + i))
        .collect()
}

#[test]
fn ten_threads_first_call_at_once_20_runs() {
    let d = scratch("threads");
    lib_a(&d, "init_threads.py");
    let host = build_host(&d, "host_threads.c", &["fix_a"]);
    for run in 0..20 {
        let (out, err, code) = run_host(&d, &host, &["10"]);
        assert_eq!(
            (out.as_str(), err.as_str(), code),
            (
                format!(
                    "{}init fix_a start\ninit fix_a done\n",
                    expected_threads(10)
                )
                .as_str(),
                "",
                0
            ),
            "run {run}"
        );
    }
}

#[test]
fn twenty_threads_across_two_libraries() {
    let d = scratch("two_libs");
    lib_a(&d, "init_threads.py");
    build_lib(
        &d,
        &LibSpec {
            module: "fix_b",
            init: &fixture_init("init_b.py"),
            exe: None,
        },
    );
    let host = build_host(&d, "host_threads.c", &["fix_a", "fix_b"]);
    for run in 0..10 {
        let (out, err, code) = run_host(&d, &host, &["20", "two"]);
        assert_eq!(err, "", "run {run}");
        assert_eq!(code, 0, "run {run}");
        // Each library's init code ran exactly once; the order of the two
        // inits depends on which thread came first.
        let (threads, inits) = out.split_at(expected_threads(20).len());
        assert_eq!(threads, expected_threads(20), "run {run}");
        let mut lines: Vec<&str> = inits.lines().collect();
        lines.sort();
        assert_eq!(
            lines,
            ["init fix_a done", "init fix_a start", "init fix_b"],
            "run {run}: {out}"
        );
    }
}

#[test]
fn dlopen_local_and_global_import_stdlib_extension_modules() {
    let d = scratch("dlopen");
    let lib = lib_a(&d, "init_stdlib.py");
    let host = build_host(&d, "host_dlopen.c", &[]);
    for mode in ["local", "global"] {
        let (out, err, code) = run_host(&d, &host, &[lib.to_str().unwrap(), mode]);
        assert_eq!(
            (out.as_str(), err.as_str(), code),
            (
                "add=5\nadd=9\nstdlib ok 4.0 [1] b'\\x01\\x00' True\n",
                "",
                0
            ),
            "{mode}"
        );
    }
}

#[test]
fn init_error_reports_once_and_every_call_returns_zero() {
    let d = scratch("init_error");
    lib_a(&d, "init_error.py");
    let host = build_host(&d, "host_error.c", &["fix_a"]);
    let (out, err, code) = run_host(&d, &host, &[]);
    assert_eq!(
        out,
        "init_error before=NULL\nstart=-1\nadd=0\nadd=0\ncffi_start=-1\ninit_error has traceback=1\n"
    );
    let expected_head = "Failed to initialize the Python-cembed embedding logic:\n\n\
         Traceback (most recent call last):\n  \
           File \"<init code for 'fix_a'>\", line 7, in <module>\n";
    assert!(err.starts_with(expected_head), "{err}");
    assert!(
        err.contains(
            "ZeroDivisionError: division by zero\n\n\
             From: fix_a\n\
             compiled with cembed version: 0.1.0\n\
             cembed runtime: <RUNTIME>\n\
             python executable: <EXE>\n\
             where the loader looked for Python (first found wins):\n  \
             CEMBED_PYTHON_FIX_A: not set\n"
        ),
        "{err}"
    );
    // The loader's search, then what Python itself says.
    assert!(
        err.contains("\n  build interpreter <EXE>: found\n"),
        "{err}"
    );
    assert!(
        err.contains("\nsys.executable: '<EXE>'\nsys.path: ["),
        "{err}"
    );
    assert!(
        err.ends_with(
            "]\n\n\
             function fix_a.add() called, but initialization code failed.  Returning 0.\n\
             function fix_a.add() called, but initialization code failed.  Returning 0.\n"
        ),
        "{err}"
    );
    assert_eq!(code, 0);
}

#[test]
fn recursive_call_during_init_does_not_deadlock() {
    let d = scratch("recursion");
    lib_a(&d, "init_recursion.py");
    let host = build_host(&d, "host_add.c", &["fix_a"]);
    let (out, err, code) = run_host(&d, &host, &[]);
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        ("add=3\nadd=7\nrecursive call: 21\n", "", 0)
    );
}

#[test]
fn exit_flushes_python_output_files_and_runs_atexit() {
    let d = scratch("exit");
    lib_a(&d, "init_exit.py");
    let host = build_host(&d, "host_add.c", &["fix_a"]);
    let (out, err, code) = run_host(&d, &host, &[]);
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        (
            "add=3\nadd=7\npython add 1 2\npython add 3 4\npython atexit ran\n",
            "",
            0
        )
    );
    assert_eq!(
        std::fs::read_to_string(d.join("run/unclosed.txt")).unwrap(),
        "data in an unclosed file\n"
    );
}

#[test]
fn exit_with_another_thread_inside_python_does_not_hang() {
    let d = scratch("exit_thread");
    lib_a(&d, "init_exit_thread.py");
    let host = build_host(&d, "host_exit_thread.c", &["fix_a"]);
    for (mode, n) in [("busy", 1), ("sleep", 2)] {
        let t = std::time::Instant::now();
        let (out, err, code) = run_host(&d, &host, &[mode]);
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{mode}: took {:?}",
            t.elapsed()
        );
        assert_eq!(
            (out.as_str(), err.as_str(), code),
            (
                format!("add=3\nmain returns\nspinning {n}\npython atexit ran\n").as_str(),
                "",
                0
            ),
            "{mode}"
        );
    }
}

#[test]
fn uses_the_build_venv_site_packages() {
    let d = scratch("venv");
    let venv = d.join("venv");
    run_ok(
        Command::new(python())
            .args(["-m", "venv", "--without-pip"])
            .arg(&venv),
    );
    let site = run_ok(Command::new(venv.join("bin/python")).args([
        "-c",
        "import sysconfig; print(sysconfig.get_paths()['purelib'])",
    ]));
    let site = String::from_utf8(site.stdout).unwrap();
    std::fs::write(
        Path::new(site.trim()).join("venvmarker.py"),
        "MARK = 'from the venv'\n",
    )
    .unwrap();
    let exe = venv.join("bin/python").display().to_string();
    build_lib(
        &d,
        &LibSpec {
            module: "fix_a",
            init: &fixture_init("init_venv.py"),
            exe: Some(&exe),
        },
    );
    let host = build_host(&d, "host_add.c", &["fix_a"]);
    let (out, err, code) = run_host(&d, &host, &[]);
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        (
            "add=3\nadd=7\nvenv marker: from the venv\nprefix is venv: True\n",
            "",
            0
        )
    );
}

#[test]
fn importable_from_a_running_python() {
    let d = scratch("pyhost");
    let lib = lib_a(&d, "init_basic.py");
    // A running Python imports it by module name.
    std::fs::copy(&lib, d.join("lib/fix_a.so")).unwrap();
    let mut cmd = Command::new(python());
    cmd.arg(crate_dir().join("tests/fixtures/pyhost.py"))
        .arg(d.join("lib"));
    let out = host_env(&mut cmd, true)
        .current_dir(d.join("run"))
        .output()
        .unwrap();
    let (o, e) = (
        normalize(&String::from_utf8_lossy(&out.stdout)),
        normalize(&String::from_utf8_lossy(&out.stderr)),
    );
    assert_eq!(
        o,
        "error: ffi.def_extern('<lambda>'): no 'extern \"Python\"' function with this name\n\
         init done\n\
         5\n\
         42 False b'y'\n\
         <cdata 'int(*)(int, int)' 0xADDR>\n\
         TypeError: 'int(*)(int, int)' expects 2 arguments, got 1\n\
         OverflowError: integer 2147483648 does not fit 'int'\n\
         AttributeError: cembed library 'fix_a' has no function, constant or global variable named 'nope'\n\
         -4611686018427387904 -1\n\
         OverflowError: can't convert negative number to unsigned\n\
         OverflowError: int too big to convert\n\
         OverflowError: integer 2 does not fit '_Bool'\n\
         TypeError: an integer is required\n\
         TypeError: initializer for ctype 'char' must be a bytes of length 1, not str\n\
         TypeError: initializer for ctype 'wchar_t' must be a unicode string of length 1, not unicode string of length 2\n\
         python atexit ran\n",
        "stderr: {e}"
    );
    assert_eq!(e, "");
}

#[test]
fn short_lived_threads_release_their_thread_state() {
    let d = scratch("many_threads");
    lib_a(&d, "init_add.py");
    let host = build_host(&d, "host_many_threads.c", &["fix_a"]);
    let (out, err, code) = run_host(&d, &host, &["3000"]);
    if asan() {
        // ASan keeps freed memory in quarantine: the host's RSS report says
        // nothing then, but any invalid access would be reported.
        assert!(code == 0 && !err.contains("AddressSanitizer"), "{out}{err}");
    } else {
        assert_eq!((out.as_str(), err.as_str(), code), ("flat\n", "", 0));
    }
}

/// The sanitizer run's own check: a heap overflow made through the runtime
/// (`ffi.memmove` past the end of an `ffi.new` array) is reported, and the
/// host stops with ASan's exit code. Without `CEMBED_ASAN=1` the overflow
/// would corrupt the heap silently, so the test only runs under ASan.
#[test]
fn asan_reports_a_heap_overflow_made_through_the_runtime() {
    if !asan() {
        return;
    }
    let d = scratch("asan_canary");
    lib_a(&d, "init_overflow.py");
    let host = build_host(&d, "host_add.c", &["fix_a"]);
    let (out, err, code) = run_host(&d, &host, &[]);
    assert_eq!(code, 99, "stdout: {out}\nstderr: {err}");
    assert!(
        err.contains("ERROR: AddressSanitizer: heap-buffer-overflow"),
        "{err}"
    );
}

#[test]
fn python_host_exits_with_a_daemon_thread_inside_a_call() {
    let d = scratch("pyhost_daemon");
    let lib = lib_a(&d, "init_daemon.py");
    std::fs::copy(&lib, d.join("lib/fix_a.so")).unwrap();
    for run in 0..3 {
        let mut cmd = Command::new(python());
        cmd.arg(crate_dir().join("tests/fixtures/pyhost_daemon.py"))
            .arg(d.join("lib"));
        let out = host_env(&mut cmd, true)
            .current_dir(d.join("run"))
            .output()
            .unwrap();
        assert_eq!(
            (
                String::from_utf8_lossy(&out.stdout).as_ref(),
                String::from_utf8_lossy(&out.stderr).as_ref(),
                out.status.code()
            ),
            ("3\nping 3\nmain exits\n", "", Some(0)),
            "run {run}"
        );
    }
}
