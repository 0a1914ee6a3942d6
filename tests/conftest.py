"""Shared helpers: lint a snippet, read `# expect:` markers, run the CLI in-process, see what
the evaluator recorded for each entry and which builds it copied."""

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


@pytest.fixture
def memos(monkeypatch):
    """Every BuildMemo made while linting (builds.py), copying builds of any size."""
    from initlint.model.interp import builds

    made: list = []
    original = builds.BuildMemo.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(builds.BuildMemo, "__init__", init)
    monkeypatch.setattr(builds, "_MIN_STEPS", 0)
    monkeypatch.setattr(builds, "_MIN_STACKED_STEPS", 0)
    return made


def entry_facts(text: str) -> dict[str, tuple]:
    """What each class entry of ``text`` recorded, by line numbers and layer paths (comparable
    between two evaluations of the same text): its writes, events, modules, the functions it
    ran, and each module's int and string attributes."""
    from initlint.model.entries import evaluate_file
    from initlint.model.project import Project
    from initlint.model.source import ParsedFile
    from initlint.model.syntax import read_syntax
    from initlint.model.values import module_tree
    from initlint.parsing import parse

    tree = parse(text)
    facts = evaluate_file(ParsedFile("models.py", tree, text, "models"), Project(lambda path: None), read_syntax(tree))

    def line(place) -> int:
        return place.node.span[0]

    summary = {}
    for entry in facts.entries[1:]:
        writes = tuple(
            (w.tensor.path if w.tensor else None, w.dist.describe(), line(w.place), tuple(line(p) for p in w.frames),
             w.conditional, w.no_grad, w.kind)
            for w in entry.writes
        )
        events = tuple((e.kind, line(e.place), tuple(line(p) for p in e.frames), e.at_write) for e in entry.events)
        tree_modules = [m for model in entry.models.values() for m in module_tree(model)]
        modules = tuple((m.path, m.kind) for m in tree_modules)
        executed = sorted(node.name.value for node in entry.executed)
        attributes = tuple(
            (m.path, name, repr(value)) for m in tree_modules for name, value in m.attrs.items()
            if isinstance(value, (int, str)) and not isinstance(value, bool)
        )
        summary[entry.name] = (writes, events, modules, executed, attributes)
    return summary
