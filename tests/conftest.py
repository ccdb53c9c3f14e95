"""pytest configuration for tests/ (the helpers live in cembed_e2e.py)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cembed_e2e import Project  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "smoke: the subset run on every other CPython")
    config.addinivalue_line("markers", "cffi: differential test against the real cffi")
    config.addinivalue_line("markers", "pypy: cembed on PyPy (tests/test_pypy.py)")
    config.addinivalue_line("markers", "datamodel: a data-model case")


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)
