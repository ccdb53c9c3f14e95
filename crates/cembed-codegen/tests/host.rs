//! A C host program linked against a generated library through the consumer
//! header: the exported function is found, called, and when the runtime
//! cannot be loaded the call reports why on stderr and returns zero (the
//! host is never terminated). No Python is needed for this test.

use std::path::Path;
use std::process::Command;

use cembed_cdef::{parse_program, Source, SourceKind};
use cembed_codegen::{generate_c, generate_header, BuildInfo, Options};

#[test]
fn host_calls_exported_function_without_a_runtime() {
    let dir = std::env::temp_dir().join(format!("cembed-codegen-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let srcs = vec![Source {
        override_: false,
        pack: None,
        name: "embedding_api".into(),
        text: "typedef struct { int x, y; } point_t;\nint do_stuff(point_t *);\nint version;\n"
            .into(),
        kind: SourceKind::EmbeddingApi,
    }];
    let program = parse_program(&srcs).unwrap_or_else(|d| panic!("{}", d.render(&srcs)));
    let bi = BuildInfo {
        python_version: "3.11".into(),
        python_executable: "/nonexistent/bin/python".into(),
        libpython: "/nonexistent/libpython3.11.so.1.0".into(),
        runtime: "/nonexistent/_runtime.so".into(),
        cembed_version: "0.1.0".into(),
        ..Default::default()
    };
    let mut opts = Options::new("my_plugin", &bi);
    let c_code = "typedef struct { int x, y; } point_t;\nCFFI_DLLEXPORT int version = 15;\n";
    opts.c_code = Some(c_code);
    opts.init_code = Some("from my_plugin import ffi\n");
    std::fs::write(dir.join("my_plugin.c"), generate_c(&program, &opts)).unwrap();
    std::fs::write(
        dir.join("my_plugin.h"),
        generate_header(&program, "my_plugin"),
    )
    .unwrap();
    std::fs::write(
        dir.join("host.c"),
        r#"#include <errno.h>
#include <stdio.h>
#include "my_plugin.h"
int main(void)
{
    point_t p = { 30, 12 };
    int r;
    errno = 1234;
    r = do_stuff(&p);
    printf("do_stuff -> %d, errno %d, version %d\n", r, errno, version);
    r = do_stuff(&p);
    printf("again -> %d\n", r);
    return 0;
}
"#,
    )
    .unwrap();
    let gcc = |args: &[&str]| {
        let out = Command::new("gcc")
            .current_dir(&dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gcc {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    gcc(&[
        "-Wall",
        "-Werror",
        "-shared",
        "-fPIC",
        "-o",
        "libmy_plugin.so",
        "my_plugin.c",
        "-ldl",
        "-lpthread",
    ]);
    gcc(&[
        "-Wall",
        "-Werror",
        "-o",
        "host",
        "host.c",
        "-L.",
        "-lmy_plugin",
        "-Wl,-rpath,$ORIGIN",
    ]);
    let out = Command::new(Path::new(&dir).join("host")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "host failed: {stderr}");
    assert_eq!(
        stdout,
        "do_stuff -> 0, errno 1234, version 15\nagain -> 0\n"
    );
    // The loader's report: what failed, where it looked, the two fixes
    // (cembed_glue.h, "where Python comes from"); then one line per call.
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0],
        "cembed: library for module 'my_plugin': cannot find a Python to run in: \
         no cembed runtime for Python 3.11 found in the environment of /nonexistent/bin/python",
        "{stderr}"
    );
    assert_eq!(lines[1], "where the loader looked (first found wins):");
    assert!(
        stderr.contains("  build interpreter /nonexistent/bin/python: missing\n"),
        "{stderr}"
    );
    assert!(stderr.contains("\nfix it either way:\n"), "{stderr}");
    let n = lines.len();
    assert_eq!(
        lines[n - 2],
        "function do_stuff() called, but the Python runtime could not be loaded (see above).  Returning 0."
    );
    assert_eq!(lines[n - 1], lines[n - 2]);
    // The library exports the function, the global and PyInit, nothing of
    // cembed's own.
    let nm = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(dir.join("libmy_plugin.so"))
        .output()
        .unwrap();
    let syms = String::from_utf8_lossy(&nm.stdout);
    for s in ["do_stuff", "version", "PyInit_my_plugin"] {
        assert!(
            syms.lines().any(|l| l.ends_with(&format!(" {s}"))),
            "{s} not exported:\n{syms}"
        );
    }
    assert!(
        !syms.contains("_cembed"),
        "cembed internals exported:\n{syms}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
