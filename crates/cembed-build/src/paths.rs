//! Where the outputs of a build go, with CFFI's rules (checked against the
//! real `cffi` 1.17 package):
//!
//! * `target=None` means `"<module_name>.*"`; a target ending in `.*` gets the
//!   platform's shared-library suffix (`.so` on Linux); any other target is
//!   used as written. (`"*"`, CFFI's "distutils' choice" for C extension
//!   modules, gives `<last component>.so`, which Python imports as well.)
//! * Everything is relative to `tmpdir`, and for a dotted module name
//!   `pkg.mod` the package directories come first: CFFI (through distutils'
//!   `build_ext`) writes `tmpdir/pkg/<target>` and the C file
//!   `tmpdir/pkg/mod.c`.
//! * The returned path is absolute but symlinks are not resolved, like
//!   `os.path.abspath`.

use crate::request::BuildError;
use std::path::{Component, Path, PathBuf};

/// The platform's shared-library suffix, what `.*` stands for.
pub const SHARED_LIB_SUFFIX: &str = if cfg!(target_os = "windows") {
    ".dll"
} else if cfg!(target_os = "macos") {
    ".dylib"
} else {
    ".so"
};

/// Splits a module name into its components, checking each is a Python
/// identifier (CFFI refuses `/` in module names; a bad name would otherwise
/// surface much later as an unimportable library or a broken `PyInit_` symbol).
pub fn module_components(module_name: &str) -> Result<Vec<&str>, BuildError> {
    if module_name.contains('/') || module_name.contains('\\') {
        return Err(BuildError::usage(format!(
            "module name '{module_name}' must not contain '/': use a dotted name to make a 'package.module' location"
        )));
    }
    let parts: Vec<&str> = module_name.split('.').collect();
    for part in &parts {
        let mut chars = part.chars();
        let ok = match chars.next() {
            Some(c) => {
                (c == '_' || c.is_ascii_alphabetic())
                    && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
            }
            None => false,
        };
        if !ok {
            return Err(BuildError::usage(format!(
                "module name '{module_name}' is not a dotted Python identifier (bad part '{part}')"
            )));
        }
    }
    Ok(parts)
}

/// `target` with CFFI's `.*` rule applied.
pub fn target_file_name(module_name: &str, target: Option<&str>) -> Result<String, BuildError> {
    let parts = module_components(module_name)?;
    let target = match target {
        None => format!("{module_name}.*"),
        Some("") => return Err(BuildError::usage("target must not be empty")),
        Some("*") => format!("{}.*", parts[parts.len() - 1]),
        Some(t) => t.to_string(),
    };
    Ok(match target.strip_suffix(".*") {
        Some(stem) => format!("{stem}{SHARED_LIB_SUFFIX}"),
        None => target,
    })
}

/// Makes `p` absolute against `base` (itself made absolute against the current
/// directory) and removes `.` and `..` lexically, like `os.path.abspath`.
pub fn absolute(base: &Path, p: &Path) -> PathBuf {
    let joined = base.join(p);
    let joined = if joined.is_absolute() {
        joined
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(&joined))
            .unwrap_or(joined)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The files one build writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputPaths {
    /// The (absolute) directory the compiler runs in: relative option paths
    /// are relative to it, as in CFFI.
    pub tmpdir: PathBuf,
    /// The generated C file (kept, as CFFI keeps it: useful when debugging).
    pub c_file: PathBuf,
    pub library: PathBuf,
    /// The consumer header offered next to the library (see [`header_name`]).
    pub header: PathBuf,
}

impl OutputPaths {
    pub fn new(tmpdir: &str, module_name: &str, target: Option<&str>) -> Result<Self, BuildError> {
        let parts = module_components(module_name)?;
        let tmpdir = absolute(Path::new("."), Path::new(tmpdir));
        let mut pkg_dir = tmpdir.clone();
        for p in &parts[..parts.len() - 1] {
            pkg_dir.push(p);
        }
        let c_file = pkg_dir.join(format!("{}.c", parts[parts.len() - 1]));
        let library = absolute(&pkg_dir, Path::new(&target_file_name(module_name, target)?));
        let file_name = library
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| BuildError::usage(format!("bad target path {}", library.display())))?;
        let header = library.with_file_name(header_name(file_name));
        Ok(OutputPaths {
            tmpdir,
            c_file,
            library,
            header,
        })
    }
}

/// The consumer header's file name for a library file name: the name without
/// its shared-library suffix and without a leading `lib`, plus `.h`
/// (`libplugin.so` -> `plugin.h`, `plugin-1.5.so` -> `plugin-1.5.h`), the way C
/// projects pair `libfoo.so` with `foo.h`.
pub fn header_name(library_file_name: &str) -> String {
    let stem = [".so", ".dylib", ".dll"]
        .iter()
        .find_map(|suffix| library_file_name.strip_suffix(suffix))
        .unwrap_or(library_file_name);
    let stem = match stem.strip_prefix("lib") {
        Some(rest) if !rest.is_empty() => rest,
        _ => stem,
    };
    format!("{stem}.h")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cffi_target_rules() {
        assert_eq!(target_file_name("my_plugin", None).unwrap(), "my_plugin.so");
        assert_eq!(
            target_file_name("my_plugin", Some("plugin-1.5.*")).unwrap(),
            "plugin-1.5.so"
        );
        assert_eq!(
            target_file_name("my_plugin", Some("libx.so.1")).unwrap(),
            "libx.so.1"
        );
        assert_eq!(target_file_name("a.b", Some("*")).unwrap(), "b.so");
        assert!(target_file_name("my/plugin", None).is_err());
        assert!(target_file_name("my-plugin", None).is_err());
        assert!(target_file_name("a..b", None).is_err());
    }

    #[test]
    fn paths_like_cffi() {
        // What cffi 1.17 gave for the same inputs (see the module comment).
        let o = OutputPaths::new("/tmp/x/out", "pkg.my_plugin", None).unwrap();
        assert_eq!(o.library, Path::new("/tmp/x/out/pkg/pkg.my_plugin.so"));
        assert_eq!(o.c_file, Path::new("/tmp/x/out/pkg/my_plugin.c"));
        let o = OutputPaths::new("/tmp/x/out2", "my_plugin", Some("sub/libx-1.5.*")).unwrap();
        assert_eq!(o.library, Path::new("/tmp/x/out2/sub/libx-1.5.so"));
        assert_eq!(o.header, Path::new("/tmp/x/out2/sub/x-1.5.h"));
        let o = OutputPaths::new("/tmp/x/./a/../out3", "m", Some("/abs/libm.*")).unwrap();
        assert_eq!(o.library, Path::new("/abs/libm.so"));
        assert_eq!(o.c_file, Path::new("/tmp/x/out3/m.c"));
    }

    #[test]
    fn header_names() {
        assert_eq!(header_name("libplugin.so"), "plugin.h");
        assert_eq!(header_name("plugin-1.5.so"), "plugin-1.5.h");
        assert_eq!(header_name("lib.so"), "lib.h");
        assert_eq!(header_name("my_plugin.so"), "my_plugin.h");
    }
}
