//! Exposes the `Py_3_X` cfgs of the Python we build against, so that slots and
//! functions that only exist in newer CPython versions (Py_mod_multiple_interpreters,
//! Py_mod_gil, PyErr_FormatUnraisable) are used exactly where they exist.
fn main() {
    pyo3_build_config::print_expected_cfgs();
    pyo3_build_config::use_pyo3_cfgs();
}
