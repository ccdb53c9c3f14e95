/* pyinit.h -- how the bench's hand-written C programs start Python.
 *
 * Shared by the C-API floor library (floor.c) and the bare-interpreter
 * baseline (bare_init.c) so that both start exactly the same interpreter.
 * It is the equivalent of Py_InitializeEx(0) through PyConfig, with one
 * addition: `executable` is set to the bench venv's python (BENCH_PY_EXECUTABLE,
 * baked in at compile time). cembed bakes its build interpreter into the
 * library the same way, so the interpreter sees the venv's site-packages and
 * processes the same .pth files; without it the baseline would be measuring a
 * smaller start-up than the one cembed has to do, and the first-call ratio
 * would be unfair to cembed.
 */
#ifndef BENCH_PYINIT_H
#define BENCH_PYINIT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Starts Python; returns with the GIL held by the main thread state. */
static void bench_py_init(void)
{
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = 0; /* what Py_InitializeEx(0) does */
#ifdef BENCH_PY_EXECUTABLE
    PyStatus st = PyConfig_SetBytesString(&config, &config.executable, BENCH_PY_EXECUTABLE);
    if (PyStatus_Exception(st)) {
        PyConfig_Clear(&config);
        Py_ExitStatusException(st);
    }
#endif
    PyStatus status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status))
        Py_ExitStatusException(status);
}

#endif
