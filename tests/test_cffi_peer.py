"""CFFI's own data-model tests (testing/cffi1: test_new_ffi_1.py,
test_ffi_obj.py, test_recompiler.py of the cffi sdist) run against cembed
through the adapter in tests/cffi_peer/ (README there). Every in-scope test
must pass, except those listed in tests/cffi_peer/scope.py KNOWN (each with
its reason, also in docs/differences.md); a listed test that passes must
leave the list."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "cffi_peer"))

import peer  # noqa: E402
import scope  # noqa: E402


@pytest.fixture(scope="module")
def results():
    pytest.importorskip("cembed._runtime")
    res, output = peer.run()
    return res, output


def test_every_in_scope_test_passes_or_is_listed(results):
    res, output = results
    assert len(res) > 300, output[-3000:]
    unexpected = []
    fixed = []
    counts = {"passed": 0, "failed": 0, "out of scope": 0, "listed": 0}
    for name, (outcome, message) in sorted(res.items()):
        if outcome == "skipped":
            counts["out of scope"] += message.startswith("out of scope")
            continue
        listed = scope.known_difference(name)
        if outcome == "failed":
            counts["listed" if listed else "failed"] += 1
            if not listed:
                unexpected.append("%s: %s" % (name, message[:300]))
        else:
            counts["passed"] += 1
            if listed:
                fixed.append(name)
    print("cffi peer suite:", counts)
    assert not unexpected, "\n".join(unexpected)
    assert not fixed, "listed in scope.KNOWN but passing now: %s" % fixed


def test_known_and_out_of_scope_name_real_tests(results):
    res, _ = results
    missing = [name for name in scope.KNOWN if name not in res]
    assert not missing, missing
