"""No leak per call: 10^5 calls of each conversion kind leave the embedded
interpreter's memory (tracemalloc), its objects (gc), the reference counts
of the objects involved and the host's resident set where they were.

A C host calls each kind of exported function (ints, floats, pointers,
structs by value, strings, handles, callbacks, buffers, ffi.new, an
exception handled by onerror) 1,000 times to warm up, then 10^5 times
between two measurements: the init code measures Python's side, the host
its RSS. One kind leaks on purpose (a list that grows by one bytes object a
call), so the test also shows that the measurement sees a leak of that size.
"""

import re

from cembed_e2e import UNBUFFERED_MAIN, Project, library_script, lines

API = """
    typedef struct { int x; double y; char tag[4]; } rec_t;
    int k_int(int a, long long b, unsigned c);
    double k_float(double a, float b);
    void *k_ptr(void *p);
    rec_t k_struct(rec_t r);
    int k_string(const char *s);
    void *k_handle(void *h);
    void *get_handle(void);
    int k_callback(int (*f)(int), int x);
    int k_buffer(unsigned char *p, int n);
    int k_new(int n);
    int k_error(int x);
    int k_leak(int x);
    void measure(const char *kind, int phase);
"""

C_CODE = """
    typedef struct { int x; double y; char tag[4]; } rec_t;
"""

INIT = """
    from leaks import ffi, lib
    import gc, sys, tracemalloc

    tracemalloc.start()
    payload = object()
    handle = ffi.new_handle(payload)
    kept = []

    @ffi.def_extern()
    def k_int(a, b, c):
        return a + (b & 0xff) + (c & 0xff)

    @ffi.def_extern()
    def k_float(a, b):
        return a * b

    @ffi.def_extern()
    def k_ptr(p):
        return p

    @ffi.def_extern()
    def k_struct(r):
        return (r.x + 1, r.y * 2, b"xyz")

    @ffi.def_extern()
    def k_string(s):
        return len(ffi.string(s))

    @ffi.def_extern()
    def get_handle():
        return handle

    @ffi.def_extern()
    def k_handle(h):
        assert ffi.from_handle(h) is payload
        return h

    @ffi.def_extern()
    def k_callback(f, x):
        return f(x)

    @ffi.def_extern()
    def k_buffer(p, n):
        return sum(bytes(ffi.buffer(p, n)))

    @ffi.def_extern()
    def k_new(n):
        a = ffi.new("int[]", n)
        r = ffi.new("rec_t *", {"x": n, "y": 1.5})
        return len(a) + r.x

    def swallow(exception, exc_value, traceback):
        return -2

    @ffi.def_extern(error=-1, onerror=swallow)
    def k_error(x):
        raise ValueError("bad %d" % x)

    @ffi.def_extern()
    def k_leak(x):
        kept.append(b"%08d" % x)
        return x

    # The objects every kind goes through.
    watched = {
        "payload": payload,
        "handle": handle,
        "ctype": ffi.typeof("rec_t"),
        "functions": k_int,
        "onerror": swallow,
    }
    before = {}

    @ffi.def_extern()
    def measure(kind, phase):
        kind = ffi.string(kind).decode()
        gc.collect()
        now = (tracemalloc.get_traced_memory()[0], len(gc.get_objects()),
               {name: sys.getrefcount(o) for name, o in watched.items()})
        if phase == 0:
            before[kind] = now
            return
        mem0, objs0, refs0 = before.pop(kind)
        mem, objs, refs = now
        grew = []
        if mem - mem0 > 16384:
            grew.append("tracemalloc +%d bytes" % (mem - mem0))
        if objs - objs0 > 100:
            grew.append("gc objects +%d" % (objs - objs0))
        for name in refs:
            if refs[name] != refs0[name]:
                grew.append("refcount of %s %d -> %d" % (name, refs0[name], refs[name]))
        print("%s: python %s" % (kind, "grew" if grew else "flat"), flush=True)
        for g in grew:
            print("  " + g, file=sys.stderr, flush=True)
"""

HOST = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "leaks.h"

#define N 100000
#define WARMUP 1000

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL || fscanf(f, "%ld %ld", &pages, &resident) != 2)
        exit(2);
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int twice(int x) { return 2 * x; }

static volatile long sink;

/* Runs BODY WARMUP times, then N times between the two measurements. */
#define KIND(name, BODY) do {                                            \
        long i, r0, grew;                                                \
        for (i = 0; i < WARMUP; i++) { BODY; }                           \
        measure(name, 0);                                                \
        r0 = rss_kib();                                                  \
        for (i = 0; i < N; i++) { BODY; }                                \
        grew = rss_kib() - r0;                                           \
        measure(name, 1);                                                \
        printf("%s: rss %s\n", name, grew < 512 ? "flat" : "grew");      \
        if (grew >= 512)                                                 \
            fprintf(stderr, "  rss +%ld KiB\n", grew);                   \
    } while (0)

int main(void)
{
    unsigned char bytes[64];
    rec_t rec = { 1, 0.5, "abc" };
    void *h;
    UNBUFFERED
    memset(bytes, 7, sizeof bytes);
    h = get_handle();
    KIND("ints", sink += k_int((int)i, i, (unsigned)i));
    KIND("floats", sink += (long)k_float((double)i, 0.5f));
    KIND("pointers", sink += (k_ptr(bytes + i % 64) != NULL));
    KIND("structs", { rec_t r = k_struct(rec); sink += r.x; });
    KIND("strings", sink += k_string("a string of some length"));
    KIND("handles", sink += (k_handle(h) == h));
    KIND("callbacks", sink += k_callback(twice, (int)i));
    KIND("buffers", sink += k_buffer(bytes, 64));
    KIND("ffi.new", sink += k_new(16));
    KIND("exceptions", sink += k_error((int)i));
    KIND("leak", sink += k_leak((int)i));
    return 0;
}
""".replace("UNBUFFERED", UNBUFFERED_MAIN)

KINDS = ["ints", "floats", "pointers", "structs", "strings", "handles", "callbacks",
         "buffers", "ffi.new", "exceptions"]


def test_calls_leak_nothing(tmp_path):
    p = Project(tmp_path)
    p.build(library_script("leaks", API, INIT, "libleaks.*", c_code=C_CODE))
    host = p.gcc(HOST, libs=["libleaks.so"])
    r = p.run(host, timeout=600)
    expected = []
    for kind in KINDS:
        expected += ["%s: python flat" % kind, "%s: rss flat" % kind]
    # The deliberate leak: 10^5 bytes objects kept (about 5 MB).
    expected += ["leak: python grew", "leak: rss grew"]
    assert r.stdout == lines(*expected), r.stdout + r.stderr
    # Nothing else on stderr: what grew is the leak's, and only the leak's
    # (its list holds no gc-tracked objects).
    assert re.fullmatch(r"  tracemalloc \+\d+ bytes\n  rss \+\d+ KiB\n", r.stderr), r.stderr
