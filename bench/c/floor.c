/* floor.c -- the hand-written C-API floor.
 *
 * The same four functions the cembed and cffi libraries export, written the
 * way a careful C programmer would write them against the CPython C API by
 * hand. This is the lower bound ("floor") cembed is measured against:
 *
 *   - Python starts once (pthread_once), on the first call from any thread.
 *   - Each host thread gets one Python thread state, created on its first call
 *     with PyGILState_Ensure (so the GILState machinery knows it: code that
 *     calls PyGILState_Ensure inside Python does not deadlock) and pinned: that
 *     Ensure is only released when the thread exits (pthread key destructor).
 *     A call is then one PyEval_RestoreThread/PyEval_SaveThread pair on the
 *     cached state: no allocation, no TLS lookup inside CPython.
 *   - The Python functions are looked up once and called with
 *     PyObject_Vectorcall, arguments built with the plain constructors.
 *   - Errors print the traceback and return 0, like cembed and cffi.
 *
 * The Python bodies are the same expressions the cembed/cffi init code uses
 * (bench/libs/build_lib.py); where cffi hands Python a cdata (struct pointer,
 * char *, double *) the floor hands it the smallest native equivalent: a tiny
 * view object with getters that read through the pointer, a tiny pointer
 * object that a module `ffi` with a METH_O `string` turns into bytes, a
 * memoryview over the buffer.
 *
 * str_len_bytes is the string case as this floor first wrote it: the bytes
 * made in C and Python's body `len(b)`, so no pointer object, no `ffi.string`
 * lookup and no second call into C. It is not the work str_len's Python does
 * (`len(ffi.string(s))`); bench/run reports it as a reference row only
 * (docs/performance.md, "Is the floor like-for-like?").
 */
#include "pyinit.h"
#include "spin.h"
#include <pthread.h>
#include <stddef.h>

#define EXPORT __attribute__((visibility("default")))

typedef struct {
    int x;
    int y;
    int z;
} point_t;

static const char floor_code[] =
    "def add(a, b):\n"
    "    return a + b\n"
    "def point_sum(p):\n"
    "    return p.x + p.y + p.z\n"
    "def str_len(s):\n"
    "    return len(ffi.string(s))\n"
    "def str_len_bytes(b):\n"
    "    return len(b)\n"
    "def buf_sum(mv):\n"
    "    return sum(mv.cast('d'))\n"
    "def cb(x):\n"
    "    return x + 1\n"
    SPIN_CODE;

static PyObject *f_add, *f_point_sum, *f_str_len, *f_str_len_bytes, *f_buf_sum, *f_cb, *f_spin;

/* ---- a char * handed to Python, and ffi.string --------------------------- */

typedef struct {
    PyObject_HEAD
    const char *s;
} CharPtr;

static PyTypeObject CharPtr_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "floor.CharPtr",
    .tp_basicsize = sizeof(CharPtr),
    .tp_flags = Py_TPFLAGS_DEFAULT,
};

static PyObject *ffi_string(PyObject *self, PyObject *arg)
{
    (void)self;
    if (Py_TYPE(arg) != &CharPtr_Type) {
        PyErr_SetString(PyExc_TypeError, "expected a char *");
        return NULL;
    }
    return PyBytes_FromString(((CharPtr *)arg)->s);
}

static PyMethodDef ffi_methods[] = {
    {"string", ffi_string, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef ffi_module = {
    PyModuleDef_HEAD_INIT, "ffi", NULL, -1, ffi_methods, NULL, NULL, NULL, NULL,
};

/* ---- a view object reading a point_t through a pointer ------------------ */

typedef struct {
    PyObject_HEAD
    const point_t *p;
} PointView;

static PyObject *pv_get_x(PyObject *self, void *c) { (void)c; return PyLong_FromLong(((PointView *)self)->p->x); }
static PyObject *pv_get_y(PyObject *self, void *c) { (void)c; return PyLong_FromLong(((PointView *)self)->p->y); }
static PyObject *pv_get_z(PyObject *self, void *c) { (void)c; return PyLong_FromLong(((PointView *)self)->p->z); }

static PyGetSetDef pv_getset[] = {
    {"x", pv_get_x, NULL, NULL, NULL},
    {"y", pv_get_y, NULL, NULL, NULL},
    {"z", pv_get_z, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PointView_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "floor.PointView",
    .tp_basicsize = sizeof(PointView),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_getset = pv_getset,
};

/* ---- start-up and the per-thread state ---------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t state_key;
static __thread PyThreadState *t_state;

/* A host thread that used Python exits: delete its pinned state. Not through
 * PyGILState_Release: glibc clears every pthread key of the exiting thread,
 * CPython's GILState key included, before it runs this destructor, so the
 * GILState machinery no longer finds the state. */
static void thread_exit(void *p)
{
    PyEval_RestoreThread((PyThreadState *)p);
    PyThreadState_Clear((PyThreadState *)p);
    PyThreadState_DeleteCurrent(); /* also releases the GIL */
}

static PyObject *get_fn(PyObject *d, const char *name)
{
    PyObject *f = PyDict_GetItemString(d, name);
    if (f == NULL) {
        fprintf(stderr, "floor: %s missing\n", name);
        abort();
    }
    Py_INCREF(f);
    return f;
}

static void floor_init(void)
{
    bench_py_init();
    PyObject *d = PyDict_New();
    PyDict_SetItemString(d, "__builtins__", PyEval_GetBuiltins());
    PyObject *r = PyRun_String(floor_code, Py_file_input, d, d);
    if (r == NULL || PyType_Ready(&PointView_Type) < 0) {
        PyErr_Print();
        abort();
    }
    Py_DECREF(r);
    if (PyType_Ready(&CharPtr_Type) < 0) {
        PyErr_Print();
        abort();
    }
    PyObject *ffi = PyModule_Create(&ffi_module);
    if (ffi == NULL || PyDict_SetItemString(d, "ffi", ffi) < 0) {
        PyErr_Print();
        abort();
    }
    Py_DECREF(ffi);
    f_add = get_fn(d, "add");
    f_point_sum = get_fn(d, "point_sum");
    f_str_len = get_fn(d, "str_len");
    f_str_len_bytes = get_fn(d, "str_len_bytes");
    f_buf_sum = get_fn(d, "buf_sum");
    f_cb = get_fn(d, "cb");
    f_spin = get_fn(d, "spin");
    Py_DECREF(d);
    pthread_key_create(&state_key, thread_exit);
    /* The initialising thread keeps the main thread state (never deleted). */
    t_state = PyEval_SaveThread();
}

static inline void enter(void)
{
    if (__builtin_expect(t_state == NULL, 0)) {
        pthread_once(&init_once, floor_init);
        if (t_state == NULL) {
            PyGILState_Ensure(); /* pinned until the thread exits */
            t_state = PyThreadState_Get();
            pthread_setspecific(state_key, t_state);
            PyEval_SaveThread();
        }
    }
    PyEval_RestoreThread(t_state);
}

static inline void leave(void)
{
    PyEval_SaveThread();
}

/* Converts a Python result to int with cffi's range check; 0 on error. */
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

/* ---- the exported functions --------------------------------------------- */

EXPORT int add(int a, int b)
{
    enter();
    PyObject *args[2];
    args[0] = PyLong_FromLong(a);
    args[1] = PyLong_FromLong(b);
    PyObject *r = PyObject_Vectorcall(f_add, args, 2, NULL);
    Py_DECREF(args[0]);
    Py_DECREF(args[1]);
    int v = result_int(r);
    leave();
    return v;
}

EXPORT int point_sum(point_t *p)
{
    enter();
    PointView *view = PyObject_New(PointView, &PointView_Type);
    int v = 0;
    if (view != NULL) {
        view->p = p;
        PyObject *arg = (PyObject *)view;
        v = result_int(PyObject_Vectorcall(f_point_sum, &arg, 1, NULL));
        Py_DECREF(view);
    } else {
        PyErr_Print();
    }
    leave();
    return v;
}

EXPORT int str_len(const char *s)
{
    enter();
    CharPtr *p = PyObject_New(CharPtr, &CharPtr_Type);
    int v = 0;
    if (p != NULL) {
        p->s = s;
        PyObject *arg = (PyObject *)p;
        v = result_int(PyObject_Vectorcall(f_str_len, &arg, 1, NULL));
        Py_DECREF(p);
    } else {
        PyErr_Print();
    }
    leave();
    return v;
}

EXPORT int str_len_bytes(const char *s)
{
    enter();
    PyObject *b = PyBytes_FromString(s);
    int v = 0;
    if (b != NULL) {
        v = result_int(PyObject_Vectorcall(f_str_len_bytes, &b, 1, NULL));
        Py_DECREF(b);
    } else {
        PyErr_Print();
    }
    leave();
    return v;
}

EXPORT double buf_sum(double *p, int n)
{
    enter();
    PyObject *mv = PyMemoryView_FromMemory((char *)p, (Py_ssize_t)n * (Py_ssize_t)sizeof(double), PyBUF_READ);
    double v = 0.0;
    if (mv != NULL) {
        PyObject *r = PyObject_Vectorcall(f_buf_sum, &mv, 1, NULL);
        Py_DECREF(mv);
        if (r != NULL) {
            v = PyFloat_AsDouble(r);
            Py_DECREF(r);
        }
        if (PyErr_Occurred()) {
            PyErr_Print();
            v = 0.0;
        }
    } else {
        PyErr_Print();
    }
    leave();
    return v;
}

/* The callback case: a C function calling a Python function through what
 * is, for the floor, just the C API (what a hand-written callback does). */
EXPORT int cb_call(int x)
{
    enter();
    PyObject *arg = PyLong_FromLong(x);
    PyObject *r = PyObject_Vectorcall(f_cb, &arg, 1, NULL);
    Py_DECREF(arg);
    int v = result_int(r);
    leave();
    return v;
}

/* The isolation table's CPU-bound case (spin.h): about 10 µs of Python. */
EXPORT int spin(int n)
{
    enter();
    PyObject *arg = PyLong_FromLong(n);
    PyObject *r = PyObject_Vectorcall(f_spin, &arg, 1, NULL);
    Py_DECREF(arg);
    int v = result_int(r);
    leave();
    return v;
}
