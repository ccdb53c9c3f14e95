"""pytest plugin loaded into the run of CFFI's own tests (`-p plugin`):
marks the tests that are out of scope for cembed as skipped, with the
reason (scope.py). It changes no test and no assertion."""

import pytest

import scope


def pytest_collection_modifyitems(config, items):
    for item in items:
        reason = scope.out_of_scope(item.nodeid)
        if reason:
            item.add_marker(pytest.mark.skip(reason="out of scope: " + reason))
