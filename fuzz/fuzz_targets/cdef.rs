//! Declarations as `ffi.cdef()` / `ffi.embedding_api()` receive them: parse,
//! resolve, and generate the C source and header of whatever is accepted.
//! Any panic, stack overflow, out-of-memory or timeout is a finding; an
//! error (`Diagnostics`) is the expected answer to bad input, and rendering
//! it must not fail either.
#![no_main]

use cembed_cdef::{parse_program, Source, SourceKind};
use cembed_codegen::{generate_c, generate_header, BuildInfo, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first byte picks the kind of source, the same text is then
    // split at a form feed into several sources (later ones see the
    // earlier ones' typedefs, as successive cdef() calls do).
    let kind = if text.starts_with('@') {
        SourceKind::EmbeddingApi
    } else {
        SourceKind::Cdef
    };
    let sources: Vec<Source> = text
        .trim_start_matches('@')
        .split('\x0c')
        .enumerate()
        .map(|(i, t)| Source {
            name: format!("cdef #{i}"),
            text: t.to_string(),
            kind,
            override_: i > 0 && t.starts_with(' '),
            pack: None,
        })
        .collect();
    match parse_program(&sources) {
        Ok(prog) => {
            let _ = cembed_cdef::dump_program(&prog);
            let bi = BuildInfo::default();
            let opts = Options::new("fuzzmod", &bi);
            let _ = generate_c(&prog, &opts);
            let _ = generate_header(&prog, "fuzzmod");
        }
        Err(d) => {
            let _ = d.to_string();
        }
    }
});
