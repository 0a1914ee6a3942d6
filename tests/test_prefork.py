"""The lint child forked at start-up (prefork.py): when it is forked, that it does the work,
and that a child that dies before or during its work loses nothing but the item it was on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from initlint import isolation, prefork
from initlint.cli import main

FORKS = hasattr(os, "fork")
pytestmark = pytest.mark.skipif(not FORKS, reason="the child is forked")


def _pid_and_item(item: str) -> tuple[int, str]:
    return os.getpid(), item


def _die_on_boom(item: str) -> tuple[int, str]:
    if item == "boom":
        os._exit(3)
    return os.getpid(), item


def _lost(item: str) -> tuple[int, str]:
    return -1, item


def test_the_other_commands_are_the_clis_commands_but_check():
    assert prefork.OTHER_COMMANDS == set(main.commands) - {"check"}


@pytest.mark.parametrize(
    "args, expected",
    [
        (["{file}"], True),
        (["--no-cache", "-q", "{file}", "{file}"], True),
        (["check", "{file}"], True),
        ([], False),  # '.': a folder
        (["--no-cache"], False),
        (["{folder}"], False),
        (["{file}", "{folder}"], False),
        (["{file}", "--help"], False),
        (["--version"], False),
        (["--show-files", "{file}"], False),
        (["-"], False),
        (["--stdin-filename=model.py", "{file}"], False),
        (["rules"], False),
        (["rule", "IL201"], False),
        (["probe", "{file}"], False),
        (["missing.py"], False),
    ],
)
def test_forked_only_for_a_run_that_lints_named_files(tmp_path, args, expected):
    model = tmp_path / "model.py"
    model.write_text("x = 1\n")
    filled = [arg.format(file=model, folder=tmp_path) for arg in args]
    assert prefork.lints_in_child(filled) is expected


@pytest.fixture
def started(tmp_path):
    """A child forked as the program would fork it; reaped whatever the test does."""
    model = tmp_path / "model.py"
    model.write_text("x = 1\n")
    prefork.start([str(model)])
    child = prefork._ready
    assert child is not None and prefork.waiting()
    yield child
    prefork.discard()
    child.close()


def test_the_child_forked_at_start_up_does_the_work(started):
    results = isolation.map_in_child(_pid_and_item, ["a", "b", "c"], _lost)

    assert results == [(started.pid, "a"), (started.pid, "b"), (started.pid, "c")]
    assert not prefork.waiting()
    with pytest.raises(ChildProcessError):  # reaped
        os.waitpid(started.pid, os.WNOHANG)


def test_a_child_that_died_before_its_work_loses_nothing(started):
    os.kill(started.pid, 9)

    results = isolation.map_in_child(_pid_and_item, ["a", "b"], _lost)

    pids = {pid for pid, _ in results}
    assert [item for _, item in results] == ["a", "b"]
    assert len(pids) == 1 and pids.isdisjoint({started.pid, os.getpid(), -1})


def test_a_crash_in_the_child_costs_the_item_it_was_on(started):
    results = isolation.map_in_child(_die_on_boom, ["a", "boom", "c"], _lost)

    assert results[0] == (started.pid, "a")
    assert results[1] == (-1, "boom")
    assert results[2][1] == "c" and results[2][0] not in (started.pid, os.getpid(), -1)


def test_discard_kills_and_reaps_the_waiting_child(started):
    prefork.discard()

    assert not prefork.waiting()
    with pytest.raises(ChildProcessError):
        os.waitpid(started.pid, os.WNOHANG)


def test_the_program_gives_the_same_findings_through_the_child(tmp_path, monkeypatch):
    """``python -m initlint FILE`` (child forked at start-up) and ``main`` in this process
    (no child) report the same findings."""
    from click.testing import CliRunner

    from tests.conftest import FIXTURES

    model = tmp_path / "model.py"
    model.write_text((FIXTURES / "bad_inits.py").read_text())
    command = [sys.executable, "-m", "initlint", "--no-cache", "--format", "json", str(model)]
    program = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    monkeypatch.chdir(tmp_path)
    here = CliRunner().invoke(main, command[3:], catch_exceptions=False)

    assert program.returncode == here.exit_code == 1
    assert program.stderr == ""
    findings = json.loads(program.stdout)
    assert findings == json.loads(here.output)
    assert len(findings) > 5
