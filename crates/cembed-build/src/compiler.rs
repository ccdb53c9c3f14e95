//! The C compiler driver: compile the generated C file (and the user's extra
//! sources) and link them into a shared library, and put the library in place
//! atomically.
//!
//! The compiler is found the way distutils finds it for CFFI and every Unix
//! build does: `CC` (split like a shell, so `ccache gcc` works), else `cc`;
//! `CPPFLAGS` and `CFLAGS` are added to every compile, `LDFLAGS` to the link.
//! Every command is recorded in the log (shown by `verbose=True` / `-v`), and
//! a failing command's own output is returned in the error so the user sees
//! exactly what the compiler said.
//!
//! Hand-rolled rather than the `cc` crate, which cembed used at first: `cc`
//! detects the compiler family on every use by running the compiler twice
//! (`cc -E probe.c`, then `cc -?`), 12 ms that cannot be skipped through its
//! API, and 15% of a one-function library's whole build (the target is a
//! build in at most a fifth of cffi's time). cembed only ever builds for the
//! machine it runs on (the library loads the runtime of this very Python),
//! and the flags it needs (`-fPIC -O2 -Wall -pipe -shared`) are taken by
//! every Unix C compiler (gcc, clang, icx, `zig cc`), so the rest of `cc`'s
//! job, cross-compilation and MSVC, does not arise.
//!
//! A library made of the generated file alone (no extra `sources`) is
//! compiled and linked by one compiler command: one driver start and no
//! object file, 3 ms less than two commands. The glue's loader, the same C in
//! every library, comes compiled from cembed's cache (`loader_object`): it
//! is compiled there the first time a compiler and set of flags is used.
//!
//! Atomicity: the library is linked to a temporary name in its final directory
//! and renamed over the target only on success, so a failed build never
//! leaves a library (a half-written one, or one a host could load by mistake).
//! Objects go to a private directory that is always removed.

use crate::paths::absolute;
use crate::request::{BuildError, BuildOptions, ErrorKind};
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The C compiler command with its flags.
#[derive(Clone, Debug)]
pub struct Compiler {
    /// The program and its leading arguments (`CC`, else `cc`).
    command: Vec<String>,
    /// Flags of every compile: cembed's, then CPPFLAGS and CFLAGS (later
    /// flags win, so `CFLAGS=-O3` overrides the default -O2).
    cflags: Vec<String>,
    /// Flags of the link (LDFLAGS).
    ldflags: Vec<String>,
}

/// What is compiled and linked.
#[derive(Clone, Debug)]
pub struct LinkJob<'a> {
    /// The directory commands run in; relative option paths resolve there.
    pub cwd: &'a Path,
    /// The generated C file.
    pub c_file: &'a Path,
    pub options: &'a BuildOptions,
    /// The final library path.
    pub library: &'a Path,
    /// `c_file` is codegen's output, whose glue can leave the loader to the
    /// cached object (`loader_object`); false for any other C file.
    pub generated: bool,
}

impl Compiler {
    /// The compiler of `CC` (else `cc`) with position-independent code, the
    /// optimisation level for `debug`, and the user's flags variables. A
    /// compiler that does not exist is reported by the first command run.
    pub fn detect(debug: bool) -> Compiler {
        let command = env_flags("CC");
        let command = if command.is_empty() {
            vec!["cc".to_string()]
        } else {
            command
        };
        let mut cflags: Vec<String> = ["-fPIC", "-pipe"].map(String::from).to_vec();
        if debug {
            cflags.extend(["-O0", "-g"].map(String::from));
        } else {
            cflags.push("-O2".to_string());
        }
        // -Wall, as distutils' flags give CFFI users: warnings about
        // set_source() code are worth seeing.
        cflags.push("-Wall".to_string());
        cflags.extend(env_flags("CPPFLAGS"));
        cflags.extend(env_flags("CFLAGS"));
        Compiler {
            command,
            cflags,
            ldflags: env_flags("LDFLAGS"),
        }
    }

    fn base_command(&self, cwd: &Path) -> Command {
        let mut cmd = Command::new(&self.command[0]);
        cmd.args(&self.command[1..]);
        cmd.args(&self.cflags);
        cmd.current_dir(cwd);
        cmd
    }

    /// Compiles every source and links the library. `log` receives each
    /// command and its output, `warnings` the output of commands that
    /// succeeded.
    pub fn build(
        &self,
        job: &LinkJob<'_>,
        log: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> Result<(), BuildError> {
        let lib_dir = job
            .library
            .parent()
            .ok_or_else(|| BuildError::usage("the library path has no directory"))?;
        std::fs::create_dir_all(lib_dir)
            .map_err(|e| BuildError::io(format!("cannot create {}", lib_dir.display()), e))?;
        if job.options.sources.is_empty() {
            let loader = if job.generated {
                self.loader_object(job, log, warnings)
            } else {
                None
            };
            return self.link(
                job,
                lib_dir,
                Inputs::Source(job.c_file, loader.as_deref()),
                log,
                warnings,
            );
        }
        let obj_dir = TempDir::new(job.cwd, "obj")?;
        let result = self.build_in(job, &obj_dir.0, lib_dir, log, warnings);
        drop(obj_dir);
        result
    }

    /// The glue's loader compiled apart (`cembed_codegen::loader_c`), from
    /// cembed's cache, compiled into it first if it is not there yet; None
    /// when there is no cache directory or the compile fails, and the
    /// library is then built from its file alone, loader included.
    ///
    /// The loader is the same C in every library and was about half of the
    /// compiler's work on a small one (docs/performance.md, "Build time"):
    /// compiled once, a one-function build takes ~30 ms of CPU less. The
    /// object must be what this build would have compiled, so its name is a
    /// hash of everything that reaches the compile: cembed's version, the
    /// loader's text, the compiler command and the file it resolves to (size
    /// and modification time: an upgraded compiler gets a new object; behind
    /// a wrapper such as `ccache gcc` only the wrapper is seen, and an
    /// older gcc's object, same C ABI, still links), every
    /// compile flag (CFLAGS, -O level, `-m32`, `-flto`, sanitizers) and the
    /// build's include dirs, macros and extra compile args. It is written
    /// under a temporary name and renamed into place, so concurrent builds
    /// never link a half-written object.
    fn loader_object(
        &self,
        job: &LinkJob<'_>,
        log: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> Option<PathBuf> {
        let dir = cache_dir()?;
        let compiler = resolve_program(&self.command[0], job.cwd)?;
        let meta = std::fs::metadata(&compiler).ok()?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let source = cembed_codegen::loader_c();
        let mut probe = self.base_command(job.cwd);
        Self::add_compile_options(&mut probe, job.options);
        probe.args(&job.options.extra_compile_args);
        let mut hasher = sha2::Sha256::new();
        let mut feed = |part: &str| {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        };
        feed(env!("CARGO_PKG_VERSION"));
        feed(&source);
        feed(&compiler.to_string_lossy());
        feed(&format!("{} {mtime}", meta.len()));
        // Relative paths in the flags resolve in the build's directory, which
        // then belongs in the key; a fresh tmpdir per build must not make a
        // new object when no flag depends on it.
        let relative = |a: &String| {
            let path = a.strip_prefix("-I").unwrap_or(a);
            (!a.starts_with('-') || a.starts_with("-I")) && !Path::new(path).is_absolute()
        };
        if job
            .options
            .include_dirs
            .iter()
            .any(|d| !Path::new(d).is_absolute())
            || !job.options.extra_compile_args.is_empty()
            || self.cflags.iter().any(relative)
        {
            feed(&job.cwd.to_string_lossy());
        }
        for arg in std::iter::once(probe.get_program()).chain(probe.get_args()) {
            feed(&arg.to_string_lossy());
        }
        let digest = hasher.finalize();
        let key: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let object = dir.join(format!("loader-{key}.o"));
        if std::fs::File::open(&object).is_ok_and(|f| f.metadata().is_ok_and(|m| m.is_file())) {
            log.push(format!(
                "the glue's loader, compiled before: {}",
                object.display()
            ));
            return Some(object);
        }
        std::fs::create_dir_all(&dir).ok()?;
        let tmp = dir.join(format!(".loader-{key}.{}", unique_suffix()));
        let tmp_c = tmp.with_extension("c");
        let tmp_o = tmp.with_extension("o");
        let placed = std::fs::write(&tmp_c, source).is_ok() && {
            let mut cmd = self.base_command(job.cwd);
            Self::add_compile_options(&mut cmd, job.options);
            cmd.arg("-c").arg(&tmp_c).arg("-o").arg(&tmp_o);
            cmd.args(&job.options.extra_compile_args);
            let mut loader_warnings = Vec::new();
            let compiled = run(
                &mut cmd,
                "compiling the glue's loader",
                log,
                &mut loader_warnings,
            );
            compiled.is_ok() && std::fs::rename(&tmp_o, &object).is_ok() && {
                warnings.extend(loader_warnings);
                true
            }
        };
        let _ = std::fs::remove_file(&tmp_c);
        if placed {
            Some(object)
        } else {
            let _ = std::fs::remove_file(&tmp_o);
            log.push("the loader is compiled with the library instead".to_string());
            None
        }
    }

    /// The compile-only flags of a job: include dirs and macros.
    fn add_compile_options(cmd: &mut Command, opts: &BuildOptions) {
        for d in &opts.include_dirs {
            cmd.arg(format!("-I{d}"));
        }
        for (name, value) in &opts.define_macros {
            match value {
                Some(v) => cmd.arg(format!("-D{name}={v}")),
                None => cmd.arg(format!("-D{name}")),
            };
        }
        for name in &opts.undef_macros {
            cmd.arg(format!("-U{name}"));
        }
    }

    fn build_in(
        &self,
        job: &LinkJob<'_>,
        obj_dir: &Path,
        lib_dir: &Path,
        log: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> Result<(), BuildError> {
        let opts = job.options;
        let mut sources: Vec<PathBuf> = vec![job.c_file.to_path_buf()];
        sources.extend(opts.sources.iter().map(|s| absolute(job.cwd, Path::new(s))));
        let mut objects = Vec::new();
        for (i, src) in sources.iter().enumerate() {
            let stem = src.file_stem().and_then(|s| s.to_str()).unwrap_or("source");
            let obj = obj_dir.join(format!("{i}-{stem}.o"));
            let mut cmd = self.base_command(job.cwd);
            Self::add_compile_options(&mut cmd, opts);
            cmd.arg("-c").arg(src).arg("-o").arg(&obj);
            cmd.args(&opts.extra_compile_args);
            run(
                &mut cmd,
                &format!("compiling {}", src.display()),
                log,
                warnings,
            )?;
            objects.push(obj);
        }
        self.link(job, lib_dir, Inputs::Objects(&objects), log, warnings)
    }

    /// Links the library (compiling the generated C file in the same command
    /// for `Inputs::Source`).
    fn link(
        &self,
        job: &LinkJob<'_>,
        lib_dir: &Path,
        inputs: Inputs<'_>,
        log: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> Result<(), BuildError> {
        let opts = job.options;
        // Link to a temporary name next to the target, then rename: the
        // rename is atomic on one file system, and a failure leaves nothing.
        let file_name = job
            .library
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("library");
        let tmp_lib = lib_dir.join(format!(".{file_name}.{}.tmp", unique_suffix()));
        let mut cmd = self.base_command(job.cwd);
        let what = match inputs {
            Inputs::Source(c_file, loader) => {
                if loader.is_some() {
                    cmd.arg("-DCEMBED_LOADER_EXTERN");
                }
                Self::add_compile_options(&mut cmd, opts);
                cmd.arg(c_file);
                cmd.args(loader);
                cmd.args(&opts.extra_compile_args);
                format!("building {}", job.library.display())
            }
            Inputs::Objects(objects) => {
                cmd.args(objects);
                format!("linking {}", job.library.display())
            }
        };
        cmd.arg("-shared");
        // A soname equal to the file name: a host linked with the library's
        // path (`gcc host.c ./plugin-1.5.so`) then records the bare name and
        // finds it through its rpath from any directory, instead of recording
        // `./plugin-1.5.so`, which only resolves from the build directory.
        // (CFFI sets none.) A -soname in extra_link_args comes later and wins.
        if cfg!(all(unix, not(target_os = "macos"))) {
            cmd.arg(format!("-Wl,-soname,{file_name}"));
        }
        cmd.args(&self.ldflags);
        cmd.args(&opts.extra_objects);
        for d in &opts.library_dirs {
            cmd.arg(format!("-L{d}"));
        }
        for d in &opts.runtime_library_dirs {
            cmd.arg(format!("-Wl,-rpath,{d}"));
        }
        for l in &opts.libraries {
            cmd.arg(format!("-l{l}"));
        }
        cmd.args(&opts.extra_link_args);
        // The glue dlopen()s libpython and the runtime, and locks a mutex.
        cmd.args(["-ldl", "-lpthread"]);
        cmd.arg("-o").arg(&tmp_lib);
        let linked = run(&mut cmd, &what, log, warnings);
        let placed = linked.and_then(|()| {
            std::fs::rename(&tmp_lib, job.library).map_err(|e| {
                BuildError::io(
                    format!(
                        "cannot move the library into place at {}",
                        job.library.display()
                    ),
                    e,
                )
            })
        });
        if placed.is_err() {
            let _ = std::fs::remove_file(&tmp_lib);
        }
        placed
    }
}

/// What the link command starts from.
#[derive(Copy, Clone)]
enum Inputs<'a> {
    /// The generated C file alone (with the loader's cached object, if
    /// any): compiled and linked in one command.
    Source(&'a Path, Option<&'a Path>),
    /// Objects compiled before.
    Objects(&'a [PathBuf]),
}

/// Where compiled loaders are kept: `CEMBED_CACHE_DIR` (set but empty: no
/// cache), else `$XDG_CACHE_HOME/cembed`, else `~/.cache/cembed`.
fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CEMBED_CACHE_DIR") {
        return if dir.is_empty() {
            None
        } else {
            Some(PathBuf::from(dir))
        };
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        let dir = PathBuf::from(dir);
        if dir.is_absolute() {
            return Some(dir.join("cembed"));
        }
    }
    let home = PathBuf::from(std::env::var_os("HOME")?);
    home.is_absolute()
        .then(|| home.join(".cache").join("cembed"))
}

/// The file a command name runs: itself if it names a path, else the first
/// executable of that name on PATH; resolved through symbolic links (`cc` is
/// one), so the cache key sees the compiler itself.
fn resolve_program(program: &str, cwd: &Path) -> Option<PathBuf> {
    let found = if program.contains('/') {
        Some(absolute(cwd, Path::new(program)))
    } else {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join(program))
            .find(|p| {
                std::fs::metadata(p)
                    .map(|m| m.is_file() && is_executable(&m))
                    .unwrap_or(false)
            })
    }?;
    std::fs::canonicalize(found).ok()
}

#[cfg(unix)]
fn is_executable(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    true
}

/// The words of a flags variable; none if unset or not Unicode.
fn env_flags(name: &str) -> Vec<String> {
    std::env::var(name)
        .map(|s| split_flags(&s))
        .unwrap_or_default()
}

/// Runs one compiler command, logging it; a failure returns the command and
/// the compiler's own output.
fn run(
    cmd: &mut Command,
    what: &str,
    log: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<(), BuildError> {
    let line = command_line(cmd);
    log.push(line.clone());
    let out = cmd.output().map_err(|e| {
        BuildError::new(
            ErrorKind::Compile,
            format!(
                "{what}: cannot run the C compiler '{}': {e} (set CC to choose another)",
                cmd.get_program().to_string_lossy()
            ),
        )
    })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let output = format!("{stdout}{stderr}");
    if out.status.success() {
        // Warnings are shown whatever the verbosity (as the compiler's
        // stderr is with CFFI); they also go to the log in command order.
        if !output.trim().is_empty() {
            log.push(output.trim_end().to_string());
            warnings.push(output.trim_end().to_string());
        }
        Ok(())
    } else {
        let status = match out.status.code() {
            Some(c) => format!("exit status {c}"),
            None => "killed by a signal".to_string(),
        };
        Err(BuildError::new(
            ErrorKind::Compile,
            format!("{what} failed ({status}):\n{line}\n{}", output.trim_end()),
        ))
    }
}

/// The command as a shell line (for the log and error messages).
pub fn command_line(cmd: &Command) -> String {
    let mut parts = vec![shell_quote(&cmd.get_program().to_string_lossy())];
    parts.extend(cmd.get_args().map(|a| shell_quote(&a.to_string_lossy())));
    parts.join(" ")
}

fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=+,:@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Splits a flags variable (LDFLAGS) on whitespace, honouring simple quotes
/// the way a shell would for the common cases (`-Wl,-rpath,'/a b'`).
pub fn split_flags(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// A unique suffix for temporary names: several builds (threads, processes)
/// may write into one directory at once.
pub(crate) fn unique_suffix() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A directory removed (with its contents) when dropped: renaming it away
/// first keeps what it holds.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    pub(crate) fn new(parent: &Path, what: &str) -> Result<TempDir, BuildError> {
        let dir = parent.join(format!(".cembed-{what}-{}", unique_suffix()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| BuildError::io(format!("cannot create {}", dir.display()), e))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `contents` to `path` atomically (temporary file in the same
/// directory, then rename), creating the directory if needed.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), BuildError> {
    let dir = path
        .parent()
        .ok_or_else(|| BuildError::usage(format!("{} has no directory", path.display())))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| BuildError::io(format!("cannot create {}", dir.display()), e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", unique_suffix()));
    let result = std::fs::write(&tmp, contents)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| BuildError::io(format!("cannot write {}", path.display()), e));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_split_like_a_shell() {
        assert_eq!(
            split_flags("-L/a  -Wl,-rpath,'/b c' \"-lx\""),
            vec!["-L/a", "-Wl,-rpath,/b c", "-lx"]
        );
        assert!(split_flags("  ").is_empty());
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("-O2"), "-O2");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
