//! pkg-config support: the `.pc` file written beside every library, and the
//! flags `cembed pkg-config` prints for a built library.
//!
//! The `.pc` file is relocatable: every path in it is `${pcfiledir}` (the
//! directory pkg-config found the file in), so the library, its header and
//! its `.pc` can be moved together. Those paths are deliberately not put in
//! double quotes: pkg-config hands out `${pcfiledir}` already escaped for
//! the shell (`/a\ b`), and quoting the escaped value would keep the
//! backslash (pkgconf 1.8 prints `-I/a\\\ b`); unquoted, a directory with
//! spaces comes out as one shell word (`-I/a\ b`), which
//! tests/test_packaging.py checks with the real pkg-config. A literal file
//! name after it (a library not called `lib<name>.so`) is escaped the same
//! way. There is no rpath in `Libs`:
//! as with any pkg-config package, the program that links the library
//! decides how it finds it at run time (`--variable=libdir` gives the
//! directory for an `-Wl,-rpath`).

use std::path::Path;

use crate::paths::{header_name, SHARED_LIB_SUFFIX};
use crate::request::BuildError;

/// First line of every `.pc` file cembed writes; one without it is the
/// user's and is never overwritten.
pub const PC_MARKER: &str =
    "# pkg-config file written by cembed next to its library; rewritten by every build.";

/// How a program links `library`: `-l<name>` (with `-L<dir>`) when the file
/// is called `lib<name>.so`, else the file itself (a linker cannot `-l` a
/// file called `plugin-1.5.so`).
pub enum LinkBy {
    Name(String),
    File(String),
}

pub fn link_by(library_file_name: &str) -> LinkBy {
    match library_file_name
        .strip_prefix("lib")
        .and_then(|n| n.strip_suffix(SHARED_LIB_SUFFIX))
        .filter(|n| !n.is_empty())
    {
        Some(n) => LinkBy::Name(n.to_string()),
        None => LinkBy::File(library_file_name.to_string()),
    }
}

/// The `.pc` file's path for a library: the header's name with `.pc`
/// (`libplugin.so` -> `plugin.pc`, `plugin-1.5.so` -> `plugin-1.5.pc`), so
/// `pkg-config plugin` finds it.
pub fn pc_path(library: &Path) -> Option<std::path::PathBuf> {
    let file = library.file_name()?.to_str()?;
    let header = header_name(file);
    let stem = header.strip_suffix(".h").unwrap_or(&header);
    Some(library.with_file_name(format!("{stem}.pc")))
}

/// The `.pc` file's text (without the marker line).
pub fn pc_text(library_file_name: &str, has_header: bool, module_name: &str) -> String {
    let header = header_name(library_file_name);
    let name = header.strip_suffix(".h").unwrap_or(&header);
    let libs = match link_by(library_file_name) {
        LinkBy::Name(n) => format!("-L${{libdir}} -l{n}"),
        LinkBy::File(f) => format!("${{libdir}}/{}", shell_escape(&f)),
    };
    let cflags = if has_header { "-I${includedir}" } else { "" };
    format!(
        "prefix=${{pcfiledir}}\n\
         libdir=${{prefix}}\n\
         includedir=${{prefix}}\n\
         \n\
         Name: {name}\n\
         Description: C library of the Python module '{module}', built by cembed\n\
         Version: {version}\n\
         Cflags: {cflags}\n\
         Libs: {libs}\n",
        module = module_name.replace('\n', " "),
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// `word` with spaces and shell-special characters escaped by a backslash,
/// as pkg-config escapes `${pcfiledir}` and prints its flags: a word
/// without them is unchanged, so `$(cembed pkg-config ...)` works in a
/// plain shell command; one with them reads back as one word in a Makefile
/// recipe or through `eval` (quotes would be kept literally by the
/// word splitting of `$(...)`, and break every path). Hand-written: the
/// `shlex` crate quotes instead, and quotes every `-Wl,-rpath,...` (for
/// its commas).
pub fn shell_escape(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if c.is_whitespace() || "\\\"'$`!#&*()[]{}|;<>?~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Writes the `.pc` file beside `library` (never over a file cembed did not
/// write: that is logged and skipped, like the consumer header).
pub fn write_pc_file(
    library: &Path,
    header: Option<&Path>,
    module_name: &str,
    log: &mut Vec<String>,
) -> Result<(), BuildError> {
    let (Some(pc), Some(file)) = (pc_path(library), library.file_name()) else {
        return Ok(());
    };
    // The header sits beside the library unless another path was asked for;
    // only one beside it belongs in a relocatable .pc file.
    let beside = header.is_some_and(|h| h.parent() == library.parent());
    let text = pc_text(&file.to_string_lossy(), beside, module_name);
    crate::write_owned(
        &pc,
        PC_MARKER,
        &text,
        "the pkg-config file",
        None,
        false,
        log,
    )?;
    Ok(())
}

/// The flags `cembed pkg-config` prints for the library at `library`
/// (absolute): `-I<dir>` for cflags; `-L<dir> -l<name>` or the file for
/// libs; `-Wl,-rpath,<dir>` only when `rpath` is asked for.
pub fn flags(library: &Path, cflags: bool, libs: bool, rpath: bool) -> Vec<String> {
    let dir = library
        .parent()
        .unwrap_or(Path::new("/"))
        .to_string_lossy()
        .into_owned();
    let mut out = Vec::new();
    if cflags {
        out.push(format!("-I{dir}"));
    }
    if libs {
        let file = library
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match link_by(&file) {
            LinkBy::Name(n) => {
                out.push(format!("-L{dir}"));
                out.push(format!("-l{n}"));
            }
            LinkBy::File(_) => out.push(library.to_string_lossy().into_owned()),
        }
    }
    if rpath {
        out.push(format!("-Wl,-rpath,{dir}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pc_file_names_and_text() {
        assert_eq!(
            pc_path(Path::new("/a b/libplugin.so")).unwrap(),
            Path::new("/a b/plugin.pc")
        );
        assert_eq!(
            pc_path(Path::new("/x/plugin-1.5.so")).unwrap(),
            Path::new("/x/plugin-1.5.pc")
        );
        let t = pc_text("libplugin.so", true, "my_plugin");
        assert!(t.contains("prefix=${pcfiledir}\n"), "{t}");
        assert!(t.contains("Cflags: -I${includedir}\n"), "{t}");
        assert!(t.contains("Libs: -L${libdir} -lplugin\n"), "{t}");
        let t = pc_text("plugin 1.5.so", false, "m");
        assert!(t.contains("Libs: ${libdir}/plugin\\ 1.5.so\n"), "{t}");
        assert!(t.contains("Cflags: \n"), "{t}");
    }

    #[test]
    fn escaping() {
        assert_eq!(shell_escape("-Wl,-rpath,/a/b=c"), "-Wl,-rpath,/a/b=c");
        assert_eq!(shell_escape("-I/a b/c's"), "-I/a\\ b/c\\'s");
    }
}
