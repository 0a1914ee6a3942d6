"""Notebooks: linted cell by cell with earlier cells visible, reported as ``cell N``, noqa in
cells, --fix writes valid nbformat with only the changed source different, the probe's view."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from initlint.notebook import NotebookError, definition_source, read_notebook, replace_sources

NOTEBOOK = Path(__file__).parent / "notebooks" / "model_cells.ipynb"
#: the shared corpus sits in ``shared/`` beside the checkout (or above a worktree)
CORPUS = next((p / "shared" / "corpus" for p in Path(__file__).resolve().parents if (p / "shared" / "corpus").is_dir()), Path("/nonexistent"))


@pytest.fixture
def notebook(tmp_path) -> Path:
    path = tmp_path / "model_cells.ipynb"
    shutil.copy(NOTEBOOK, path)
    return path


def test_findings_at_the_cell_and_line(cli, notebook):
    result = cli(["--no-cache", "model_cells.ipynb"], notebook.parent)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("model_cells.ipynb:cell 3:7:9: IL501 [*] [misuse] `nn.init.xavier_normal` is deprecated")
    # the fan-in comes from HIDDEN in cell 2: earlier cells are visible
    assert lines[1] == (
        "model_cells.ipynb:cell 3:8:9: IL201 [exploding] U(-100, 100) on `self.fc2.weight` gives E[W^2] = 3.3e3; "
        "at fan-in 128 (width) the variance gain is 4.3e5 per layer (std x650); PyTorch's default gives 0.33"
    )
    assert result.exit_code == 1
    data = json.loads(cli(["--no-cache", "--format", "json", "model_cells.ipynb"], notebook.parent).stdout)
    assert [(item["code"], item["cell"], item["line"], item["column"]) for item in data] == [("IL501", 3, 7, 9), ("IL201", 3, 8, 9)]


def test_noqa_in_a_cell(cli, notebook):
    data = json.loads(notebook.read_text())
    data["cells"][4]["source"] = ["nn.init.uniform_(model.fc2.weight, 0.1, -0.1)"]
    notebook.write_text(json.dumps(data, indent=1))
    result = cli(["--no-cache", "model_cells.ipynb"], notebook.parent)
    assert "model_cells.ipynb:cell 5:1:1: IL206" in result.stdout
    data["cells"][4]["source"] = ["nn.init.uniform_(model.fc2.weight, 0.1, -0.1)  # noqa: IL206"]
    notebook.write_text(json.dumps(data, indent=1))
    assert "IL206" not in cli(["--no-cache", "model_cells.ipynb"], notebook.parent).stdout


def test_fix_rewrites_only_the_source(cli, notebook):
    before = notebook.read_text()
    result = cli(["--no-cache", "--fix", "model_cells.ipynb"], notebook.parent)
    assert result.exit_code == 1  # IL201 has no fix and stays
    after = notebook.read_text()
    assert after == before.replace('"        nn.init.xavier_normal(self.out.weight)\\n"', '"        nn.init.xavier_normal_(self.out.weight)\\n"')
    old, new = json.loads(before), json.loads(after)
    assert new["cells"][3]["outputs"] == old["cells"][3]["outputs"]
    assert new["nbformat"] == 4 and len(new["cells"]) == 5
    assert cli(["--no-cache", "--fix", "model_cells.ipynb"], notebook.parent).exit_code == 1
    assert notebook.read_text() == after  # a second run changes nothing


def test_diff_is_per_cell(cli, notebook):
    result = cli(["--no-cache", "--diff", "model_cells.ipynb"], notebook.parent)
    assert result.stdout.startswith("--- a/model_cells.ipynb:cell 3\n+++ b/model_cells.ipynb:cell 3\n")
    assert "+        nn.init.xavier_normal_(self.out.weight)\n" in result.stdout


def test_ipython_syntax_and_bad_cells():
    raw = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "source": "if True:\n    !pip install x\nfiles = !ls\nlen?\n"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "source": "print 'python 2'"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "source": "%%bash\necho hi"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "source": "x = (1\n     % 2)"},
    ]})
    notebook = read_notebook(raw)
    assert notebook.text == "if True:\n    pass\npass\npass\n\n\n\nx = (1\n     % 2)\n"
    first, second, third, fourth = notebook.cells
    assert first.ipython_lines == {2, 3, 4} and fourth.ipython_lines == frozenset()
    assert second.problem == "syntax error at line 1, column 1: Missing parentheses in call to 'print'. Did you mean print(...)?"
    assert notebook.locate(8) == (fourth, 1)


def test_a_broken_cell_is_reported_and_the_rest_linted(cli, tmp_path):
    data = json.loads(NOTEBOOK.read_text())
    data["cells"][3]["source"].append("\nprint 'x'")
    (tmp_path / "nb.ipynb").write_text(json.dumps(data))
    result = cli(["--no-cache", "nb.ipynb"], tmp_path)
    assert result.exit_code == 2
    assert "nb.ipynb: cell 4: syntax error at line 10, column 1" in result.stderr
    assert "nb.ipynb:cell 3:8:9: IL201" in result.stdout


def test_not_a_notebook(cli, tmp_path):
    (tmp_path / "bad.ipynb").write_text("{not json")
    result = cli(["--no-cache", "bad.ipynb"], tmp_path)
    assert result.exit_code == 2
    assert "bad.ipynb: not a valid notebook: invalid JSON at line 1, column 2" in result.stderr
    with pytest.raises(NotebookError):
        read_notebook('{"nbformat": 3, "worksheets": []}')


def test_replace_sources_keeps_everything_else():
    raw = NOTEBOOK.read_text()
    changed = replace_sources(raw, {2: "class Net:\n    pass\n"})
    assert json.loads(changed)["cells"][2]["source"] == ["class Net:\n", "    pass\n"]
    head = raw[: raw.index('"class Net(nn.Module)')]
    assert changed.startswith(head) and changed.endswith(raw[raw.index('   ]\n  },\n  {\n   "cell_type": "code",\n   "execution_count": 3'):])


def test_definition_source_runs_definitions_only():
    source = definition_source(NOTEBOOK)
    namespace: dict = {}
    exec(compile(source.text, "model_cells.ipynb", "exec"), namespace)  # no training, no shell
    assert "Net" in namespace and namespace["HIDDEN"] == 128 and "model" not in namespace
    assert source.skipped == (2, 4, 5)
    assert source.text.count("\n") == source.notebook.text.count("\n")  # same line numbers as the lint
    line = source.text.splitlines().index("class Net(nn.Module):") + 1
    assert source.notebook.locate(line)[0].number == 3


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside the checkout")
def test_corpus_notebooks_lint_without_error(cli, tmp_path):
    notebooks = sorted(str(p) for p in CORPUS.rglob("*.ipynb"))
    assert len(notebooks) == 64
    result = cli(["--no-cache", "--format", "json", *notebooks], tmp_path)
    assert result.exit_code in (0, 1), result.stderr
    assert result.stderr == ""
