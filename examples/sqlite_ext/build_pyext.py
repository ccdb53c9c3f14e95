"""Builds libpyext.so: a SQLite loadable extension whose SQL functions are
written in Python.

Usage: python build_pyext.py [OUTDIR]

Then, in the sqlite3 shell:

    sqlite> .load OUTDIR/libpyext
    sqlite> SELECT py_upper('abc');
    ABC

`.load` derives the entry point from the file name (libpyext.so ->
sqlite3_pyext_init), which is the one function this library exports.
"""
import sys

import cembed as cffi

ffibuilder = cffi.FFI()

# The exported entry point. The sqlite types are opaque here: sqlite3ext.h
# (included by set_source below) has their real definitions.
ffibuilder.embedding_api("""
    typedef ... sqlite3;
    typedef struct sqlite3_api_routines sqlite3_api_routines;
    int sqlite3_pyext_init(sqlite3 *db, char **pzErrMsg,
                           const sqlite3_api_routines *pApi);
""")

# What the Python side calls. An extension must not call libsqlite3's
# functions directly (the shell may have sqlite linked in statically, or a
# different copy): every call goes through the routines table `pApi` that
# sqlite passes to the entry point. sqlite3ext.h defines that table; declaring
# it here as a partial struct (`...;`) lets the C compiler find the offsets of
# the few members used, and Python calls them as function pointers.
ffibuilder.cdef("""
    typedef ... sqlite3_context;
    typedef ... sqlite3_value;
    typedef void (*sqlite3_destructor_type)(void *);

    struct sqlite3_api_routines {
        int (*create_function)(sqlite3 *db, const char *zFunctionName,
                               int nArg, int eTextRep, void *pApp,
                               void (*xFunc)(sqlite3_context *, int, sqlite3_value **),
                               void (*xStep)(sqlite3_context *, int, sqlite3_value **),
                               void (*xFinal)(sqlite3_context *));
        const char *(*libversion)(void);
        int (*value_type)(sqlite3_value *);
        const unsigned char *(*value_text)(sqlite3_value *);
        int (*value_bytes)(sqlite3_value *);
        void (*result_text)(sqlite3_context *, const char *, int,
                            sqlite3_destructor_type);
        void (*result_int64)(sqlite3_context *, long long);
        void (*result_null)(sqlite3_context *);
        void (*result_error)(sqlite3_context *, const char *, int);
        ...;
    };

    #define SQLITE_OK ...
    #define SQLITE_ERROR ...
    #define SQLITE_UTF8 ...
    #define SQLITE_DETERMINISTIC ...
    #define SQLITE_NULL ...

    /* The SQL functions, implemented in Python below. */
    extern "Python" void py_upper(sqlite3_context *, int, sqlite3_value **);
    extern "Python" void py_eval(sqlite3_context *, int, sqlite3_value **);
""")

ffibuilder.set_source("pyext", r"""
    #include <sqlite3ext.h>
""")

ffibuilder.embedding_init_code(r"""
    from pyext import ffi, lib

    # The routines table, set by the entry point (sqlite passes the same
    # table to every extension it loads in this process).
    api = None

    # SQLITE_TRANSIENT: sqlite copies the text before the call returns.
    TRANSIENT = ffi.cast("sqlite3_destructor_type", -1)

    def arg_text(value):
        # sqlite3_value_text is UTF-8 with a known length (may hold NULs).
        p = api.value_text(value)
        n = api.value_bytes(value)
        return ffi.unpack(ffi.cast("char *", p), n).decode("utf-8")

    def result_text(ctx, text):
        data = text.encode("utf-8")
        api.result_text(ctx, data, len(data), TRANSIENT)


    @ffi.def_extern()
    def py_upper(ctx, argc, argv):
        if api.value_type(argv[0]) == lib.SQLITE_NULL:
            api.result_null(ctx)
        else:
            result_text(ctx, arg_text(argv[0]).upper())

    @ffi.def_extern()
    def py_eval(ctx, argc, argv):
        try:
            result = eval(arg_text(argv[0]), {})
        except Exception as e:
            msg = ("%s: %s" % (type(e).__name__, e)).encode("utf-8")
            api.result_error(ctx, msg, len(msg))
            return
        if isinstance(result, int):
            api.result_int64(ctx, result)
        else:
            result_text(ctx, str(result))

    @ffi.def_extern()
    def sqlite3_pyext_init(db, pzErrMsg, pApi):
        global api
        api = pApi
        for name, nargs, func in [(b"py_upper", 1, lib.py_upper),
                                  (b"py_eval", 1, lib.py_eval)]:
            rc = api.create_function(
                db, name, nargs, lib.SQLITE_UTF8 | lib.SQLITE_DETERMINISTIC,
                ffi.NULL, func, ffi.NULL, ffi.NULL)
            if rc != lib.SQLITE_OK:
                return rc
        print("[python] pyext loaded into sqlite %s"
              % ffi.string(api.libversion()).decode())
        return lib.SQLITE_OK
""")

if __name__ == "__main__":
    outdir = sys.argv[1] if len(sys.argv) > 1 else "."
    print(ffibuilder.compile(tmpdir=outdir, target="libpyext.*"))
