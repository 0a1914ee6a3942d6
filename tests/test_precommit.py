"""The real `pre-commit try-repo` against this checkout, on a throwaway git repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

BAD = (
    "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
    "        super().__init__()\n        self.fc1 = nn.Linear(128, 128)\n"
    "        self.fc2 = nn.Linear(128, 2)\n        nn.init.uniform_(self.fc1.weight, -100, 100)\n"
)
GOOD = "import torch.nn as nn\n\nlayer = nn.Linear(128, 128)\nnn.init.kaiming_uniform_(layer.weight)\n"

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(),
    reason="needs git and a git checkout of initlint",
)


@pytest.mark.slow  # pre-commit builds its own venv and installs initlint into it
def test_pre_commit_hook_fails_on_the_bad_file_only(tmp_path):
    repo = tmp_path / "project"
    repo.mkdir()
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    (repo / "bad_model.py").write_text(BAD)
    (repo / "good_model.py").write_text(GOOD)
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)

    def try_repo(*files):
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "initlint", "--files", *files],
            cwd=repo, env=env, capture_output=True, text=True, timeout=900,
        )

    failed = try_repo("bad_model.py", "good_model.py")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "bad_model.py:9:9: IL201 [exploding]" in failed.stdout
    assert "good_model.py:" not in failed.stdout
    passed = try_repo("good_model.py")
    assert passed.returncode == 0, passed.stdout + passed.stderr
