//! Reads cdef texts from stdin, separated by NUL bytes, and prints one line per
//! text: `OK` or `ERR <first line of the error>`. Used by
//! `tests/cffi_fuzz.py` to compare acceptance with the real cffi.

use std::io::Read;

use cembed_cdef::{parse_program, Source, SourceKind};

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).expect("stdin");
    for text in input.split('\0') {
        let src = [Source {
            override_: false,
            pack: None,
            name: "case".into(),
            text: text.to_string(),
            kind: SourceKind::Cdef,
        }];
        match parse_program(&src) {
            Ok(_) => println!("OK"),
            Err(d) => {
                let r = d.render(&src);
                println!("ERR {}", r.lines().next().unwrap_or(""));
            }
        }
    }
}
