"""Running one request in the cembed executable (``cembed/_bin/cembed``).

The builder's work (parsing the declarations, generating C, driving the C
compiler) is done by the Rust executable shipped in this package, not by the
runtime extension: ``cembed request`` reads one JSON request on stdin and
writes the JSON response on stdout (docs/architecture.md, "The build
request"). That works from every Python that can start a process, PyPy
included, and keeps the builder out of the runtime every host loads.

A build script pays for this module on every build, so it avoids the
imports that would cost more than the work: ``json`` pulls in ``re`` and
``enum`` (about 6 ms) and ``subprocess`` about 4 ms. Where CPython provides
them, the C accelerators of ``json`` (``_json``) and ``os.posix_spawn`` do the
same job; elsewhere (PyPy) the standard modules are used.
"""

import os
import sys


def executable():
    """The cembed executable of this installation."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bin", "cembed")


class RequestError(Exception):
    """The executable could not be run or gave no response (the message
    says which and why)."""


# ---- JSON --------------------------------------------------------------

try:
    from _json import encode_basestring_ascii as _quote
    from _json import make_scanner as _make_scanner
except ImportError:  # PyPy: no C accelerator module under that name
    _quote = _make_scanner = None


def _encode(value, out):
    # The request holds dicts with string keys, lists and tuples, strings,
    # booleans, None and integers (docs/architecture.md).
    if isinstance(value, str):
        out.append(_quote(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError("a key of the request is a %s, not a str" % type(k).__name__)
            if not first:
                out.append(",")
            first = False
            out.append(_quote(k))
            out.append(":")
            _encode(v, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _encode(v, out)
        out.append("]")
    else:
        raise TypeError("the request holds a %s (%r), which JSON cannot carry"
                        % (type(value).__name__, value))


class _ScanContext:
    # What _json.make_scanner reads from a json.JSONDecoder.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo = {}

    @staticmethod
    def parse_constant(name):
        raise ValueError("unexpected constant %s" % name)


def dumps(value):
    if _quote is None:
        import json
        return json.dumps(value)
    out = []
    _encode(value, out)
    return "".join(out)


def loads(text):
    if _make_scanner is None:
        import json
        return json.loads(text)
    text = text.strip()
    value, end = _make_scanner(_ScanContext())(text, 0)
    if end != len(text):
        raise ValueError("extra data after the JSON document at %d" % end)
    return value


# ---- the process -------------------------------------------------------

def _spawn(argv, data):
    """Runs argv with data on its stdin; returns (exit status, stdout).
    Its stderr is the caller's."""
    if not hasattr(os, "posix_spawn"):
        import subprocess
        proc = subprocess.run(argv, input=data, stdout=subprocess.PIPE)
        return proc.returncode, proc.stdout
    # Both pipes are close-on-exec; dup2 onto 0 and 1 gives the child
    # inheritable copies of its ends only.
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    try:
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, in_r, 0),
            (os.POSIX_SPAWN_DUP2, out_w, 1),
        ])
    except BaseException:
        for fd in (in_r, in_w, out_r, out_w):
            os.close(fd)
        raise
    os.close(in_r)
    os.close(out_w)
    chunks = []
    try:
        # The executable reads all its input before it writes anything, so
        # writing everything first cannot deadlock.
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(in_w, view):]
        except BrokenPipeError:
            pass  # it ended early; its status says why
        finally:
            os.close(in_w)
        while True:
            chunk = os.read(out_r, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(out_r)
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") \
        else (os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status))
    return code, b"".join(chunks)


def run_request(request):
    """Sends one request (a dict) to ``cembed request``; returns the
    response (a dict). RequestError when there is no response."""
    data = dumps(request).encode("ascii")
    exe = executable()
    try:
        code, out = _spawn([exe, "request"], data)
    except OSError as e:
        raise RequestError(
            "cannot run the cembed executable %s (%s); reinstall cembed "
            "(pip install --force-reinstall cembed)" % (exe, e)) from None
    if code == 0:
        try:
            response = loads(out.decode("utf-8", "replace"))
        except ValueError:
            response = None
        if isinstance(response, dict):
            return response
    sys.stderr.flush()
    raise RequestError(
        "the cembed executable %s gave no response to a %r request (exit "
        "status %d%s)" % (exe, request.get("action"), code,
                          ", output %r" % out[:200] if out else ""))
