/* floor_iso.c -- the hand-written floor of own-GIL subinterpreters
 * (CPython >= 3.12, PEP 684): the isolation table's "floor, own GIL" column.
 *
 * The same `add` and `spin` as floor.c, but every host thread runs them in a
 * subinterpreter of its own, with its own GIL, created on the thread's first
 * call (Py_NewInterpreterFromConfig, the settings of
 * _PyInterpreterConfig_INIT: isolated, own obmalloc, own GIL) and kept for
 * the thread's life. A call is then one PyEval_RestoreThread/PyEval_SaveThread
 * pair on that interpreter's thread state, as in floor.c: what a pool of
 * interpreters, one per thread, costs at best. It is what cembed's "isolated"
 * (one library per thread) and "pool" (as many interpreters as threads) modes
 * are compared with. The interpreters are never ended: the process exits
 * without finalizing Python, as with floor.c.
 */
#include "pyinit.h"
#include "spin.h"
#include <pthread.h>

#if PY_VERSION_HEX < 0x030C0000
#error "floor_iso.c needs CPython >= 3.12 (PEP 684)"
#endif

#define EXPORT __attribute__((visibility("default")))

static const char floor_code[] =
    "def add(a, b):\n"
    "    return a + b\n"
    SPIN_CODE;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* This thread's subinterpreter: its thread state and the two functions. */
static __thread PyThreadState *t_state;
static __thread PyObject *t_add, *t_spin;

static void floor_init(void)
{
    bench_py_init();
    /* The main interpreter is only the parent: release its GIL for good. */
    PyEval_SaveThread();
}

static PyObject *get_fn(PyObject *d, const char *name)
{
    PyObject *f = PyDict_GetItemString(d, name);
    if (f == NULL) {
        fprintf(stderr, "floor_iso: %s missing\n", name);
        abort();
    }
    Py_INCREF(f);
    return f;
}

/* The thread's first call: a new interpreter with its own GIL. */
static void new_interpreter(void)
{
    pthread_once(&init_once, floor_init);
    PyGILState_STATE g = PyGILState_Ensure(); /* a main-interpreter thread state */
    PyThreadState *main_ts = PyThreadState_Get();
    PyInterpreterConfig config = {
        .use_main_obmalloc = 0,
        .allow_fork = 0,
        .allow_exec = 0,
        .allow_threads = 1,
        .allow_daemon_threads = 0,
        .check_multi_interp_extensions = 1,
        .gil = PyInterpreterConfig_OWN_GIL,
    };
    PyThreadState *sub = NULL;
    PyStatus st = Py_NewInterpreterFromConfig(&sub, &config);
    if (PyStatus_Exception(st) || sub == NULL) {
        fprintf(stderr, "floor_iso: Py_NewInterpreterFromConfig failed: %s\n", st.err_msg ? st.err_msg : "?");
        abort();
    }
    /* Now `sub` is current and holds the new interpreter's GIL. */
    PyObject *d = PyDict_New();
    PyDict_SetItemString(d, "__builtins__", PyEval_GetBuiltins());
    PyObject *r = PyRun_String(floor_code, Py_file_input, d, d);
    if (r == NULL) {
        PyErr_Print();
        abort();
    }
    Py_DECREF(r);
    t_add = get_fn(d, "add");
    t_spin = get_fn(d, "spin");
    Py_DECREF(d);
    t_state = sub;
    PyEval_SaveThread();
    /* Back to the main interpreter's state, to give it back. */
    PyEval_RestoreThread(main_ts);
    PyGILState_Release(g);
}

static inline void enter(void)
{
    if (__builtin_expect(t_state == NULL, 0))
        new_interpreter();
    PyEval_RestoreThread(t_state);
}

static inline void leave(void)
{
    PyEval_SaveThread();
}

static int result_int(PyObject *r)
{
    if (r == NULL)
        goto error;
    long v = PyLong_AsLong(r);
    Py_DECREF(r);
    if (v == -1 && PyErr_Occurred())
        goto error;
    if (v < INT_MIN || v > INT_MAX) {
        PyErr_SetString(PyExc_OverflowError, "integer out of range for int");
        goto error;
    }
    return (int)v;
error:
    PyErr_Print();
    return 0;
}

EXPORT int add(int a, int b)
{
    enter();
    PyObject *args[2];
    args[0] = PyLong_FromLong(a);
    args[1] = PyLong_FromLong(b);
    PyObject *r = PyObject_Vectorcall(t_add, args, 2, NULL);
    Py_DECREF(args[0]);
    Py_DECREF(args[1]);
    int v = result_int(r);
    leave();
    return v;
}

EXPORT int spin(int n)
{
    enter();
    PyObject *arg = PyLong_FromLong(n);
    PyObject *r = PyObject_Vectorcall(t_spin, &arg, 1, NULL);
    Py_DECREF(arg);
    int v = result_int(r);
    leave();
    return v;
}
