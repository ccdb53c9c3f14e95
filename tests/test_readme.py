"""The README's "Use it" example, extracted from README.md and run as a user
would: the files marked `<!-- readme-test: file NAME -->` are written to an
empty directory, each line of the block marked `<!-- readme-test: run -->`
is run by sh (with this venv's bin first on PATH: its python and the
installed `cembed`), and the last command's output must be the block marked
`<!-- readme-test: output -->`."""

import os
import re
import subprocess
import sys

import pytest

from cembed_e2e import ROOT, clean_env

MARKED_BLOCK = re.compile(
    r"<!-- readme-test: (file (?P<name>\S+)|run|output) -->\n```[^\n]*\n(?P<body>.*?)```",
    re.S)


def readme_blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    files, run, output = {}, None, None
    for m in MARKED_BLOCK.finditer(text):
        if m.group("name"):
            files[m.group("name")] = m.group("body")
        elif m.group(1) == "run":
            run = m.group("body")
        else:
            output = m.group("body")
    return files, run, output


def test_install_section_comes_first():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        sections = re.findall(r"^## (.+)$", f.read(), re.M)
    assert sections[:2] == ["Install", "Use it"], sections


@pytest.mark.smoke
def test_use_it_example_runs(tmp_path):
    files, run, output = readme_blocks()
    assert set(files) == {"plugin_build.py", "host.c"}, files
    assert run and output, "the README lost its run/output blocks"
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    env = clean_env()
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    commands = [line for line in run.splitlines() if line.strip()]
    for i, cmd in enumerate(commands):
        r = subprocess.run(["sh", "-c", cmd], cwd=str(tmp_path), env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, "%s:\n%s%s" % (cmd, r.stdout, r.stderr)
        if i == len(commands) - 1:
            assert (r.stdout, r.stderr) == (output, "")
