//! Type names as the runtime receives them (`ffi.new("...")`,
//! `ffi.cast("...", x)`, `ffi.typeof("...")`): any text must give a type
//! expression or an error message, within bounded stack, memory and time.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cembed_typename::parse_type_expr(text);
    }
});
