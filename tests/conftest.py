"""Shared helpers: lint a snippet, read `# expect:` markers, run the CLI in-process."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint import check_source
from initlint.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent
_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>IL\d{3}(?:\s*,\s*IL\d{3})*)")


def lint(source: str):
    """Findings of a dedented snippet."""
    return check_source(textwrap.dedent(source))


def evaluate(source: str):
    """The evaluated facts (every entry) of a dedented snippet."""
    from initlint.model.entries import evaluate_file
    from initlint.model.project import Project
    from initlint.model.source import ParsedFile
    from initlint.parsing import parse

    text = textwrap.dedent(source)
    return evaluate_file(ParsedFile("<snippet>", parse(text), text, "snippet"), Project(lambda path: None))


def codes_and_lines(source: str) -> list[tuple[str, int]]:
    return [(f.code, f.location.line) for f in lint(source)]


def expected_markers(text: str) -> list[tuple[str, int]]:
    """(code, line) for every `# expect: CODE` comment in a fixture."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            found.extend((code.strip(), number) for code in match.group("codes").split(","))
    return sorted(found)


@pytest.fixture
def cli(monkeypatch):
    """Run `initlint ARGS` in-process from a working directory; returns the click Result."""

    def run(args: list[str], cwd: Path):
        monkeypatch.chdir(cwd)
        return CliRunner().invoke(main, args, catch_exceptions=False)

    return run


@pytest.fixture(autouse=True)
def _probe_workers_need_the_marker(request, monkeypatch):
    """A test that starts a probe worker must be marked ``probe``: ``-m "not probe"`` is the quick
    loop, and a worker (``import torch``) is what makes a test slow on a busy machine."""
    if request.node.get_closest_marker("probe") is not None:
        return

    def refuse(self):
        raise AssertionError(f"{request.node.nodeid} starts a probe worker: mark it @pytest.mark.probe")

    monkeypatch.setattr("initlint.probe.pool.WorkerPool._start", refuse)
