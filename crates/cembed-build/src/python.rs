//! Interpreter discovery for the CLI, in the manner of `pyo3-build-config`:
//! an explicit `--python`, else `$VIRTUAL_ENV/bin/python`, else `python3` then
//! `python` on `PATH`. The chosen interpreter is asked for its facts once
//! (version, `sys.executable`, where its shared libpython is, where the cembed
//! runtime installed for it is), and the result is a typed, printable
//! [`InterpreterConfig`] (`cembed config` prints it).
//!
//! The Python builder (`python/cembed`) gathers the same facts in-process and
//! sends them in the build request; the rules for finding libpython are the
//! same on both sides ([`resolve_libpython`] here, `_python_facts()` there).

use crate::request::{BuildError, ErrorKind, Implementation, PythonFacts};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How the interpreter was chosen.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FoundBy {
    /// `--python PATH`.
    Flag,
    /// `$VIRTUAL_ENV/bin/python`.
    VirtualEnv,
    /// The Python whose site-packages holds this `cembed` executable
    /// (`<prefix>/lib/pythonX.Y/site-packages/cembed/_bin/cembed` ->
    /// `<prefix>/bin/pythonX.Y`): `venv/bin/cembed` works unactivated.
    Installation,
    /// The first of `python3`, `python` on `PATH`.
    Path,
}

impl fmt::Display for FoundBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FoundBy::Flag => "--python",
            FoundBy::VirtualEnv => "$VIRTUAL_ENV",
            FoundBy::Installation => "installation",
            FoundBy::Path => "PATH",
        })
    }
}

/// Everything cembed needs to know about the Python a library is built for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterpreterConfig {
    pub found_by: FoundBy,
    /// `sys.executable` as the interpreter reports it (a venv's python stays
    /// the venv's python: symlinks are not resolved).
    pub executable: String,
    /// `"3.11"`.
    pub version: String,
    pub libpython: Option<PathBuf>,
    /// The cembed runtime extension installed for this interpreter, or why it
    /// could not be imported.
    pub runtime: Result<PathBuf, String>,
    pub cembed_version: Option<String>,
    /// CPython or PyPy. On PyPy `libpython` is libpypy and no runtime is
    /// needed (PyPy's built-in `_cffi_backend` runs the library).
    pub implementation: Implementation,
    /// `site.getsitepackages()` of the interpreter (a venv's, for a venv).
    pub site_packages: Vec<String>,
}

impl InterpreterConfig {
    /// The facts for a build request; fails when the library could not work
    /// with this interpreter.
    pub fn facts(&self) -> Result<PythonFacts, BuildError> {
        if self.implementation == Implementation::PyPy {
            return Ok(PythonFacts {
                version: self.version.clone(),
                executable: self.executable.clone(),
                libpython: self
                    .libpython
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
                runtime: String::new(),
                cembed_version: self
                    .cembed_version
                    .clone()
                    .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string()),
                implementation: Implementation::PyPy,
                site_packages: self.site_packages.clone(),
            });
        }
        let runtime = self.runtime.as_ref().map_err(|why| {
            BuildError::usage(format!(
                "the cembed runtime is not installed for {} ({why}); install it with `{} -m pip install cembed`",
                self.executable, self.executable
            ))
        })?;
        Ok(PythonFacts {
            version: self.version.clone(),
            executable: self.executable.clone(),
            libpython: self
                .libpython
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            runtime: runtime.to_string_lossy().into_owned(),
            cembed_version: self
                .cembed_version
                .clone()
                .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string()),
            implementation: Implementation::CPython,
            site_packages: Vec::new(),
        })
    }
}

impl fmt::Display for InterpreterConfig {
    /// `key=value` lines, like `pyo3-build-config`'s printed config.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "found_by={}", self.found_by)?;
        if self.implementation == Implementation::PyPy {
            writeln!(f, "implementation=pypy")?;
        }
        writeln!(f, "executable={}", self.executable)?;
        writeln!(f, "version={}", self.version)?;
        match &self.libpython {
            Some(p) => writeln!(f, "libpython={}", p.display())?,
            None => writeln!(f, "libpython=<none: this Python has no shared libpython>")?,
        }
        match &self.runtime {
            _ if self.implementation == Implementation::PyPy => writeln!(
                f,
                "runtime=<none needed: PyPy runs the libraries in its built-in _cffi_backend>"
            )?,
            Ok(p) => writeln!(f, "runtime={}", p.display())?,
            Err(why) => writeln!(f, "runtime=<not installed: {why}>")?,
        }
        match &self.cembed_version {
            Some(v) => writeln!(f, "cembed_version={v}"),
            None => writeln!(f, "cembed_version=<not installed>"),
        }
    }
}

/// Asks the interpreter for its facts. Only prints sysconfig values and
/// where the runtime is (found as the Python builder finds it, without
/// loading it); the decisions are made in Rust.
const FACTS_SCRIPT: &str = r#"
import json, sys, sysconfig
v = sysconfig.get_config_var
out = {"version": "%d.%d" % sys.version_info[:2], "executable": sys.executable,
       "libdir": v("LIBDIR"), "ldlibrary": v("LDLIBRARY"), "instsoname": v("INSTSONAME"),
       "runtime": None, "runtime_error": None, "cembed_version": None,
       "implementation": sys.implementation.name, "site_packages": [], "loaded": []}
if sys.implementation.name == "pypy":
    import site
    out["site_packages"] = site.getsitepackages()
    try:
        with open("/proc/self/maps") as f:
            out["loaded"] = sorted({l.split()[-1] for l in f if "libpypy" in l and "/" in l})
    except OSError:
        pass
try:
    import cembed
    out["runtime"] = cembed._runtime_path()
    if out["runtime"] is None:
        out["runtime_error"] = "no cembed/_runtime%s next to %s" % (v("EXT_SUFFIX"), cembed.__file__)
    out["cembed_version"] = getattr(cembed, "__version__", None)
except Exception as e:
    out["runtime_error"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(out))
"#;

#[derive(Deserialize)]
struct RawFacts {
    version: String,
    executable: String,
    libdir: Option<String>,
    ldlibrary: Option<String>,
    instsoname: Option<String>,
    runtime: Option<String>,
    runtime_error: Option<String>,
    cembed_version: Option<String>,
    implementation: String,
    site_packages: Vec<String>,
    /// PyPy: the libpypy files mapped in the interpreter's process.
    loaded: Vec<String>,
}

/// The shared libpython from sysconfig: `INSTSONAME` (the versioned soname,
/// `libpython3.11.so.1.0`, what the dynamic linker would load) or else
/// `LDLIBRARY`, in `LIBDIR`; `None` for a static-only build (`libpython3.11.a`).
pub fn resolve_libpython(
    libdir: Option<&str>,
    instsoname: Option<&str>,
    ldlibrary: Option<&str>,
) -> Option<PathBuf> {
    let libdir = Path::new(libdir?);
    [instsoname, ldlibrary]
        .into_iter()
        .flatten()
        .filter(|name| name.contains(".so") || name.ends_with(".dylib"))
        .map(|name| libdir.join(name))
        .find(|p| p.exists())
}

/// Finds the interpreter (flag, `$VIRTUAL_ENV`, `PATH`) and queries it.
pub fn discover(explicit: Option<&Path>) -> Result<InterpreterConfig, BuildError> {
    let (exe, found_by) = if let Some(p) = explicit {
        (p.to_path_buf(), FoundBy::Flag)
    } else if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        (
            Path::new(&venv).join("bin").join("python"),
            FoundBy::VirtualEnv,
        )
    } else if let Some(exe) = installation_python() {
        (exe, FoundBy::Installation)
    } else {
        let found = ["python3", "python"]
            .iter()
            .find_map(|name| find_on_path(name))
            .ok_or_else(|| {
                BuildError::usage("no Python interpreter found: pass --python, activate a virtualenv, or put python3 on PATH")
            })?;
        (found, FoundBy::Path)
    };
    query(&exe, found_by)
}

/// The interpreter of the environment this executable was installed into
/// by the wheel, if it runs from there.
fn installation_python() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // .../lib/pythonX.Y/site-packages/cembed/_bin/cembed
    let bin_dir = exe.parent()?;
    let pkg = bin_dir.parent()?;
    let site = pkg.parent()?;
    let pyver = site.parent()?;
    let prefix = pyver.parent()?.parent()?;
    let ok = bin_dir.file_name()? == "_bin"
        && pkg.file_name()? == "cembed"
        && site.file_name()? == "site-packages";
    let python = prefix.join("bin").join(pyver.file_name()?);
    (ok && python.is_file()).then_some(python)
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Runs the interpreter once and builds its config.
pub fn query(exe: &Path, found_by: FoundBy) -> Result<InterpreterConfig, BuildError> {
    let out = Command::new(exe)
        .args(["-I", "-c", FACTS_SCRIPT])
        .output()
        .map_err(|e| {
            BuildError::usage(format!(
                "cannot run the Python interpreter {} (found by {found_by}): {e}",
                exe.display()
            ))
        })?;
    if !out.status.success() {
        return Err(BuildError::new(
            ErrorKind::Usage,
            format!(
                "the Python interpreter {} failed to report its configuration:\n{}",
                exe.display(),
                String::from_utf8_lossy(&out.stderr)
            ),
        ));
    }
    let raw: RawFacts = serde_json::from_slice(&out.stdout).map_err(|e| {
        BuildError::usage(format!(
            "unexpected output from {} (is it CPython >= 3.9?): {e}",
            exe.display()
        ))
    })?;
    let pypy = raw.implementation == "pypy";
    Ok(InterpreterConfig {
        found_by,
        // PyPy's sysconfig names libpypy in a LIBDIR that may not hold it
        // (Debian: LIBDIR=/usr/bin); the file the interpreter itself mapped
        // is the one to load.
        libpython: if pypy {
            raw.loaded.first().map(PathBuf::from).or_else(|| {
                resolve_libpython(raw.libdir.as_deref(), None, raw.ldlibrary.as_deref())
            })
        } else {
            resolve_libpython(
                raw.libdir.as_deref(),
                raw.instsoname.as_deref(),
                raw.ldlibrary.as_deref(),
            )
        },
        implementation: if pypy {
            Implementation::PyPy
        } else {
            Implementation::CPython
        },
        site_packages: raw.site_packages,
        runtime: match (raw.runtime, raw.runtime_error) {
            (Some(p), _) => Ok(PathBuf::from(p)),
            (None, Some(e)) => Err(e),
            (None, None) => Err("cembed._runtime was not found".to_string()),
        },
        executable: raw.executable,
        version: raw.version,
        cembed_version: raw.cembed_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpython_prefers_the_soname() {
        let dir = std::env::temp_dir().join(format!("cembed-libpy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("libpython3.11.so.1.0"), b"").unwrap();
        std::fs::write(dir.join("libpython3.11.so"), b"").unwrap();
        let d = dir.to_str().unwrap();
        assert_eq!(
            resolve_libpython(
                Some(d),
                Some("libpython3.11.so.1.0"),
                Some("libpython3.11.so")
            ),
            Some(dir.join("libpython3.11.so.1.0"))
        );
        // Static-only interpreter: no shared library to load.
        assert_eq!(
            resolve_libpython(Some(d), Some("libpython3.11.a"), Some("libpython3.11.a")),
            None
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn discovers_the_path_python() {
        // The machine running the tests has a python3 (the build needs one).
        let cfg = discover(Some(Path::new("python3"))).unwrap();
        assert_eq!(cfg.found_by, FoundBy::Flag);
        assert!(cfg.version.starts_with("3."), "{cfg}");
        let text = cfg.to_string();
        assert!(text.contains("executable="), "{text}");
    }
}
