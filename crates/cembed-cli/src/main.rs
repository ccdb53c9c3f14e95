//! `cembed`: the command-line front end. Thin on purpose: it turns flags into
//! a build request and hands it to `cembed_build::run`, the same path the
//! Python builder takes, so the two cannot disagree.
//!
//! ```text
//! cembed build   --module NAME --api api.h [--cdef x.h] [--source code.c] [--init init.py]
//!                [-I DIR] [-L DIR] [-l LIB] [-D NAME[=V]] -o libfoo.so [--python PY]
//!                [--isolation shared|isolated|pool[:SIZE]] [-v]
//! cembed emit-c  (same inputs) -o out.c
//! cembed config  [--python PY]           the interpreter a build would use
//! cembed pkg-config --cflags|--libs [--rpath] libfoo.so
//! cembed bundle  libfoo.so -o DIR [--no-python] [--strip] [--trim] [--compile]
//!                [--add PATH] [--exclude NAME] [--python PY]
//! cembed completions bash|zsh|fish|elvish|powershell
//! cembed --cmake-dir                      where find_package(cembed CONFIG) looks
//! ```
//!
//! Every error is printed as `error: ...` on stderr (clap's own usage errors
//! included) and the exit status says which kind it was: see [`EXIT_CODES`].

// Only cembed-runtime may use `unsafe` (docs/architecture.md); the
// compiler enforces it for every other crate.
#![forbid(unsafe_code)]

use cembed_build::paths;
use cembed_build::pkgconfig;
use cembed_build::python::{self, InterpreterConfig};
use cembed_build::request::{
    Action, BuildError, BuildOptions, BuildRequest, ErrorKind, SourceKind, SourceSpec,
};
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The exit statuses, shown at the end of `cembed --help`.
const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  the build failed: an error in the declarations or from the C compiler
  2  usage error: bad flags or arguments (a file that is not a cembed
     library, for bundle), no usable Python interpreter
  3  I/O error: an input file cannot be read or an output written";

const EXAMPLES: &str = "\
Examples:
  # libplugin.so and plugin.h from an API, its Python code and some C
  cembed build --module my_plugin --api api.h --init init.py -o libplugin.so
  # compile a C program against it
  cc host.c $(cembed pkg-config --cflags --libs --rpath libplugin.so) -o host
  # just the C file and the header
  cembed emit-c --module my_plugin --api api.h --init init.py -o plugin.c --header plugin.h
  # CMake: find_package(cembed CONFIG) with
  cmake -Dcembed_DIR=\"$(cembed --cmake-dir)\" ..
  # completions for bash
  cembed completions bash > ~/.local/share/bash-completion/completions/cembed";

#[derive(Parser)]
#[command(
    name = "cembed",
    version,
    about = "Python code in, C shared library out (CFFI's embedding mode, in Rust)",
    after_help = format!("{EXAMPLES}\n\n{EXIT_CODES}"),
    arg_required_else_help = true
)]
struct Cli {
    /// Print the directory of cembed's CMake package (for `cembed_DIR` or
    /// CMAKE_PREFIX_PATH) and exit.
    #[arg(long, exclusive = true)]
    cmake_dir: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Build a shared library from declarations, C code and Python init code.
    Build(BuildArgs),
    /// Write the generated C file instead of compiling it.
    EmitC(BuildArgs),
    /// Print the Python interpreter a build would use, and its facts.
    Config {
        /// The interpreter (default: $VIRTUAL_ENV/bin/python, else python3 on PATH).
        #[arg(long)]
        python: Option<PathBuf>,
    },
    /// Run one raw JSON build request (docs/architecture.md) read from stdin
    /// and print the JSON response: what the Python builder sends, for
    /// debugging and for tools.
    #[command(hide = true)]
    Request,
    /// Compiler and linker flags for C programs using a cembed library.
    ///
    /// Spaces and shell-special characters in a flag are escaped with a
    /// backslash, as pkg-config does. pkg-config itself reads the
    /// `.pc` file written beside every library: `PKG_CONFIG_PATH=dir
    /// pkg-config --cflags --libs NAME`.
    #[command(
        after_help = "Example:\n  cc host.c $(cembed pkg-config --cflags --libs --rpath out/libplugin.so) -o host"
    )]
    PkgConfig {
        /// `-I` for the directory of the consumer header.
        #[arg(long)]
        cflags: bool,
        /// Flags to link the library: `-L<dir> -l<name>`, or the library's
        /// path when its file name is not `lib<name>.so`.
        #[arg(long)]
        libs: bool,
        /// Also `-Wl,-rpath,<dir>`, so the program finds the library where
        /// it is now without LD_LIBRARY_PATH.
        #[arg(long)]
        rpath: bool,
        /// The built library.
        library: PathBuf,
    },
    /// Print a shell completion script for cembed.
    #[command(
        after_help = "Example:\n  cembed completions bash > ~/.local/share/bash-completion/completions/cembed"
    )]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Make a self-contained, relocatable folder: the library, the cembed
    /// runtime, the build environment's packages and (unless --no-python)
    /// the CPython it was built with; prints the bundle's size.
    #[command(
        after_help = "Examples:\n  cembed bundle libplugin.so -o dist/plugin\n  cembed bundle libplugin.so -o dist/plugin --trim --strip --compile"
    )]
    Bundle(BundleArgs),
}

#[derive(Args)]
struct BundleArgs {
    /// The cembed library to bundle.
    library: PathBuf,
    /// The folder to create (its parent must exist; it must not, or be empty).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: PathBuf,
    /// Leave out CPython: the target machine provides Python of the same
    /// version (found on PATH).
    #[arg(long)]
    no_python: bool,
    /// Take the packages and CPython from this interpreter instead of the
    /// library's build interpreter (same Python version).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Strip symbols from every shared object and the executable.
    #[arg(long)]
    strip: bool,
    /// Leave out the standard library's test, idlelib, tkinter, ensurepip
    /// and turtledemo.
    #[arg(long)]
    trim: bool,
    /// Precompile every module (bytecode valid wherever the folder moves).
    #[arg(long)]
    compile: bool,
    /// Add a package or module (directory or file) to the bundle's
    /// site-packages; repeatable.
    #[arg(long, value_name = "PATH")]
    add: Vec<PathBuf>,
    /// Leave out a top-level package or module of the build environment's
    /// site-packages (build tools are always left out); repeatable.
    #[arg(long, value_name = "NAME")]
    exclude: Vec<String>,
    /// Print what was run.
    #[arg(short, long)]
    verbose: bool,
}

#[derive(Args)]
struct BuildArgs {
    /// The module name as Python sees it (set_source's first argument).
    #[arg(long)]
    module: String,
    /// Declarations of the exported API (embedding_api); repeatable.
    #[arg(long, value_name = "FILE")]
    api: Vec<PathBuf>,
    /// Declarations shared with Python but not exported (cdef); repeatable.
    #[arg(long, value_name = "FILE")]
    cdef: Vec<PathBuf>,
    /// C code pasted into the library (set_source's second argument): it
    /// defines the types the declarations use and may use CFFI_DLLEXPORT and
    /// cffi_start_python(); repeatable (pasted in order).
    #[arg(long, value_name = "FILE")]
    source: Vec<PathBuf>,
    /// Extra C files compiled separately and linked in; repeatable.
    #[arg(long = "c-file", value_name = "FILE")]
    c_files: Vec<PathBuf>,
    /// Python code run once when the library starts (embedding_init_code).
    #[arg(long, value_name = "FILE")]
    init: Option<PathBuf>,
    /// Add DIR to the C compiler's include path; repeatable.
    #[arg(short = 'I', value_name = "DIR")]
    include_dirs: Vec<String>,
    /// Add DIR to the linker's library path; repeatable.
    #[arg(short = 'L', value_name = "DIR")]
    library_dirs: Vec<String>,
    /// Link the library with LIB (as `-lLIB`); repeatable.
    #[arg(short = 'l', value_name = "LIB")]
    libraries: Vec<String>,
    /// -D NAME or -D NAME=VALUE.
    #[arg(short = 'D', value_name = "NAME[=VALUE]")]
    defines: Vec<String>,
    /// The library to build (`foo.*` means foo.so), or the C file for emit-c.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: PathBuf,
    /// Write the consumer header (the exported API, for C and C++) to PATH.
    /// `build` writes it next to the library by default (`libfoo.so` ->
    /// `foo.h`); `emit-c` writes one only with this flag.
    #[arg(long, value_name = "PATH")]
    header: Option<PathBuf>,
    /// The Python the library is for (default: $VIRTUAL_ENV, else PATH).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Where the library's init code and calls run (embedding_isolation):
    /// `shared` (the default: the main interpreter), `isolated` (a
    /// subinterpreter of its own with its own GIL) or `pool[:SIZE]` (SIZE
    /// such interpreters, default the number of CPUs). `isolated` and `pool`
    /// need CPython 3.12+ (docs/isolation.md).
    #[arg(long, value_name = "MODE[:SIZE]", value_parser = parse_isolation)]
    isolation: Option<(String, Option<u32>)>,
    /// Print every command run.
    #[arg(short, long)]
    verbose: bool,
    /// Compile without optimisation, with debug info.
    #[arg(long)]
    debug: bool,
}

fn main() -> ExitCode {
    // clap prints its own usage errors (`error: ...`, exit status 2), help
    // and version.
    let cli = Cli::parse();
    let result = match (cli.cmake_dir, cli.command) {
        (true, _) => cmake_dir().and_then(|d| out(format!("{}\n", d.display()))),
        (false, Some(command)) => run(command),
        (false, None) => unreachable!("arg_required_else_help shows the help"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One prefix: declaration diagnostics are rendered starting
            // with `error:` already (codespan), like clap's messages.
            if e.message.starts_with("error") {
                eprintln!("{}", e.message);
            } else {
                eprintln!("error: {}", e.message);
            }
            ExitCode::from(exit_status(e.kind))
        }
    }
}

/// Writes `text` to stdout. A closed pipe (`cembed ... | head`) ends the
/// output quietly, as for any Unix tool; `println!` would panic.
fn out(text: String) -> Result<(), BuildError> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(BuildError::io("cannot write to stdout", e)),
    }
}

/// The exit status of a failed run, as listed in [`EXIT_CODES`].
fn exit_status(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Cdef | ErrorKind::Compile => 1,
        ErrorKind::Usage => 2,
        ErrorKind::Io => 3,
    }
}

/// `cembed/cmake` of the installed package: the executable is
/// `cembed/_bin/cembed` in the wheel.
fn cmake_dir() -> Result<PathBuf, BuildError> {
    let exe = std::env::current_exe()
        .map_err(|e| BuildError::io("cannot find this executable's path", e))?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join("cmake"))
        .filter(|d| d.join("cembedConfig.cmake").is_file())
        .ok_or_else(|| {
            BuildError::usage(format!(
                "no CMake package next to {} (expected ../cmake/cembedConfig.cmake): \
                 --cmake-dir works for the cembed installed from the wheel (pip install cembed)",
                exe.display()
            ))
        })?;
    Ok(dir)
}

fn run(command: Command) -> Result<(), BuildError> {
    match command {
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "cembed", &mut script);
            out(String::from_utf8_lossy(&script).into_owned())
        }
        Command::Build(args) => build(args, Action::Compile),
        Command::EmitC(args) => build(args, Action::EmitC),
        Command::Config { python } => {
            let cfg = python::discover(python.as_deref())?;
            out(cfg.to_string())
        }
        Command::Request => {
            let mut input = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)
                .map_err(|e| BuildError::io("cannot read the request from stdin", e))?;
            out(format!("{}\n", cembed_build::run_json(&input)))
        }
        Command::PkgConfig {
            cflags,
            libs,
            rpath,
            library,
        } => {
            let flags = pkg_config(&library, cflags, libs, rpath)?;
            out(format!("{flags}\n"))
        }
        Command::Bundle(args) => {
            let opts = cembed_build::bundle::BundleOptions {
                library: args.library,
                output: args.output,
                no_python: args.no_python,
                python: args.python,
                strip: args.strip,
                trim: args.trim,
                compile: args.compile,
                add: args.add,
                exclude: args.exclude,
            };
            let mut log = Vec::new();
            let result = cembed_build::bundle::bundle(&opts, &mut log);
            for line in &log {
                if args.verbose || line.starts_with("warning:") {
                    eprintln!("{line}");
                }
            }
            out(result?.to_string())
        }
    }
}

fn read(path: &Path) -> Result<String, BuildError> {
    std::fs::read_to_string(path)
        .map_err(|e| BuildError::io(format!("cannot read {}", path.display()), e))
}

fn build(args: BuildArgs, action: Action) -> Result<(), BuildError> {
    if args.api.is_empty() && args.cdef.is_empty() {
        return Err(BuildError::usage(
            "nothing to build: give at least one --api (or --cdef) file",
        ));
    }
    let interp: InterpreterConfig = python::discover(args.python.as_deref())?;
    if args.verbose {
        eprint!("{interp}");
    }
    let mut sources = Vec::new();
    for (kind, files) in [
        (SourceKind::EmbeddingApi, &args.api),
        (SourceKind::Cdef, &args.cdef),
    ] {
        for f in files {
            sources.push(SourceSpec {
                kind,
                text: read(f)?,
                origin: format!("{}:1", f.display()),
                packed: false,
                pack: None,
                override_: false,
            });
        }
    }
    let init_code = args.init.as_deref().map(read).transpose()?;
    let defines = args
        .defines
        .iter()
        .map(|d| match d.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (d.clone(), None),
        })
        .collect();
    let cwd = std::env::current_dir()
        .map_err(|e| BuildError::io("cannot read the current directory", e))?;
    let output = paths::absolute(&cwd, &args.output);
    // The C file goes next to the output; the output path is absolute, so it
    // is used as written whatever the module's package directories are.
    let tmpdir = match (output.parent(), output.file_name()) {
        (Some(dir), Some(_)) => dir.to_path_buf(),
        _ => {
            return Err(BuildError::usage(format!(
                "bad output path {}",
                args.output.display()
            )))
        }
    };
    let target = output.to_string_lossy().into_owned();
    // Relative -I/-L/--c-file paths are relative to where the command runs
    // (CFFI's are relative to tmpdir, the output directory here): make them
    // absolute so both readings agree.
    let abs = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|p| {
                paths::absolute(&cwd, Path::new(p))
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    };
    let req = BuildRequest {
        action,
        module_name: args.module,
        sources,
        c_code: pasted_sources(&args.source)?,
        c_origin: args.source.first().map(|f| format!("{}:1", f.display())),
        options: BuildOptions {
            include_dirs: abs(&args.include_dirs),
            library_dirs: abs(&args.library_dirs),
            libraries: args.libraries,
            define_macros: defines,
            sources: abs(&args
                .c_files
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect::<Vec<_>>()),
            ..Default::default()
        },
        init_origin: args.init.as_ref().map(|f| format!("{}:1", f.display())),
        init_code,
        isolation: args.isolation.as_ref().map(|(mode, _)| mode.clone()),
        isolation_size: args.isolation.as_ref().and_then(|&(_, size)| size),
        python: Some(interp.facts()?),
        tmpdir: tmpdir.to_string_lossy().into_owned(),
        target: match action {
            Action::Compile => Some(target),
            Action::EmitC | Action::Check => None,
        },
        c_path: match action {
            Action::EmitC => Some(output.to_string_lossy().into_owned()),
            Action::Compile | Action::Check => None,
        },
        header_path: args
            .header
            .as_deref()
            .map(|h| paths::absolute(&cwd, h).to_string_lossy().into_owned()),
        verbose: args.verbose,
        debug: args.debug,
    };
    let mut log = Vec::new();
    let result = cembed_build::run(&req, &mut log);
    if args.verbose {
        for line in &log {
            eprintln!("{line}");
        }
    }
    let outcome = result?;
    for w in &outcome.warnings {
        eprintln!("{w}");
    }
    let mut printed = String::new();
    for p in outcome.path.iter().chain(outcome.header.iter()) {
        printed.push_str(&format!("{}\n", p.display()));
    }
    out(printed)
}

/// `--isolation MODE[:SIZE]`, checked as a build request's `isolation` and
/// `isolation_size` are (clap reports an error as an invalid value).
fn parse_isolation(arg: &str) -> Result<(String, Option<u32>), String> {
    cembed_build::request::parse_isolation_arg(arg)
}

/// The `--source` files, in order; from the second on, each starts with a
/// `#line` directive so compiler messages name the right file.
fn pasted_sources(files: &[PathBuf]) -> Result<Option<String>, BuildError> {
    let mut out: Option<String> = None;
    for f in files {
        let text = read(f)?;
        match &mut out {
            None => out = Some(text),
            Some(all) => {
                if !all.ends_with('\n') {
                    all.push('\n');
                }
                let name = f.display().to_string();
                let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
                all.push_str(&format!("#line 1 \"{quoted}\"\n{text}"));
            }
        }
    }
    Ok(out)
}

/// [`pkgconfig::flags`] for `library` (relative to the current directory),
/// each escaped for a POSIX shell as pkg-config escapes its output.
fn pkg_config(library: &Path, cflags: bool, libs: bool, rpath: bool) -> Result<String, BuildError> {
    if !cflags && !libs && !rpath {
        return Err(BuildError::usage("give --cflags, --libs or --rpath"));
    }
    let cwd = std::env::current_dir()
        .map_err(|e| BuildError::io("cannot read the current directory", e))?;
    let lib = paths::absolute(&cwd, library);
    if !lib.is_file() {
        return Err(BuildError::usage(format!(
            "no library at {}",
            lib.display()
        )));
    }
    let flags = pkgconfig::flags(&lib, cflags, libs, rpath);
    Ok(flags
        .iter()
        .map(|f| pkgconfig::shell_escape(f))
        .collect::<Vec<_>>()
        .join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every flag and argument of every subcommand has help text.
    #[test]
    fn every_argument_has_help() {
        fn check(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                if arg.get_help().is_none() && !arg.is_hide_set() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                check(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        let mut cmd = Cli::command();
        cmd.build();
        check(&cmd, "cembed", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:?}");
    }
}
