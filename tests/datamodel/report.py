"""Run every case with cembed and print a pass/fail table with the first
reason for each failure: the work list for the data-model implementation.

    python tests/datamodel/report.py [-k SUBSTRING] [--markdown]

Uses the same harness as the pytest tests (dm_harness), in a temporary
directory; the interpreter running this script is the one that builds.
"""

import argparse
import difflib
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import dm_harness as h  # noqa: E402


def first_reason(case, res, expected):
    """One line saying why `res` does not match."""
    # A Python exception raised by the runtime is the most useful hint.
    err_lines = [
        l.strip() for l in res.stderr.splitlines()
        if l and not l.startswith((" ", "Traceback", "Exception ignored"))
    ]
    if res.returncode != case.returncode:
        tail = err_lines[-1] if err_lines else ""
        return f"host exited with {res.returncode}; {tail}"[:300]
    if res.stdout != expected:
        exp, act = expected.splitlines(), res.stdout.splitlines()
        for i, (e, a) in enumerate(zip(exp, act)):
            if e != a:
                break
        else:
            i = min(len(exp), len(act))
        e = exp[i] if i < len(exp) else "<end>"
        a = act[i] if i < len(act) else "<end>"
        hint = next((l for l in err_lines if "Error" in l or "error" in l), "")
        return f"line {i + 1}: expected {e!r}, got {a!r}" + (f"; stderr: {hint}" if hint else "")
    for name in case.stderr_contains:
        if name not in res.stderr:
            return f"{name!r} missing from stderr"
    if not case.stderr_contains and "Traceback" in res.stderr:
        return "unexpected traceback: " + (err_lines[-1] if err_lines else "")
    return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--backend", default="cembed", choices=["cembed", "cffi"])
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in h.discover_cases():
            if args.k not in case.name:
                continue
            expected = case.expected_path.read_text()
            try:
                res = h.build_and_run(case, args.backend, pathlib.Path(tmp) / case.name)
                reason = first_reason(case, res, expected)
            except h.CaseError as e:
                lines = [l for l in str(e).splitlines() if l.strip()]
                cause = next((l for l in reversed(lines) if "Error" in l or "error" in l), lines[-1])
                reason = (lines[0] + " " + cause.strip())[:300]
            rows.append((case.name, "PASS" if not reason else "FAIL", reason))
            if not args.markdown:
                print(f"{case.name:28} {rows[-1][1]}  {reason}", flush=True)
    if args.markdown:
        print("| case | result | first failure |\n|---|---|---|")
        for name, status, reason in rows:
            print(f"| {name} | {status} | {reason.replace('|', '/')} |")
    n = sum(1 for r in rows if r[1] == "PASS")
    print(f"\n{n}/{len(rows)} pass with {args.backend}")


if __name__ == "__main__":
    main()
