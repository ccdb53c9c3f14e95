//! One test per `tests/inputs/NAME.h`: parse it (with the real parser),
//! generate the library's C and the consumer header, and check
//!
//! * the generated C against its snapshot (`snapshots/snapshots__NAME.c.snap`,
//!   the pasted ABI header and glue replaced by a marker line);
//! * that it compiles with `gcc -Wall -Werror -c` and links into a shared
//!   object with `-shared -fPIC -ldl -lpthread`, with `NAME.c` as the
//!   set_source() code;
//! * the tables the runtime will read, as printed by a program built from the
//!   generated C plus `dump_tables.c` (sizes, offsets, enum and constant
//!   values, bitfield masks, calls through the thunks), against a snapshot;
//! * the consumer header against its snapshot, and that it compiles as C and
//!   as C++ when it is self-contained.
//!
//! Input format: `NAME.h` is embedding_api() text; a line
//! `/* cembed: cdef */` starts a cdef() source (and `/* cembed:
//! embedding_api */` another embedding_api() one). `NAME.c` is the
//! set_source() code, `NAME.py` (optional) the init code.

use std::path::{Path, PathBuf};
use std::process::Command;

use cembed_cdef::{parse_program, Source, SourceKind};
use cembed_codegen::{generate_c, generate_header, BuildInfo, Options};

fn inputs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inputs")
}

fn build_info() -> BuildInfo {
    BuildInfo {
        python_version: "3.11".into(),
        python_executable: "/venv/bin/python".into(),
        libpython: "/usr/lib/libpython3.11.so.1.0".into(),
        runtime: "/venv/lib/python3.11/site-packages/cembed/_runtime.so".into(),
        cembed_version: "0.1.0".into(),
        ..Default::default()
    }
}

fn sources(stem: &str, text: &str) -> Vec<Source> {
    let mut out = Vec::new();
    let mut kind = SourceKind::EmbeddingApi;
    let mut cur = String::new();
    let mut n = 0;
    let mut flush = |kind: SourceKind, cur: &mut String, out: &mut Vec<Source>| {
        if !cur.trim().is_empty() {
            n += 1;
            out.push(Source {
                override_: false,
                pack: None,
                name: format!("{stem}.h (source {n})"),
                text: std::mem::take(cur),
                kind,
            });
        }
        cur.clear();
    };
    for line in text.split_inclusive('\n') {
        match line.trim() {
            "/* cembed: cdef */" => {
                flush(kind, &mut cur, &mut out);
                kind = SourceKind::Cdef;
            }
            "/* cembed: embedding_api */" => {
                flush(kind, &mut cur, &mut out);
                kind = SourceKind::EmbeddingApi;
            }
            _ => cur.push_str(line),
        }
    }
    flush(kind, &mut cur, &mut out);
    out
}

struct Generated {
    c: String,
    header: String,
    c_code: String,
}

fn generate(stem: &str) -> Generated {
    let dir = inputs_dir();
    let text = std::fs::read_to_string(dir.join(format!("{stem}.h"))).unwrap();
    let c_code = std::fs::read_to_string(dir.join(format!("{stem}.c"))).unwrap();
    let init = std::fs::read_to_string(dir.join(format!("{stem}.py"))).ok();
    let srcs = sources(stem, &text);
    let program = parse_program(&srcs).unwrap_or_else(|d| panic!("{}", d.render(&srcs)));
    let bi = build_info();
    let c_code_name = format!("inputs/{stem}.c");
    let c_file_name = format!("{stem}.gen.c");
    let opts = Options {
        module_name: stem,
        c_code: Some(&c_code),
        c_code_name: &c_code_name,
        c_file_name: Some(&c_file_name),
        init_code: init.as_deref(),
        build: &bi,
        ..Options::new(stem, &bi)
    };
    let c = generate_c(&program, &opts);
    let header = generate_header(&program, stem);
    // Deterministic: a second run (new hash maps, new random seeds) gives the
    // same bytes.
    let again = parse_program(&srcs).unwrap();
    assert_eq!(
        generate_c(&again, &opts),
        c,
        "generated C differs between runs"
    );
    assert_eq!(generate_header(&again, stem), header);
    Generated { c, header, c_code }
}

/// The generated C with the three pasted headers (tested on their own in
/// cembed-abi) replaced by one marker line each.
fn redact(c: &str) -> String {
    let abi = cembed_abi::ABI_HEADER;
    let glue = cembed_abi::GLUE_HEADER;
    let layout = cembed_abi::LAYOUT_HEADER;
    assert!(
        c.contains(abi) && c.contains(glue) && c.contains(layout),
        "pasted headers missing"
    );
    c.replace(abi, "/* (cembed_abi.h pasted here) */\n")
        .replace(glue, "/* (cembed_glue.h pasted here) */\n")
        .replace(layout, "/* (cembed_layout.h pasted here) */\n")
}

fn workdir(stem: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cembed-codegen-snap-{}-{stem}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().expect("cannot run the C compiler");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn check_input(stem: &str) {
    let g = generate(stem);
    let d = workdir(stem);
    let c_path = d.join(format!("{stem}.gen.c"));
    std::fs::write(&c_path, &g.c).unwrap();

    // 1. The snapshot of the generated C.
    insta::assert_snapshot!(format!("{stem}.c"), redact(&g.c));

    // 2. It compiles warning-free and links into a shared object.
    let obj = d.join(format!("{stem}.o"));
    run(Command::new("gcc")
        .args(["-Wall", "-Werror", "-fPIC", "-c", "-o"])
        .arg(&obj)
        .arg(&c_path))
    .unwrap_or_else(|e| panic!("{e}"));
    let extra_checks: &[&[&str]] = &[
        // Optimisation enables more warnings; -Wextra is what careful users add.
        &["-Wextra", "-O2"],
        // The C wrappers that stand for the assembly entry stubs elsewhere
        // than x86-64 are warning-free too.
        &["-DCEMBED_NO_ASM_ENTRIES", "-Wextra", "-O2"],
        // Strict C11 too (not the GNU dialect: only __-prefixed extensions).
        &["-std=c11"],
        // The flags people build with (the generated C, not only the
        // user's code, must pass them).
        &["-Wextra", "-Wconversion", "-O2"],
        &["-DCEMBED_NO_ASM_ENTRIES", "-Wextra", "-Wconversion", "-O2"],
    ];
    for flags in extra_checks {
        run(Command::new("gcc")
            .args(*flags)
            .args(["-Wall", "-Werror", "-fPIC", "-c", "-o", "/dev/null"])
            .arg(&c_path))
        .unwrap_or_else(|e| panic!("{flags:?}: {e}"));
    }
    // clang as CC (./dev installs it for the tests).
    for flags in [&["-O0"][..], &["-O2", "-DCEMBED_NO_ASM_ENTRIES"][..]] {
        run(Command::new("clang")
            .args(flags)
            .args([
                "-Wall",
                "-Wextra",
                "-Wconversion",
                "-Werror",
                "-fPIC",
                "-c",
                "-o",
                "/dev/null",
            ])
            .arg(&c_path))
        .unwrap_or_else(|e| panic!("clang {flags:?}: {e}"));
    }
    run(Command::new("gcc")
        .args(["-shared", "-o"])
        .arg(d.join(format!("lib{stem}.so")))
        .arg(&obj)
        .args(["-ldl", "-lpthread"]))
    .unwrap_or_else(|e| panic!("{e}"));

    // 3. The tables, as the runtime will read them.
    let dump_src = d.join(format!("{stem}.dump.c"));
    let dump_main = include_str!("dump_tables.c");
    std::fs::write(
        &dump_src,
        format!("{}\n#line 1 \"dump_tables.c\"\n{dump_main}", g.c),
    )
    .unwrap();
    let exe = d.join(format!("{stem}.dump"));
    run(Command::new("gcc")
        .args(["-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(&dump_src)
        .args(["-ldl", "-lpthread"]))
    .unwrap_or_else(|e| panic!("{e}"));
    let tables = run(&mut Command::new(&exe)).unwrap_or_else(|e| panic!("{e}"));
    insta::assert_snapshot!(format!("{stem}.tables"), tables);

    // 4. The consumer header.
    insta::assert_snapshot!(format!("{stem}.h"), g.header);
    if !g.header.contains("include its real definition") {
        let h = d.join(format!("{stem}.h"));
        std::fs::write(&h, &g.header).unwrap();
        let user = d.join("use_header.c");
        std::fs::write(&user, format!("#include \"{stem}.h\"\n")).unwrap();
        run(Command::new("gcc")
            .args(["-Wall", "-Werror", "-fsyntax-only"])
            .arg(&user))
        .unwrap_or_else(|e| panic!("{e}"));
        run(Command::new("g++")
            .args(["-Wall", "-Werror", "-fsyntax-only", "-x", "c++"])
            .arg(&user))
        .unwrap_or_else(|e| panic!("{e}"));
        // The header agrees with the library's own C code (both declare the
        // same functions and types: a conflict is a compile error).
        let _ = &g.c_code;
    }
    std::fs::remove_dir_all(&d).ok();
}

macro_rules! inputs {
    ($($stem:ident),* $(,)?) => {
        $(
            #[test]
            fn $stem() {
                check_input(stringify!($stem));
            }
        )*

        /// Every input file has a test above.
        #[test]
        fn every_input_is_tested() {
            let known = [$(stringify!($stem)),*];
            for e in std::fs::read_dir(inputs_dir()).unwrap() {
                let p = e.unwrap().path();
                if p.extension().and_then(|x| x.to_str()) == Some("h") {
                    let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
                    assert!(known.contains(&stem.as_str()), "tests/inputs/{stem}.h has no test");
                }
            }
        }
    };
}

inputs!(
    primitives, pointers, records, bitfields, enums, funcptrs, globals, externs, variadic, plugin,
    partial,
);
