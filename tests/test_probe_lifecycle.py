"""Probe workers never outlive initlint, never leak state between models, and keep their limits.

Issue 14 items 3, 9 and 10: killing initlint (SIGTERM, SIGINT, SIGKILL) during ``--probe``
leaves no process behind; a model that changes the working directory, ``sys.path`` or
``torch.nn.functional`` does not change the next one; ``nan`` and ``inf`` are refused as limits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import ROOT

HANGS = textwrap.dedent(
    """
    import torch.nn as nn

    class Spins(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)
            nn.init.uniform_(self.fc.weight, -100, 100)

        def forward(self, x):
            while True:
                pass
    """
)


def _processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, start time) of every process we can see."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(entry)] = (int(fields[1]), fields[0], fields[19])
    return found


def _descendants(root: int) -> dict[int, str]:
    """pid -> start time of every living descendant of ``root``."""
    table = _processes()
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, state, started) in table.items():
            if ppid == parent and pid not in found and state != "Z":
                found[pid] = started
                frontier.append(pid)
    return found


def _alive(processes: dict[int, str]) -> list[int]:
    table = _processes()
    return [pid for pid, started in processes.items() if pid in table and table[pid][2] == started and table[pid][1] != "Z"]


@pytest.mark.probe
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_killing_initlint_during_probe_leaves_no_process(tmp_path, how):
    pytest.importorskip("torch")
    (tmp_path / "spin.py").write_text(HANGS)
    # as in a terminal: a test session started in the background (``pytest &``) ignores SIGINT,
    # and a child would inherit that, so initlint gets Ctrl-C's default disposition back
    initlint = subprocess.Popen(
        [sys.executable, "-m", "initlint", "--no-cache", "--probe", "--device", "cpu", "--probe-timeout", "600", "spin.py"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 240  # the worker imports torch first: slow on a busy machine
        family: dict[int, str] = {}
        while time.monotonic() < deadline and len(family) < 2:  # the worker and its task child
            assert initlint.poll() is None, "initlint ended before the model ran"
            family = _descendants(initlint.pid)
            time.sleep(0.2)
        assert len(family) >= 2, family
        time.sleep(0.5)  # inside forward's endless loop
        family = _descendants(initlint.pid)
        initlint.send_signal(how)
        initlint.wait(60)
        deadline = time.monotonic() + 60
        while _alive(family) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _alive(family) == []
    finally:
        if initlint.poll() is None:
            initlint.kill()
            initlint.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spin.py"]  # and nothing written


LEAKY = textwrap.dedent(
    """
    import os, sys
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Vandal(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 16)
            os.chdir("/")
            sys.path.clear()
            F.relu = lambda x, inplace=False: x * 1000.0
            torch.tanh = lambda x: x * 0.0

        def forward(self, x):
            return self.fc(x)

    class Victim(nn.Module):
        def __init__(self):
            super().__init__()
            from helpers import WIDTH
            self.fc1 = nn.Linear(16, WIDTH)
            self.fc2 = nn.Linear(WIDTH, 16)

        def forward(self, x):
            return self.fc2(torch.tanh(F.relu(self.fc1(x))))
    """
)


@pytest.mark.probe
@pytest.mark.slow
def test_a_model_that_changes_process_state_does_not_change_the_next(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "zoo.py").write_text(LEAKY)
    (tmp_path / "helpers.py").write_text("WIDTH = 32\n")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir())
    done = subprocess.run(
        [sys.executable, "-m", "initlint", "--no-cache", "--format", "json", "--probe=all", "--device", "cpu",
         "--probe-workers", "1", "zoo.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == []  # neither model is broken: nothing measured as a problem
    assert "probe: 2 of 2 models measured; 2 of 2 nn.Module classes built and run; 0 not probed" in done.stderr
    after = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir())
    assert after == before  # no __pycache__, nothing written into the user's tree


def _cli(args, cwd):
    return subprocess.run([sys.executable, "-m", "initlint", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("option, value", [("--probe-timeout", "nan"), ("--probe-timeout", "inf"),
                                           ("--probe-memory", "nan"), ("--probe-memory", "-1")])
def test_limits_must_be_finite_and_positive_on_the_command_line(cli, option, value):
    for args in (["--probe", option, value, "examples"], ["probe", option, value, "examples/seed_models.py:SimpleModel"]):
        result = cli(args, ROOT)
        assert result.exit_code == 2
        assert f"Invalid value for '{option}': {value!r} is not a finite number above 0" in result.output


@pytest.mark.parametrize("key, value", [("timeout", "nan"), ("memory-mb", "inf"), ("budget", "nan"), ("max-dead", "nan")])
def test_limits_must_be_finite_and_positive_in_the_config(cli, tmp_path, key, value):
    (tmp_path / "pyproject.toml").write_text(f"[tool.initlint.probe]\n{key} = {value}\n")
    (tmp_path / "m.py").write_text("x = 1\n")
    result = cli(["--probe", "m.py"], tmp_path)
    assert result.exit_code == 2
    assert f"[tool.initlint.probe] '{key}' must be a finite number above 0, got {float(value)!r}" in result.output


def test_the_python_api_refuses_a_nan_limit():
    from initlint.probe.runner import ProbeError, ProbeOptions, probe_findings

    with pytest.raises(ProbeError, match="--probe-timeout must be a finite positive number, got nan"):
        probe_findings([], ProbeOptions(timeout=float("nan")))
