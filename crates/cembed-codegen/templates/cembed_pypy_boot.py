# cembed_pypy_boot.py -- the boot prelude PyPy runs when a library generated
# for PyPy starts (pasted by codegen's PyPy target into the C file, after the
# lines that define _cembed_error_buffer, _cembed_module, _cembed_site,
# _cembed_executable, _cembed_libpypy and _cembed_init_code).
#
# It runs in the namespace PyPy gives the init code, and leaves nothing in it
# but what the init code itself defines:
#  - the build venv's site-packages are added (site.addsitedir: .pth files
#    too), so the library needs no environment variable; sys.executable
#    (PyPy's embedding leaves "*") and sys.prefix become the venv's;
#  - the user's init code runs in a fresh namespace, as CFFI runs it, under
#    the file name CFFI gives it ("<init code for 'module'>");
#  - on success, a C callback that runs Python's exit (atexit handlers, then
#    flushing every open file; once per process) is left in the slot
#    whose address is _cembed_error_buffer[2], for the library's destructor;
#  - a failure is printed once, with the context needed to fix it, and copied
#    into the library's error buffer (cembed_init_error() in C): the C side
#    sees a non-empty buffer and reports the start as failed.


def _cembed_boot(error_buffer, module, site_dirs, executable, libpypy, code):
    import sys
    try:
        import site
        for d in site_dirs:
            if d not in sys.path:
                site.addsitedir(d)
        # PyPy's embedding leaves sys.executable as "*": make it the build
        # venv's pypy3 (multiprocessing, subprocess of sys.executable), and
        # the prefix the venv's, as a venv's interpreter has them.
        import os
        if executable and not os.path.isfile(sys.executable or ""):
            sys.executable = executable
            venv = os.path.dirname(os.path.dirname(executable))
            if os.path.isfile(os.path.join(venv, "pyvenv.cfg")):
                sys.prefix = sys.exec_prefix = venv
        # A module-kind dict, as PyPy's own embedding gives CFFI's init
        # code: its global lookups are cells the JIT treats as constants,
        # where a plain dict costs a lookup per use on every call of a
        # function the init code defines.
        try:
            from __pypy__ import newdict
            namespace = newdict("module")
        except ImportError:
            namespace = {}
        namespace["__builtins__"] = __builtins__
        exec(compile(code, "<init code for '%s'>" % module, "exec"), namespace)
        _cembed_exit_hook(error_buffer[2])
        return
    except BaseException:
        import traceback
        report = "".join(traceback.format_exc())
    report = (
        "From initialization of '%s' (cembed on PyPy):\n%s"
        "  module: %s\n  libpypy: %s\n  pypy version: %s\n  sys.path: %r\n"
        % (module, report, module, libpypy,
           ".".join(map(str, sys.pypy_version_info[:3])), sys.path))
    try:
        sys.stderr.write(report)
        sys.stderr.flush()
    except BaseException:
        pass
    from _cffi_backend import FFI
    ffi = FFI()
    data = report.encode("utf-8", "replace")[: error_buffer[1] - 1] + b"\0"
    ffi.memmove(ffi.cast("char *", error_buffer[0]), data, len(data))


def _cembed_exit_hook(slot):
    import sys
    from _cffi_backend import FFI

    def run_exit():
        if getattr(sys, "_cembed_exited", False):
            return
        sys._cembed_exited = True
        try:
            import atexit
            atexit._run_exitfuncs()
        except BaseException:
            import traceback
            traceback.print_exc()
        # PyPy flushes open files only when it finalizes, which embedding
        # never does: every writable file still open is flushed here (the
        # walk of the heap costs about 0.2 s for a small heap, 0.9 s with two
        # million objects, once, at exit; PyPy keeps no list of open files
        # that an embedder can reach).
        try:
            import gc
            import io
            files = [o for o in gc.get_objects() if isinstance(o, io.IOBase)]
        except BaseException:
            files = []
        for f in files + [sys.stdout, sys.stderr]:
            try:
                if not f.closed and f.writable():
                    f.flush()
            except BaseException:
                pass

    ffi = FFI()
    callback = ffi.callback("void(*)(void)", run_exit)
    # The callback lives as long as the process: PyPy must not free it.
    sys.__dict__.setdefault("_cembed_exit_callbacks", []).append(callback)
    ffi.cast("void(**)(void)", slot)[0] = callback


try:
    _cembed_boot(_cembed_error_buffer, _cembed_module, _cembed_site,
                 _cembed_executable, _cembed_libpypy, _cembed_init_code)
finally:
    del (_cembed_boot, _cembed_exit_hook, _cembed_error_buffer, _cembed_module, _cembed_site,
         _cembed_executable, _cembed_libpypy, _cembed_init_code)
