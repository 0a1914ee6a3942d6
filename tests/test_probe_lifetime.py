"""Probe workers die with initlint and each model starts from a clean worker state (issue 14,
items 3 and 9). Each test runs the real program with a real worker (torch imported once per
run), so they are probe tests, and all but SIGTERM's are slow; they check processes, never
durations."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytestmark = [
    pytest.mark.probe,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to see processes"),
]

HANGS = '''\
import os
import subprocess
import sys
from pathlib import Path

import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(256, 256)
        nn.init.normal_(self.fc.weight, std=1.0)
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        # outside the project: the probe refuses writes into the user's tree
        Path(os.environ["HANG_PIDS"]).write_text(f"{os.getpid()} {helper.pid}")
        while True:  # at full CPU, as the issue saw it
            pass

    def forward(self, x):
        return self.fc(x)
'''


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _start_hanging_probe(tmp_path: Path) -> tuple[subprocess.Popen, int, int]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "hang.py").write_text(HANGS)
    pids = tmp_path / "pids.txt"
    parent = subprocess.Popen(
        [sys.executable, "-m", "initlint", "--no-cache", "--probe", "--device", "cpu",
         "--probe-timeout", "500", "hang.py"],
        cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HANG_PIDS": str(pids)},
    )
    for _ in range(1200):  # the worker imports torch first: up to two minutes on a busy machine
        if pids.exists() and pids.read_text():
            worker, helper = map(int, pids.read_text().split())
            return parent, worker, helper
        time.sleep(0.1)
    parent.kill()
    pytest.fail("the worker never started the model")


def _gone(pid: int) -> bool:
    for _ in range(100):  # the kernel and init reap asynchronously
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_killing_initlint_during_probe_leaves_no_worker_behind(tmp_path):
    # SIGTERM, the quick case, here with a process the model started; SIGINT and SIGKILL (and
    # every descendant) are test_probe_lifecycle.py's slow test
    kill = signal.SIGTERM
    parent, worker, helper = _start_hanging_probe(tmp_path)
    try:
        os.kill(parent.pid, kill)
        parent.wait(60)
        assert _gone(worker), f"worker {worker} outlived initlint ({kill.name})"
        assert _gone(helper), f"a process the model started outlived initlint ({kill.name})"  # its group
    finally:
        for pid in (worker, helper):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert parent.returncode == -signal.SIGTERM  # initlint still dies of the signal


LEAKS = '''\
import os
import torch
import torch.nn as nn
import torch.nn.functional as F


class MovesAway(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(256, 256)
        nn.init.normal_(self.fc.weight, std=1.0)
        os.chdir("/")

    def forward(self, x):
        return self.fc(x)


class PatchesRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(256, 256)
        nn.init.normal_(self.fc.weight, std=1.0)
        F.relu = lambda x, inplace=False: x * 0

    def forward(self, x):
        return self.fc(x)


class ChangesDtype(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(256, 256)
        nn.init.normal_(self.fc.weight, std=1.0)
        torch.set_default_dtype(torch.float64)

    def forward(self, x):
        return self.fc(x)
'''

VICTIM = '''\
import torch.nn as nn
import torch.nn.functional as F


class Victim(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(256, 256)
        self.out = nn.Linear(256, 256)
        nn.init.normal_(self.fc.weight, std=1.0)

    def forward(self, x):
        return self.out(F.relu(self.fc(x)))
'''


@pytest.mark.slow  # four models in a real worker; test_probe_state.py checks each change fast
def test_a_model_that_changes_the_worker_does_not_change_the_next_one(tmp_path):
    """One worker builds the three leaky models, then the victim (relative paths: a chdir
    made its import fail); the victim's measurement is the one it gets alone."""
    (tmp_path / "a.py").write_text(LEAKS)
    (tmp_path / "b.py").write_text(VICTIM)
    done = subprocess.run(
        [sys.executable, "-m", "initlint", "--no-cache", "--probe", "--device", "cpu",
         "--probe-workers", "1", "--probe-batch", "64", "--format", "json", "a.py", "b.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    entries = {(e["path"], e["line"]): e["probe"] for e in json.loads(done.stdout)}
    assert [key[0] for key in entries] == ["a.py", "a.py", "a.py", "b.py"], done.stderr
    assert entries[("b.py", 10)] == {
        "status": "confirmed",
        "measured": "measured signal variance x260 per layer (std x16) on fc; predicted x256",
    }


SPAWNS = '''\
import os
import subprocess
import sys
from pathlib import Path

import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        Path(os.environ["HANG_PIDS"]).write_text(str(helper.pid))
        raise RuntimeError("the model fails after starting a helper")

    def forward(self, x):
        return x
'''


@pytest.mark.slow
def test_a_helper_the_model_started_ends_with_its_task(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "spawns.py").write_text(SPAWNS)
    pids = tmp_path / "pids.txt"
    done = subprocess.run(
        [sys.executable, "-m", "initlint", "--no-cache", "--probe=all", "--device", "cpu", "spawns.py"],
        cwd=project, capture_output=True, text=True, timeout=600, env={**os.environ, "HANG_PIDS": str(pids)},
    )
    assert "Net: not probed (build: RuntimeError: the model fails after starting a helper" in done.stderr
    assert _gone(int(pids.read_text()))


FORKS = '''\
import multiprocessing
import os
import time
from pathlib import Path

import torch.nn as nn

helper = multiprocessing.get_context("fork").Process(target=time.sleep, args=(600,))
helper.start()  # it inherits every descriptor of the task, the result pipe too
Path(os.environ["HANG_PIDS"]).write_text(str(helper.pid))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(x)
'''


@pytest.mark.slow
def test_a_process_the_model_forked_neither_holds_back_its_result_nor_outlives_it(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "forks.py").write_text(FORKS)
    pids = tmp_path / "pids.txt"
    done = subprocess.run(
        [sys.executable, "-m", "initlint", "--no-cache", "--probe=all", "--device", "cpu", "--probe-timeout", "120", "forks.py"],
        cwd=project, capture_output=True, text=True, timeout=600, env={**os.environ, "HANG_PIDS": str(pids)},
    )
    assert done.stderr.splitlines()[-1] == (
        "initlint: probe: 1 of 1 models measured; 1 of 1 nn.Module classes built and run; 0 not probed"
    ), done.stderr
    assert _gone(int(pids.read_text()))
