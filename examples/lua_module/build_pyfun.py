"""Builds pyfun.so: a Lua 5.4 C module whose functions are written in Python.

Usage: python build_pyfun.py [OUTDIR]

Then:

    $ lua5.4 -e 'package.cpath = "OUTDIR/?.so"; local pyfun = require "pyfun"
                 print(pyfun.upper("abc"))'
    ABC

`require "pyfun"` finds OUTDIR/pyfun.so through package.cpath and calls its
luaopen_pyfun, the one function this library exports. Do not link the module
against liblua: the lua5.4 executable exports the Lua API itself (Debian's is
linked statically with -Wl,-E), and a second copy of Lua in the process would
be a second, incompatible VM.
"""
import os
import subprocess
import sys

import cembed as cffi


def lua_include_dirs():
    """Where lua.h is: pkg-config's answer, else Debian's directory."""
    try:
        flags = subprocess.run(["pkg-config", "--cflags-only-I", "lua5.4"],
                               capture_output=True, text=True, check=True).stdout
        return [f[2:] for f in flags.split() if f.startswith("-I")]
    except (OSError, subprocess.CalledProcessError):
        return [d for d in ["/usr/include/lua5.4"] if os.path.isdir(d)]


ffibuilder = cffi.FFI()

ffibuilder.embedding_api("""
    typedef struct lua_State lua_State;
    int luaopen_pyfun(lua_State *L);
""")

# The part of lua.h the Python side uses. Only real functions: lua.h's
# convenience macros (lua_newtable, lua_pushcfunction, lua_tostring, ...) are
# spelled out with the functions they expand to.
ffibuilder.cdef("""
    typedef int (*lua_CFunction)(lua_State *L);
    typedef double lua_Number;
    typedef long long lua_Integer;

    #define LUA_TNIL ...
    #define LUA_TNUMBER ...
    #define LUA_TSTRING ...
    #define LUA_VERSION_NUM ...

    int lua_gettop(lua_State *L);
    int lua_type(lua_State *L, int idx);
    const char *lua_typename(lua_State *L, int tp);
    int lua_isinteger(lua_State *L, int idx);
    lua_Integer lua_tointegerx(lua_State *L, int idx, int *isnum);
    lua_Number lua_tonumberx(lua_State *L, int idx, int *isnum);
    const char *lua_tolstring(lua_State *L, int idx, size_t *len);
    void lua_pushnil(lua_State *L);
    void lua_pushinteger(lua_State *L, lua_Integer n);
    void lua_pushnumber(lua_State *L, lua_Number n);
    void lua_pushboolean(lua_State *L, int b);
    const char *lua_pushlstring(lua_State *L, const char *s, size_t len);
    void lua_pushcclosure(lua_State *L, lua_CFunction fn, int n);
    void lua_createtable(lua_State *L, int narr, int nrec);
    void lua_setfield(lua_State *L, int idx, const char *k);

    /* The module's functions, implemented in Python below. */
    extern "Python" int pyfun_upper(lua_State *L);
    extern "Python" int pyfun_sum(lua_State *L);
    extern "Python" int pyfun_eval(lua_State *L);
""")

ffibuilder.set_source("pyfun", r"""
    #include <lua.h>
    #include <lauxlib.h>
""", include_dirs=lua_include_dirs())

ffibuilder.embedding_init_code(r"""
    from pyfun import ffi, lib

    print("[python] pyfun initialising")

    # Lua errors are longjmp()s: calling lua_error or a luaL_check* function
    # from Python would jump over the Python frames and corrupt the
    # interpreter. These functions report bad input the other Lua way,
    # returning nil and a message.

    def push_str(L, text):
        data = text.encode("utf-8")
        lib.lua_pushlstring(L, data, len(data))

    def to_str(L, idx):
        # Lua strings may hold NULs: read the length too. Numbers are
        # converted in place, as lua_tostring does; anything else is None.
        if lib.lua_type(L, idx) not in (lib.LUA_TSTRING, lib.LUA_TNUMBER):
            return None
        size = ffi.new("size_t *")
        p = lib.lua_tolstring(L, idx, size)
        return ffi.unpack(p, size[0]).decode("utf-8", "replace")

    def fail(L, message):
        lib.lua_pushnil(L)
        push_str(L, message)
        return 2

    def type_name(L, idx):
        return ffi.string(lib.lua_typename(L, lib.lua_type(L, idx))).decode()

    @ffi.def_extern()
    def pyfun_upper(L):
        s = to_str(L, 1)
        if s is None:
            return fail(L, "upper: string expected, got " + type_name(L, 1))
        push_str(L, s.upper())
        return 1

    @ffi.def_extern()
    def pyfun_sum(L):
        # sum(...): integers stay integers, as in Lua.
        total = 0
        isnum = ffi.new("int *")
        for i in range(1, lib.lua_gettop(L) + 1):
            if lib.lua_isinteger(L, i):
                total += lib.lua_tointegerx(L, i, ffi.NULL)
            else:
                x = lib.lua_tonumberx(L, i, isnum)
                if not isnum[0]:
                    return fail(L, "sum: number expected at %d, got %s"
                                % (i, type_name(L, i)))
                total += x
        if isinstance(total, int) and -2**63 <= total < 2**63:
            lib.lua_pushinteger(L, total)
        else:
            # Lua's integers would wrap around; Python's don't: past 64 bits
            # the sum becomes a float.
            lib.lua_pushnumber(L, float(total))
        return 1

    @ffi.def_extern()
    def pyfun_eval(L):
        # eval(expr): a Python expression's value, or nil and the error.
        expr = to_str(L, 1)
        if expr is None:
            return fail(L, "eval: string expected, got " + type_name(L, 1))
        try:
            value = eval(expr, {})
        except Exception as e:
            return fail(L, "%s: %s" % (type(e).__name__, e))
        if isinstance(value, bool):
            lib.lua_pushboolean(L, value)
        elif isinstance(value, int) and -2**63 <= value < 2**63:
            lib.lua_pushinteger(L, value)
        elif isinstance(value, float):
            lib.lua_pushnumber(L, value)
        elif value is None:
            lib.lua_pushnil(L)
        else:
            push_str(L, str(value))
        return 1

    FUNCTIONS = [(b"upper", lib.pyfun_upper), (b"sum", lib.pyfun_sum),
                 (b"eval", lib.pyfun_eval)]

    @ffi.def_extern()
    def luaopen_pyfun(L):
        # What luaL_newlib does: a table with one field per function.
        lib.lua_createtable(L, 0, len(FUNCTIONS))
        for name, func in FUNCTIONS:
            lib.lua_pushcclosure(L, func, 0)
            lib.lua_setfield(L, -2, name)
        return 1
""")

if __name__ == "__main__":
    outdir = sys.argv[1] if len(sys.argv) > 1 else "."
    print(ffibuilder.compile(tmpdir=outdir, target="pyfun.*"))
