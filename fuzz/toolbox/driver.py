"""Property-based fuzzing of the `ffi`/`lib` toolbox (hypothesis).

Each example is a short program: a list of Python statements over `ffi`,
`lib` (the `fuzzlib` library, fuzzlib_build.py) and a list `V` of values the
earlier statements made. The grammar only generates what CFFI checks:
pointers made from integers are NULL, pointers are indexed at 0 only,
lengths given to memmove/buffer/unpack never exceed the memory behind the
object (helpers in worker.py), and memory a C global points to stays alive.
So the process dying or hanging is always a bug of the runtime.

Cases run in a worker subprocess (worker.py), many per process for speed.
When the worker dies, the case is run again in a fresh worker; if it kills
that one too, hypothesis shrinks it and the smallest program is saved in
crashes/ as a Python file, which `tests/test_fuzz_replay.py` replays forever
after.

    python driver.py [--seconds N] [--libdir DIR] [--seed S]
"""
import argparse
import hashlib
import json
import os
import pathlib
import select
import subprocess
import sys
import tempfile
import time

from hypothesis import HealthCheck, given, seed, settings, strategies as st

HERE = pathlib.Path(__file__).resolve().parent
CRASHES = HERE / "crashes"
CASE_TIMEOUT = 20

# ---- the grammar ------------------------------------------------------------

TYPES = [
    "int", "char", "signed char", "unsigned char", "short", "unsigned int",
    "long long", "unsigned long long", "float", "double", "long double",
    "_Bool", "wchar_t", "char16_t", "char32_t", "size_t", "intptr_t",
    "int *", "char *", "wchar_t *", "char16_t *", "void *", "int **",
    "char[]", "wchar_t[]", "int[]", "int[3]", "char[5]", "double[2][3]",
    "int[0]", "char *[3]", "int (*)[4]", "int[][2]",
    "point_t", "point_t *", "point_t[]", "point_t[2]", "struct point *",
    "struct rect", "struct rect *", "struct rect[2]", "union num",
    "union num *", "struct bits", "struct bits *", "struct bits[]",
    "struct fam", "struct fam *", "struct fam[]", "struct fam0 *",
    "opaque_t *", "struct opaque", "struct partial *", "struct partial",
    "enum color", "enum color *", "enum color[]", "size_e", "binop_t",
    "binop_t *", "binop_t[2]", "struct ops *", "real_t", "whole_t",
    "real_t *", "whole_t[]", "void", "int(*)(int, int)", "int(int, int)",
    "int[4611686018427387904]", "char[9223372036854775807]",
    "point_t[1152921504606846976]", "double[1<<61]", "int[0x7fffffffffffffff][2]",
    "struct fam[1152921504606846976]",
]
# Raw text for the run-time type parser.
TYPE_TEXT = st.text(alphabet=list("intcharlongstructpoint_ *[]()0123456789,.+-<>{};"),
                    max_size=24)
FIELDS = ["x", "y", "tl", "br", "label", "i", "d", "b", "a", "c", "n", "items",
          "len", "data", "op", "name", "known", "hidden", "nope"]
GLOBALS = ["counter", "origin", "table", "name", "current_op", "fam_ptr", "sized",
           "RED", "GREEN", "BLUE", "BIG", "LIMIT", "SECRET", "CONST_INT"]
HUGE = ["2**31", "2**32", "2**40", "2**60", "2**62", "2**63 - 1", "2**63", "2**64",
        "sys.maxsize", "sys.maxsize // 2 + 1", "-1", "-2**63"]
INTS = st.one_of(st.integers(-3, 20).map(str), st.sampled_from(HUGE))
SMALL = st.integers(0, 12).map(str)
IDX = st.one_of(st.integers(-3, 12).map(str), st.sampled_from(HUGE))
VARS = st.integers(0, 15).map(lambda i: "v(%d)" % i)
LITERALS = st.sampled_from([
    "None", "0", "1", "-1", "255", "256", "2**31", "2**64", "1.5", "float('nan')",
    "1e308", "b''", "b'x'", "b'abc'", "b'a\\x00b'", "'x'", "'\\u00e9t\\u00e9'",
    "'\\U0001f600'", "[1, 2, 3]", "[[1, 2], [3]]", "[]", "list(range(40))",
    "{'x': 1, 'y': 2}", "{'n': 2, 'items': [1.5, 2.5]}", "{'n': 1, 'items': 9}",
    "{'tl': {'x': 1}, 'label': b'hi'}", "(1, 2)", "{'op': lib.add}",
    "bytearray(16)", "bytearray(b'abc')", "ffi.NULL", "lib.add", "lib.mul",
    "lib.counter", "lib.table", "lib.origin", "lib.name", "lib.RED", "object()",
    "lambda *a: 0", "True", "b'x' * 100", "[1.0] * 20",
])
VALUES = st.one_of(LITERALS, VARS, INTS)
TYPE = st.one_of(st.sampled_from(TYPES).map(repr), TYPE_TEXT.map(repr))
NON_ARRAY = st.sampled_from([t for t in TYPES if "[" not in t]).map(repr)
SCALAR = st.sampled_from([t for t in TYPES
                          if not set("[(*") & set(t) and t != "binop_t"]).map(repr)
BUFS = st.one_of(st.sampled_from(["bytearray(0)", "bytearray(7)", "bytearray(64)",
                                  "b'abcdefgh'", "memoryview(bytearray(24))",
                                  "ffi.buffer(lib.table)"]), VARS)


def stmt(template, **parts):
    return st.fixed_dictionaries(parts).map(lambda d: template.format(**d))


STATEMENTS = st.one_of(
    # making values
    stmt("V.append(ffi.new({t}))", t=TYPE),
    stmt("V.append(ffi.new({t}, {x}))", t=TYPE, x=VALUES),
    stmt("V.append(ffi.new({t}, {n}))", t=st.sampled_from(["'int[]'", "'char[]'",
         "'point_t[]'", "'wchar_t[]'", "'struct fam[]'", "'double[][3]'"]), n=INTS),
    stmt("V.append(ffi.cast({t}, {x}))", t=st.sampled_from([
        "'int'", "'char'", "'unsigned char'", "'long long'", "'double'", "'float'",
        "'_Bool'", "'wchar_t'", "'char32_t'", "'enum color'", "'size_e'", "'real_t'",
        "'whole_t'", "'intptr_t'"]), x=VALUES),
    # Not to array types, and to pointer types only from 0: a pointer or
    # array cast from an address claims memory (or code) behind it, CFFI's
    # line of what the user explicitly asked for.
    stmt("V.append(ffi.cast({t}, 0))", t=NON_ARRAY),
    stmt("V.append(ffi.cast({t}, {x}))", t=SCALAR, x=VARS),
    stmt("V.append(ffi.from_buffer({b}))", b=BUFS),
    stmt("V.append(ffi.from_buffer({t}, {b}))", t=TYPE, b=BUFS),
    stmt("V.append(ffi.from_buffer({t}, {b}, require_writable=True))", t=TYPE, b=BUFS),
    stmt("V.append(ffi.buffer({v}))", v=VARS),
    stmt("V.append(ffi.buffer({v}, min({n}, mlen({v}))))", v=VARS, n=SMALL),
    stmt("V.append(ffi.new_handle({x}))", x=VALUES),
    stmt("V.append(ffi.from_handle({v}))", v=VARS),
    stmt("V.append(ffi.gc({v}, lambda p: None))", v=VARS),
    stmt("V.append(ffi.gc({v}, None))", v=VARS),
    stmt("V.append(ffi.addressof({v}))", v=VARS),
    stmt("V.append(ffi.addressof({v}, {f!r}))", v=VARS, f=st.sampled_from(FIELDS)),
    stmt("V.append(ffi.addressof(lib, {g!r}))", g=st.sampled_from(GLOBALS)),
    stmt("V.append(lib.{g})", g=st.sampled_from(GLOBALS)),
    # items, slices, fields
    stmt("V.append({v}[ix({v}, {i})])", v=VARS, i=IDX),
    stmt("{v}[ix({v}, {i})] = {x}", v=VARS, i=IDX, x=VALUES),
    stmt("V.append({v}[ix({v}, {i}):ix({v}, {j})])", v=VARS, i=SMALL, j=SMALL),
    stmt("{v}[ix({v}, {i}):ix({v}, {j})] = {x}", v=VARS, i=SMALL, j=SMALL, x=VALUES),
    stmt("V.append(getattr({v}, {f!r}))", v=VARS, f=st.sampled_from(FIELDS)),
    stmt("setattr({v}, {f!r}, {x})", v=VARS, f=st.sampled_from(FIELDS), x=VALUES),
    stmt("w = getattr({v}, {f!r}); V.append(w[ix(w, {i})])", v=VARS,
         f=st.sampled_from(FIELDS), i=IDX),
    stmt("w = getattr({v}, {f!r}); w[ix(w, {i})] = {x}", v=VARS,
         f=st.sampled_from(["items", "label", "data", "b"]), i=IDX, x=VALUES),
    stmt("lib.{g} = {x}", g=st.sampled_from(["counter", "origin", "table", "name",
         "sized", "current_op"]), x=st.one_of(LITERALS, INTS)),
    stmt("lib.{g}[{i}] = {x}", g=st.sampled_from(["table", "name", "sized"]), i=IDX,
         x=VALUES),
    # memory
    stmt("ffi.memmove({a}, {b}, min({n}, mlen({a}), mlen({b})))", a=BUFS, b=BUFS, n=INTS),
    stmt("V.append(ffi.string({v}))", v=VARS),
    stmt("V.append(ffi.string({v}, {n}))", v=VARS, n=IDX),
    stmt("V.append(ffi.unpack({v}, ulen({v}, {n})))", v=VARS, n=SMALL),
    # lengths no allocation can have (a smaller one would read past the
    # memory, which CFFI leaves to the user)
    stmt("V.append(ffi.unpack(ffi.new({t}), {n}))", t=st.sampled_from([
        "'wchar_t *'", "'char *'", "'int *'", "'point_t *'"]),
         n=st.sampled_from(["2**40", "2**60", "2**62", "2**63 - 1", "sys.maxsize"])),
    stmt("ffi.release({v})", v=VARS),
    stmt("with {v}: V.append({v}[ix({v}, 0)])", v=VARS),
    # buffers
    stmt("{v}[ix({v}, {i})] = {x}", v=VARS, i=IDX, x=VALUES),
    stmt("V.append(bytes({v}))", v=VARS),
    stmt("V.append(memoryview({v}).tobytes())", v=VARS),
    # types
    stmt("V.append(ffi.typeof({t}))", t=TYPE),
    stmt("V.append(ffi.typeof({v}))", v=VARS),
    stmt("V.append(ffi.sizeof({t}))", t=st.one_of(TYPE, VARS)),
    stmt("V.append(ffi.alignof({t}))", t=TYPE),
    stmt("V.append(ffi.offsetof({t}, {f!r}))", t=TYPE, f=st.sampled_from(FIELDS)),
    stmt("V.append(ffi.offsetof({t}, {f!r}, {i}))", t=TYPE, f=st.sampled_from(FIELDS),
         i=IDX),
    stmt("V.append(ffi.getctype({t}, {r!r}))", t=TYPE, r=st.sampled_from(["*", "[5]",
         "(*)(int)", "x", "[]"])),
    stmt("V.append(ffi.typeof({t}).{a})", t=TYPE, a=st.sampled_from([
        "fields", "item", "length", "result", "args", "elements", "relements", "kind",
        "cname", "ellipsis", "abi"])),
    stmt("V.append(type({v})())", v=VARS),
    stmt("V.append(ffi.CData())"),
    stmt("V.append(ffi.CType())"),
    stmt("V.append(type(ffi.typeof('point_t').fields[0][1])())"),
    stmt("V.append(type({v}).__new__(type({v})))", v=VARS),
    stmt("V.append(ffi.typeof({v})({x}))", v=VARS, x=VALUES),
    # calls
    stmt("V.append(lib.{f}({a}, {b}))", f=st.sampled_from(["add", "mul"]), a=VALUES,
         b=VALUES),
    stmt("V.append(lib.call_op({f}, {a}, {b}))", f=st.one_of(VARS, st.sampled_from([
        "lib.add", "lib.mul", "ffi.NULL", "lib.current_op"])), a=INTS, b=INTS),
    stmt("V.append(lib.sum_points({v}, {n}))", v=VARS, n=SMALL),
    stmt("V.append(lib.fam_sum({v}))", v=VARS),
    stmt("V.append(lib.str_len({v}))", v=VARS),
    stmt("V.append(lib.swap({x}))", x=VALUES),
    stmt("V.append(lib.opaque_get(lib.opaque_new({n})))", n=INTS),
    stmt("V.append({v}({a}, {b}))", v=VARS, a=INTS, b=INTS),
    stmt("V.append(lib.current_op({a}, {b}))", a=INTS, b=INTS),
    stmt("V.append(lib.fuzz_entry({a}))", a=VALUES),
    # Python protocols
    stmt("V.append({op}({v}))", v=VARS, op=st.sampled_from([
        "int", "float", "bool", "len", "list", "repr", "str", "hash", "dir", "iter",
        "complex", "abs", "bytes", "ffi.string"])),
    # (the result is not kept: pointer arithmetic leaves the memory, CFFI
    # checks no bounds there)
    stmt("repr({a} {op} {b})", a=VARS, b=st.one_of(VARS, INTS),
         op=st.sampled_from(["==", "!=", "<", ">=", "+", "-", "*"])),
    stmt("V.append(int(ffi.cast('intptr_t', {v} + {n})))", v=VARS, n=SMALL),
    stmt("V.append(ffi.errno)"),
    stmt("ffi.errno = {x}", x=INTS),
    stmt("V.append(ffi.init_once(lambda: {x}, {t!r}))", x=VALUES,
         t=st.sampled_from(["a", "b"])),
    stmt("V.pop({i} % len(V)) if V else None", i=SMALL),
    stmt("import gc; gc.collect()"),
)

PROGRAMS = st.lists(STATEMENTS, min_size=1, max_size=14)


# ---- running cases ------------------------------------------------------------

class Worker:
    def __init__(self, libdir):
        self.libdir = libdir
        self.proc = None

    def start(self):
        # stderr goes to a file: a pipe nobody reads could fill and block.
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "worker.py"), self.libdir],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
            text=True, bufsize=1)

    def stop(self):
        if self.proc is not None:
            try:
                self.proc.kill()
            except OSError:
                pass
            self.proc.wait()
            self.proc = None

    def run(self, statements):
        """None if the case ran, else what went wrong (the worker is gone)."""
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self.start()
        try:
            self.proc.stdin.write(json.dumps(statements) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        ready, _, _ = select.select([self.proc.stdout], [], [], CASE_TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if line == "ok\n":
            return None
        if not ready:
            self.stop()
            return "hang (no answer within %ds)" % CASE_TIMEOUT
        rc = self.proc.wait()
        self.err.seek(0)
        err = self.err.read()[:1500]
        self.proc = None
        return "worker died (exit status %d)\n%s" % (rc, err)


class Crash(Exception):
    pass


def save(statements, why):
    text = "".join("    %r,\n" % s for s in statements)
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    path = CRASHES / ("case_%s.py" % digest)
    comment = "".join("# " + l + "\n" for l in why.splitlines()[:12])
    path.write_text("# A toolbox fuzz case that crashed the process when found.\n"
                    + comment + "STATEMENTS = [\n" + text + "]\n")
    return path


def build(libdir):
    os.makedirs(libdir, exist_ok=True)
    r = subprocess.run([sys.executable, str(HERE / "fuzzlib_build.py"), libdir],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("building fuzzlib failed:\n" + r.stdout + r.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--libdir", default=str(HERE / "build"))
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        build(args.libdir)
    CRASHES.mkdir(exist_ok=True)
    worker = Worker(args.libdir)
    fresh = Worker(args.libdir)
    stats = {"cases": 0, "statements": 0, "findings": []}
    deadline = time.monotonic() + args.seconds

    @settings(max_examples=300, deadline=None, derandomize=False,
              database=None,
              suppress_health_check=list(HealthCheck), print_blob=False,
              report_multiple_bugs=False)
    @given(PROGRAMS)
    def prop(statements):
        if time.monotonic() > deadline and not stats["shrinking"]:
            return
        stats["cases"] += 1
        stats["statements"] += len(statements)
        why = worker.run(statements)
        if why is None:
            return
        # Confirm alone, in a fresh process (the first may have been
        # poisoned by earlier cases).
        why2 = fresh.run(statements)
        fresh.stop()
        if why2 is not None:
            stats["shrinking"] = True
            stats["last"] = list(statements)
            raise Crash(why2)

    rounds = 0
    while time.monotonic() < deadline:
        stats["shrinking"] = False
        run = prop if args.seed is None else seed(args.seed + rounds)(prop)
        rounds += 1
        try:
            run()
        except Crash as e:
            # hypothesis re-raises for the smallest failing example it found
            # (with its arguments in the exception's notes).
            stats["findings"].append(str(e))
            last = stats.get("last")
            path = save(last or [], str(e))
            print("FINDING:", path, "\n", str(e)[:500], flush=True)
    worker.stop()
    print("toolbox driver: %d cases, %d statements, %d rounds, %d findings"
          % (stats["cases"], stats["statements"], rounds, len(stats["findings"])),
          flush=True)
    return 1 if stats["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
