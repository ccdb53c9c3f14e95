/* cembed_glue.h -- fixed C glue pasted into every generated library, after
 * cembed_abi.h and before the user's set_source() code.
 *
 * It provides what set_source code may use (CFFI_DLLEXPORT, cffi_start_python,
 * cembed_start_python, cembed_init_error) and the *loader*: the code that, on
 * the first call into the library, makes Python and the cembed runtime
 * available in the process without any environment variable:
 *
 *   1. Python's symbols. If the process already has a Python (the host is
 *      python, or another library loaded one), it is used, after checking its
 *      version is the one the library was built for. Otherwise the libpython
 *      recorded at build time is dlopen()ed with RTLD_GLOBAL. RTLD_GLOBAL is
 *      what makes stdlib extension modules (math, _json, select...) import even
 *      when the host dlopen()ed *this* library with RTLD_LOCAL: those modules
 *      are not linked to libpython and find its symbols in the global scope.
 *   2. The runtime. If a cembed runtime is already loaded globally (by another
 *      cembed library), it is shared: one runtime per process means one lazy
 *      init state machine, so several libraries start one interpreter safely.
 *      Otherwise the runtime recorded at build time is dlopen()ed, RTLD_GLOBAL
 *      so the next library finds it, RTLD_NODELETE because its thread-exit and
 *      process-exit hooks must outlive any dlclose() of ours.
 *   3. This library pins itself (RTLD_NOLOAD|RTLD_NODELETE on its own file):
 *      from its first call on, the runtime and Python objects point into its
 *      tables until Python is finalized at process exit, so a host that
 *      dlclose()s its plug-ins (lua_close(), sqlite3_close()) must not unmap
 *      it. A library that was never called is not pinned and unloads freely.
 *
 * Loading happens once, under a mutex; afterwards every call is one acquire
 * load of `_cembed_rt` and an indirect call. A failure is reported once with
 * the dlerror() text, and each later call reports itself and returns zero:
 * the host is never terminated.
 */
#ifndef CEMBED_GLUE_H
#define CEMBED_GLUE_H

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#if defined(_WIN32)
#  define CFFI_DLLEXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#  define CFFI_DLLEXPORT __attribute__((visibility("default")))
#else
#  define CFFI_DLLEXPORT
#endif
#define CEMBED_DLLEXPORT CFFI_DLLEXPORT

#if defined(__GNUC__)
#  define CEMBED_UNUSED __attribute__((unused))
#  define CEMBED_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* The hot path is inlined into every generated function whatever the
 * optimisation level (the generated part of the file is compiled at -O0, see
 * codegen's boilerplate_optimisation); the load/failure path is kept out of
 * line, once. */
#  define CEMBED_HOT_INLINE __attribute__((always_inline)) inline
#  define CEMBED_COLD __attribute__((noinline, cold))
#else
#  define CEMBED_UNUSED
#  define CEMBED_UNLIKELY(x) (x)
#  define CEMBED_HOT_INLINE inline
#  define CEMBED_COLD
#endif

/* Completed by the generated tables at the end of the file (a tentative
 * definition: the glue needs its address before the user's types exist). */
static cembed_lib _cembed_lib;

static const cembed_runtime_api *_cembed_rt;     /* read with __atomic */
static int _cembed_rt_failed;                    /* under _cembed_rt_lock */
static pthread_mutex_t _cembed_rt_lock = PTHREAD_MUTEX_INITIALIZER;

static void _cembed_report(const char *what, const char *detail)
{
    fprintf(stderr, "cembed: library for module '%s': %s%s%s\n",
            _cembed_lib.module_name, what, detail ? ": " : "",
            detail ? detail : "");
    fflush(stderr);
}

static const cembed_runtime_api *_cembed_do_load(void)
{
    const cembed_build_info *b = _cembed_lib.build;
    const char *(*py_version)(void);
    cembed_runtime_entry entry;
    const cembed_runtime_api *api;
    void *h;

    /* 1. Python. */
    *(void **)(&py_version) = dlsym(RTLD_DEFAULT, "Py_GetVersion");
    if (py_version != NULL) {
        const char *v = py_version();
        size_t n = strlen(b->python_version);
        if (strncmp(v, b->python_version, n) != 0 || v[n] != '.') {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "built for Python %s, but this process runs Python %.20s",
                     b->python_version, v);
            _cembed_report("cannot use the Python of this process", msg);
            return NULL;
        }
    } else {
        h = dlopen(b->libpython, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
        if (h == NULL) {
            _cembed_report("cannot load libpython", dlerror());
            return NULL;
        }
    }

    /* 2. The runtime. */
    *(void **)(&entry) = dlsym(RTLD_DEFAULT, CEMBED_RUNTIME_ENTRY);
    if (entry == NULL) {
        h = dlopen(b->runtime, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
        if (h == NULL) {
            _cembed_report("cannot load the cembed runtime", dlerror());
            return NULL;
        }
        *(void **)(&entry) = dlsym(h, CEMBED_RUNTIME_ENTRY);
        if (entry == NULL) {
            _cembed_report("not a cembed runtime", b->runtime);
            return NULL;
        }
    }
    api = entry();
    if (api == NULL || api->abi_version != CEMBED_ABI_VERSION) {
        _cembed_report("the cembed runtime speaks another ABI version",
                       b->runtime);
        return NULL;
    }

    /* 3. Pin this library (see the top of this file). */
    {
        Dl_info self;
        if (dladdr((void *)&_cembed_lib, &self) != 0 && self.dli_fname != NULL)
            (void)dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    }
    return api;
}

/* Returns the runtime, loading it on first use; NULL if it cannot be loaded. */
static CEMBED_COLD const cembed_runtime_api *_cembed_runtime(void)
{
    const cembed_runtime_api *rt = __atomic_load_n(&_cembed_rt, __ATOMIC_ACQUIRE);
    if (CEMBED_UNLIKELY(rt == NULL)) {
        int saved_errno = errno;
        pthread_mutex_lock(&_cembed_rt_lock);
        rt = _cembed_rt;
        if (rt == NULL && !_cembed_rt_failed) {
            rt = _cembed_do_load();
            if (rt != NULL)
                __atomic_store_n(&_cembed_rt, rt, __ATOMIC_RELEASE);
            else
                _cembed_rt_failed = 1;
        }
        pthread_mutex_unlock(&_cembed_rt_lock);
        errno = saved_errno;
    }
    return rt;
}

/* First call (or the runtime could not be loaded): out of line, once. */
static CEMBED_COLD void _cembed_call_slow(cembed_extern *ext, void **args, void *result)
{
    const cembed_runtime_api *rt = _cembed_runtime();
    if (rt == NULL) {
        int saved_errno = errno;
        fprintf(stderr, "function %s() called, but the Python runtime could "
                        "not be loaded (see above).  Returning 0.\n", ext->name);
        fflush(stderr);
        errno = saved_errno;
        return;
    }
    rt->call(ext, args, result);
}

/* Every generated function implemented in Python goes through here: one
 * acquire load and an indirect call. */
static CEMBED_HOT_INLINE void _cembed_call(cembed_extern *ext, void **args, void *result)
{
    const cembed_runtime_api *rt = __atomic_load_n(&_cembed_rt, __ATOMIC_ACQUIRE);
    if (CEMBED_UNLIKELY(rt == NULL))
        _cembed_call_slow(ext, args, result);
    else
        rt->call(ext, args, result);
}

/* Forces Python to start and this library's init code to run. 0 or -1. */
static CEMBED_UNUSED int cembed_start_python(void)
{
    const cembed_runtime_api *rt = _cembed_runtime();
    return rt == NULL ? -1 : rt->start(&_cembed_lib);
}

/* CFFI's name for the same. */
static CEMBED_UNUSED int cffi_start_python(void)
{
    return cembed_start_python();
}

/* Why init failed (traceback included), or NULL if it has not failed. */
static CEMBED_UNUSED const char *cembed_init_error(void)
{
    const cembed_runtime_api *rt = _cembed_runtime();
    if (rt == NULL)
        return "the cembed runtime could not be loaded";
    return rt->init_error(&_cembed_lib);
}

/* PyInit_<module>: a running Python imports the library as an extension
 * module. Without Python.h, the ImportError is raised through dlsym. */
static CEMBED_UNUSED void *_cembed_pyinit(void)
{
    const cembed_runtime_api *rt = _cembed_runtime();
    if (rt == NULL) {
        void (*set_string)(void *, const char *);
        void **exc = (void **)dlsym(RTLD_DEFAULT, "PyExc_ImportError");
        *(void **)(&set_string) = dlsym(RTLD_DEFAULT, "PyErr_SetString");
        if (set_string != NULL && exc != NULL)
            set_string(*exc, "cembed: the runtime could not be loaded (see stderr)");
        return NULL;
    }
    return rt->module_init(&_cembed_lib);
}

#endif /* CEMBED_GLUE_H */
