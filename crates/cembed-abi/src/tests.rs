//! Both sides of the ABI agree: compile the header with the system C compiler,
//! print every size and offset, compare with the Rust mirror.

use super::*;
use std::mem::{offset_of, size_of};
use std::process::Command;

macro_rules! layout {
    ($out:ident, $cty:literal, $rty:ty, [$($cf:literal => $rf:ident),* $(,)?]) => {{
        $out.push(format!("{} size {}", $cty, size_of::<$rty>()));
        $( $out.push(format!("{}.{} {}", $cty, $cf, offset_of!($rty, $rf))); )*
    }};
}

fn rust_side() -> Vec<String> {
    let mut v = Vec::new();
    layout!(v, "cembed_type", CType, ["name" => name, "kind" => kind, "flags" => flags, "size" => size,
        "align" => align, "item" => item, "thunk" => thunk, "length" => length, "first" => first,
        "count" => count, "probe" => probe]);
    layout!(v, "cembed_field", Field, ["name" => name, "type" => type_, "bit_width" => bit_width,
        "offset" => offset, "flags" => flags]);
    layout!(v, "cembed_const", Const, ["name" => name, "type" => type_, "negative" => negative,
        "bits" => bits, "get" => get]);
    layout!(v, "cembed_typedef", Typedef, ["name" => name, "type" => type_]);
    layout!(v, "cembed_global", Global, ["name" => name, "type" => type_, "flags" => flags, "address" => address]);
    layout!(v, "cembed_cfunc", CFunc, ["name" => name, "type" => type_, "fn" => fn_]);
    layout!(v, "cembed_extern", Extern, ["name" => name, "type" => type_, "flags" => flags, "lib" => lib,
        "runtime" => runtime, "fn" => fn_]);
    layout!(v, "cembed_build_info", BuildInfo, ["python_version" => python_version,
        "python_executable" => python_executable, "libpython" => libpython, "runtime" => runtime,
        "cembed_version" => cembed_version]);
    layout!(v, "cembed_lib", Lib, ["abi_version" => abi_version, "struct_size" => struct_size,
        "module_name" => module_name, "init_code" => init_code, "build" => build, "types" => types,
        "n_types" => n_types, "fields" => fields, "n_fields" => n_fields, "params" => params,
        "n_params" => n_params, "enumerators" => enumerators, "n_enumerators" => n_enumerators,
        "typedefs" => typedefs, "n_typedefs" => n_typedefs, "consts" => consts, "n_consts" => n_consts,
        "globals" => globals, "n_globals" => n_globals, "cfuncs" => cfuncs, "n_cfuncs" => n_cfuncs,
        "externs" => externs, "n_externs" => n_externs, "thunks" => thunks, "n_thunks" => n_thunks,
        "runtime" => runtime, "isolation" => isolation, "pool_size" => pool_size]);
    layout!(v, "cembed_runtime_api", RuntimeApi, ["abi_version" => abi_version,
        "struct_size" => struct_size, "call" => call, "start" => start, "module_init" => module_init,
        "init_error" => init_error, "abi_minor" => abi_minor, "configure" => configure]);
    layout!(v, "cembed_location", Location, ["struct_size" => struct_size, "isolated" => isolated,
        "python_executable" => python_executable, "home" => home, "path" => path, "search" => search]);
    v
}

/// Turns the Rust-side list into C printf statements for the same facts.
fn c_program(facts: &[String]) -> String {
    let mut c = String::from("#include <stdio.h>\n#include <stddef.h>\n");
    c.push_str(ABI_HEADER);
    c.push_str("\nint main(void) {\n");
    for f in facts {
        let mut parts = f.split(' ');
        let what = parts.next().unwrap();
        if let Some((ty, field)) = what.split_once('.') {
            c.push_str(&format!(
                "    printf(\"{what} %zu\\n\", offsetof({ty}, {field}));\n"
            ));
        } else {
            c.push_str(&format!(
                "    printf(\"{what} size %zu\\n\", sizeof({what}));\n"
            ));
        }
    }
    c.push_str("    printf(\"version %d.%d\\n\", CEMBED_ABI_VERSION, CEMBED_ABI_MINOR);\n    return 0;\n}\n");
    c
}

#[test]
fn c_and_rust_layouts_agree() {
    let facts = rust_side();
    let dir = std::env::temp_dir().join(format!("cembed-abi-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&src, c_program(&facts)).unwrap();
    let cc = cc::Build::new()
        .cargo_metadata(false)
        .opt_level(0)
        .target("x86_64-unknown-linux-gnu")
        .host("x86_64-unknown-linux-gnu")
        .get_compiler();
    let status = cc
        .to_command()
        .args(["-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success(), "the ABI header does not compile");
    let out = Command::new(&exe).output().unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    let mut expected = facts.join("\n");
    expected.push_str(&format!("\nversion {ABI_VERSION}.{ABI_MINOR}\n"));
    assert_eq!(printed, expected);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn kinds_round_trip_and_match_the_header() {
    for v in 0..=14 {
        let k = Kind::from_u32(v).unwrap();
        assert_eq!(k as u32, v);
        assert!(
            ABI_HEADER.contains(&format!("{} = {v}", k.c_name())),
            "{} = {v} not in header",
            k.c_name()
        );
    }
    assert!(Kind::from_u32(15).is_none());
}
