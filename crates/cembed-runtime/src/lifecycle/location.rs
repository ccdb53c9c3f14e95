//! Where Python comes from, and the interpreter configuration that follows.
//!
//! The loader (`cembed_glue.h`, "where Python comes from") decides which
//! Python environment a library runs in: the one it was built in, or the one
//! `CEMBED_PYTHON`, the per-library variable or the config file beside the
//! library names (docs/shipping.md). It tells us through
//! `cembed_runtime_api.configure` before the library's first start; a library
//! built against ABI 1.0 never does, and then its build interpreter is used.
//!
//! The first library to start Python decides the interpreter's
//! configuration (there is one interpreter per process); what it decided is
//! printed in the init failure report of every library, with the loader's
//! search, so a user sees which environment was used and why.

use crate::py::gil::Python;
use crate::py::{self, text};
use cembed_abi::Lib;
use pyo3_ffi as ffi;
use std::sync::Mutex;

/// One library's choice (a copy of `cembed_location`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Location {
    /// PyConfig.executable and program_name: `sys.executable`.
    pub(crate) executable: String,
    /// PyConfig.home (a bundle's `python/` folder).
    pub(crate) home: Option<String>,
    /// Site directories put first on sys.path (a `--no-python` bundle's
    /// packages), processed like site-packages (`.pth` files).
    pub(crate) site_dirs: Vec<String>,
    /// PyConfig isolated: PYTHONPATH, PYTHONHOME and the user site directory
    /// of the machine cannot change what a bundle imports.
    pub(crate) isolated: bool,
    /// The loader's search, one look per line.
    pub(crate) search: String,
}

/// The locations the loader gave, by library address. A handful of entries
/// per process at most (one per cembed library), so a list.
static LOCATIONS: Mutex<Vec<(usize, Location)>> = Mutex::new(Vec::new());

/// `cembed_runtime_api.configure`: remembers `loc` for `lib`.
///
/// # Safety
/// `loc` is NULL or a `cembed_location` whose strings are NULL or
/// NUL-terminated (the glue's static buffers).
pub(crate) unsafe fn record(lib: *mut Lib, loc: *const cembed_abi::Location) {
    // SAFETY: `loc` is NULL or a valid `cembed_location` (contract).
    let Some(l) = (unsafe { loc.as_ref() }) else {
        return;
    };
    // SAFETY: its strings are NULL or NUL-terminated (contract).
    let opt = |p: *const std::ffi::c_char| (!p.is_null()).then(|| unsafe { text(p) });
    let location = Location {
        executable: opt(l.python_executable).map(clean).unwrap_or_default(),
        home: opt(l.home).filter(|s| !s.is_empty()).map(clean),
        site_dirs: opt(l.path)
            .map(|p| p.split(':').filter(|s| !s.is_empty()).map(clean).collect())
            .unwrap_or_default(),
        isolated: l.isolated != 0,
        search: opt(l.search).unwrap_or_default(),
    };
    let mut all = LOCATIONS.lock().unwrap_or_else(|e| e.into_inner());
    all.retain(|(k, _)| *k != lib as usize);
    all.push((lib as usize, location));
}

/// `dir/../x` as `x`: the config file's paths are relative to the library's
/// directory, and `sys.executable` should read as users expect. Lexical (a
/// `..` after a symlink means its parent's parent here), which is what a
/// path written relative to the library means to its author.
fn clean(path: impl AsRef<str>) -> String {
    use std::path::{Component, PathBuf};
    let mut out = PathBuf::new();
    for c in std::path::Path::new(path.as_ref()).components() {
        match c {
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out.to_string_lossy().into_owned()
}

/// The location of `lib`: what the loader gave, else (a library of ABI
/// 1.0, or imported by a running Python) its build interpreter.
pub(crate) fn of(lib: *const Lib, build_executable: &str) -> Location {
    let all = LOCATIONS.lock().unwrap_or_else(|e| e.into_inner());
    all.iter()
        .find(|(k, _)| *k == lib as usize)
        .map(|(_, l)| l.clone())
        .unwrap_or_else(|| Location {
            executable: build_executable.to_string(),
            ..Location::default()
        })
}

/// Fills a fresh `config` for `loc`: the host owns its command line, signals
/// and C stdio; `sys.executable` is the chosen interpreter (a venv's python:
/// its site-packages are then on sys.path with no environment variable).
///
/// # Safety
/// `config` is uninitialised or cleared; the caller clears it afterwards.
pub(crate) unsafe fn init_config(config: &mut ffi::PyConfig, loc: &Location) -> ffi::PyStatus {
    // SAFETY: `config` is a PyConfig the caller owns, uninitialised or
    // cleared (contract): what the Init functions expect.
    unsafe {
        if loc.isolated {
            ffi::PyConfig_InitIsolatedConfig(config);
        } else {
            ffi::PyConfig_InitPythonConfig(config);
        }
    }
    config.parse_argv = 0;
    config.install_signal_handlers = 0;
    config.configure_c_stdio = 0;
    // PyConfig_SetBytesString wants the config and one of its fields.
    let cfg: *mut ffi::PyConfig = config;
    // Field addresses only (addr_of_mut!, no reference made); `cfg` comes
    // from the `&mut` above, so it is valid and unaliased.
    let mut fields: Vec<(*mut *mut libc::wchar_t, &String)> = Vec::new();
    if !loc.executable.is_empty() {
        // SAFETY: see above.
        fields.push((
            unsafe { std::ptr::addr_of_mut!((*cfg).program_name) },
            &loc.executable,
        ));
        // SAFETY: see above.
        fields.push((
            unsafe { std::ptr::addr_of_mut!((*cfg).executable) },
            &loc.executable,
        ));
    }
    if let Some(home) = &loc.home {
        // SAFETY: see above.
        fields.push((unsafe { std::ptr::addr_of_mut!((*cfg).home) }, home));
    }
    for (field, value) in fields {
        let c = py::cstring_lossy(value);
        // SAFETY: an initialised config and one of its own wchar_t* fields,
        // with a NUL-terminated string (what PyConfig_SetBytesString wants).
        let s = unsafe { ffi::PyConfig_SetBytesString(cfg, field, c.as_ptr()) };
        // SAFETY: a PyStatus value just returned.
        if unsafe { ffi::PyStatus_Exception(s) } != 0 {
            return s;
        }
    }
    // SAFETY: makes a status value; no precondition.
    unsafe { ffi::PyStatus_Ok() }
}

/// After the interpreter started: `loc`'s site directories go first on
/// sys.path (`site.addsitedir`, so their `.pth` files work too). Errors are
/// printed, not fatal: the init code's imports then fail with the details.
///
pub(crate) fn after_start(py: Python<'_>, loc: &Location) {
    if loc.site_dirs.is_empty() {
        return;
    }
    let dirs = loc
        .site_dirs
        .iter()
        .map(|d| format!("{d:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    // Debug formatting of a Rust string is a valid Python string literal for
    // paths (quotes and backslashes escaped).
    let code = py::cstring_lossy(&format!(
        "import sys, site\n\
         _old = list(sys.path)\n\
         for _d in [{dirs}]:\n    site.addsitedir(_d)\n\
         sys.path[:] = [p for p in sys.path if p not in _old] + _old\n"
    ));
    py::run_and_print(py, &code);
}

/// Lines for the failure reports: the interpreter and the loader's search.
pub(crate) fn describe(loc: &Location) -> String {
    let mut s = format!("python executable: {}\n", loc.executable);
    if let Some(h) = &loc.home {
        s.push_str(&format!("python home: {h}\n"));
    }
    if loc.isolated {
        s.push_str("isolated: yes (PYTHON* variables and the user site are ignored)\n");
    }
    if !loc.search.is_empty() {
        s.push_str("where the loader looked for Python (first found wins):\n");
        s.push_str(&loc.search);
    }
    s
}
