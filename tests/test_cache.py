"""The cache writes only where it is its own (issue 14, item 4), and a crafted or damaged cache
file is a miss, never a traceback or a wrong finding (item 11)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conftest import FIXTURES

BAD_MODEL = (FIXTURES / "bad_inits.py").read_text()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.py").write_text(BAD_MODEL)
    return tmp_path


def _codes(result) -> list[tuple[str, int]]:
    return [(f["code"], f["line"]) for f in json.loads(result.stdout)]


@pytest.mark.parametrize("where", [["--cache-dir", "src"], ["--cache-dir", "."], ["--config", "conf.toml"]])
def test_an_existing_folder_that_is_not_a_cache_gets_nothing_written(project, cli, where):
    (project / "conf.toml").write_text('cache-dir = ""\n')  # the config's own folder
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    first = cli(["--format", "json", *where, "src"], project)
    again = cli(["--format", "json", *where, "src"], project)
    after = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    assert after == before  # no .gitignore with '*', no cache file
    assert first.exit_code == again.exit_code == 1
    assert len(_codes(first)) == 11 and _codes(again) == _codes(first)  # the sources still lint
    folder = {"src": "src", ".": ".", "conf.toml": str(project)}[where[-1]]  # a config's folder: absolute
    assert first.stderr == (
        f"initlint: note: not caching in {folder}: it exists and is not an initlint cache folder "
        "(no .gitignore starting with '# created by initlint'); name a new folder for --cache-dir or cache-dir\n"
    )


def test_a_new_folder_is_created_marked_and_reused(project, cli):
    cli(["--cache-dir", "build/lint-cache", "src"], project)
    folder = project / "build" / "lint-cache"
    assert (folder / ".gitignore").read_text() == "# created by initlint\n*\n"
    assert len(list(folder.glob("v*.json"))) == 1
    result = cli(["--format", "json", "--cache-dir", "build/lint-cache", "src"], project)
    assert result.stderr == "" and len(_codes(result)) == 11


def test_a_cache_folder_of_an_earlier_version_is_still_its_own(project, cli):
    (project / ".initlint_cache").mkdir()
    (project / ".initlint_cache" / ".gitignore").write_text("# created by initlint\n*\n")
    cli(["src"], project)
    assert len(list((project / ".initlint_cache").glob("v*.json"))) == 1


def _valid_cache(project: Path, cli) -> tuple[Path, dict]:
    cli(["src"], project)
    (file,) = (project / ".initlint_cache").glob("v*.json")
    return file, json.loads(file.read_text())


def _crafted(data: dict) -> list[tuple[str, object]]:
    """Damaged variants of a valid cache: every field of a finding with a wrong type, and
    shapes of the whole file json.loads accepts but initlint never writes."""
    (key,) = data
    entry = data[key]
    variants: list[tuple[str, object]] = [
        ("list", []), ("string", "x"), ("number", 5), ("null", None),
        ("deep", "[" * 100_000 + "]" * 100_000),  # json.loads recursion
        ("entry-list", {key: []}), ("findings-number", {key: {**entry, "findings": 5}}),
        ("findings-dict", {key: {**entry, "findings": {"a": 1}}}), ("error-number", {key: {**entry, "error": 5}}),
        ("hash-number", {key: {**entry, "hash": 5}}),
    ]
    wrong = {
        "code": [None, 5, ["IL101"]], "name": [None, 3], "effect": ["boom", None, 1], "message": [None, []],
        "path": [None, 7], "line": ["x", None, -1, 1.5, True], "column": ["1", None], "end_line": [None, {}],
        "end_column": [[]], "details": [[], "x", None], "cell": ["x", -1, 1.5, True],
        "fix": [5, [], {"message": "x"}, {"message": "x", "applicability": "maybe", "edits": []},
                {"message": "x", "applicability": "safe", "edits": "no"},
                {"message": "x", "applicability": "safe", "edits": [
                    {"content": "y", "location": {"line": "1", "column": 1}, "end_location": {"line": 1, "column": 1}, "cell": None}]},
                {"message": "x", "applicability": "safe", "edits": [{"content": 5}]}],
        "prediction": ["x", [], {"gain": "x"}, {"layers": 5}, {"layers": [1]}, {"depth": 1.5},
                       {"unknown_field": 1}, {"gain": float("nan")}, {"symmetric": "yes"}],
        "probe": ["x", {"status": "confirmed"}],
        "extra_key": [1],
    }
    for field, values in wrong.items():
        for value in values:
            item = copy.deepcopy(entry)
            item["findings"][0][field] = value
            variants.append((f"{field}={value!r}"[:40], {key: item}))
    for field in ("code", "line", "effect", "details"):
        item = copy.deepcopy(entry)
        del item["findings"][0][field]
        variants.append((f"no-{field}", {key: item}))
    return variants


SMALL_MODEL = """import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        nn.init.uniform(self.fc.weight, -100, 100)

    def forward(self, x):
        return self.fc(x).relu()
"""


def test_a_crafted_cache_is_a_miss_never_a_traceback(project, cli):
    # a one-class model (a finding with a fix, one with a prediction): ~70 runs of the program
    (project / "src" / "model.py").write_text(SMALL_MODEL)
    file, data = _valid_cache(project, cli)
    fresh = cli(["--format", "json", "--no-cache", "src"], project)
    for name, variant in _crafted(data):
        file.write_text(variant if isinstance(variant, str) else json.dumps(variant))
        result = cli(["--format", "json", "src"], project)  # CliRunner re-raises any exception
        assert (result.exit_code, result.stdout, result.stderr) == (1, fresh.stdout, ""), name
