//! cembed's runtime: the CPython extension module `cembed._runtime`, loaded
//! by every library cembed generates (through the loader in
//! `cembed_glue.h`), and the only crate with `unsafe` code.
//!
//! Two faces:
//! * for generated libraries, the C ABI of `cembed_abi.h`: the exported
//!   symbol `cembed_runtime_v1()` returns the `cembed_runtime_api` table
//!   (`call`, `start`, `module_init`, `init_error`, `configure`);
//! * for Python, the module `cembed._runtime` (no methods: importing it is
//!   how a running Python loads the runtime; the builder is the `cembed`
//!   executable, not part of this crate).
//!
//! Layout, in layers (each uses only the ones before it; docs/runtime.md
//! has the file map, `tools/import_graph.py` checks it): `py/` (CPython
//! wrappers, the GIL token, the panic guard), `desc/` (the library's tables
//! and Rust state), `lifecycle/` (starting Python, init code, threads,
//! exit), `cdata/` (the data model), `calls/` (calls across the boundary),
//! `objects/` (each library's module, `ffi`, `lib`), `entry/` (what C and
//! the import of `cembed._runtime` call).
//!
//! Every function called from C or from CPython starts with the panic guard
//! (py/guard.rs): no panic ever unwinds into C. Forced unwinds
//! (`pthread_exit`) pass through the call paths py/unwind.rs names.
//!
//! Unsafe discipline, for the whole crate: an unsafe operation inside an
//! `unsafe fn` still needs its own `unsafe {}` block, and every block says
//! why it is sound in a `// SAFETY:` comment.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod calls;
mod cdata;
mod desc;
mod entry;
mod lifecycle;
mod objects;
mod py;
