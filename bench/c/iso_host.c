/* iso_host.c -- the C host of the isolation table (docs/benchmarks.md,
 * "Isolation"): one or several libraries called from several host threads.
 *
 * Every library (cembed in its "shared", "isolated" or "pool" mode, cffi, the
 * floors) exports `int add(int, int)` and `int spin(int n)`, whose Python body
 * is about 10 µs of pure-Python work (sum of i * i for i < n, mod 1000003;
 * see bench/libs/build_lib.py). Each mode prints one JSON object on stdout; a
 * wrong result is reported on stderr with exit status 3.
 *
 *   iso_host run  FUNC ARG CALLS THREADS LIB [LIB ...]
 *       FUNC is add or spin (ARG: spin's n; ignored by add). Thread t calls
 *       the library LIB[t % number of LIBs], so "isolated, one library per
 *       thread" is THREADS libraries. The main thread first calls every
 *       library once (Python start-up, each library's init code), then every
 *       thread makes one timed warm-up call (its first call: thread state,
 *       binding to a pool interpreter), waits at a barrier, and makes CALLS
 *       calls. The run lasts from the first thread's start to the last
 *       thread's end (each thread reads its own clock: on 2 cores the main
 *       thread may not run again until a worker blocks).
 *   iso_host first FUNC ARG LIB
 *       dlopen + the first call; prints the CLOCK_MONOTONIC time of the
 *       result (the harness read the same clock just before spawning this
 *       process) and how long the call itself took.
 *   iso_host mem LIB THREADS
 *       add() once from the main thread, then once from each of THREADS
 *       threads, which stay alive (a barrier) while VmRSS is read: every
 *       interpreter the library uses for these threads exists at that point.
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

typedef int (*int2_fn)(int, int);
typedef int (*int1_fn)(int);

#define MAX_THREADS 64
#define MAX_LIBS 16

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void wrong(const char *what, long got, long want)
{
    fprintf(stderr, "iso_host: wrong result from %s: got %ld, want %ld\n", what, got, want);
    exit(3);
}

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

/* One library: its handle and the function being measured. One library is
 * opened RTLD_NOW | RTLD_GLOBAL, as host.c does (cffi's embedded Python needs
 * libpython's symbols global for _cffi_backend); several (the isolated
 * column: only cembed, which works in RTLD_LOCAL hosts) RTLD_NOW |
 * RTLD_LOCAL, since they export the same names. */
typedef struct {
    void *handle;
    int2_fn add;
    int1_fn spin;
} lib_t;

static lib_t libs[MAX_LIBS];
static int nlibs;
static int use_spin;
static int spin_n;
static int spin_want;

static void open_lib(lib_t *l, const char *path)
{
    l->handle = dlopen(path, RTLD_NOW | (nlibs > 1 ? RTLD_LOCAL : RTLD_GLOBAL));
    if (l->handle == NULL) {
        fprintf(stderr, "iso_host: dlopen: %s\n", dlerror());
        exit(2);
    }
    const char *name = use_spin ? "spin" : "add";
    void *p = dlsym(l->handle, name);
    if (p == NULL) {
        fprintf(stderr, "iso_host: %s not exported by %s\n", name, path);
        exit(2);
    }
    if (use_spin)
        l->spin = (int1_fn)p;
    else
        l->add = (int2_fn)p;
}

/* What spin(n) must return: sum of i * i for i < n, mod 1000003. */
static int spin_expected(int n)
{
    int64_t s = 0;
    for (int64_t i = 0; i < n; i++)
        s += i * i;
    return (int)(s % 1000003);
}

/* One call; returns 0 when the result is right. */
static inline int call_once(const lib_t *l, long i)
{
    if (use_spin)
        return l->spin(spin_n) != spin_want;
    int v = (int)(i & 0xffff);
    return l->add(v, 1) != v + 1;
}

/* ---- run: CALLS calls in each of THREADS threads ------------------------ */

static long calls_per_thread;
static pthread_barrier_t barrier;

typedef struct {
    const lib_t *lib;
    int64_t warm_ns, start, end;
    long bad;
} worker_t;

static void *run_worker(void *arg)
{
    worker_t *w = arg;
    int64_t t0 = now_ns();
    if (call_once(w->lib, 41))
        wrong("the first call of a thread", 0, 0);
    w->warm_ns = now_ns() - t0;
    pthread_barrier_wait(&barrier);
    w->start = now_ns();
    long bad = 0;
    for (long i = 0; i < calls_per_thread; i++)
        bad += call_once(w->lib, i);
    w->end = now_ns();
    w->bad = bad;
    return NULL;
}

static int mode_run(long calls, int threads)
{
    if (threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "iso_host: 1..%d threads\n", MAX_THREADS);
        return 2;
    }
    /* Python start-up and every library's init code stay out of the timing. */
    int64_t t0 = now_ns();
    for (int k = 0; k < nlibs; k++)
        if (call_once(&libs[k], 7))
            wrong("the first call", 0, 0);
    int64_t init_ns = now_ns() - t0;
    calls_per_thread = calls;
    pthread_t tid[MAX_THREADS];
    worker_t w[MAX_THREADS];
    pthread_barrier_init(&barrier, NULL, (unsigned)threads);
    for (int t = 0; t < threads; t++) {
        w[t].lib = &libs[t % nlibs];
        pthread_create(&tid[t], NULL, run_worker, &w[t]);
    }
    long bad = 0;
    int64_t start = INT64_MAX, end = 0, warm_max = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        bad += w[t].bad;
        start = w[t].start < start ? w[t].start : start;
        end = w[t].end > end ? w[t].end : end;
        warm_max = w[t].warm_ns > warm_max ? w[t].warm_ns : warm_max;
    }
    if (bad)
        wrong(use_spin ? "spin (number of wrong results)" : "add (number of wrong results)", bad, 0);
    printf("{\"calls\": %ld, \"threads\": %d, \"libs\": %d, \"ns\": %lld, \"init_ns\": %lld, "
           "\"thread_first_call_max_ns\": %lld, \"thread_ns\": [",
           calls * threads, threads, nlibs, (long long)(end - start), (long long)init_ns, (long long)warm_max);
    for (int t = 0; t < threads; t++)
        printf("%s%lld", t ? ", " : "", (long long)(w[t].end - w[t].start));
    printf("]}\n");
    return 0;
}

/* ---- first: dlopen to the first result ---------------------------------- */

static int mode_first(void)
{
    int64_t t0 = now_ns();
    int bad = call_once(&libs[0], 1);
    int64_t t = now_ns();
    if (bad)
        wrong("the first call", 0, 0);
    printf("{\"t_ns\": %lld, \"call_ns\": %lld}\n", (long long)t, (long long)(t - t0));
    fflush(stdout);
    _exit(0); /* as bare_init and `host first`: the measurement ends here */
}

/* ---- mem: RSS with THREADS threads that each made one call --------------- */

static pthread_barrier_t called, measured;

static void *mem_worker(void *arg)
{
    long *bad = arg;
    *bad = call_once(&libs[0], 20);
    pthread_barrier_wait(&called);
    pthread_barrier_wait(&measured);
    return NULL;
}

static int mode_mem(int threads)
{
    if (threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "iso_host: 1..%d threads\n", MAX_THREADS);
        return 2;
    }
    long rss_loaded = proc_status_kib("VmRSS");
    if (call_once(&libs[0], 7))
        wrong("the first call", 0, 0);
    long rss_first = proc_status_kib("VmRSS");
    pthread_t tid[MAX_THREADS];
    long bad[MAX_THREADS];
    pthread_barrier_init(&called, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&measured, NULL, (unsigned)threads + 1);
    for (int t = 0; t < threads; t++)
        pthread_create(&tid[t], NULL, mem_worker, &bad[t]);
    pthread_barrier_wait(&called);
    long rss_threads = proc_status_kib("VmRSS");
    pthread_barrier_wait(&measured);
    long nbad = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        nbad += bad[t];
    }
    if (nbad)
        wrong("add in the threads (number of wrong results)", nbad, 0);
    printf("{\"threads\": %d, \"rss_loaded_kib\": %ld, \"rss_first_kib\": %ld, \"rss_threads_kib\": %ld, "
           "\"hwm_kib\": %ld}\n",
           threads, rss_loaded, rss_first, rss_threads, proc_status_kib("VmHWM"));
    fflush(stdout);
    _exit(0); /* the figures are taken; what exit does is not measured here */
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 7 && strcmp(argv[1], "run") == 0) {
        use_spin = strcmp(argv[2], "spin") == 0;
        spin_n = atoi(argv[3]);
        spin_want = spin_expected(spin_n);
        nlibs = argc - 6;
        if (nlibs > MAX_LIBS) {
            fprintf(stderr, "iso_host: at most %d libraries\n", MAX_LIBS);
            return 2;
        }
        for (int k = 0; k < nlibs; k++)
            open_lib(&libs[k], argv[6 + k]);
        return mode_run(atol(argv[4]), atoi(argv[5]));
    }
    if (argc == 5 && strcmp(argv[1], "first") == 0) {
        use_spin = strcmp(argv[2], "spin") == 0;
        spin_n = atoi(argv[3]);
        spin_want = spin_expected(spin_n);
        nlibs = 1;
        open_lib(&libs[0], argv[4]);
        return mode_first();
    }
    if (argc == 4 && strcmp(argv[1], "mem") == 0) {
        nlibs = 1;
        open_lib(&libs[0], argv[2]);
        return mode_mem(atoi(argv[3]));
    }
    fprintf(stderr, "usage: iso_host run FUNC ARG CALLS THREADS LIB [LIB ...]\n"
                    "       iso_host first FUNC ARG LIB\n"
                    "       iso_host mem LIB THREADS\n");
    return 2;
}
