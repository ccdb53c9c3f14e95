//! `cembed bundle`: a self-contained, relocatable folder for a built library.
//!
//! ```text
//! DIR/
//!   libplugin.so            the library, unchanged (it finds the rest through
//!   libplugin.so.cembed     this config file, beside it: cembed_glue.h)
//!   plugin.h  plugin.pc     consumer header, pkg-config file (${pcfiledir})
//!   cembed-manifest.json    Python version/ABI, minimum glibc, system
//!                           libraries still needed, size and sha256 per file
//!   python/                 the build's CPython (unless --no-python):
//!     bin/python3           RUNPATH $ORIGIN/../lib: sys.executable, used by
//!                           subprocess and multiprocessing (spawn, forkserver)
//!     lib/libpython3.X.so.1.0
//!     lib/python3.X/        standard library with lib-dynload
//!     lib/python3.X/site-packages/   the user's packages and the runtime
//!   site-packages/          (--no-python only) the same, for an installed Python
//! ```
//!
//! The library itself is not relinked: the loader finds its own file with
//! `dladdr()` and reads `<library>.cembed`, whose relative paths are relative
//! to the library's directory, so the folder works wherever it is moved. The
//! interpreter is isolated (PyConfig isolated: PYTHONPATH, PYTHONHOME and the
//! user site of the target machine are ignored).
//!
//! Packages: the build environment's site-packages minus build tools (pip,
//! setuptools, wheel, maturin...). Not "only what the init code imports": an
//! import analysis cannot see `importlib.import_module(name)`, plugins found
//! through entry points, or data files, and a bundle that fails on the target
//! machine is worse than a few megabytes more; `exclude` and `add` adjust it.
//!
//! Nothing is half-written: everything goes into a temporary directory beside
//! the output, renamed into place at the end (removed on any error).

use crate::compiler::TempDir;
use crate::paths::{absolute, header_name, SHARED_LIB_SUFFIX};
use crate::request::{BuildError, ErrorKind};
use object::read::elf::{Dyn as _, ElfFile64, SectionHeader as _};
use object::Endianness;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What to bundle and how (the CLI's flags, `cembed.bundle()`'s arguments).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BundleOptions {
    /// The cembed library to bundle.
    pub library: PathBuf,
    /// The folder to create (must not exist, or be empty).
    pub output: PathBuf,
    /// Leave out CPython: the target machine has a Python of the same
    /// version on PATH.
    pub no_python: bool,
    /// The interpreter whose packages and CPython go in (default: the one
    /// the library was built with).
    pub python: Option<PathBuf>,
    /// `strip --strip-unneeded` every shared object and the executable.
    pub strip: bool,
    /// Leave out test, idlelib, tkinter, ensurepip and turtledemo.
    pub trim: bool,
    /// Precompile every module (unchecked-hash .pyc: valid after a move).
    pub compile: bool,
    /// Extra packages or modules (directories or files) for site-packages.
    pub add: Vec<PathBuf>,
    /// Top-level packages or modules of site-packages to leave out.
    pub exclude: Vec<String>,
}

/// The build facts a cembed library carries in its `.cembed` section (what
/// codegen baked into it, plus the module name and ABI version).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LibraryInfo {
    pub module: String,
    pub abi: String,
    pub build: cembed_codegen::BuildInfo,
}

/// What was written, for the size report.
#[derive(Clone, Debug)]
pub struct BundleReport {
    pub output: PathBuf,
    pub library: String,
    /// `(part, bytes)` in a fixed order; the total is their sum.
    pub parts: Vec<(&'static str, u64)>,
    pub files: usize,
    pub python: String,
    pub glibc_min: Option<String>,
    pub system_libraries: Vec<String>,
}

impl BundleReport {
    pub fn total(&self) -> u64 {
        self.parts.iter().map(|(_, n)| n).sum()
    }
}

fn human(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KB", n as f64 / 1024.0)
    }
}

impl fmt::Display for BundleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} in {} files ({})",
            self.output.display(),
            human(self.total()),
            self.files,
            self.python
        )?;
        for (part, n) in &self.parts {
            writeln!(f, "  {part:<28} {:>10}", human(*n))?;
        }
        if let Some(g) = &self.glibc_min {
            writeln!(f, "  needs glibc >= {g}")?;
        }
        writeln!(
            f,
            "  needs from the system: {}",
            self.system_libraries.join(" ")
        )
    }
}

/// Packages of a build environment that only build or install things.
const BUILD_TOOLS: &[&str] = &[
    "pip",
    "setuptools",
    "wheel",
    "pkg_resources",
    "_distutils_hack",
    "distutils-precedence",
    "maturin",
];

/// Standard-library parts `trim` leaves out: tests, the IDE, Tk, the pip
/// installer, turtle demos (and their extension modules).
const TRIMMED: &[&str] = &["test", "idlelib", "tkinter", "ensurepip", "turtledemo"];
const TRIMMED_DYNLOAD: &[&str] = &["_tkinter", "_test", "_ctypes_test", "_xxtestfuzz", "xx"];

/// Reads the `.cembed` section of `path`.
pub fn library_info(path: &Path) -> Result<LibraryInfo, BuildError> {
    let data = std::fs::read(path)
        .map_err(|e| BuildError::io(format!("cannot read the library {}", path.display()), e))?;
    let not_ours =
        |why: &str| BuildError::usage(format!("{} is not a cembed library: {why}", path.display()));
    let elf = ElfFile64::<Endianness>::parse(&*data)
        .map_err(|_| not_ours("not a 64-bit ELF shared library"))?;
    let endian = elf.endian();
    let sections = elf.elf_section_table();
    let (_, section) = sections.section_by_name(endian, b".cembed").ok_or_else(|| {
        not_ours("it has no .cembed section (libraries built by cembed carry their build facts there)")
    })?;
    let bytes = section
        .data(endian, &*data)
        .map_err(|_| not_ours("its .cembed section cannot be read"))?;
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end_matches('\0');
    let mut lines = text.lines();
    if lines.next() != Some("cembed-library 1") {
        return Err(not_ours("its .cembed section has an unknown format"));
    }
    let mut info = LibraryInfo::default();
    let mut pypy = false;
    for line in lines {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.to_string();
        match k {
            "module" => info.module = v,
            "abi" => info.abi = v,
            "python_version" => info.build.python_version = v,
            "python_executable" => info.build.python_executable = v,
            "libpython" => info.build.libpython = v,
            "runtime" => info.build.runtime = v,
            "cembed_version" => info.build.cembed_version = v,
            "implementation" => pypy = v == "pypy",
            _ => {}
        }
    }
    if info.module.is_empty() || info.build.python_version.is_empty() {
        return Err(not_ours("its .cembed section is incomplete"));
    }
    if pypy {
        return Err(BuildError::usage(format!(
            "{} was built for PyPy ({}): `cembed bundle` makes bundles of libraries built for CPython only (docs/pypy.md)",
            path.display(),
            info.build.libpython
        )));
    }
    Ok(info)
}

/// Asks the build interpreter where its parts are.
const LAYOUT_SCRIPT: &str = r#"
import json, os, sys, sysconfig
v = sysconfig.get_config_var
p = sysconfig.get_paths()
print(json.dumps({
    "version": "%d.%d" % sys.version_info[:2],
    "full_version": "%d.%d.%d" % sys.version_info[:3],
    "soabi": v("SOABI") or "",
    "stdlib": p["stdlib"], "purelib": p["purelib"], "platlib": p["platlib"],
    "dynload": v("DESTSHARED") or os.path.join(p["platstdlib"], "lib-dynload"),
    "libdir": v("LIBDIR"), "instsoname": v("INSTSONAME"), "ldlibrary": v("LDLIBRARY"),
    "base_executable": os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable),
}))
"#;

#[derive(Deserialize)]
struct Layout {
    version: String,
    full_version: String,
    soabi: String,
    stdlib: PathBuf,
    purelib: PathBuf,
    platlib: PathBuf,
    dynload: PathBuf,
    libdir: Option<String>,
    instsoname: Option<String>,
    ldlibrary: Option<String>,
    base_executable: PathBuf,
}

fn layout(python: &Path, info: &LibraryInfo, chosen: bool) -> Result<Layout, BuildError> {
    if !python.exists() {
        return Err(BuildError::usage(format!(
            "the library's build environment is gone: its interpreter {} does not exist. \
             Recreate that environment (same path, with the packages the init code needs), \
             or give another Python {} environment with cembed installed (--python)",
            python.display(),
            info.build.python_version
        )));
    }
    let out = Command::new(python)
        .args(["-I", "-c", LAYOUT_SCRIPT])
        .output()
        .map_err(|e| BuildError::io(format!("cannot run {}", python.display()), e))?;
    if !out.status.success() {
        return Err(BuildError::usage(format!(
            "{} failed to describe its installation:\n{}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let l: Layout = serde_json::from_slice(&out.stdout).map_err(|e| {
        BuildError::usage(format!("unexpected output from {}: {e}", python.display()))
    })?;
    if l.version != info.build.python_version {
        return Err(BuildError::usage(format!(
            "{} is Python {}, but the library was built for Python {}{}",
            python.display(),
            l.version,
            info.build.python_version,
            if chosen {
                ""
            } else {
                " (its build interpreter changed)"
            }
        )));
    }
    Ok(l)
}

/// Copies `src` (a file or a tree) to `dst`, following symlinks, leaving out
/// entries for which `skip(relative path)` holds and `__pycache__`.
fn copy_tree(src: &Path, dst: &Path, skip: &dyn Fn(&Path) -> bool) -> Result<(), BuildError> {
    let io = |what: &str, p: &Path, e: std::io::Error| {
        BuildError::io(format!("{what} {}", p.display()), e)
    };
    let mut it = walkdir::WalkDir::new(src).follow_links(true).into_iter();
    while let Some(entry) = it.next() {
        let entry = entry.map_err(|e| {
            BuildError::new(ErrorKind::Io, format!("cannot read {}: {e}", src.display()))
        })?;
        let rel = entry.path().strip_prefix(src).unwrap_or(Path::new(""));
        let name = entry.file_name().to_string_lossy();
        if !rel.as_os_str().is_empty() && (name == "__pycache__" || skip(rel)) {
            if entry.file_type().is_dir() {
                it.skip_current_dir();
            }
            continue;
        }
        // (`dst.join("")` would end in '/': not a file name.)
        let target = if rel.as_os_str().is_empty() {
            dst.to_path_buf()
        } else {
            dst.join(rel)
        };
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| io("cannot create", &target, e))?;
        } else {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io("cannot create", parent, e))?;
            }
            std::fs::copy(entry.path(), &target).map_err(|e| io("cannot copy", entry.path(), e))?;
        }
    }
    Ok(())
}

/// Does a top-level site-packages entry belong to package `name`? (The
/// package or module itself, its `.pth`, its `*.dist-info`/`*.egg-info`.)
fn belongs_to(entry: &str, name: &str) -> bool {
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let e = norm(entry);
    let n = norm(name);
    if e == n || e == format!("{n}.py") || e == format!("{n}.pth") {
        return true;
    }
    if e.starts_with(&format!("{n}.cpython")) || e.starts_with(&format!("{n}.abi3")) {
        return true;
    }
    (e.ends_with(".dist_info") || e.ends_with(".egg_info"))
        && e.strip_prefix(&n).is_some_and(|rest| rest.starts_with('_'))
        && e[n.len() + 1..].starts_with(|c: char| c.is_ascii_digit())
}

/// Facts about one ELF file: its DT_NEEDED names, the highest GLIBC_x.y it
/// needs, and where its DT_RUNPATH/DT_RPATH string is (file offset, length).
#[derive(Default)]
struct ElfFacts {
    needed: Vec<String>,
    glibc: Option<(u32, u32)>,
    runpath: Option<(usize, usize)>,
}

fn elf_facts(data: &[u8]) -> Option<ElfFacts> {
    let elf = ElfFile64::<Endianness>::parse(data).ok()?;
    let endian = elf.endian();
    let sections = elf.elf_section_table();
    let mut facts = ElfFacts::default();
    if let Ok(Some((dyns, strtab))) = sections.dynamic(endian, data) {
        let strings = sections.strings(endian, data, strtab).ok()?;
        let str_offset = sections.section(strtab).ok()?.sh_offset(endian) as usize;
        for d in dyns {
            let tag = d.d_tag(endian) as u32;
            let val = d.d_val(endian);
            if tag == object::elf::DT_NEEDED {
                if let Ok(name) = strings.get(val as u32) {
                    facts
                        .needed
                        .push(String::from_utf8_lossy(name).into_owned());
                }
            } else if tag == object::elf::DT_RUNPATH || tag == object::elf::DT_RPATH {
                if let Ok(s) = strings.get(val as u32) {
                    facts.runpath = Some((str_offset + val as usize, s.len()));
                }
            }
        }
    }
    if let Ok(Some((mut needs, strtab))) = sections.gnu_verneed(endian, data) {
        let strings = sections.strings(endian, data, strtab).ok()?;
        while let Ok(Some((_, mut aux))) = needs.next() {
            while let Ok(Some(a)) = aux.next() {
                let Ok(name) = a.name(endian, strings) else {
                    continue;
                };
                let name = String::from_utf8_lossy(name);
                if let Some(v) = name.strip_prefix("GLIBC_") {
                    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
                    let ver = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
                    if facts.glibc.is_none_or(|g| ver > g) {
                        facts.glibc = Some(ver);
                    }
                }
            }
        }
    }
    Some(facts)
}

/// Points `exe`'s RUNPATH at `$ORIGIN/../lib` by rewriting the string in
/// place. patchelf would do it, but it is a separate program users would
/// need installed, and a shorter string written over the old one (NUL
/// padded) needs no relayout of the file, which is all patchelf would add.
fn point_runpath_at_lib(exe: &Path, log: &mut Vec<String>) -> Result<(), BuildError> {
    const NEW: &[u8] = b"$ORIGIN/../lib";
    let mut data = std::fs::read(exe)
        .map_err(|e| BuildError::io(format!("cannot read {}", exe.display()), e))?;
    let facts = elf_facts(&data).unwrap_or_default();
    if !facts.needed.iter().any(|n| n.starts_with("libpython")) {
        return Ok(()); // libpython is linked in statically
    }
    match facts.runpath {
        Some((off, len)) if len >= NEW.len() && off + len <= data.len() => {
            data[off..off + len].fill(0);
            data[off..off + NEW.len()].copy_from_slice(NEW);
            std::fs::write(exe, &data)
                .map_err(|e| BuildError::io(format!("cannot write {}", exe.display()), e))
        }
        _ => {
            log.push(format!(
                "warning: {} has no RUNPATH long enough to rewrite: it finds libpython through \
                 the system's search path only",
                exe.display()
            ));
            Ok(())
        }
    }
}

fn run_tool(cmd: &mut Command, what: &str) -> Result<(), BuildError> {
    let out = cmd
        .output()
        .map_err(|e| BuildError::io(format!("cannot run {what} (is it installed?)"), e))?;
    if !out.status.success() {
        return Err(BuildError::usage(format!(
            "{what} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), BuildError> {
    std::fs::write(path, text)
        .map_err(|e| BuildError::io(format!("cannot write {}", path.display()), e))
}

/// Checks the output location: its parent exists, it is absent or an empty
/// directory. Returns the absolute output path.
fn check_output(output: &Path) -> Result<PathBuf, BuildError> {
    let cwd = std::env::current_dir()
        .map_err(|e| BuildError::io("cannot read the current directory", e))?;
    let out = absolute(&cwd, output);
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| BuildError::usage(format!("bad output directory {}", output.display())))?;
    if !parent.is_dir() {
        return Err(BuildError::usage(format!(
            "the output's parent directory {} does not exist (create it first)",
            parent.display()
        )));
    }
    if out.exists() {
        let empty = out.is_dir()
            && std::fs::read_dir(&out)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
        if !empty {
            return Err(BuildError::usage(format!(
                "the output {} already exists and is not an empty directory: \
                 choose another one or remove it",
                out.display()
            )));
        }
    }
    Ok(out)
}

/// Makes the bundle (see the module comment).
pub fn bundle(opts: &BundleOptions, log: &mut Vec<String>) -> Result<BundleReport, BuildError> {
    let cwd = std::env::current_dir()
        .map_err(|e| BuildError::io("cannot read the current directory", e))?;
    let library = absolute(&cwd, &opts.library);
    if !library.is_file() {
        return Err(BuildError::usage(format!(
            "no library at {}",
            library.display()
        )));
    }
    let info = library_info(&library)?;
    let output = check_output(&opts.output)?;
    let python = opts
        .python
        .clone()
        .unwrap_or_else(|| PathBuf::from(&info.build.python_executable));
    let lay = layout(&python, &info, opts.python.is_some())?;
    let v = &lay.version;

    let parent = output.parent().expect("checked");
    let tmp = TempDir::new(parent, "bundle")?;
    let root = tmp.path().to_path_buf();
    let lib_name = library
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();

    // The library, its header, its pkg-config file.
    std::fs::copy(&library, root.join(&lib_name))
        .map_err(|e| BuildError::io(format!("cannot copy {}", library.display()), e))?;
    let header = header_name(&lib_name);
    let header_src = library.with_file_name(&header);
    if header_src.is_file() {
        std::fs::copy(&header_src, root.join(&header))
            .map_err(|e| BuildError::io(format!("cannot copy {}", header_src.display()), e))?;
    }
    let short = lib_name
        .strip_prefix("lib")
        .and_then(|n| n.strip_suffix(SHARED_LIB_SUFFIX))
        .filter(|n| !n.is_empty());
    let stem = header.trim_end_matches(".h").to_string();
    let libs = match short {
        Some(n) => format!("-L${{prefix}} -l{n} -Wl,-rpath,${{prefix}}"),
        None => format!("${{prefix}}/{lib_name} -Wl,-rpath,${{prefix}}"),
    };
    write(
        &root.join(format!("{stem}.pc")),
        &format!(
            "# Written by cembed bundle: the folder may move, ${{pcfiledir}} follows it.\n\
             prefix=${{pcfiledir}}\n\n\
             Name: {stem}\n\
             Description: cembed library for the Python module '{}' (with its Python)\n\
             Version: {}\n\
             Cflags: -I${{prefix}}\n\
             Libs: {libs}\n",
            info.module, info.build.cembed_version
        ),
    )?;

    // Packages: the build environment's site-packages, minus build tools.
    let site_rel = if opts.no_python {
        PathBuf::from("site-packages")
    } else {
        PathBuf::from(format!("python/lib/python{v}/site-packages"))
    };
    let site = root.join(&site_rel);
    std::fs::create_dir_all(&site)
        .map_err(|e| BuildError::io(format!("cannot create {}", site.display()), e))?;
    let excluded: Vec<String> = BUILD_TOOLS
        .iter()
        .map(|s| s.to_string())
        .chain(opts.exclude.iter().cloned())
        .collect();
    let mut sources = vec![lay.purelib.clone()];
    if lay.platlib != lay.purelib {
        sources.push(lay.platlib.clone());
    }
    for src in sources.iter().filter(|p| p.is_dir()) {
        copy_tree(src, &site, &|rel: &Path| {
            let top = rel
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned());
            rel.components().count() == 1
                && top.is_some_and(|t| excluded.iter().any(|x| belongs_to(&t, x)))
        })?;
    }
    for extra in &opts.add {
        let extra = absolute(&cwd, extra);
        let name = extra.file_name().ok_or_else(|| {
            BuildError::usage(format!("cannot add {}: no file name", extra.display()))
        })?;
        if !extra.exists() {
            return Err(BuildError::usage(format!(
                "cannot add {}: it does not exist",
                extra.display()
            )));
        }
        copy_tree(&extra, &site.join(name), &|_| false)?;
    }
    // The runtime the library was built against, where the loader will look.
    let runtime_src = PathBuf::from(&info.build.runtime);
    let runtime_name = runtime_src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let runtime_rel = site_rel.join("cembed").join(&runtime_name);
    if !root.join(&runtime_rel).is_file() {
        if !runtime_src.is_file() {
            return Err(BuildError::usage(format!(
                "the cembed runtime the library was built with, {}, is gone and {} has none: \
                 install cembed into that environment",
                info.build.runtime,
                python.display()
            )));
        }
        std::fs::create_dir_all(site.join("cembed")).ok();
        std::fs::copy(&runtime_src, root.join(&runtime_rel))
            .map_err(|e| BuildError::io(format!("cannot copy {}", info.build.runtime), e))?;
    }

    // CPython: executable, libpython, standard library.
    let mut config = String::from(
        "# Written by cembed bundle: where this library's Python is, relative to\n\
         # this file's directory (docs/shipping.md). The interpreter is isolated.\n",
    );
    if opts.no_python {
        config.push_str(&format!(
            "python = python{v}\npath = {}\nruntime = {}\nisolated = 1\n",
            site_rel.display(),
            runtime_rel.display()
        ));
    } else {
        let libpython = crate::python::resolve_libpython(
            lay.libdir.as_deref(),
            lay.instsoname.as_deref(),
            lay.ldlibrary.as_deref(),
        )
        .ok_or_else(|| {
            BuildError::usage(format!(
                "{} has no shared libpython to bundle",
                python.display()
            ))
        })?;
        let libpython_name = libpython.file_name().expect("a file").to_owned();
        let pylib = root.join("python/lib");
        let stdlib = pylib.join(format!("python{v}"));
        std::fs::create_dir_all(root.join("python/bin"))
            .map_err(|e| BuildError::io("cannot create python/bin", e))?;
        std::fs::copy(&libpython, pylib.join(&libpython_name))
            .map_err(|e| BuildError::io(format!("cannot copy {}", libpython.display()), e))?;
        let exe = root.join("python/bin/python3");
        std::fs::copy(&lay.base_executable, &exe).map_err(|e| {
            BuildError::io(format!("cannot copy {}", lay.base_executable.display()), e)
        })?;
        point_runpath_at_lib(&exe, log)?;
        let dynload_rel = lay
            .dynload
            .strip_prefix(&lay.stdlib)
            .ok()
            .map(Path::to_path_buf);
        let trim = opts.trim;
        copy_tree(&lay.stdlib, &stdlib, &|rel: &Path| {
            let top = rel
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned());
            let top = top.as_deref().unwrap_or("");
            // Installed packages come from the build environment instead;
            // config-3.X-* holds the static libpython and build files.
            top == "site-packages"
                || top == "dist-packages"
                || (rel.components().count() == 1 && top.starts_with("config-"))
                || dynload_rel.as_deref() == Some(rel)
                || (trim && TRIMMED.contains(&top))
        })?;
        copy_tree(&lay.dynload, &stdlib.join("lib-dynload"), &|rel: &Path| {
            let name = rel.to_string_lossy();
            trim && TRIMMED_DYNLOAD
                .iter()
                .any(|t| name.starts_with(&format!("{t}.")) || name.starts_with(&format!("{t}_")))
        })?;
        config.push_str(&format!(
            "python = python/bin/python3\nhome = python\nlibpython = python/lib/{}\n\
             runtime = {}\nisolated = 1\n",
            libpython_name.to_string_lossy(),
            runtime_rel.display()
        ));
    }
    write(&root.join(format!("{lib_name}.cembed")), &config)?;

    if opts.compile {
        let mut cmd = Command::new(&python);
        cmd.args([
            "-I",
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "unchecked-hash",
        ]);
        if !opts.no_python {
            cmd.arg(root.join(format!("python/lib/python{v}")));
        } else {
            cmd.arg(&site);
        }
        log.push(crate::compiler::command_line(&cmd));
        let out = cmd
            .output()
            .map_err(|e| BuildError::io(format!("cannot run {}", python.display()), e))?;
        // The standard library holds files that are not valid Python on
        // purpose (lib2to3's test data, bad-syntax tests): compileall then
        // exits 1. Such files are never imported; they only get no .pyc.
        if !out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            let failed = text.matches("*** Error compiling").count();
            log.push(format!(
                "warning: compileall: {failed} files are not valid Python and got no bytecode"
            ));
        }
    }

    // ELF facts (and strip).
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    files.sort();
    let elf_files: Vec<&PathBuf> = files
        .iter()
        .filter(|p| {
            std::fs::File::open(p)
                .and_then(|mut f| {
                    let mut magic = [0u8; 4];
                    std::io::Read::read_exact(&mut f, &mut magic).map(|()| magic)
                })
                .is_ok_and(|m| &m == b"\x7fELF")
        })
        .collect();
    if opts.strip {
        for chunk in elf_files.chunks(200) {
            let mut cmd = Command::new("strip");
            cmd.arg("--strip-unneeded")
                .args(chunk.iter().map(|p| p.as_os_str()));
            run_tool(&mut cmd, "strip")?;
        }
    }
    let mut provided = BTreeSet::new();
    for p in &elf_files {
        if let Some(n) = p.file_name() {
            provided.insert(n.to_string_lossy().into_owned());
        }
    }
    let mut system = BTreeSet::new();
    let mut glibc: Option<(u32, u32)> = None;
    let mut manifest_files = Vec::new();
    let mut parts: BTreeMap<&'static str, u64> = BTreeMap::new();
    for p in &files {
        let data = std::fs::read(p)
            .map_err(|e| BuildError::io(format!("cannot read {}", p.display()), e))?;
        let rel = p
            .strip_prefix(&root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned();
        if data.starts_with(b"\x7fELF") {
            if let Some(f) = elf_facts(&data) {
                for n in f.needed {
                    if !provided.contains(&n) {
                        system.insert(n);
                    }
                }
                if let Some(g) = f.glibc {
                    glibc = Some(glibc.map_or(g, |old| old.max(g)));
                }
            }
        }
        let part = if rel.starts_with(&*site_rel.to_string_lossy()) {
            "packages (site-packages)"
        } else if rel.starts_with("python/lib/python") {
            "Python standard library"
        } else if rel.starts_with("python/") {
            "libpython, bin/python3"
        } else {
            "library, header, config"
        };
        *parts.entry(part).or_default() += data.len() as u64;
        manifest_files.push(serde_json::json!({
            "path": rel,
            "size": data.len(),
            "sha256": format!("{:x}", Sha256::digest(&data)),
        }));
    }
    let glibc_min = glibc.map(|(a, b)| format!("{a}.{b}"));
    let python_desc = if opts.no_python {
        format!("Python {v} from the target machine")
    } else {
        format!("CPython {}", lay.full_version)
    };
    let manifest = serde_json::json!({
        "format": 1,
        "cembed_version": info.build.cembed_version,
        "abi": info.abi,
        "module": info.module,
        "library": lib_name,
        "python": {
            "version": lay.full_version,
            "abi": lay.soabi,
            "bundled": !opts.no_python,
            "isolated": true,
        },
        "glibc_min": glibc_min,
        "system_libraries": system.iter().collect::<Vec<_>>(),
        "excluded_packages": excluded,
        "trimmed": opts.trim,
        "stripped": opts.strip,
        "compiled": opts.compile,
        "size": parts.values().sum::<u64>(),
        "files": manifest_files,
    });
    write(
        &root.join("cembed-manifest.json"),
        &(serde_json::to_string_pretty(&manifest).expect("json") + "\n"),
    )?;

    // Into place: an empty output directory is replaced.
    if output.is_dir() {
        std::fs::remove_dir(&output)
            .map_err(|e| BuildError::io(format!("cannot replace {}", output.display()), e))?;
    }
    std::fs::rename(&root, &output).map_err(|e| {
        BuildError::io(format!("cannot move the bundle to {}", output.display()), e)
    })?;
    let order = [
        "library, header, config",
        "packages (site-packages)",
        "libpython, bin/python3",
        "Python standard library",
    ];
    Ok(BundleReport {
        output,
        library: lib_name,
        parts: order
            .iter()
            .filter_map(|k| parts.get(k).map(|n| (*k, *n)))
            .collect(),
        files: files.len() + 1,
        python: python_desc,
        glibc_min,
        system_libraries: system.into_iter().collect(),
    })
}

/// `{"action": "bundle", ...}` from `cembed request` (the Python
/// `cembed.bundle()`): the options as fields, the report as the response.
pub fn run_value(mut request: serde_json::Value) -> serde_json::Value {
    if let Some(m) = request.as_object_mut() {
        m.remove("action");
    }
    let mut log = Vec::new();
    let result = serde_json::from_value::<BundleOptions>(request)
        .map_err(|e| BuildError::usage(format!("malformed bundle request: {e}")))
        .and_then(|opts| bundle(&opts, &mut log));
    match result {
        Ok(r) => serde_json::json!({
            "ok": true,
            "path": r.output.to_string_lossy(),
            "size": r.total(),
            "report": r.to_string(),
            "log": log,
        }),
        Err(e) => serde_json::json!({
            "ok": false,
            "kind": e.kind,
            "message": e.message,
            "log": log,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_entries() {
        assert!(belongs_to("pip", "pip"));
        assert!(belongs_to("pip-23.2.1.dist-info", "pip"));
        assert!(belongs_to(
            "distutils-precedence.pth",
            "distutils-precedence"
        ));
        assert!(belongs_to(
            "_cffi_backend.cpython-311-x86_64-linux-gnu.so",
            "_cffi_backend"
        ));
        assert!(belongs_to("py.py", "py"));
        assert!(!belongs_to("pipx", "pip"));
        assert!(!belongs_to("pip_audit-2.0.dist-info", "pip"));
        assert!(!belongs_to("pytest", "py"));
    }

    #[test]
    fn not_a_cembed_library() {
        let dir = std::env::temp_dir().join(format!("cembed-bundle-ut-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("text.so");
        std::fs::write(&f, "hello").unwrap();
        let e = library_info(&f).unwrap_err();
        assert!(
            e.message
                .ends_with("is not a cembed library: not a 64-bit ELF shared library"),
            "{}",
            e.message
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
