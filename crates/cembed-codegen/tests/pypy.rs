//! The PyPy target (`Target::PyPy`) on every input of `tests/inputs/` (the
//! snapshot tests' inputs): the generated C compiles with `gcc -Wall -Werror`
//! and links into a shared object with `NAME.c` as the set_source() code, and
//! its name-keyed tables are in byte order (PyPy bisects them). What the tables
//! mean is tested end to end under PyPy (tests/test_pypy.py, the data-model
//! suite against cffi on PyPy).

use std::path::{Path, PathBuf};
use std::process::Command;

use cembed_cdef::{parse_program, Source, SourceKind};
use cembed_codegen::{generate_c, BuildInfo, Options, Target};

fn inputs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inputs")
}

fn build_info() -> BuildInfo {
    BuildInfo {
        python_version: "3.9".into(),
        python_executable: "/venv/bin/pypy3".into(),
        libpython: "/usr/lib/x86_64-linux-gnu/libpypy3.9-c.so".into(),
        runtime: String::new(),
        cembed_version: "0.1.0".into(),
        target: Target::PyPy,
        site_packages: vec!["/venv/lib/pypy3.9/site-packages".into()],
    }
}

/// `NAME.h` split at `/* cembed: cdef */` / `/* cembed: embedding_api */`
/// lines, as the snapshot tests read it.
fn sources(stem: &str, text: &str) -> Vec<Source> {
    let mut out = Vec::new();
    let mut kind = SourceKind::EmbeddingApi;
    let mut cur = String::new();
    let push = |kind: SourceKind, cur: &mut String, out: &mut Vec<Source>| {
        if !cur.trim().is_empty() {
            out.push(Source {
                override_: false,
                pack: None,
                name: format!("{stem}.h"),
                text: std::mem::take(cur),
                kind,
            });
        }
        cur.clear();
    };
    for line in text.split_inclusive('\n') {
        match line.trim() {
            "/* cembed: cdef */" => {
                push(kind, &mut cur, &mut out);
                kind = SourceKind::Cdef;
            }
            "/* cembed: embedding_api */" => {
                push(kind, &mut cur, &mut out);
                kind = SourceKind::EmbeddingApi;
            }
            _ => cur.push_str(line),
        }
    }
    push(kind, &mut cur, &mut out);
    out
}

fn generate(stem: &str) -> String {
    let dir = inputs_dir();
    let text = std::fs::read_to_string(dir.join(format!("{stem}.h"))).unwrap();
    let c_code = std::fs::read_to_string(dir.join(format!("{stem}.c"))).unwrap();
    let init = std::fs::read_to_string(dir.join(format!("{stem}.py"))).ok();
    let srcs = sources(stem, &text);
    let program = parse_program(&srcs).unwrap_or_else(|d| panic!("{}", d.render(&srcs)));
    let bi = build_info();
    let c_code_name = format!("inputs/{stem}.c");
    let opts = Options {
        module_name: stem,
        c_code: Some(&c_code),
        c_code_name: &c_code_name,
        c_file_name: None,
        init_code: init.as_deref(),
        build: &bi,
        ..Options::new(stem, &bi)
    };
    generate_c(&program, &opts)
}

fn compile(stem: &str, c: &str) -> Result<(), String> {
    let d = std::env::temp_dir().join(format!("cembed-pypy-{}-{stem}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let src = d.join(format!("{stem}.c"));
    std::fs::write(&src, c).unwrap();
    let out = Command::new("gcc")
        .args(["-Wall", "-Werror", "-shared", "-fPIC", "-o"])
        .arg(d.join(format!("lib{stem}.so")))
        .arg(&src)
        .args(["-ldl", "-lpthread"])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&d).ok();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The quoted names of the rows of table `table`, in order.
fn table_names(c: &str, table: &str) -> Vec<String> {
    let start = c
        .find(&format!("{table}[] = {{"))
        .unwrap_or_else(|| panic!("no table {table}"));
    let body = &c[start..];
    let body = &body[..body.find("};").unwrap()];
    body.lines()
        .skip(1)
        .filter_map(|l| {
            let l = l.trim_start().strip_prefix("{ \"")?;
            Some(l[..l.find('"')?].to_string())
        })
        .collect()
}

#[test]
fn every_input_compiles_for_pypy_with_sorted_tables() {
    let mut stems: Vec<String> = std::fs::read_dir(inputs_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "h").then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    stems.sort();
    assert!(stems.len() >= 10, "{stems:?}");
    let mut failures = Vec::new();
    for stem in &stems {
        let c = generate(stem);
        if let Err(e) = compile(stem, &c) {
            failures.push(format!("{stem}:\n{e}"));
            continue;
        }
        for table in [
            "_cembed_pypy_globals",
            "_cembed_pypy_struct_unions",
            "_cembed_pypy_enums",
            "_cembed_pypy_typenames",
        ] {
            let names = table_names(&c, table);
            let mut sorted = names.clone();
            sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            assert_eq!(names, sorted, "{stem}: {table} is not in byte order");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
