"""Differential tests: every case in cases/ built with real cffi and with cembed.

  pytest tests/datamodel                 # all cases, both backends
  pytest tests/datamodel -m smoke        # the representative subset
  pytest tests/datamodel -k cembed       # only the cembed side
  DATAMODEL_REGEN=1 pytest tests/datamodel -k cffi   # rewrite expected.txt
"""

import os

import pytest

import dm_harness as h

CASES = h.discover_cases()
REGEN = os.environ.get("DATAMODEL_REGEN") == "1"


def _params():
    out = []
    for case in CASES:
        marks = [getattr(pytest.mark, m) for m in case.marks] + [pytest.mark.datamodel]
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


@pytest.fixture(scope="session")
def cembed_ok():
    return h.cembed_available()


@pytest.mark.cffi
@pytest.mark.parametrize("case", _params())
def test_cffi(case, tmp_path):
    pytest.importorskip("cffi")
    res = h.build_and_run(case, "cffi", tmp_path / "cffi")
    if REGEN:
        assert res.returncode == case.returncode, res.describe()
        case.expected_path.write_text(res.stdout)
    assert case.expected_path.is_file(), f"{case.name}: no expected.txt (run with DATAMODEL_REGEN=1)"
    h.check_result(case, "cffi", res, case.expected_path.read_text())


@pytest.mark.cembed
@pytest.mark.parametrize("case", _params())
def test_cembed(case, tmp_path, cembed_ok):
    ok, reason = cembed_ok
    if not ok:
        pytest.skip(reason)
    res = h.build_and_run(case, "cembed", tmp_path / "cembed")
    h.check_result(case, "cembed", res, case.expected_path.read_text())
