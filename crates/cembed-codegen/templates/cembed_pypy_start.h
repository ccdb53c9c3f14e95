/* cembed_pypy_start.h -- the lazy start of a library generated for PyPy,
 * pasted after its tables and functions. Before it the generated file
 * defines:
 *
 *   CEMBED_PYPY_MODULE    the module name, a string
 *   CEMBED_PYPY_LIBRARY   absolute path of libpypy (baked at build time)
 *   CEMBED_PYPY_BOOT      the boot prelude and init code (Python text)
 *   CEMBED_PYPY_INIT_FN   the module's table function (_cffi_pypyinit_<name>)
 *
 * State machine of the start, per library (several libraries in a process
 * each have their own copy of this file and share one PyPy):
 *
 *   not started --first call, any thread--> starting --ok--> started
 *                                                   \--fail--> failed
 *
 * - The first call takes `_cembed_pypy_lock`, a *recursive* mutex: a second
 *   thread's first call waits there until init is over; a call made by the
 *   init code itself (init -> C -> another function of this library) passes
 *   and goes to Python directly, since PyPy's call function is known as soon
 *   as the tables are loaded, before the init code runs.
 * - libpypy's pypy_carefully_make_gil() is itself safe to call concurrently
 *   from unrelated libraries: it starts PyPy once per process.
 * - After a failure every call prints one line and returns zero; the report
 *   stays readable through cembed_init_error().
 */
#ifndef CEMBED_PYPY_START_H
#define CEMBED_PYPY_START_H

#define CEMBED_PYPY_ERROR_SIZE 12288

static pthread_mutex_t _cembed_pypy_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static cembed_pypy_call_fn _cembed_pypy_call_org;   /* set by CEMBED_PYPY_INIT_FN */
static int _cembed_pypy_state;                       /* 0 new, 1 starting, 2 ok, -1 failed */
static char _cembed_pypy_error[CEMBED_PYPY_ERROR_SIZE];

struct cembed_pypy_init {
    const char *name;
    void *func;
    const char *code;
};

static void _cembed_pypy_fail(const char *fmt, const char *a, const char *b)
{
    snprintf(_cembed_pypy_error, sizeof _cembed_pypy_error, fmt, a, b);
    fprintf(stderr, "%s\n", _cembed_pypy_error);
    fflush(stderr);
}

/* Python at process exit. PyPy's embedding never finalizes, so without this
 * the atexit handlers would not run and a block-buffered sys.stdout (a pipe)
 * could keep its tail. The boot prelude leaves a C callback here (made with
 * PyPy's ffi.callback, which attaches any thread to PyPy, unlike libpypy's
 * pypy_execute_source) that runs Python's atexit handlers and flushes
 * sys.stdout/sys.stderr, once per process whatever the number of cembed
 * libraries (the flag lives in Python's sys).
 *
 * It runs from this library's destructor, which glibc runs after the host's
 * atexit handlers (the library pins itself once started, so the destructor
 * only runs at exit), on a helper thread with a deadline: a host thread may
 * hold PyPy's GIL in a long C call, and exit must not hang on it. */
static void (*_cembed_pypy_exit_fn)(void);

#define CEMBED_PYPY_EXIT_DEADLINE_S 30

static pthread_mutex_t _cembed_pypy_exit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t _cembed_pypy_exit_cond = PTHREAD_COND_INITIALIZER;
static int _cembed_pypy_exit_done;

static void *_cembed_pypy_exit_thread(void *arg)
{
    (void)arg;
    _cembed_pypy_exit_fn();
    pthread_mutex_lock(&_cembed_pypy_exit_lock);
    _cembed_pypy_exit_done = 1;
    pthread_cond_signal(&_cembed_pypy_exit_cond);
    pthread_mutex_unlock(&_cembed_pypy_exit_lock);
    return NULL;
}

__attribute__((destructor)) static void _cembed_pypy_at_exit(void)
{
    pthread_t t;
    struct timespec deadline;
    int saved_errno = errno, rc = 0;
    if (_cembed_pypy_state != 2 || _cembed_pypy_exit_fn == NULL)
        return;
    if (pthread_create(&t, NULL, _cembed_pypy_exit_thread, NULL) != 0)
        return;
    pthread_detach(t);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += CEMBED_PYPY_EXIT_DEADLINE_S;
    pthread_mutex_lock(&_cembed_pypy_exit_lock);
    while (!_cembed_pypy_exit_done && rc == 0)
        rc = pthread_cond_timedwait(&_cembed_pypy_exit_cond, &_cembed_pypy_exit_lock, &deadline);
    pthread_mutex_unlock(&_cembed_pypy_exit_lock);
    if (!_cembed_pypy_exit_done) {
        fprintf(stderr, "cembed: module '" CEMBED_PYPY_MODULE "': Python's exit "
                        "(atexit handlers, flushing) did not finish within %d s; "
                        "the process exits without it.\n", CEMBED_PYPY_EXIT_DEADLINE_S);
        fflush(stderr);
    }
    errno = saved_errno;
}

/* Once started, PyPy points into this library's tables until the process
 * ends: a host that dlclose()s it must not unmap it. */
static void _cembed_pypy_pin(void)
{
    Dl_info info;
    if (dladdr((void *)&_cembed_pypy_pin, &info) != 0 && info.dli_fname != NULL)
        dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

/* Finds libpypy's entry points: in the process already (the host is pypy, or
 * another library loaded it), else by loading the path baked at build time. */
static int _cembed_pypy_load(int (**make_gil)(const char *),
                             int (**init_module)(int, struct cembed_pypy_init *))
{
    void *h = RTLD_DEFAULT;
    *(void **)make_gil = dlsym(h, "pypy_carefully_make_gil");
    if (*make_gil == NULL) {
        h = dlopen(CEMBED_PYPY_LIBRARY, RTLD_NOW | RTLD_GLOBAL);
        if (h == NULL) {
            const char *why = dlerror();
            _cembed_pypy_fail("cembed: module '" CEMBED_PYPY_MODULE "': cannot load PyPy "
                              "(%s): %s. The library was built for this libpypy; "
                              "reinstall PyPy there or rebuild the library.",
                              CEMBED_PYPY_LIBRARY, why ? why : "unknown error");
            return -1;
        }
        *(void **)make_gil = dlsym(h, "pypy_carefully_make_gil");
    }
    *(void **)init_module = dlsym(h, "pypy_init_embedded_cffi_module");
    if (*make_gil == NULL || *init_module == NULL) {
        _cembed_pypy_fail("cembed: module '" CEMBED_PYPY_MODULE "': %s does not export "
                          "PyPy's embedding entry points%s",
                          CEMBED_PYPY_LIBRARY, " (pypy_init_embedded_cffi_module)");
        return -1;
    }
    return 0;
}

/* The code PyPy runs: the addresses of the error buffer and of the exit
 * callback's slot, then the boot prelude
 * (which runs the user's init code). Built once, never freed (PyPy keeps no
 * pointer to it, but the start is once per process anyway). */
static char *_cembed_pypy_code(void)
{
    static const char boot[] = CEMBED_PYPY_BOOT;
    size_t n = sizeof boot + 128;
    char *code = (char *)malloc(n);
    if (code == NULL)
        return NULL;
    snprintf(code, n, "_cembed_error_buffer = (%lu, %d, %lu)\n%s",
             (unsigned long)(uintptr_t)_cembed_pypy_error, CEMBED_PYPY_ERROR_SIZE,
             (unsigned long)(uintptr_t)&_cembed_pypy_exit_fn, boot);
    return code;
}

static cembed_pypy_call_fn _cembed_pypy_start(void);
static void _cembed_pypy_start_and_call(struct cembed_pypy_externpy *, char *);
static cembed_pypy_call_fn _cembed_pypy_call = _cembed_pypy_start_and_call;

__attribute__((noinline)) static cembed_pypy_call_fn _cembed_pypy_start(void)
{
    int saved_errno = errno;
    cembed_pypy_call_fn fn;
    pthread_mutex_lock(&_cembed_pypy_lock);
    if (_cembed_pypy_state == 0) {
        int (*make_gil)(const char *) = NULL;
        int (*init_module)(int, struct cembed_pypy_init *) = NULL;
        _cembed_pypy_state = 1;
        if (_cembed_pypy_load(&make_gil, &init_module) != 0) {
            _cembed_pypy_state = -1;
        } else if (make_gil(CEMBED_PYPY_MODULE) != 0) {
            _cembed_pypy_fail("cembed: module '" CEMBED_PYPY_MODULE "': PyPy could not "
                              "start (pypy_setup_home() failed for %s)%s",
                              CEMBED_PYPY_LIBRARY, "");
            _cembed_pypy_state = -1;
        } else {
            static struct cembed_pypy_init init;
            init.name = CEMBED_PYPY_MODULE;
            init.func = (void *)CEMBED_PYPY_INIT_FN;
            init.code = _cembed_pypy_code();
            if (init.code == NULL) {
                _cembed_pypy_fail("cembed: module '" CEMBED_PYPY_MODULE "': %s%s",
                                  "out of memory", "");
                _cembed_pypy_state = -1;
            } else if (init_module(0xB011, &init) != 0 || _cembed_pypy_error[0] != 0
                       || _cembed_pypy_call_org == NULL) {
                /* A Python exception in the prelude itself is reported by
                 * PyPy on stderr; keep a pointer to that for C. */
                if (_cembed_pypy_error[0] == 0)
                    snprintf(_cembed_pypy_error, sizeof _cembed_pypy_error,
                             "initialization of module '%s' failed: PyPy printed "
                             "the reason on stderr", CEMBED_PYPY_MODULE);
                _cembed_pypy_state = -1;
            } else {
                _cembed_pypy_state = 2;
                _cembed_pypy_pin();
                __atomic_store_n(&_cembed_pypy_call, _cembed_pypy_call_org, __ATOMIC_RELEASE);
            }
        }
    }
    /* state 1 here is a recursive call from the init code: PyPy's call
     * function is already known. */
    fn = _cembed_pypy_state >= 1 ? _cembed_pypy_call_org : NULL;
    pthread_mutex_unlock(&_cembed_pypy_lock);
    errno = saved_errno;
    return fn;
}

static void _cembed_pypy_start_and_call(struct cembed_pypy_externpy *ext, char *args)
{
    int saved_errno = errno;
    cembed_pypy_call_fn fn = _cembed_pypy_start();
    if (fn == NULL) {
        fprintf(stderr, "function %s() called, but initialization code failed.  "
                        "Returning 0.\n", ext->name);
        fflush(stderr);
        memset(args, 0, ext->size_of_result);
        errno = saved_errno;
        return;
    }
    errno = saved_errno;
    fn(ext, args);
}

static CEMBED_PYPY_UNUSED int cembed_start_python(void)
{
    if (__atomic_load_n(&_cembed_pypy_call, __ATOMIC_ACQUIRE) != _cembed_pypy_start_and_call)
        return 0;
    return _cembed_pypy_start() == NULL ? -1 : 0;
}

static CEMBED_PYPY_UNUSED const char *cembed_init_error(void)
{
    int state;
    pthread_mutex_lock(&_cembed_pypy_lock);
    state = _cembed_pypy_state;
    pthread_mutex_unlock(&_cembed_pypy_lock);
    return state == -1 ? _cembed_pypy_error : NULL;
}

#endif /* CEMBED_PYPY_START_H */
