"""Config like ruff: the nearest config above each file (its cache beside it), extend,
extend-select/extend-ignore, --force-exclude, --show-settings, --show-files, the JSON schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from initlint.config import KNOWN_KEYS, ConfigError, Settings, load_settings, settings_from_table

ZERO = (
    "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.fc1 = nn.Linear(128, 128)\n        self.fc2 = nn.Linear(128, 2)\n        nn.init.zeros_(self.fc1.weight)\n\n"
    "    def forward(self, x):\n        return self.fc2(self.fc1(x).relu())\n"
)
ALIAS = ZERO.replace("nn.init.zeros_(self.fc1.weight)", "nn.init.xavier_uniform(self.fc1.weight)")


def _codes(stdout: str) -> list[str]:
    return [line.split(": ")[1].split()[0] for line in stdout.splitlines() if ": IL" in line]


def test_each_file_takes_the_nearest_config_and_its_cache_sits_beside_it(cli, tmp_path):
    project = tmp_path / "proj"
    (project / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.initlint]\nignore = ["IL101"]\n')
    (project / "sub" / "initlint.toml").write_text('select = ["IL101"]\n')
    (project / "a.py").write_text(ZERO)
    (project / "sub" / "b.py").write_text(ZERO)
    (tmp_path / "c.py").write_text(ZERO)
    result = cli(["proj", "c.py"], tmp_path)
    assert [line.split(":")[0] for line in result.stdout.splitlines() if ": IL" in line] == ["c.py", "proj/sub/b.py"]
    assert (project / ".initlint_cache").is_dir() and (project / "sub" / ".initlint_cache").is_dir()
    assert (tmp_path / ".initlint_cache").is_dir()  # c.py has no config: the working directory


def test_extend_and_extend_select_ignore(cli, tmp_path):
    (tmp_path / "base.toml").write_text('select = ["IL1"]\nexclude = ["skipped/"]\n')
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.initlint]\nextend = "../base.toml"\nextend-select = ["IL501"]\n')
    (project / "m.py").write_text(ZERO.replace("self.fc1.weight)\n", "self.fc1.weight)\n        nn.init.xavier_uniform(self.fc2.weight)\n"))
    assert _codes(cli(["--no-cache", "proj"], tmp_path).stdout) == ["IL101", "IL501"]
    assert _codes(cli(["--no-cache", "--extend-ignore", "IL101", "proj"], tmp_path).stdout) == ["IL501"]
    settings = load_settings(project / "pyproject.toml")
    assert settings.select == ("IL1", "IL501") and settings.exclude == ("skipped/",)
    assert settings.extends == ((tmp_path / "base.toml").resolve(),)
    (tmp_path / "base.toml").write_text('extend = "proj/pyproject.toml"\n')
    with pytest.raises(ConfigError, match="'extend' makes a cycle"):
        load_settings(project / "pyproject.toml")


def test_extend_select_on_every_rule_keeps_every_rule():
    settings = settings_from_table({"extend-select": ["IL501"]}, Path("pyproject.toml"), Settings())
    assert settings.select == ()


def test_force_exclude_applies_to_named_files(cli, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.initlint]\nexclude = ["generated/"]\n')
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "m.py").write_text(ZERO)
    assert cli(["--no-cache", "generated/m.py"], tmp_path).exit_code == 1  # named: linted
    result = cli(["--no-cache", "--force-exclude", "generated/m.py"], tmp_path)
    assert result.exit_code == 0 and "no findings in 0 files" in result.stdout
    (tmp_path / "pyproject.toml").write_text('[tool.initlint]\nexclude = ["generated/"]\nforce-exclude = true\n')
    assert cli(["--no-cache", "generated/m.py"], tmp_path).exit_code == 0


def test_show_files_and_show_settings(cli, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.initlint]\nignore = ["IL5"]\nexclude = ["b.py"]\n')
    for name in ("a.py", "b.py", "n.ipynb"):
        (tmp_path / name).write_text(ZERO if name.endswith(".py") else '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    shown = cli(["--show-files"], tmp_path)
    assert shown.exit_code == 0 and shown.stdout == "a.py\nn.ipynb\n"
    settings = cli(["--show-settings", "a.py"], tmp_path)
    assert settings.exit_code == 0
    lines = settings.stdout.splitlines()
    assert lines[0] == "Settings for: a.py"
    assert lines[1] == f"Config: {(tmp_path / 'pyproject.toml').resolve()}"
    assert "ignore = ['IL5']" in lines and "exclude = ['b.py']" in lines
    assert lines[-1].startswith("rules = IL101, ") and "IL501" not in lines[-1]


def _schema() -> dict:
    from importlib import resources

    return json.loads((resources.files("initlint") / "schema" / "initlint.schema.json").read_text())


def test_schema_names_every_setting():
    from initlint.probe.options import KEYS

    schema = _schema()
    assert set(schema["properties"]) == set(KNOWN_KEYS)
    assert set(schema["properties"]["probe"]["properties"]) == set(KEYS)
    jsonschema.Draft202012Validator.check_schema(schema)


VALID = [
    {"select": ["IL2", "IL101"], "extend-ignore": ["IL207"], "fail-on": "exploding", "format": "sarif"},
    {"fail-on": ["symmetry", "IL5"], "exclude": ["x/"], "force-exclude": True, "max-layer-gain": 20.0},
    {"per-file-ignores": {"tests/*": ["IL1"]}, "min-stack-gain": 0.05, "probe": {"device": "cpu", "timeout": 30}},
]
INVALID = [
    {"select": "IL2"},  # not a list
    {"format": "xml"},
    {"unknown-key": 1},
    {"max-layer-gain": 0.5},
    {"min-stack-gain": 1.5},
    {"force-exclude": "yes"},
    {"probe": {"device": "tpu"}},
    {"probe": {"batch": 0}},
]


@pytest.mark.parametrize("table", VALID)
def test_schema_accepts_what_initlint_accepts(table):
    jsonschema.validate(table, _schema())
    settings_from_table(table, Path("pyproject.toml"), Settings())


@pytest.mark.parametrize("table", INVALID)
def test_schema_rejects_what_initlint_rejects(table):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(table, _schema())
    with pytest.raises(ConfigError):
        settings_from_table(table, Path("pyproject.toml"), Settings())


def test_a_pyproject_is_read_only_where_a_key_can_spell_initlint(tmp_path):
    from initlint.config import config_in

    plain, escaped, unrelated = (tmp_path / name for name in ("plain", "escaped", "unrelated"))
    for folder in (plain, escaped, unrelated):
        folder.mkdir()
    (plain / "pyproject.toml").write_text("[tool.initlint]\nignore = ['IL101']\n")
    # TOML's quoted keys take escapes: this table is [tool.initlint] too
    (escaped / "pyproject.toml").write_text('[tool."\\u0069nitlint"]\nignore = ["IL101"]\n')
    (unrelated / "pyproject.toml").write_text("[tool.ruff]\nline-length = 120\n")
    assert config_in(plain) == plain / "pyproject.toml"
    assert config_in(escaped) == escaped / "pyproject.toml"
    assert load_settings(escaped / "pyproject.toml").ignore == ("IL101",)
    assert config_in(unrelated) is None
