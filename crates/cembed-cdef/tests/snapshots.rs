//! Snapshot tests: every `tests/inputs/*.h` must parse, and its resolved
//! program is dumped (`dump_program`); every `tests/errors/*.h` must fail, and
//! its rendered diagnostics are the snapshot.
//!
//! A file can hold several sources: a line `//// cdef`, `//// embedding_api`
//! or `//// include` (another builder's declarations, `ffi.include()`)
//! starts a new source of that kind (without one, the file is one cdef source).

use std::path::Path;

use cembed_cdef::{dump_program, parse_program, Source, SourceKind};

fn sources_of(path: &Path) -> Vec<Source> {
    let text = std::fs::read_to_string(path).unwrap();
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut out: Vec<(SourceKind, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        let marker = line.trim_end();
        let kind = match marker {
            "//// cdef" => Some(SourceKind::Cdef),
            "//// embedding_api" => Some(SourceKind::EmbeddingApi),
            "//// include" => Some(SourceKind::Included),
            _ => None,
        };
        match (kind, out.last_mut()) {
            (Some(k), _) => out.push((k, String::new())),
            (None, Some((_, t))) => t.push_str(line),
            (None, None) => out.push((SourceKind::Cdef, line.to_string())),
        }
    }
    let n = out.len();
    out.into_iter()
        .enumerate()
        .map(|(i, (kind, text))| Source {
            override_: false,
            pack: None,
            name: if n == 1 {
                file.clone()
            } else {
                let k = match kind {
                    SourceKind::Cdef => "cdef",
                    SourceKind::EmbeddingApi => "embedding_api",
                    SourceKind::Included => "include",
                };
                format!("{k}() #{} in {file}", i + 1)
            },
            text,
            kind,
        })
        .collect()
}

#[test]
fn valid_inputs() {
    insta::glob!("inputs/*.h", |path| {
        let srcs = sources_of(path);
        match parse_program(&srcs) {
            Ok(p) => insta::assert_snapshot!(dump_program(&p)),
            Err(d) => panic!("{} should parse:\n{}", path.display(), d.render(&srcs)),
        }
    });
}

#[test]
fn error_inputs() {
    insta::glob!("errors/*.h", |path| {
        let srcs = sources_of(path);
        match parse_program(&srcs) {
            Ok(p) => panic!(
                "{} should fail but parsed:\n{}",
                path.display(),
                dump_program(&p)
            ),
            Err(d) => {
                let text = d.render(&srcs);
                // Plain text only: no ANSI colour codes.
                assert!(!text.contains('\u{1b}'), "{text}");
                insta::assert_snapshot!(text)
            }
        }
    });
}
