/* host.c -- the benchmark's C host, the same program for every implementation.
 *
 * It dlopen()s one library (cembed, cffi or the hand-written floor) given on
 * the command line, looks the benchmark functions up with dlsym() and calls
 * them through plain function pointers, so every implementation is called in
 * exactly the same way. Each mode prints one JSON object on stdout; a wrong
 * result from the library is reported on stderr with exit status 3, so the
 * harness can tell "slow" from "broken".
 *
 *   host add     LIB CALLS THREADS  calls add(i, 1) CALLS times in each of
 *                                   THREADS threads (after one warm-up call
 *                                   per thread, all released by a barrier)
 *   host struct  LIB CALLS          point_sum(&p)   (Python reads p.x, p.y, p.z)
 *   host string  LIB CALLS          str_len(s)      (Python: len(ffi.string(s)))
 *   host string_bytes LIB CALLS     the floor's str_len_bytes(s) (bytes made in
 *                                   C, Python: len(b)); a reference row only
 *   host buffer  LIB CALLS          buf_sum(a, 1000) (Python sums the doubles)
 *   host callback LIB CALLS         cb_call(i): C calls a function pointer made
 *                                   by ffi.callback (Python returns i + 1)
 *   host loop    LIB CALLS          add() in the main thread, in bench_add_loop
 *                                   (what bench/profile counts with callgrind)
 *   host first   LIB                dlopen + first add(1, 2); prints the
 *                                   CLOCK_MONOTONIC time of the result
 *   host firststop LIB              the same, then _exit(0) (for profiling
 *                                   the first call against bare_init)
 *   host rss     LIB CALLS          RSS after 1 call, after 1000, after CALLS
 *   host threads LIB N BATCH        N short-lived threads (BATCH at a time)
 *                                   each call add once; RSS at the end
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int x;
    int y;
    int z;
} point_t;

typedef int (*add_fn)(int, int);
typedef int (*point_sum_fn)(point_t *);
typedef int (*str_len_fn)(const char *);
typedef double (*buf_sum_fn)(double *, int);
typedef int (*cb_call_fn)(int);

#define BUF_N 1000
static const char bench_string[] = "the quick brown fox jumps over the lazy dog";

static void *lib;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *sym(const char *name)
{
    void *p = dlsym(lib, name);
    if (p == NULL) {
        fprintf(stderr, "host: %s not exported by the library: %s\n", name, dlerror());
        exit(2);
    }
    return p;
}

static void wrong(const char *what, double got, double want)
{
    fprintf(stderr, "host: wrong result from %s: got %.17g, want %.17g\n", what, got, want);
    exit(3);
}

/* VmRSS / VmHWM of this process in KiB, from /proc/self/status. */
static long proc_status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* ---- add in N threads ---------------------------------------------------- */

static add_fn f_add;
static long calls_per_thread;
static pthread_barrier_t start_barrier;

/* Each worker times itself: on a 2-core machine the main thread may not be
 * scheduled again until a worker blocks, so a clock read by main after the
 * barrier would start late. The run lasts from the first worker's start to
 * the last worker's end. */
typedef struct {
    int64_t start, end;
    long bad;
} worker_result;

static void *add_worker(void *arg)
{
    worker_result *res = arg;
    if (f_add(20, 22) != 42) /* warm-up: thread state, first-call paths */
        wrong("add(20, 22)", 0, 42);
    pthread_barrier_wait(&start_barrier);
    res->start = now_ns();
    long bad = 0;
    for (long i = 0; i < calls_per_thread; i++) {
        int v = (int)(i & 0xffff);
        if (f_add(v, 1) != v + 1)
            bad++;
    }
    res->end = now_ns();
    res->bad = bad;
    return NULL;
}

static int mode_add(long calls, int threads)
{
    f_add = (add_fn)sym("add");
    calls_per_thread = calls;
    /* Python starts on the first call; keep it out of the timed region. */
    if (f_add(1, 2) != 3)
        wrong("add(1, 2)", 0, 3);
    pthread_t tid[64];
    worker_result res[64];
    if (threads < 1 || threads > 64) {
        fprintf(stderr, "host: 1..64 threads\n");
        return 2;
    }
    pthread_barrier_init(&start_barrier, NULL, (unsigned)threads);
    for (int t = 0; t < threads; t++)
        pthread_create(&tid[t], NULL, add_worker, &res[t]);
    long bad = 0;
    int64_t t0 = INT64_MAX, t1 = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        bad += res[t].bad;
        t0 = res[t].start < t0 ? res[t].start : t0;
        t1 = res[t].end > t1 ? res[t].end : t1;
    }
    if (bad)
        wrong("add(i, 1) (number of wrong results)", (double)bad, 0);
    printf("{\"calls\": %ld, \"threads\": %d, \"ns\": %lld}\n", calls * threads, threads, (long long)(t1 - t0));
    return 0;
}

/* ---- profiling loop ------------------------------------------------------- */

/* The loop bench/profile runs under callgrind with --toggle-collect on this
 * function: only the calls themselves are counted, not start-up. */
__attribute__((noinline)) long bench_add_loop(add_fn f, long calls)
{
    long bad = 0;
    for (long i = 0; i < calls; i++) {
        int v = (int)(i & 0xffff);
        if (f(v, 1) != v + 1)
            bad++;
    }
    return bad;
}

static int mode_loop(long calls)
{
    add_fn f = (add_fn)sym("add");
    if (f(1, 2) != 3)
        wrong("add(1, 2)", 0, 3);
    int64_t t0 = now_ns();
    long bad = bench_add_loop(f, calls);
    int64_t t1 = now_ns();
    if (bad)
        wrong("add(i, 1) (number of wrong results)", (double)bad, 0);
    printf("{\"calls\": %ld, \"threads\": 1, \"ns\": %lld}\n", calls, (long long)(t1 - t0));
    return 0;
}

/* ---- single-thread data cases -------------------------------------------- */

static int mode_struct(long calls)
{
    point_sum_fn f = (point_sum_fn)sym("point_sum");
    point_t p = {1, 2, 3};
    if (f(&p) != 6)
        wrong("point_sum({1, 2, 3})", f(&p), 6);
    int64_t t0 = now_ns();
    for (long i = 0; i < calls; i++) {
        p.x = (int)(i & 0xffff);
        if (f(&p) != p.x + 5)
            wrong("point_sum", f(&p), p.x + 5);
    }
    int64_t t1 = now_ns();
    printf("{\"calls\": %ld, \"threads\": 1, \"ns\": %lld}\n", calls, (long long)(t1 - t0));
    return 0;
}

/* name: "str_len", or the floor's reference "str_len_bytes" (same signature). */
static int mode_string(long calls, const char *name)
{
    str_len_fn f = (str_len_fn)sym(name);
    int want = (int)strlen(bench_string);
    if (f(bench_string) != want)
        wrong(name, f(bench_string), want);
    int64_t t0 = now_ns();
    for (long i = 0; i < calls; i++)
        if (f(bench_string) != want)
            wrong(name, f(bench_string), want);
    int64_t t1 = now_ns();
    printf("{\"calls\": %ld, \"threads\": 1, \"ns\": %lld}\n", calls, (long long)(t1 - t0));
    return 0;
}

static int mode_buffer(long calls)
{
    buf_sum_fn f = (buf_sum_fn)sym("buf_sum");
    static double buf[BUF_N];
    double want = 0;
    for (int i = 0; i < BUF_N; i++) {
        buf[i] = i * 0.5;
        want += buf[i]; /* exact: halves of small integers */
    }
    double got = f(buf, BUF_N);
    if (got != want)
        wrong("buf_sum", got, want);
    int64_t t0 = now_ns();
    for (long i = 0; i < calls; i++)
        if ((got = f(buf, BUF_N)) != want)
            wrong("buf_sum", got, want);
    int64_t t1 = now_ns();
    printf("{\"calls\": %ld, \"threads\": 1, \"ns\": %lld}\n", calls, (long long)(t1 - t0));
    return 0;
}

static int mode_callback(long calls)
{
    cb_call_fn f = (cb_call_fn)sym("cb_call");
    if (f(41) != 42)
        wrong("cb_call(41)", f(41), 42);
    int64_t t0 = now_ns();
    for (long i = 0; i < calls; i++) {
        int v = (int)(i & 0xffff);
        if (f(v) != v + 1)
            wrong("cb_call", f(v), v + 1);
    }
    int64_t t1 = now_ns();
    printf("{\"calls\": %ld, \"threads\": 1, \"ns\": %lld}\n", calls, (long long)(t1 - t0));
    return 0;
}

/* ---- first call ---------------------------------------------------------- */

static int mode_first(int stop)
{
    add_fn f = (add_fn)sym("add");
    int r = f(1, 2);
    int64_t t = now_ns();
    if (r != 3)
        wrong("add(1, 2)", r, 3);
    printf("{\"t_ns\": %lld}\n", (long long)t);
    fflush(stdout);
    /* firststop: end the process right at the result, as bare_init does, so
     * that a whole-process profile (callgrind, perf stat) of this host and of
     * bare_init covers the same span: process start to first result. */
    if (stop)
        _exit(0);
    return 0;
}

/* ---- memory -------------------------------------------------------------- */

static int mode_rss(long calls)
{
    add_fn f = (add_fn)sym("add");
    if (f(1, 2) != 3)
        wrong("add(1, 2)", 0, 3);
    long rss1 = proc_status_kib("VmRSS");
    for (long i = 0; i < 1000; i++)
        f((int)i, 1);
    long rss1k = proc_status_kib("VmRSS");
    long bad = 0;
    for (long i = 0; i < calls; i++) {
        int v = (int)(i & 0xffff);
        if (f(v, 1) != v + 1)
            bad++;
    }
    if (bad)
        wrong("add(i, 1) (number of wrong results)", (double)bad, 0);
    long rss_end = proc_status_kib("VmRSS");
    long hwm = proc_status_kib("VmHWM");
    printf("{\"calls\": %ld, \"rss_after_1_kib\": %ld, \"rss_after_1000_kib\": %ld, "
           "\"rss_end_kib\": %ld, \"hwm_kib\": %ld}\n",
           calls, rss1, rss1k, rss_end, hwm);
    return 0;
}

static void *once_worker(void *arg)
{
    (void)arg;
    return (void *)(long)(f_add(20, 22) != 42);
}

static int mode_threads(long n, int batch)
{
    f_add = (add_fn)sym("add");
    if (f_add(1, 2) != 3)
        wrong("add(1, 2)", 0, 3);
    long rss0 = proc_status_kib("VmRSS");
    pthread_t tid[256];
    if (batch < 1 || batch > 256)
        batch = 10;
    long bad = 0;
    for (long done = 0; done < n;) {
        int k = (int)(n - done < batch ? n - done : batch);
        for (int t = 0; t < k; t++)
            if (pthread_create(&tid[t], NULL, once_worker, NULL) != 0) {
                fprintf(stderr, "host: pthread_create failed\n");
                return 2;
            }
        for (int t = 0; t < k; t++) {
            void *r;
            pthread_join(tid[t], &r);
            bad += (long)r;
        }
        done += k;
    }
    if (bad)
        wrong("add(20, 22) in short-lived threads (number of wrong results)", (double)bad, 0);
    long rss_end = proc_status_kib("VmRSS");
    long hwm = proc_status_kib("VmHWM");
    printf("{\"threads\": %ld, \"rss_before_kib\": %ld, \"rss_end_kib\": %ld, \"hwm_kib\": %ld}\n", n, rss0,
           rss_end, hwm);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: host MODE LIB [ARGS]\n");
        return 2;
    }
    const char *mode = argv[1];
    /* Line-buffered even into a pipe: the result must reach the harness
     * before exit(), in case the library then hangs in an exit handler. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    lib = dlopen(argv[2], RTLD_NOW | RTLD_GLOBAL);
    if (lib == NULL) {
        fprintf(stderr, "host: dlopen: %s\n", dlerror());
        return 2;
    }
    long a = argc > 3 ? atol(argv[3]) : 0;
    long b = argc > 4 ? atol(argv[4]) : 0;
    if (strcmp(mode, "add") == 0)
        return mode_add(a, (int)b);
    if (strcmp(mode, "loop") == 0)
        return mode_loop(a);
    if (strcmp(mode, "struct") == 0)
        return mode_struct(a);
    if (strcmp(mode, "string") == 0)
        return mode_string(a, "str_len");
    if (strcmp(mode, "string_bytes") == 0)
        return mode_string(a, "str_len_bytes");
    if (strcmp(mode, "buffer") == 0)
        return mode_buffer(a);
    if (strcmp(mode, "callback") == 0)
        return mode_callback(a);
    if (strcmp(mode, "first") == 0)
        return mode_first(0);
    if (strcmp(mode, "firststop") == 0)
        return mode_first(1);
    if (strcmp(mode, "rss") == 0)
        return mode_rss(a);
    if (strcmp(mode, "threads") == 0)
        return mode_threads(a, (int)b);
    fprintf(stderr, "host: unknown mode %s\n", mode);
    return 2;
}
