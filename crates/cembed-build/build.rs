//! Records the target triple this crate is compiled for: the `cc` crate needs
//! one to pick the compiler and its base flags, and outside a build script
//! cargo does not set `TARGET`.
fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=CEMBED_HOST_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
