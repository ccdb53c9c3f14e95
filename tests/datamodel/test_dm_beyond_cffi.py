"""Cases where cembed deliberately differs from CFFI (it raises where CFFI
corrupts memory or deadlocks): run with cembed only, against the
expected.txt written by hand in each directory of beyond_cffi/."""

import pathlib

import pytest

import dm_harness as h

HERE = pathlib.Path(__file__).resolve().parent


def _cases():
    out = []
    for d in sorted((HERE / "beyond_cffi").iterdir()):
        if (d / "build.py").is_file():
            marks, stderr, rc = h._parse_meta(d / "build.py")
            out.append(pytest.param(h.Case(d.name, d, marks, stderr, rc), id=d.name))
    return out


@pytest.mark.cembed
@pytest.mark.parametrize("case", _cases())
def test_cembed_beyond_cffi(case, tmp_path):
    ok, reason = h.cembed_available()
    if not ok:
        pytest.skip(reason)
    res = h.build_and_run(case, "cembed", tmp_path / "cembed")
    h.check_result(case, "cembed", res, case.expected_path.read_text())
