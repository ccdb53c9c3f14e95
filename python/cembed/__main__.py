"""``python -m cembed`` and the ``cembed`` console script: run the cembed
executable shipped inside this package (``cembed/_bin/cembed``, the Rust
command-line front end), with the same arguments and exit code."""

import os
import sys


def executable():
    """The path of the cembed executable in this installation."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bin", "cembed")


def main():
    exe = executable()
    if not os.access(exe, os.X_OK):
        sys.stderr.write(
            "cembed: error: the cembed executable is missing from this "
            "installation (%s); reinstall cembed (pip install --force-reinstall "
            "cembed)\n" % exe)
        return 2
    argv = [exe] + sys.argv[1:]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(exe, argv)  # never returns: the process becomes the binary
    import subprocess
    return subprocess.call(argv)


if __name__ == "__main__":
    sys.exit(main())
