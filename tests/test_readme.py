"""The README's set-up commands work on a fresh clone in a fresh virtualenv (slow: it installs
the project twice, and torch's CPU build once)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SUMMARY = ("Found 5 findings (2 exploding, 3 symmetry) in 2 of 2 files.", "2 fixable with --fix --unsafe-fixes.")


def _setup_blocks() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Set up\n", 1)[1].split("\n## ", 1)[0]
    return [
        [line.strip() for line in block.splitlines() if line.strip()]
        for block in re.findall(r"```bash\n(.*?)```", section, re.S)
    ]


def test_the_readme_has_two_set_up_commands_and_cpu_torch_first():
    main_job, tests = _setup_blocks()
    assert main_job == ["pip install .", "initlint examples/"]
    assert tests[-1] == "python -m pytest"
    assert tests[:-1] == ["pip install torch==2.13.0", "pip install -e '.[dev,probe]'"]


def _run(command: str, cwd: Path, venv: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
    env.pop("PYTHONPATH", None)
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)


def _fresh(tmp_path: Path, name: str) -> tuple[Path, Path]:
    clone, venv = tmp_path / f"{name}-clone", tmp_path / f"{name}-venv"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=300)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    return clone, venv


@pytest.mark.slow
def test_readme_set_up_on_a_fresh_clone(tmp_path):
    main_job, tests = _setup_blocks()
    clone, venv = _fresh(tmp_path, "main")
    install, lint = main_job
    assert _run(install, clone, venv).returncode == 0
    result = _run(lint, clone, venv)
    assert result.returncode == 1 and tuple(result.stdout.splitlines()[-2:]) == SUMMARY, result.stdout + result.stderr
    clone, venv = _fresh(tmp_path, "dev")
    for command in tests[:-1]:
        done = _run(command, clone, venv)
        assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    check = _run("python -c 'import torch, pytest, pygls, initlint; print(torch.__version__, torch.version.cuda)'", clone, venv)
    assert check.returncode == 0, check.stderr
    version, cuda = check.stdout.split()
    assert version.startswith("2.13.0") and cuda == "None"  # the CPU build, not several GB of CUDA
    one = _run("python -m pytest -q -p no:cacheprovider tests/test_readme.py -k two_set_up", clone, venv)
    assert one.returncode == 0 and "1 passed" in one.stdout, one.stdout + one.stderr
