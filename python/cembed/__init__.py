"""cembed: Python code in, C shared library out.

The builder API of CFFI's embedding mode (``FFI.embedding_api``, ``cdef``,
``set_source``, ``embedding_init_code``, ``compile``, ``emit_c_code``), so a
CFFI embedding build script works after changing ``import cffi`` to
``import cembed as cffi``.

This module only records the calls and checks their arguments the way CFFI
does. All the work (parsing the declarations, generating C, driving the C
compiler) is done in Rust: each operation sends one JSON *build request*
(docs/architecture.md, "The build request") to the ``cembed`` executable
shipped in this package (``cembed/_bin/cembed request``), so the builder
works from any Python, PyPy included, and never loads the runtime
extension ``cembed._runtime`` (which every generated library loads).
"""

import os
import sys

__all__ = [
    "FFI",
    "CDefError",
    "FFIError",
    "VerificationError",
    "VerificationMissing",
    "PkgConfigError",
    "BundleError",
    "bundle",
]

# A literal, not importlib.metadata: that lookup costs 35-60 ms on every
# `import cembed`, a third of a small library's whole build. It is kept equal
# to pyproject.toml's and Cargo.toml's version by tests/test_builder.py.
__version__ = "0.1.0"


# The exception classes CFFI's builder raises, under the same names, so that
# `except cffi.CDefError` in a ported build script keeps working.
class FFIError(Exception):
    """ffi.error: raised by the runtime ffi for errors in C data handling."""


class CDefError(Exception):
    """A declaration given to cdef() or embedding_api() is wrong.

    The message is the rendered diagnostic: the build script's file and line,
    the column, the offending line and a caret under the problem.
    """


class VerificationError(Exception):
    """Generating or compiling the library failed (the C compiler's own
    message is included)."""


class VerificationMissing(Exception):
    """Kept for CFFI compatibility (incomplete structures used before
    verification); cembed does not raise it."""


class PkgConfigError(Exception):
    """Kept for CFFI compatibility (set_source_pkgconfig)."""


class BundleError(Exception):
    """bundle() could not make the folder (the message says what and where);
    nothing was left behind."""


def bundle(library, output_dir, python=True, build_python=None, strip=False,
           trim=False, compile=False, add=(), exclude=(), verbose=False):
    """Makes ``output_dir``, a self-contained, relocatable folder holding the
    cembed ``library``, the cembed runtime, the build environment's packages
    (minus build tools; ``exclude`` names more to leave out, ``add`` adds
    files or directories) and, unless ``python=False``, the CPython the
    library was built with. Same as ``cembed bundle`` (docs/shipping.md).

    ``strip``, ``trim`` (no test/idlelib/tkinter/ensurepip/turtledemo) and
    ``compile`` (precompiled bytecode) make it smaller or faster to start.
    Returns the folder's absolute path; ``verbose`` prints the size report.
    """
    def paths(name, value):
        if isinstance(value, (str, bytes, os.PathLike)):
            raise TypeError("bundle(): '%s' must be a list, not a single %s"
                            % (name, type(value).__name__))
        return [os.fspath(v) for v in value]

    request = {
        "action": "bundle",
        "library": os.fspath(library),
        "output": os.fspath(output_dir),
        "no_python": not python,
        "python": os.fspath(build_python) if build_python is not None else None,
        "strip": bool(strip),
        "trim": bool(trim),
        "compile": bool(compile),
        "add": paths("add", add),
        "exclude": paths("exclude", exclude),
    }
    response = _run_request(request)
    for line in response.get("log", ()):
        if verbose or line.startswith("warning:"):
            print(line, file=sys.stderr)
    if not response.get("ok"):
        raise BundleError(response.get("message", "cembed bundle failed"))
    if verbose:
        print(response["report"], end="")
    return response["path"]


# set_source() keyword arguments, as CFFI forwards them to distutils'
# Extension. Every one of these goes into the build request.
_LIST_OPTIONS = (
    "include_dirs",
    "library_dirs",
    "libraries",
    "undef_macros",
    "extra_compile_args",
    "extra_link_args",
    "sources",
    "runtime_library_dirs",
    "extra_objects",
)
# Accepted for compatibility but without effect on an embedding library:
# `depends` only drives distutils' rebuild decision (cembed always rebuilds),
# `py_limited_api` and `optional` concern CPython extension modules, and the
# generated C does not include Python.h at all.
_IGNORED_OPTIONS = ("depends", "py_limited_api", "optional")


_PYPY = sys.implementation.name == "pypy"

# embedding_isolation()'s modes (the build request's "isolation").
_ISOLATION_MODES = ("shared", "isolated", "pool")


def _pypy_facts():
    """PyPy's facts: libpypy (the file this process mapped: PyPy's sysconfig
    LIBDIR may not hold it), the venv's site-packages, no runtime."""
    import site
    import sysconfig

    libpypy = None
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if "libpypy" in path and path.startswith("/"):
                    libpypy = path
                    break
    except OSError:
        pass
    if libpypy is None:
        name = sysconfig.get_config_var("LDLIBRARY")
        for d in (sysconfig.get_config_var("LIBDIR"), os.path.join(sys.base_prefix, "lib"),
                  os.path.join(sys.base_prefix, "bin")):
            if d and name and os.path.exists(os.path.join(d, name)):
                libpypy = os.path.join(d, name)
                break
    return {
        "version": "%d.%d" % sys.version_info[:2],
        "executable": sys.executable,
        "libpython": libpypy,
        "runtime": "",
        "cembed_version": __version__,
        "implementation": "pypy",
        "site_packages": site.getsitepackages(),
    }


def _run_request(request):
    """Runs one build request in the cembed executable (see _exe.py)."""
    from . import _exe

    try:
        return _exe.run_request(request)
    except _exe.RequestError as e:
        raise VerificationError("cembed: %s" % e) from None


def _runtime_path():
    """The runtime extension's file, found without importing it: the
    builder runs where the runtime cannot load (PyPy) and must not put a
    second copy into the build process."""
    from importlib.machinery import EXTENSION_SUFFIXES

    here = os.path.dirname(os.path.abspath(__file__))
    for suffix in EXTENSION_SUFFIXES:
        path = os.path.join(here, "_runtime" + suffix)
        if os.path.exists(path):
            return path
    return None


def _python_facts():
    """The facts about this interpreter that the library needs at run time
    without any environment variable (baked into cembed_build_info)."""
    if _PYPY:
        return _pypy_facts()
    import sysconfig

    libdir = sysconfig.get_config_var("LIBDIR")
    libpython = None
    # INSTSONAME is the versioned soname the dynamic linker would load
    # (libpython3.11.so.1.0); LDLIBRARY may be the static archive.
    # cembed_build::python::resolve_libpython applies the same rule.
    for name in (sysconfig.get_config_var("INSTSONAME"),
                 sysconfig.get_config_var("LDLIBRARY")):
        if libdir and name and (".so" in name or name.endswith(".dylib")):
            path = os.path.join(libdir, name)
            if os.path.exists(path):
                libpython = path
                break
    runtime = _runtime_path()
    if runtime is None:
        raise ImportError(
            "the cembed runtime extension (cembed/_runtime%s) is missing for "
            "this Python (%s). Install cembed with `pip install .` or "
            "`maturin develop`." % (sysconfig.get_config_var("EXT_SUFFIX"),
                                    sys.executable))
    return {
        "version": "%d.%d" % sys.version_info[:2],
        # Not resolved through symlinks on purpose: a venv's python must stay
        # the venv's python so the embedded interpreter gets its site-packages.
        "executable": sys.executable,
        "libpython": libpython,
        "runtime": runtime,
        "cembed_version": __version__,
    }


def _caller_origin(depth):
    """``"<file>:<line>"`` of the build-script line that called the public
    method, so declaration errors point into the build script."""
    try:
        frame = sys._getframe(depth + 1)
    except ValueError:
        return "<unknown>:1"
    return "%s:%d" % (frame.f_code.co_filename, frame.f_lineno)


def _check_pack(packed, pack):
    # CFFI's rules and messages (cffi/cparser.py, Parser.parse).
    if packed:
        if packed is not True:
            raise ValueError("'packed' should be False or True; use "
                             "'pack' to give another value")
        if pack:
            raise ValueError("cannot give both 'pack' and 'packed'")
        return 1
    if pack:
        if not isinstance(pack, int) or pack < 0 or pack & (pack - 1):
            raise ValueError("'pack' must be a power of two, not %r" % (pack,))
        return pack
    return None


def _str_list(name, value):
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError("set_source(): '%s' must be a list of strings, not %r"
                        % (name, value))
    out = []
    for item in value:
        if isinstance(item, os.PathLike):
            item = os.fspath(item)
        if not isinstance(item, str):
            raise TypeError("set_source(): '%s' must be a list of strings, "
                            "got the item %r" % (name, item))
        out.append(item)
    return out


class FFI(object):
    """The builder: records declarations, C code and Python init code, then
    compiles them into a shared library."""

    #: CFFI exposes the error class as ``ffi.error``.
    error = FFIError

    def __init__(self, backend=None):
        # `backend` is accepted for signature compatibility with cffi.FFI.
        self._sources = []
        self._assigned_source = None
        # None: no embedding call yet; '': embedding_api() called; else the
        # init code (CFFI keeps the same three states in `_embedding`).
        self._embedding = None
        self._init_origin = None
        self._source_origin = None
        # (mode, size) once embedding_isolation() is called; None: "shared".
        self._isolation = None

    # -- declarations ---------------------------------------------------

    def cdef(self, csource, override=False, packed=False, pack=None):
        """Declarations shared between C and Python, not exported:
        types, constants, ``extern "Python"`` and ``extern "Python+C"``
        functions, C functions defined by the set_source code."""
        self._add_source("cdef", csource, override, packed, pack)

    def embedding_api(self, csource, packed=False, pack=None):
        """The library's API: every function declared here is defined and
        exported by the library and implemented in Python."""
        self._add_source("embedding_api", csource, False, packed, pack)
        if self._embedding is None:
            self._embedding = ""

    def _add_source(self, kind, csource, override, packed, pack):
        if not isinstance(csource, str):
            raise TypeError("%s() argument must be a string"
                            % ("cdef" if kind == "cdef" else "embedding_api"))
        pack = _check_pack(packed, pack)
        source = {
            "kind": kind,
            "text": csource,
            "origin": _caller_origin(2),
            "packed": pack == 1,
            "pack": pack,
            "override": bool(override),
        }
        # Checked at once, with everything declared so far, so that the error
        # points at this call; a rejected source is not recorded.
        self._request("check", sources=self._sources + [source])
        self._sources.append(source)

    def include(self, ffi_to_include):
        """Makes the types declared in another builder (structs, unions,
        enums with their enumerators, typedefs) usable in this one's
        declarations and at run time, as CFFI's ``ffi.include()``. Its
        functions, variables and constants stay in the other library. This
        library's C code must declare the included types too (``#include``
        the same header): cembed reads their layouts from it."""
        if not isinstance(ffi_to_include, FFI):
            raise TypeError("ffi.include() expects an argument that is also of "
                            "type cffi.FFI, not %r"
                            % (type(ffi_to_include).__name__,))
        if ffi_to_include is self:
            raise ValueError("self.include(self)")
        # What the other builder declared so far, as CFFI copies its parser's
        # declarations at this call; its own includes come along.
        sources = [dict(src, kind="include") for src in ffi_to_include._sources]
        self._request("check", sources=self._sources + sources)
        self._sources.extend(sources)

    # -- the library ----------------------------------------------------

    def set_source(self, module_name, source, source_extension=".c", **kwds):
        """The module name as Python sees it, C code pasted into the library,
        and compile/link options (include_dirs, library_dirs, libraries,
        define_macros, undef_macros, extra_compile_args, extra_link_args,
        sources, runtime_library_dirs, extra_objects)."""
        if self._assigned_source is not None:
            raise ValueError("set_source() cannot be called several times "
                             "per ffi object")
        if not isinstance(module_name, str):
            raise TypeError("'module_name' must be a string")
        if os.sep in module_name or (os.altsep and os.altsep in module_name):
            raise ValueError("'module_name' must not contain '/': use a dotted "
                             "name to make a 'package.module' location")
        if source is None:
            raise ValueError(
                "set_source(%r, None) asks for CFFI's ABI (out-of-line dlopen) "
                "mode, which cembed does not provide: give the C code (\"\" "
                "if there is none)" % (module_name,))
        if not isinstance(source, str):
            raise TypeError("set_source(): the C source must be a string")
        if source_extension != ".c":
            raise VerificationError(
                "set_source(): source_extension=%r: cembed compiles C only "
                "(use '.c')" % (source_extension,))
        options = {}
        for key, value in kwds.items():
            if key in _LIST_OPTIONS:
                options[key] = _str_list(key, value)
            elif key == "define_macros":
                options[key] = self._macros(value)
            elif key in _IGNORED_OPTIONS:
                pass
            elif key == "language":
                if value not in (None, "c"):
                    raise VerificationError(
                        "set_source(): language=%r: cembed compiles C only"
                        % (value,))
            else:
                known = sorted(_LIST_OPTIONS + ("define_macros", "language")
                               + _IGNORED_OPTIONS)
                raise TypeError(
                    "set_source() got an unexpected keyword argument %r "
                    "(cembed understands: %s)" % (key, ", ".join(known)))
        self._assigned_source = (str(module_name), source, options)
        self._source_origin = _caller_origin(1)

    @staticmethod
    def _macros(value):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise TypeError("set_source(): 'define_macros' must be a list of "
                            "(name, value) tuples, not %r" % (value,))
        out = []
        for item in value:
            ok = (isinstance(item, (list, tuple)) and len(item) == 2
                  and isinstance(item[0], str)
                  and (item[1] is None or isinstance(item[1], str)))
            if not ok:
                raise TypeError("set_source(): each of 'define_macros' must be "
                                "a (name, value-or-None) tuple, got %r" % (item,))
            out.append([item[0], item[1]])
        return out

    def embedding_isolation(self, mode, size=None):
        """Where the library's init code and calls run: ``"shared"`` (the
        default: the main interpreter, CFFI's semantics), ``"isolated"`` (a
        subinterpreter of its own with its own GIL) or ``"pool"`` (``size``
        such interpreters, default: the number of CPUs at run time; each
        host thread is bound to one on its first call). ``"isolated"`` and
        ``"pool"`` need CPython 3.12 or newer (PEP 684): building with an
        older Python, or PyPy, is an error. See docs/isolation.md."""
        if self._isolation is not None:
            raise ValueError("embedding_isolation() can only be called once")
        if not isinstance(mode, str):
            raise TypeError("embedding_isolation(): 'mode' must be a string, "
                            "not %s" % type(mode).__name__)
        if mode not in _ISOLATION_MODES:
            raise ValueError("embedding_isolation(): 'mode' must be 'shared', "
                             "'isolated' or 'pool', not %r" % (mode,))
        if size is not None:
            if mode != "pool":
                raise ValueError("embedding_isolation(): 'size' is only for "
                                 "mode 'pool', not %r" % (mode,))
            # bool is an int subclass; True is not a pool size.
            if isinstance(size, bool) or not isinstance(size, int):
                raise TypeError("embedding_isolation(): 'size' must be an int "
                                "or None, not %s" % type(size).__name__)
            if not 1 <= size <= 0xFFFFFFFF:
                raise ValueError("embedding_isolation(): 'size' must be at "
                                 "least 1 (and fit in 32 bits), not %d" % size)
        self._isolation = (mode, size)

    def embedding_init_code(self, pysource):
        """Python code frozen into the library and run once, right after
        Python starts; ``from <module_name> import ffi, lib`` works in it."""
        if self._embedding:
            raise ValueError("embedding_init_code() can only be called once")
        if not isinstance(pysource, str):
            raise TypeError("embedding_init_code() argument must be a string")
        origin = _caller_origin(1)
        # Exactly CFFI's normalisation (cffi/api.py): drop the empty lines at
        # the beginning so the code starts at "line 1", and dedent if every
        # non-empty line is indented.
        # (str methods, not re: importing re costs milliseconds per build;
        # str.isspace() is the \s of a str pattern.)
        skipped = 0
        lead = len(pysource) - len(pysource.lstrip())
        end = pysource.rfind("\n", 0, lead) + 1  # re.match(r"\s*\n", ...)
        if end:
            skipped = pysource[:end].count("\n")
            pysource = pysource[end:]
        lines = pysource.splitlines() or [""]
        prefix = lines[0][:len(lines[0]) - len(lines[0].lstrip())]
        for i in range(1, len(lines)):
            line = lines[i]
            if line.rstrip():
                while not line.startswith(prefix):
                    prefix = prefix[:-1]
        i = len(prefix)
        pysource = "".join([line[i:] + "\n" for line in lines])
        # Like CFFI, a SyntaxError is raised here, at build time.
        compile(pysource, "cffi_init", "exec")
        file, _, line = origin.rpartition(":")
        if line.isdigit():
            origin = "%s:%d" % (file, int(line) + skipped)
        self._embedding = pysource
        self._init_origin = origin

    # -- outputs --------------------------------------------------------

    def compile(self, tmpdir=".", verbose=False, target=None, debug=None,
                header=None):
        """Builds the library and returns its absolute path.

        ``target`` is the library's file name, relative to ``tmpdir``
        (default ``"<module_name>.*"``); a name ending in ``.*`` gets the
        platform's suffix (``.so``). The generated C file is kept in
        ``tmpdir``; relative paths in set_source options are relative to it.
        A consumer header (``libfoo.so`` -> ``foo.h``) is written next to the
        library unless a file of that name exists that cembed did not write.
        ``header`` (relative to ``tmpdir``) writes it there instead; a file
        there that cembed did not write is then an error. A pkg-config file
        (``foo.pc``) is written next to the library too.
        """
        if self._assigned_source is None:
            raise ValueError("set_source() must be called before compile()")
        if debug is None:
            debug = bool(sys.flags.debug)
        tmpdir = os.path.abspath(os.fspath(tmpdir))
        if verbose:
            # The line CFFI prints, so verbose output reads the same.
            if tmpdir == os.path.abspath("."):
                print("the current directory is %r" % (tmpdir,))
            else:
                print("setting the current directory to %r" % (tmpdir,))
        if target is not None:
            target = os.fspath(target)
        if header is not None:
            header = os.path.join(tmpdir, os.fspath(header))
        if target is None and self._embedding is None:
            # No embedding_api() nor init code: the library is a plain
            # extension module, and CFFI then names it as Python imports it
            # ("mod.cpython-311-x86_64-linux-gnu.so" for "pkg.mod", under
            # tmpdir/pkg/), not "<module_name>.so".
            import sysconfig

            module_name = self._assigned_source[0]
            target = module_name.rpartition(".")[2] + (
                sysconfig.get_config_var("EXT_SUFFIX") or ".so")
        response = self._request("compile", tmpdir=tmpdir, target=target,
                                 verbose=bool(verbose), debug=bool(debug),
                                 header=header)
        return response["path"]

    def emit_c_code(self, filename, header=None):
        """Writes the generated C file instead of compiling it. ``filename``
        is a path, or a text file object (anything with ``write``) that gets
        the C source, as with CFFI; with ``header``, also the consumer header
        to that path."""
        if self._assigned_source is None:
            raise ValueError("set_source() must be called before emit_c_code()")
        if header is not None:
            header = os.path.abspath(os.fspath(header))
        if hasattr(filename, "write") and not isinstance(filename, (str, bytes)):
            import tempfile

            # The build request writes a file (atomically); the text is then
            # handed to the caller's object.
            with tempfile.TemporaryDirectory(prefix="cembed-emit-") as tmp:
                path = os.path.join(tmp, "module.c")
                self._request("emit_c", c_path=path, header=header)
                with open(path) as f:
                    filename.write(f.read())
            return
        self._request("emit_c", c_path=os.path.abspath(os.fspath(filename)),
                      header=header)

    # -- layouts at build time -------------------------------------------

    def sizeof(self, cdecl):
        """sizeof(cdecl) on the build's target, answered by the C compiler
        (see ``cembed._layout``): CFFI's builder answers it too."""
        return self._layout("sizeof", cdecl, "sizeof(%s)")

    def alignof(self, cdecl):
        """_Alignof(cdecl), answered by the C compiler as ``sizeof``."""
        return self._layout("alignof", cdecl, "_Alignof(%s)")

    def offsetof(self, cdecl, *fields_or_indexes):
        """offsetof(cdecl, field[.field][index]...), as CFFI's builder."""
        import re

        if not fields_or_indexes:
            raise TypeError("offsetof() expects at least 2 arguments")
        path = ""
        for x in fields_or_indexes:
            if isinstance(x, int) and not isinstance(x, bool):
                if not path:
                    raise TypeError("offsetof(): the first step must be a field name")
                path += "[%d]" % x
            elif isinstance(x, str) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", x):
                path += ("." if path else "") + x
            else:
                raise TypeError("offsetof(): expected a field name or an index, got %r" % (x,))
        return self._layout("offsetof", cdecl, "offsetof(%s, " + path + ")")

    def _layout(self, what, cdecl, template):
        from cembed import _layout

        text = _layout.c_type(cdecl, what)
        cache = self.__dict__.setdefault("_layout_cache", {})
        key = (self._assigned_source is None, template, text)
        if key not in cache:
            cache[key] = _layout.probe(self._assigned_source,
                                       [template % text], what, cdecl)[0]
        return cache[key]

    # -- not provided ---------------------------------------------------

    def _unsupported(self, what):
        raise NotImplementedError(
            "ffi.%s() is not supported by cembed, which provides CFFI's "
            "embedding mode (embedding_api, cdef, set_source, "
            "embedding_init_code, compile, emit_c_code)" % (what,))


    def set_unicode(self, enabled_flag):
        self._unsupported("set_unicode")

    def set_source_pkgconfig(self, module_name, pkgconfig_libs, source,
                             source_extension=".c", **kwds):
        self._unsupported("set_source_pkgconfig")

    def distutils_extension(self, tmpdir="build", verbose=True):
        self._unsupported("distutils_extension")

    def verify(self, source="", tmpdir=None, **kwargs):
        self._unsupported("verify")

    def dlopen(self, name, flags=0):
        self._unsupported("dlopen")

    # -- the request ----------------------------------------------------

    def _request(self, action, sources=None, tmpdir=".", target=None,
                 c_path=None, verbose=False, debug=False, header=None):
        if self._assigned_source is not None:
            module_name, c_code, options = self._assigned_source
        else:
            module_name, c_code, options = "_cembed_check", None, {}
        request = {
            "action": action,
            "module_name": module_name,
            "sources": self._sources if sources is None else sources,
            "c_code": c_code,
            "c_origin": self._source_origin,
            "options": options,
            "init_code": self._embedding or None,
            "init_origin": self._init_origin,
            "isolation": self._isolation[0] if self._isolation else None,
            "isolation_size": self._isolation[1] if self._isolation else None,
            "python": _python_facts() if action != "check" else None,
            "tmpdir": tmpdir,
            "target": target,
            "c_path": c_path,
            "header_path": header,
            "verbose": verbose,
            "debug": debug,
        }
        response = _run_request(request)
        if verbose:
            for line in response.get("log", ()):
                print(line)
        # Compiler warnings are shown whatever the verbosity, as the compiler's
        # stderr is with CFFI.
        for text in response.get("warnings", ()):
            print(text, file=sys.stderr)
        if not response.get("ok"):
            message = response.get("message", "cembed build failed")
            if response.get("kind") == "cdef":
                raise CDefError(message)
            raise VerificationError(message)
        return response
