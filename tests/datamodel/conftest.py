"""pytest configuration for the data-model differential tests.

Self-contained on purpose: it neither imports nor relies on tests/conftest.py.
"""

import os
import sys

# Make dm_harness importable whatever import mode or rootdir pytest uses.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "smoke: a small representative subset of the differential cases"
    )
    config.addinivalue_line(
        "markers", "datamodel: differential test of cembed's C data model against cffi"
    )
    config.addinivalue_line("markers", "cffi: the reference run with the real cffi")
    config.addinivalue_line("markers", "cembed: the same case built with cembed")
