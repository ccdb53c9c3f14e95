//! `cembed`: the command-line front end. Thin on purpose: it turns flags into
//! a build request and hands it to `cembed_build::run`, the same path the
//! Python builder takes, so the two cannot disagree.
//!
//! ```text
//! cembed build   --module NAME --api api.h [--cdef x.h] [--source code.c] [--init init.py]
//!                [-I DIR] [-L DIR] [-l LIB] [-D NAME[=V]] -o libfoo.so [--python PY] [-v]
//! cembed emit-c  (same inputs) -o out.c
//! cembed config  [--python PY]           the interpreter a build would use
//! cembed pkg-config --cflags|--libs libfoo.so
//! cembed bundle  libfoo.so -o DIR [--no-python] [--strip] [--trim] [--compile]
//!                [--add PATH] [--exclude NAME] [--python PY]
//! ```

// Only cembed-runtime may use `unsafe` (docs/architecture.md); the
// compiler enforces it for every other crate.
#![forbid(unsafe_code)]

use cembed_build::paths;
use cembed_build::python::{self, InterpreterConfig};
use cembed_build::request::{
    Action, BuildError, BuildOptions, BuildRequest, ErrorKind, SourceKind, SourceSpec,
};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cembed",
    version,
    about = "Python code in, C shared library out (CFFI's embedding mode, in Rust)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    PkgConfig {
        /// `-I` for the directory of the consumer header.
        #[arg(long)]
        cflags: bool,
        /// Flags to link the library (with an rpath to its directory).
        #[arg(long)]
        libs: bool,
        /// The built library.
        library: PathBuf,
    },
    /// Make a self-contained, relocatable folder: the library, the cembed
    /// runtime, the build environment's packages and (unless --no-python)
    /// the CPython it was built with; prints the bundle's size.
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
    /// C code pasted into the library (set_source's second argument): it may
    /// use CFFI_DLLEXPORT and cffi_start_python().
    #[arg(long, value_name = "FILE")]
    source: Option<PathBuf>,
    /// Extra C files compiled separately and linked in; repeatable.
    #[arg(long = "c-file", value_name = "FILE")]
    c_files: Vec<PathBuf>,
    /// Python code run once when the library starts (embedding_init_code).
    #[arg(long, value_name = "FILE")]
    init: Option<PathBuf>,
    #[arg(short = 'I', value_name = "DIR")]
    include_dirs: Vec<String>,
    #[arg(short = 'L', value_name = "DIR")]
    library_dirs: Vec<String>,
    #[arg(short = 'l', value_name = "LIB")]
    libraries: Vec<String>,
    /// -D NAME or -D NAME=VALUE.
    #[arg(short = 'D', value_name = "NAME[=VALUE]")]
    defines: Vec<String>,
    /// The library to build (`foo.*` means foo.so), or the C file for emit-c.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: PathBuf,
    /// The Python the library is for (default: $VIRTUAL_ENV, else PATH).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Print every command run.
    #[arg(short, long)]
    verbose: bool,
    /// Compile without optimisation, with debug info.
    #[arg(long)]
    debug: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let label = match e.kind {
                ErrorKind::Cdef => "declaration error",
                ErrorKind::Compile => "compile error",
                ErrorKind::Io => "I/O error",
                ErrorKind::Usage => "error",
            };
            eprintln!("cembed: {label}: {}", e.message);
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), BuildError> {
    match command {
        Command::Build(args) => build(args, Action::Compile),
        Command::EmitC(args) => build(args, Action::EmitC),
        Command::Config { python } => {
            let cfg = python::discover(python.as_deref())?;
            print!("{cfg}");
            Ok(())
        }
        Command::Request => {
            let mut input = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)
                .map_err(|e| BuildError::io("cannot read the request from stdin", e))?;
            println!("{}", cembed_build::run_json(&input));
            Ok(())
        }
        Command::PkgConfig {
            cflags,
            libs,
            library,
        } => {
            let flags = pkg_config(&library, cflags, libs)?;
            println!("{flags}");
            Ok(())
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
            print!("{}", result?);
            Ok(())
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
        c_code: args.source.as_deref().map(read).transpose()?,
        c_origin: args.source.as_ref().map(|f| format!("{}:1", f.display())),
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
    if let Some(p) = outcome.path {
        println!("{}", p.display());
    }
    if let Some(h) = outcome.header {
        println!("{}", h.display());
    }
    Ok(())
}

/// `-I<dir>` for the consumer header; `-L<dir> -l<name> -Wl,-rpath,<dir>` for
/// `lib<name>.so`, or the library's absolute path for other names (a linker
/// cannot `-l` a file called `plugin-1.5.so`).
fn pkg_config(library: &Path, cflags: bool, libs: bool) -> Result<String, BuildError> {
    if !cflags && !libs {
        return Err(BuildError::usage("give --cflags, --libs or both"));
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
    let dir = lib.parent().unwrap_or(Path::new("/")).display().to_string();
    let name = lib
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Vec::new();
    if cflags {
        out.push(format!("-I{dir}"));
    }
    if libs {
        let short = name
            .strip_prefix("lib")
            .and_then(|n| n.strip_suffix(paths::SHARED_LIB_SUFFIX))
            .filter(|n| !n.is_empty());
        match short {
            Some(n) => {
                out.push(format!("-L{dir}"));
                out.push(format!("-l{n}"));
            }
            None => out.push(lib.display().to_string()),
        }
        out.push(format!("-Wl,-rpath,{dir}"));
    }
    Ok(out.join(" "))
}
