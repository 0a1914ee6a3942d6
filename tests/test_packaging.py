"""What a user gets from pip: the console script, ``python -m``, a light import, the catalog."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT


def run(args, cwd=ROOT, env=None, timeout=120):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_import_and_cli_do_not_import_torch():
    code = (
        "import sys, initlint, initlint.cli; "
        "from initlint.cli import main; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "assert 'libcst' not in sys.modules, 'libcst imported by import initlint.cli'"
    )
    result = run([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr


def test_linting_does_not_import_torch(tmp_path):
    (tmp_path / "m.py").write_text("import torch\nimport torch.nn as nn\nnn.init.normal(w)\n")
    code = (
        "import sys\nfrom initlint.cli import main\n"
        "try:\n    main([%r])\nexcept SystemExit as e:\n    code = e.code\n"
        "assert 'torch' not in sys.modules\nprint('exit', code)\n" % str(tmp_path / "m.py")
    )
    result = run([sys.executable, "-c", code])
    assert result.stdout.strip().endswith("exit 1"), result.stderr


def test_linting_one_file_imports_only_what_it_needs(tmp_path):
    """The pre-commit case: no worker pool, no probe, no other report formats, no cache (the
    digests of a linted file's dependencies come from reading.py)."""
    (tmp_path / "m.py").write_text(
        "import torch.nn as nn\nfrom sizes import WIDTH\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.fc = nn.Linear(WIDTH, WIDTH)\n        nn.init.normal(self.fc.weight)\n"
    )
    (tmp_path / "sizes.py").write_text("WIDTH = 8\n")  # a dependency: read, parsed and digested
    code = (
        "import sys\nfrom initlint.cli import main\n"
        "try:\n    main(['--no-cache', %r])\nexcept SystemExit as e:\n    code = e.code\n"
        "heavy = ['torch', 'multiprocessing', 'concurrent.futures', 'initlint.probe', 'tempfile',\n"
        "         'initlint.report.sarif', 'initlint.report.github', 'initlint.report.jsonfmt',\n"
        "         'initlint.cache']\n"
        "print('exit', code, [m for m in heavy if m in sys.modules])\n" % str(tmp_path / "m.py")
    )
    result = run([sys.executable, "-c", code])
    assert result.stdout.strip().endswith("exit 1 []"), result.stdout + result.stderr


def test_python_dash_m_and_version():
    result = run([sys.executable, "-m", "initlint", "--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == "initlint, version 0.1.0"
    result = run([sys.executable, "-m", "initlint", "examples"])
    assert result.returncode == 1
    assert "IL201 [exploding]" in result.stdout


ENTRY_RUN = """
import atexit, gc, sys
sys.argv = ["initlint", "--version"]
young = []

class WhenClickImports:
    def find_spec(self, name, path=None, target=None):
        if name == "click":
            young.append(gc.get_threshold()[0])
        return None

sys.meta_path.insert(0, WhenClickImports())
atexit.register(lambda: print("young threshold when click imported:", young))
from initlint.__main__ import main
main()
"""


def test_the_program_tunes_its_process_before_the_command_line_imports():
    """The ``initlint`` script and ``python -m initlint`` start in __main__.main, which raises
    the GC's young threshold before click and the engine import (their objects are no garbage)."""
    from initlint.tuning import _GC_YOUNG

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"initlint": "initlint.__main__:main"}
    result = run([sys.executable, "-c", ENTRY_RUN])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["initlint, version 0.1.0", f"young threshold when click imported: [{_GC_YOUNG}]"]


def test_help_lists_the_lint_options():
    result = run([sys.executable, "-m", "initlint", "check", "--help"])
    for option in ("--select", "--ignore", "--fail-on", "--format", "--output", "--exclude",
                   "--statistics", "--quiet", "--config"):
        assert option in result.stdout


@pytest.mark.slow
def test_wheel_ships_the_catalog(tmp_path):
    """`initlint rule CODE` works from an installed wheel, with no checkout next to it."""
    build = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = tmp_path.glob("initlint-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")
    pages = sorted(n for n in names if n.startswith("initlint/_catalog/"))
    assert pages == sorted(f"initlint/_catalog/{p.name}" for p in (ROOT / "rules").glob("*.md"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    result = run([sys.executable, "-m", "initlint", "rule", "IL201"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# IL201: extreme-uniform-range")
    probe = run([sys.executable, "-c", "import initlint; print(initlint.__file__)"], cwd=tmp_path, env=env)
    assert probe.stdout.strip().startswith(str(tmp_path / "site"))
