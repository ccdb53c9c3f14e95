//! Exposes the `Py_3_X` cfgs of the Python we build against, so that slots and
//! functions that only exist in newer CPython versions (Py_mod_multiple_interpreters,
//! Py_mod_gil, PyErr_FormatUnraisable) are used exactly where they exist.
//!
//! On Linux with glibc it also links the unwinder statically (libgcc_eh.a),
//! so that the runtime does not pull in `libgcc_s.so.1`: loading libgcc_s
//! runs its constructor `__cpu_indicator_init`, a few dozen CPUID
//! instructions, and in a virtual machine each CPUID traps to the
//! hypervisor (about 5 us each here): ~180 us of a first call's latency
//! (docs/performance.md, "First-call latency"). Our crate's own code
//! references `_Unwind_Resume`, so the archive's unwinder is pulled in
//! before the linker reaches std's `-lgcc_s`, which `--as-needed` then
//! drops. Panics never leave the runtime (every entry point catches them),
//! so this private unwinder copy never meets another one's exception.
//!
//! The archive is asked of the compiler that links for the *target* (the
//! `cc` crate's rule: `CC_<target>`, `TARGET_CC`, `CC`, else `cc`), not of the
//! build machine's gcc: a portable wheel is linked by `zig cc` against glibc
//! 2.17 (`./dev wheels`), and the build machine's libgcc_eh.a (gcc 12 on
//! glibc 2.36) calls `_dl_find_object@GLIBC_2.35`, which would tie the
//! wheel to glibc 2.35. `zig cc` has no libgcc_eh.a; the runtime then links
//! zig's own static unwinder (LLVM libunwind, built for the target glibc) in
//! place of `-lgcc_s`, so it still does not load libgcc_s.so.1.
use std::process::Command;

fn main() {
    pyo3_build_config::print_expected_cfgs();
    pyo3_build_config::use_pyo3_cfgs();
    static_unwinder();
}

fn static_unwinder() {
    println!("cargo:rerun-if-env-changed=CEMBED_DYNAMIC_LIBGCC");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os != "linux" || env != "gnu" || std::env::var_os("CEMBED_DYNAMIC_LIBGCC").is_some() {
        return;
    }
    // The target's C compiler knows where its libgcc_eh.a is.
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .cargo_warnings(false)
        .get_compiler();
    let Ok(out) = Command::new(compiler.path())
        .args(compiler.args())
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    let path = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    // Without a full path the compiler did not find it: keep libgcc_s.
    let (true, Some(dir)) = (path.is_absolute() && path.is_file(), path.parent()) else {
        return;
    };
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=static=gcc_eh");
}
