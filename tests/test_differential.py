"""Differential tests: the same build script (with `import cffi` or
`import cembed as cffi`) and the same C host, built and run under the real
cffi and under cembed, print the same stdout.

The cffi-built library needs PYTHONPATH (for _cffi_backend) and
LD_LIBRARY_PATH (for libpython): those are set for the cffi run only; the
cembed run has a clean environment."""

import pytest

from cembed_e2e import Project, UNBUFFERED_MAIN, cffi_env, clean_env, library_script

import test_embedding as e2e

pytestmark = pytest.mark.cffi


def both(tmp_path, script, host, libs, host_name="host", args=()):
    pytest.importorskip("cffi")
    out = {}
    for flavor in ("cffi", "cembed"):
        p = Project(tmp_path / flavor)
        (tmp_path / flavor).mkdir()
        for name, text in script(p).items():
            p.build(text, name=name, flavor=flavor)
        exe = p.gcc(host, out=host_name, libs=libs)
        env = cffi_env() if flavor == "cffi" else clean_env()
        r = p.run(exe, args=args, env=env, check=False)
        out[flavor] = (r.returncode, r.stdout)
    assert out["cembed"] == out["cffi"]
    return out["cembed"]


ADDER_HOST = """
#include <stdio.h>
int add(int, int);
int main(void) {
    %s
    printf("%%d %%d %%d\\n", add(1, 2), add(-7, 7), add(2147483647, 0));
    return 0;
}
""" % UNBUFFERED_MAIN


@pytest.mark.smoke
def test_adder(tmp_path):
    rc, out = both(tmp_path, lambda p: {"build.py": library_script(
        "adder", e2e.ADDER_API, e2e.ADDER_INIT, "libadder.*")}, ADDER_HOST, ["libadder.so"])
    assert out == "init adder\n3 0 2147483647\n"


def test_primitives(tmp_path):
    def script(p):
        p.write("prims_api.h", e2e.primitives_api_header())
        return {"build.py": e2e.primitives_script()}
    both(tmp_path, script, e2e.primitives_host(), ["libprims.so"])


def test_exceptions_and_error_values(tmp_path):
    init = """
        from exc import ffi
        @ffi.def_extern()
        def plain(x):
            raise ValueError(x)
        @ffi.def_extern(error=-3)
        def with_error(x):
            raise KeyError(x)
        def handler(exc, value, tb):
            print("handler", exc.__name__, flush=True)
            return 9
        @ffi.def_extern(onerror=handler, error=5)
        def with_onerror(x):
            raise RuntimeError(x)
        @ffi.def_extern(name="renamed")
        def python_name(x):
            return x * 3
    """
    api = "int plain(int); int with_error(int); int with_onerror(int); int renamed(int);"
    host = """
        #include <stdio.h>
        int plain(int); int with_error(int); int with_onerror(int); int renamed(int);
        int main(void) {
            %s
            printf("%%d %%d\\n", plain(1), with_error(2));
            printf("%%d\\n", with_onerror(3));
            printf("%%d\\n", renamed(4));
            return 0;
        }
    """ % UNBUFFERED_MAIN
    rc, out = both(tmp_path, lambda p: {"build.py": library_script("exc", api, init, "libexc.*")},
                   host, ["libexc.so"])
    assert out == "0 -3\nhandler RuntimeError\n9\n12\n"


def test_two_libraries(tmp_path):
    def script(p):
        return {
            "build_a.py": library_script("mod_a", "int a_value(int);", """
                from mod_a import ffi
                @ffi.def_extern()
                def a_value(x):
                    return x + 1
            """, "liba.*"),
            "build_b.py": library_script("mod_b", "int b_value(int);", """
                from mod_b import ffi
                @ffi.def_extern()
                def b_value(x):
                    return x * 2
            """, "libb.*"),
        }
    host = """
        #include <stdio.h>
        int a_value(int); int b_value(int);
        int main(void) { printf("%d %d %d\\n", a_value(1), b_value(21), a_value(2)); return 0; }
    """
    rc, out = both(tmp_path, script, host, ["liba.so", "libb.so"])
    assert out == "2 42 3\n"


def test_init_error_stdout(tmp_path):
    init = """
        from broken import ffi
        @ffi.def_extern()
        def f(x):
            return x
        raise RuntimeError("init fails")
    """
    host = """
        #include <stdio.h>
        int f(int);
        int main(void) { printf("%d %d\\n", f(1), f(2)); return 0; }
    """
    rc, out = both(tmp_path, lambda p: {"build.py": library_script(
        "broken", "int f(int);", init, "libbroken.*")}, host, ["libbroken.so"])
    assert (rc, out) == (0, "0 0\n")


def test_compile_returns_the_same_paths_as_cffi(tmp_path):
    """compile()'s target rules: default target, `.*`, dotted module names,
    relative tmpdir; the returned path is absolute."""
    pytest.importorskip("cffi")
    script = """
        import os
        for module, target, tmpdir in [("m", None, "out1"), ("m", "plugin-1.5.*", "out2"),
                                       ("pkg.m", None, "out3"), ("m", "sub/libm.so", "out4")]:
            ffibuilder = cffi.FFI()
            ffibuilder.embedding_api("int f(int);")
            ffibuilder.set_source(module, "")
            ffibuilder.embedding_init_code("pass")
            path = ffibuilder.compile(tmpdir=tmpdir, target=target)
            print(os.path.relpath(path), os.path.isabs(path), os.path.exists(path))
    """
    out = {}
    for flavor in ("cffi", "cembed"):
        p = Project(tmp_path / flavor)
        (tmp_path / flavor).mkdir()
        out[flavor] = p.build(script, flavor=flavor).stdout
    assert out["cembed"] == out["cffi"]
    assert out["cembed"].splitlines() == [
        "out1/m.so True True", "out2/plugin-1.5.so True True",
        "out3/pkg/pkg.m.so True True", "out4/sub/libm.so True True"]
