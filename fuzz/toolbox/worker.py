"""Runs toolbox fuzz cases against `fuzzlib` in this process.

    python worker.py LIBDIR            serve: one JSON list of statements per
                                       stdin line, answers "ok" per case
    python worker.py LIBDIR FILE...    replay saved crash inputs (each a
                                       Python file defining STATEMENTS)

Each statement runs on its own; any Python exception is the expected answer
to misuse and is swallowed. What must never happen is the process dying
(a signal, an abort, an exit) or hanging: the driver watches for that.
Address space is capped so that a huge allocation fails (MemoryError)
instead of taking the machine's memory.
"""
import gc
import json
import resource
import sys

ADDRESS_SPACE = 4 << 30


def setup(libdir):
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    sys.path.insert(0, libdir)
    import fuzzlib
    return fuzzlib.ffi, fuzzlib.lib


def helpers(ffi, lib):
    def kind(x):
        try:
            return ffi.typeof(x).kind
        except Exception:
            return None

    def mlen(x):
        """Bytes of memory known to be behind x (0 if unknown): what
        memmove/buffer may touch without the caller asking for more."""
        if isinstance(x, (bytes, bytearray)):
            return len(x)
        try:
            if kind(x) == "array":
                return ffi.sizeof(x)
            return len(ffi.buffer(x)) if type(x).__name__ == "buffer" else 0
        except Exception:
            return 0

    def ix(x, k):
        """Pointers may only be indexed at 0 (CFFI checks no further)."""
        return 0 if kind(x) == "pointer" else k

    def ulen(x, n):
        try:
            return min(n, len(x)) if kind(x) == "array" else 0
        except Exception:
            return 0

    return {"kind": kind, "mlen": mlen, "ix": ix, "ulen": ulen}


def reset_globals(ffi, lib):
    # Globals may now point into memory the case owned: point them back at
    # what the library set, so the next case starts from the same state.
    lib.current_op = lib.add
    lib.fam_ptr = ffi.NULL


def run_case(ffi, lib, helper_ns, statements):
    V = []
    ns = {"ffi": ffi, "lib": lib, "V": V, "sys": sys,
          "v": lambda i: V[i % len(V)] if V else None}
    ns.update(helper_ns)
    for s in statements:
        try:
            exec(s, ns)
        except Exception:
            pass
    try:
        reset_globals(ffi, lib)
    except Exception:
        pass
    V.clear()
    ns.clear()
    gc.collect()


def main(argv):
    ffi, lib = setup(argv[1])
    hn = helpers(ffi, lib)
    if len(argv) > 2:
        for path in argv[2:]:
            glb = {}
            with open(path) as f:
                exec(compile(f.read(), path, "exec"), glb)
            run_case(ffi, lib, hn, glb["STATEMENTS"])
            print("replayed", path, flush=True)
        return 0
    out = sys.stdout
    for line in sys.stdin:
        run_case(ffi, lib, hn, json.loads(line))
        out.write("ok\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
