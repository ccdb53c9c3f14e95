"""The real lua5.4 interpreter loads examples/lua_module (a C module whose
functions are written in Python) with `require`."""

import os
import subprocess
import sysconfig

import pytest

from cembed_e2e import cffi_env, lines

pytestmark = pytest.mark.realhost


def lua_string(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


@pytest.mark.smoke
def test_lua_requires_the_module_through_package_cpath(lua54, lua_example):
    out, lib = lua_example.build()
    assert lib == str(out / "pyfun.so")
    code = "\n".join([
        "package.cpath = %s" % lua_string(str(out / "?.so")),
        "local pyfun = require 'pyfun'",
        "print(pyfun.upper('abc'))",
        "print(pyfun.upper('grüße'), pyfun.upper(42))",
        "print(pyfun.sum(1, 2, 3), math.type(pyfun.sum(1, 2, 3)), pyfun.sum(1, 2.5), pyfun.sum())",
        "print(pyfun.sum(1, {}))",
        "print(pyfun.sum(math.maxinteger, 1), math.type(pyfun.sum(math.maxinteger, 1)))",
        "print(pyfun.eval('6 * 7'), math.type(pyfun.eval('2**62')), pyfun.eval('[1, 2]'))",
        "print(pyfun.eval('1/0'))",
        "print(pyfun.eval('None'), pyfun.eval('1 < 2'), pyfun.eval('0.5'))",
        "print(pyfun.upper(nil))",
        # lua5.4 dlopen()s the module RTLD_LOCAL: stdlib extension modules,
        # which find libpython's symbols in the global scope, still import.
        "print(pyfun.eval('__import__(\"math\").factorial(20)'),"
        " pyfun.eval('__import__(\"_struct\").calcsize(\"q\")'),"
        " pyfun.eval('__import__(\"json\").dumps({\"a\": [1]})'))",
        "local names = {} for k in pairs(pyfun) do names[#names + 1] = k end",
        "table.sort(names) print(table.concat(names, ' '))",
        "print(require 'pyfun' == pyfun)",
    ])
    r = lua_example.run([lua54, "-e", code], cwd="/")
    assert (r.returncode, r.stderr) == (0, "")
    # Lua's print() flushes stdout after every line; Python's print() in the
    # init code is block-buffered (stdout is a pipe) and flushed at exit,
    # after lua_close() has already dlclose()d the module.
    assert r.stdout == lines(
        "ABC",
        "GRÜSSE\t42",
        "6\tinteger\t3.5\t0",
        "nil\tsum: number expected at 2, got table",
        "9.2233720368548e+18\tfloat",
        "42\tinteger\t[1, 2]",
        "nil\tZeroDivisionError: division by zero",
        "nil\ttrue\t0.5",
        "nil\tupper: string expected, got nil",
        '2432902008176640000\t8\t{"a": [1]}',
        "eval sum upper",
        "true",
        "[python] pyfun initialising",
    )


def test_lua_default_cpath_finds_the_module_in_the_working_directory(lua54, lua_example):
    out, _ = lua_example.build()
    # lua5.4's default package.cpath starts with ./?.so
    r = lua_example.run([lua54, "-e", "print(require('pyfun').upper('x'))"], cwd=out)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == lines("X", "[python] pyfun initialising")


def test_lua_script_file_and_flushed_python_output_interleave(lua54, lua_example):
    # With flush=True the init code's line comes out where it runs: at the
    # first require, between the script's own lines.
    out, _ = lua_example.build(edit=lambda text: text.replace(
        'print("[python] pyfun initialising")',
        'print("[python] pyfun initialising", flush=True)'))
    (out / "main.lua").write_text("\n".join([
        "print('before require')",
        "local pyfun = require 'pyfun'",
        "print('after require')",
        "for i = 1, 3 do print(i, pyfun.sum(i, i * 10)) end",
    ]) + "\n", encoding="utf-8")
    r = lua_example.run([lua54, "main.lua"], cwd=out)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == lines("before require", "[python] pyfun initialising",
                             "after require", "1\t11", "2\t22", "3\t33")


def test_init_code_error_leaves_lua_running(lua54, lua_example):
    out, _ = lua_example.build(edit=lambda text: text.replace(
        "    from pyfun import ffi, lib\n",
        "    from pyfun import ffi, lib\n    raise RuntimeError('pyfun refuses to start')\n"))
    code = "\n".join([
        "package.cpath = %s" % lua_string(str(out / "?.so")),
        "local ok, m = pcall(require, 'pyfun')",
        "print(ok, type(m))",
        "print('still running')",
    ])
    r = lua_example.run([lua54, "-e", code], cwd="/")
    # luaopen_pyfun returned 0 (no values): require then returns true, the
    # value Lua records for a module that returned nothing.
    assert r.returncode == 0
    assert r.stdout == lines("true\tboolean", "still running")
    err = r.stderr.splitlines()
    assert "Traceback (most recent call last):" in err
    assert "RuntimeError: pyfun refuses to start" in err
    assert "From: pyfun" in err
    assert ("function pyfun.luaopen_pyfun() called, but initialization code failed.  "
            "Returning 0.") in err


def test_python_exit_code_after_lua_close_unloaded_the_module(lua54, lua_example):
    # lua.c ends with lua_close(), whose package library dlclose()s every C
    # module. cembed finalizes Python later, at process exit (atexit handlers
    # run, buffers are flushed); here an atexit handler reads a lib constant
    # nothing read before, from the library's (by then unmapped) tables.
    out, _ = lua_example.build(edit=lambda text: text.replace(
        '    print("[python] pyfun initialising")\n',
        '    import atexit\n'
        '    atexit.register(lambda: print("[python] bye, Lua", lib.LUA_VERSION_NUM))\n'))
    code = "package.cpath = %s print(require('pyfun').upper('x'))" % lua_string(
        str(out / "?.so"))
    r = lua_example.run([lua54, "-e", code], cwd="/")
    assert (r.returncode, r.stdout, r.stderr) == (0, lines("X", "[python] bye, Lua 504"), "")


@pytest.mark.cffi
def test_lua_same_output_as_cffi_which_needs_libpython_preloaded(lua54, lua_example):
    # The same build script built by the real cffi. lua5.4 dlopen()s modules
    # RTLD_LOCAL, so a cffi module's libpython (a DT_NEEDED of the module) is
    # not in the global scope and _cffi_backend, which is not linked to
    # libpython, cannot import; LD_PRELOAD puts libpython there. cembed needs
    # neither that nor PYTHONPATH / LD_LIBRARY_PATH.
    def flushed(text):
        return text.replace('print("[python] pyfun initialising")',
                            'print("[python] pyfun initialising", flush=True)')
    main = "\n".join([
        "print('before require')",
        "local ok, pyfun = pcall(require, 'pyfun')",
        "if type(pyfun) ~= 'table' then print('no module') os.exit(0) end",
        "print(pyfun.upper('abc'), pyfun.sum(1, 2, 3.5), pyfun.eval('1/0'))",
        "print(pyfun.eval('__import__(\"math\").comb(10, 3)'))",
    ]) + "\n"
    runs = {}
    for flavor in ("cembed", "cffi"):
        edit = flushed if flavor == "cembed" else (
            lambda text: flushed(text).replace("import cembed as cffi", "import cffi"))
        out, _ = lua_example.build(flavor, edit=edit)
        (out / "main.lua").write_text(main, encoding="utf-8")
        runs[flavor] = out
    expected = lines("before require", "[python] pyfun initialising",
                     "ABC\t6.5\tnil\tZeroDivisionError: division by zero", "120")

    r = lua_example.run([lua54, "main.lua"], cwd=runs["cembed"])
    assert (r.returncode, r.stdout, r.stderr) == (0, expected, "")

    env = dict(cffi_env(), HOME=str(lua_example.home))
    r = subprocess.run([lua54, "main.lua"], cwd=str(runs["cffi"]), env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.stdout == lines("before require", "no module")
    assert "undefined symbol" in r.stderr

    libpython = os.path.join(sysconfig.get_config_var("LIBDIR"),
                             sysconfig.get_config_var("LDLIBRARY"))
    r = subprocess.run([lua54, "main.lua"], cwd=str(runs["cffi"]),
                       env=dict(env, LD_PRELOAD=libpython),
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, expected, "")
