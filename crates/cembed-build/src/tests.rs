use super::*;
use crate::compiler::{Compiler, LinkJob};
use crate::request::BuildOptions;
use std::fs;

/// A fresh directory under the system temp dir, removed at the end.
struct Scratch(PathBuf);
impl Scratch {
    fn new(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!(
            "cembed-build-test-{name}-{}",
            compiler::unique_suffix()
        ));
        fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
}
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn response(json: &str) -> serde_json::Value {
    serde_json::from_str(&run_json(json)).unwrap()
}

#[test]
fn malformed_requests_are_usage_errors() {
    let r = response("{not json");
    assert_eq!(r["ok"], false);
    assert_eq!(r["kind"], "usage");
    assert!(r["message"]
        .as_str()
        .unwrap()
        .starts_with("malformed build request"));

    // A typo in a field name is reported, not ignored.
    let r = response(r#"{"action": "check", "module_name": "m", "sourcez": []}"#);
    assert_eq!(r["kind"], "usage");
    assert!(r["message"].as_str().unwrap().contains("sourcez"), "{r}");

    let r = response(r#"{"action": "explode", "module_name": "m"}"#);
    assert_eq!(r["kind"], "usage");
}

#[test]
fn bad_module_names_are_refused() {
    let r = response(r#"{"action": "check", "module_name": "my/plugin"}"#);
    assert_eq!(r["kind"], "usage");
    assert!(r["message"]
        .as_str()
        .unwrap()
        .contains("must not contain '/'"));
}

#[test]
fn compile_needs_python_facts() {
    let r = response(r#"{"action": "compile", "module_name": "m"}"#);
    assert_eq!(r["ok"], false);
    assert!(r["message"].as_str().unwrap().contains("\"python\""), "{r}");
}

#[test]
fn request_round_trips() {
    let json = r##"{"action": "compile", "module_name": "my_plugin",
        "sources": [{"kind": "embedding_api", "text": "int f(int);", "origin": "b.py:3", "packed": false, "override": false}],
        "c_code": "#include \"plugin.h\"",
        "options": {"libraries": ["m"], "define_macros": [["A", "1"], ["B", null]]},
        "init_code": "pass", "init_origin": "b.py:9",
        "python": {"version": "3.11", "executable": "/v/bin/python", "libpython": null,
                   "runtime": "/r.so", "cembed_version": "0.1.0"},
        "tmpdir": "/tmp", "target": "plugin-1.5.*", "c_path": null, "verbose": true, "debug": false}"##;
    let req: BuildRequest = serde_json::from_str(json).unwrap();
    assert_eq!(req.action, Action::Compile);
    assert_eq!(req.sources[0].kind, request::SourceKind::EmbeddingApi);
    assert_eq!(
        req.options.define_macros,
        vec![
            ("A".to_string(), Some("1".to_string())),
            ("B".to_string(), None)
        ]
    );
    let again: BuildRequest = serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
    assert_eq!(req, again);
}

fn library_job(
    dir: &Path,
    c: &str,
    options: &BuildOptions,
) -> (Result<(), BuildError>, Vec<String>) {
    let c_file = dir.join("m.c");
    fs::write(&c_file, c).unwrap();
    let library = dir.join("out").join("libm_test.so");
    let mut log = Vec::new();
    let r = Compiler::detect(false).build(
        &LinkJob {
            cwd: dir,
            c_file: &c_file,
            options,
            library: &library,
            // Hand-written C: the file alone, as the tests below count.
            generated: false,
        },
        &mut log,
        &mut Vec::new(),
    );
    (r, log)
}

#[test]
fn compiles_and_links_a_shared_library() {
    let s = Scratch::new("ok");
    fs::write(s.0.join("extra.c"), "int extra(void) { return 7; }\n").unwrap();
    let opts = BuildOptions {
        // Relative paths resolve against the build directory, as in CFFI.
        sources: vec!["extra.c".into()],
        define_macros: vec![("ANSWER".into(), Some("42".into()))],
        libraries: vec!["m".into()],
        runtime_library_dirs: vec!["/opt/x".into()],
        ..Default::default()
    };
    let (r, log) = library_job(
        &s.0,
        "#include <math.h>\nint extra(void);\nint f(void) { return ANSWER + extra() + (int)sqrt(4.0); }\n",
        &opts,
    );
    r.unwrap();
    let lib = s.0.join("out/libm_test.so");
    assert!(lib.exists());
    // Every command is logged: two compiles and one link.
    assert_eq!(
        log.iter().filter(|l| l.contains(" -c ")).count(),
        2,
        "{log:#?}"
    );
    let link = log.iter().find(|l| l.contains("-shared")).unwrap();
    for part in [
        "-lm",
        "-Wl,-rpath,/opt/x",
        "-ldl",
        "-lpthread",
        "-fPIC",
        "-Wl,-soname,libm_test.so",
    ] {
        assert!(link.contains(part), "{part} missing from {link}");
    }
    // No temporary files or object directories are left behind.
    let leftovers: Vec<_> = fs::read_dir(&s.0)
        .unwrap()
        .chain(fs::read_dir(s.0.join("out")).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The symbol is really there: nm lists it.
    let nm = std::process::Command::new("nm")
        .arg("-D")
        .arg(&lib)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&nm.stdout).contains(" T f\n"));
}

#[test]
fn a_compile_error_shows_the_compiler_message_and_leaves_no_library() {
    let s = Scratch::new("err");
    let (r, _log) = library_job(
        &s.0,
        "int f(void) { return undeclared_thing; }\n",
        &Default::default(),
    );
    let e = r.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Compile);
    assert!(e.message.contains("undeclared_thing"), "{}", e.message);
    assert!(e.message.contains("m.c:1"), "{}", e.message);
    assert!(!s.0.join("out/libm_test.so").exists());
    let left: Vec<_> = fs::read_dir(s.0.join("out")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_link_error_leaves_no_library() {
    let s = Scratch::new("linkerr");
    let opts = BuildOptions {
        libraries: vec!["does_not_exist_cembed".into()],
        ..Default::default()
    };
    let (r, _) = library_job(&s.0, "int f(void) { return 1; }\n", &opts);
    let e = r.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Compile);
    assert!(e.message.contains("does_not_exist_cembed"), "{}", e.message);
    // The generated file alone is compiled and linked by one command.
    assert!(e.message.starts_with("building "), "{}", e.message);
    assert!(fs::read_dir(s.0.join("out")).unwrap().next().is_none());

    // With an extra source, the link is its own command, and named so.
    fs::write(s.0.join("extra.c"), "int extra(void) { return 7; }\n").unwrap();
    let opts = BuildOptions {
        sources: vec!["extra.c".into()],
        ..opts
    };
    let (r, log) = library_job(&s.0, "int f(void) { return 1; }\n", &opts);
    let e = r.unwrap_err();
    assert!(e.message.starts_with("linking "), "{}", e.message);
    assert_eq!(log.len(), 3, "two compiles and the link: {log:#?}");
    assert!(fs::read_dir(s.0.join("out")).unwrap().next().is_none());
}

#[test]
fn the_generated_file_alone_is_built_by_one_command() {
    let s = Scratch::new("one");
    let opts = BuildOptions {
        define_macros: vec![("ANSWER".into(), Some("42".into()))],
        extra_compile_args: vec!["-DEXTRA=1".into()],
        ..Default::default()
    };
    let (r, log) = library_job(
        &s.0,
        "#if !EXTRA\n#error extra_compile_args ignored\n#endif\nint f(void) { return ANSWER; }\n",
        &opts,
    );
    r.unwrap();
    assert_eq!(log.len(), 1, "{log:#?}");
    for part in ["-shared", "-fPIC", "-pipe", "-DANSWER=42", "-ldl", "m.c"] {
        assert!(log[0].contains(part), "{part} missing from {}", log[0]);
    }
    assert!(!log[0].contains(" -c "), "{}", log[0]);
    assert!(s.0.join("out/libm_test.so").exists());
    let leftovers: Vec<_> = fs::read_dir(&s.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn consumer_header_never_clobbers_a_users_file() {
    let s = Scratch::new("hdr");
    let mut log = Vec::new();
    let h = s.0.join("plugin.h");

    // The set_source code includes "plugin.h": never written, even if absent.
    let r = write_consumer_header(
        &h,
        "int f(void);\n",
        Some("#include \"plugin.h\"\n"),
        false,
        &mut log,
    );
    assert_eq!(r.unwrap(), None);
    assert!(!h.exists());

    // A user's file of that name is kept.
    fs::write(&h, "/* mine */\n").unwrap();
    assert_eq!(
        write_consumer_header(&h, "int f(void);\n", None, false, &mut log).unwrap(),
        None
    );
    assert_eq!(fs::read_to_string(&h).unwrap(), "/* mine */\n");
    assert!(log.last().unwrap().contains("not written by cembed"));

    // Our own header is rewritten.
    fs::remove_file(&h).unwrap();
    assert_eq!(
        write_consumer_header(&h, "int f(void);\n", None, false, &mut log).unwrap(),
        Some(h.clone())
    );
    assert_eq!(
        write_consumer_header(&h, "int g(void);\n", None, false, &mut log).unwrap(),
        Some(h.clone())
    );
    let text = fs::read_to_string(&h).unwrap();
    assert!(
        text.starts_with(HEADER_MARKER) && text.ends_with("int g(void);\n"),
        "{text}"
    );
}

/// `int add(int, int);` in embedding_api, built by hand (the parser's job).
fn add_program() -> cembed_model::Program {
    use cembed_model::*;
    let mut p = Program::new();
    let int = p.prim("int", PrimClass::SignedInt);
    let f = p.intern(Type::Function {
        result: int,
        params: vec![int, int],
        variadic: false,
    });
    p.decls.push(Decl::Function {
        name: "add".into(),
        ty: f,
        kind: FuncKind::Exported,
        span: Span::default(),
    });
    p
}

fn compile_request(tmpdir: &Path, c_code: &str, target: Option<&str>) -> BuildRequest {
    BuildRequest {
        action: Action::Compile,
        module_name: "pkg.adder".into(),
        sources: vec![],
        c_code: Some(c_code.into()),
        c_origin: Some("build.py:7".into()),
        options: Default::default(),
        init_code: Some("from pkg.adder import ffi\n".into()),
        init_origin: Some("build.py:9".into()),
        isolation: None,
        isolation_size: None,
        python: Some(request::PythonFacts {
            version: "3.11".into(),
            executable: "/usr/bin/python3".into(),
            libpython: Some("/usr/lib/libpython3.11.so.1.0".into()),
            runtime: "/nowhere/_runtime.so".into(),
            cembed_version: "0.1.0".into(),
            implementation: Default::default(),
            site_packages: Vec::new(),
        }),
        tmpdir: tmpdir.to_string_lossy().into_owned(),
        target: target.map(str::to_string),
        c_path: None,
        header_path: None,
        verbose: true,
        debug: false,
    }
}

#[test]
fn compiles_generated_c_into_a_library_with_its_header() {
    let s = Scratch::new("gen");
    let req = compile_request(&s.0, "int helper(void) { return 1; }\n", Some("libadder.*"));
    let mut log = Vec::new();
    let out = compile_program(&req, &add_program(), &mut log).unwrap();
    let warnings = out.warnings.clone();
    // CFFI's placement for a dotted module: tmpdir/pkg/<target>.
    assert_eq!(
        out.path.as_deref(),
        Some(s.0.join("pkg/libadder.so").as_path())
    );
    assert!(s.0.join("pkg/adder.c").exists());
    let header = out.header.unwrap();
    assert_eq!(header, s.0.join("pkg/adder.h"));
    let h = fs::read_to_string(&header).unwrap();
    assert!(h.starts_with(HEADER_MARKER) && h.contains("add("), "{h}");
    let nm = std::process::Command::new("nm")
        .arg("-D")
        .arg(out.path.unwrap())
        .output()
        .unwrap();
    let syms = String::from_utf8_lossy(&nm.stdout);
    assert!(syms.contains(" T add\n"), "{syms}");
    assert!(syms.contains(" T PyInit_adder\n"), "{syms}");
    assert!(log.iter().any(|l| l.contains("-shared")), "{log:#?}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn compiler_warnings_are_reported() {
    let s = Scratch::new("warn");
    let req = compile_request(&s.0, "static int unused_helper(void) { return 1; }\n", None);
    let out = compile_program(&req, &add_program(), &mut Vec::new()).unwrap();
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    let w = &out.warnings[0];
    assert!(
        w.contains("unused_helper") && w.contains("build.py:7:"),
        "{w}"
    );
}

#[test]
fn an_error_in_set_source_code_names_the_build_script() {
    let s = Scratch::new("generr");
    let req = compile_request(&s.0, "int broken(void) { return nope; }\n", None);
    let e = compile_program(&req, &add_program(), &mut Vec::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Compile);
    // set_source() was called on line 7 of build.py: the error is there.
    assert!(e.message.contains("build.py:7:27: error:"), "{}", e.message);
    // gcc's own words, in the user's locale (quotes are typographic in a
    // UTF-8 one).
    assert!(
        e.message.contains("nope") && e.message.contains("undeclared"),
        "{}",
        e.message
    );
    assert!(!s.0.join("pkg/pkg.adder.so").exists());
}

#[test]
fn check_points_a_declaration_error_at_the_build_script() {
    let r = response(
        r#"{"action": "check", "module_name": "m", "sources": [
            {"kind": "embedding_api", "text": "int ok(int);", "origin": "build.py:3"},
            {"kind": "embedding_api", "text": "\n    int f(unknown_t x);\n", "origin": "build.py:4"}]}"#,
    );
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["kind"], "cdef");
    let m = r["message"].as_str().unwrap();
    // Line 2 of the second source is line 5 of build.py; column 11.
    assert!(m.contains("build.py:5:11"), "{m}");
    assert!(m.contains("int f(unknown_t x);"), "{m}");
    assert!(m.contains('^'), "{m}");

    let ok = response(
        r#"{"action": "check", "module_name": "m", "sources": [
            {"kind": "embedding_api", "text": "typedef struct { int x, y; } point_t; int do_stuff(point_t *);", "origin": "b.py:1"}]}"#,
    );
    assert_eq!(ok["ok"], true, "{ok}");
}

#[test]
fn packing_is_accepted() {
    // packed=True / pack=N only change the layout the cdef declares (the
    // shadow struct of the layout checks); the real one is the compiler's.
    for pack in [r#""packed": true"#, r#""pack": 2"#] {
        let r = response(&format!(
            r#"{{"action": "check", "module_name": "m", "sources": [
            {{"kind": "cdef", "text": "struct s {{ char c; int i; }};", "origin": "build.py:3", {pack}}}]}}"#
        ));
        assert_eq!(r["ok"], true, "{r}");
    }
}

/// An `action` request for `python` (`"3.12"`, `"pypy 3.9"`) with isolation
/// `mode` and `size`, as JSON text, building into `tmpdir`.
fn isolation_request(
    action: &str,
    tmpdir: &Path,
    python: &str,
    mode: Option<&str>,
    size: Option<i64>,
) -> String {
    let (implementation, version, executable) = match python.strip_prefix("pypy ") {
        Some(v) => ("pypy", v, "/venv/bin/pypy3"),
        None => ("cpython", python, "/venv/bin/python"),
    };
    let mut request = serde_json::json!({
        "action": action,
        "module_name": "plugin",
        "sources": [{"kind": "embedding_api", "text": "int add(int, int);", "origin": "build.py:3"}],
        "c_code": "",
        "init_code": "pass\n",
        "isolation": mode,
        "isolation_size": size,
        "python": {"version": version, "executable": executable,
                   "libpython": "/usr/lib/libpython.so.1.0", "runtime": "/nowhere/_runtime.so",
                   "cembed_version": "0.1.0", "implementation": implementation},
        "tmpdir": tmpdir.to_string_lossy(),
        "target": "libplugin.*",
        "c_path": tmpdir.join("plugin.c").to_string_lossy(),
    });
    if action == "check" {
        // As the Python builder sends it: a check has no Python facts.
        request["python"] = serde_json::Value::Null;
    }
    request.to_string()
}

/// The names of the files in `dir`.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn isolation_modes_and_sizes_are_checked() {
    use cembed_abi::Isolation;
    use request::isolation_from;
    assert_eq!(isolation_from(None, None), Ok((Isolation::Shared, 0)));
    assert_eq!(
        isolation_from(Some("shared"), None),
        Ok((Isolation::Shared, 0))
    );
    assert_eq!(
        isolation_from(Some("isolated"), None),
        Ok((Isolation::Isolated, 0))
    );
    assert_eq!(isolation_from(Some("pool"), None), Ok((Isolation::Pool, 0)));
    assert_eq!(
        isolation_from(Some("pool"), Some(4)),
        Ok((Isolation::Pool, 4))
    );
    let err = |mode, size| isolation_from(mode, size).unwrap_err();
    let e = err(Some("Pool"), None);
    assert_eq!(e.kind, ErrorKind::Usage);
    assert_eq!(
        e.message,
        r#"unknown isolation mode "Pool": the modes are "shared" (the default), "isolated" and "pool""#
    );
    assert_eq!(
        err(Some(""), None).message,
        r#"unknown isolation mode "": the modes are "shared" (the default), "isolated" and "pool""#
    );
    assert_eq!(
        err(Some("pool"), Some(0)).message,
        "the pool size must be at least 1 (got 0); leave it out for the number of CPUs"
    );
    assert_eq!(
        err(Some("isolated"), Some(4)).message,
        r#"isolation "isolated" takes no size (got 4): only "pool" has one"#
    );
    assert_eq!(
        err(None, Some(2)).message,
        r#"isolation "shared" takes no size (got 2): only "pool" has one"#
    );
}

#[test]
fn the_clis_isolation_argument_is_parsed_and_checked() {
    use request::parse_isolation_arg as parse;
    assert_eq!(parse("shared"), Ok(("shared".into(), None)));
    assert_eq!(parse("isolated"), Ok(("isolated".into(), None)));
    assert_eq!(parse("pool"), Ok(("pool".into(), None)));
    assert_eq!(parse("pool:4"), Ok(("pool".into(), Some(4))));
    assert_eq!(
        parse("pool:0").unwrap_err(),
        "the pool size must be at least 1 (got 0); leave it out for the number of CPUs"
    );
    assert_eq!(
        parse("pool:x").unwrap_err(),
        r#"bad size "x" in "pool:x": the size is a positive integer (pool:4)"#
    );
    assert_eq!(
        parse("pool:").unwrap_err(),
        r#"bad size "" in "pool:": the size is a positive integer (pool:4)"#
    );
    assert_eq!(
        parse("pool:-1").unwrap_err(),
        r#"bad size "-1" in "pool:-1": the size is a positive integer (pool:4)"#
    );
    assert_eq!(
        parse("isolated:4").unwrap_err(),
        r#"isolation "isolated" takes no size (got 4): only "pool" has one"#
    );
    assert!(parse("subinterpreter")
        .unwrap_err()
        .starts_with(r#"unknown isolation mode "subinterpreter": "#));
}

#[test]
fn isolation_errors_in_a_request_are_usage_errors() {
    let s = Scratch::new("iso-req");
    for (mode, size, message) in [
        (
            Some("own-gil"),
            None,
            r#"unknown isolation mode "own-gil": the modes are "shared" (the default), "isolated" and "pool""#,
        ),
        (
            Some("pool"),
            Some(0),
            "the pool size must be at least 1 (got 0); leave it out for the number of CPUs",
        ),
        (
            Some("isolated"),
            Some(3),
            r#"isolation "isolated" takes no size (got 3): only "pool" has one"#,
        ),
    ] {
        for action in ["check", "emit_c", "compile"] {
            let r = response(&isolation_request(action, &s.0, "3.12", mode, size));
            assert_eq!(r["ok"], false, "{r}");
            assert_eq!(r["kind"], "usage", "{r}");
            assert_eq!(r["message"], message, "{action}: {r}");
        }
    }
    // A negative or huge size is not a u32: the request is malformed.
    let r = response(&isolation_request(
        "check",
        &s.0,
        "3.12",
        Some("pool"),
        Some(-1),
    ));
    assert_eq!(r["kind"], "usage", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .starts_with("malformed build request: "),
        "{r}"
    );
    assert!(files_in(&s.0).is_empty(), "{:?}", files_in(&s.0));
}

#[test]
fn isolation_needs_cpython_3_12_and_leaves_nothing_behind() {
    let s = Scratch::new("iso-old");
    for (python, mode) in [("3.11", "isolated"), ("3.9", "pool"), ("2.7", "isolated")] {
        for action in ["emit_c", "compile"] {
            let r = response(&isolation_request(action, &s.0, python, Some(mode), None));
            assert_eq!(r["ok"], false, "{r}");
            assert_eq!(r["kind"], "usage");
            assert_eq!(
                r["message"],
                format!(
                    "isolation \"{mode}\" needs CPython 3.12 or newer (PEP 684: subinterpreters \
                     with their own GIL), but the build Python /venv/bin/python is {python}; \
                     build with Python 3.12+, or use isolation \"shared\" (the default), \
                     which works with every Python"
                ),
                "{r}"
            );
        }
    }
    let r = response(&isolation_request(
        "compile",
        &s.0,
        "pypy 3.9",
        Some("pool"),
        Some(2),
    ));
    assert_eq!(r["kind"], "usage", "{r}");
    assert_eq!(
        r["message"],
        "isolation \"pool\" is not available on PyPy (the build Python /venv/bin/pypy3 is PyPy 3.9): \
         PyPy has no subinterpreters; build with CPython 3.12 or newer, or use isolation \"shared\" \
         (the default), which works with every Python"
    );
    let r = response(&isolation_request(
        "emit_c",
        &s.0,
        "3",
        Some("isolated"),
        None,
    ));
    assert_eq!(
        r["message"],
        "isolation \"isolated\" needs CPython 3.12 or newer, and the build Python \
         /venv/bin/python gives no readable version (\"3\")"
    );
    // Nothing was written: no C file, no library, no header.
    assert!(files_in(&s.0).is_empty(), "{:?}", files_in(&s.0));
    // "shared" works everywhere, named or not; a check request (no Python
    // facts) has only the mode to judge.
    for (python, mode) in [("3.9", Some("shared")), ("pypy 3.9", None), ("3.11", None)] {
        let r = response(&isolation_request("emit_c", &s.0, python, mode, None));
        assert_eq!(r["ok"], true, "{python}: {r}");
    }
    let r = response(&isolation_request("check", &s.0, "3.9", Some("pool"), None));
    assert_eq!(r["ok"], true, "{r}");
}

#[test]
fn isolation_is_emitted_for_cpython_3_12_and_later() {
    let s = Scratch::new("iso-new");
    for (python, mode, size, line) in [
        (
            "3.12",
            Some("pool"),
            Some(4),
            ".isolation = CEMBED_ISOLATION_POOL, .pool_size = 4,",
        ),
        (
            "3.13",
            Some("pool"),
            None,
            ".isolation = CEMBED_ISOLATION_POOL, .pool_size = 0,",
        ),
        (
            "3.12",
            Some("isolated"),
            None,
            ".isolation = CEMBED_ISOLATION_ISOLATED, .pool_size = 0,",
        ),
        (
            "3.14",
            Some("isolated"),
            None,
            ".isolation = CEMBED_ISOLATION_ISOLATED, .pool_size = 0,",
        ),
        (
            "3.12.1",
            Some("isolated"),
            None,
            ".isolation = CEMBED_ISOLATION_ISOLATED, .pool_size = 0,",
        ),
        (
            "4.0",
            Some("pool"),
            Some(1),
            ".isolation = CEMBED_ISOLATION_POOL, .pool_size = 1,",
        ),
        (
            "3.10",
            Some("shared"),
            None,
            ".isolation = CEMBED_ISOLATION_SHARED, .pool_size = 0,",
        ),
        (
            "3.10",
            None,
            None,
            ".isolation = CEMBED_ISOLATION_SHARED, .pool_size = 0,",
        ),
    ] {
        let r = response(&isolation_request("emit_c", &s.0, python, mode, size));
        assert_eq!(r["ok"], true, "{r}");
        let c = fs::read_to_string(s.0.join("plugin.c")).unwrap();
        assert_eq!(
            c.lines().filter(|l| l.trim() == line).count(),
            1,
            "{python} {mode:?} {size:?}: no {line}"
        );
    }
}
