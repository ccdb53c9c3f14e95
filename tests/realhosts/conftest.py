"""Fixtures for the real-host tests: programs nobody here wrote (the sqlite3
shell, the lua5.4 interpreter) loading a library built from examples/.

The hosts and the headers the examples compile against come from Debian
packages. When one is missing, the fixture installs it with apt-get (as
root) and skips the test, saying why, when that is not possible.
"""

import os
import shutil

import pytest

from realhosts_support import Example, ensure_packages


def pytest_configure(config):
    config.addinivalue_line("markers", "smoke: the subset run on every other CPython")
    config.addinivalue_line("markers", "realhost: runs a third-party host program")


@pytest.fixture(scope="session")
def sqlite3_shell():
    ensure_packages("the sqlite3 shell and sqlite3ext.h",
                    lambda: shutil.which("sqlite3")
                    and os.path.exists("/usr/include/sqlite3ext.h"),
                    ["sqlite3", "libsqlite3-dev"])
    return shutil.which("sqlite3")


@pytest.fixture(scope="session")
def lua54():
    ensure_packages("lua5.4 and lua.h",
                    lambda: shutil.which("lua5.4")
                    and os.path.exists("/usr/include/lua5.4/lua.h"),
                    ["lua5.4", "liblua5.4-dev"])
    return shutil.which("lua5.4")


@pytest.fixture
def sqlite_example(tmp_path):
    return Example(tmp_path, "sqlite_ext", "build_pyext.py")


@pytest.fixture
def lua_example(tmp_path):
    return Example(tmp_path, "lua_module", "build_pyfun.py")
