"""Fixes: each one's exact edit, the file parses after it, the finding is gone, a second --fix
changes nothing, and everything outside the edit is byte-identical. Plus --diff, --show-fixes,
--add-noqa, atomic writes and files changed on disk."""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

import pytest

from initlint.catalog import examples, read_page
from initlint.config import Settings
from initlint.documents import Document, lint_document
from initlint.engine import check_source, rules_for
from initlint.findings import Effect, Finding, Location
from initlint.fixes import FIXABLE_CODES, attach_fixes
from initlint.fixes.attach import FIXES, SAFE, UNSAFE


def _codes(text: str) -> list[str]:
    settings = Settings()
    return [f.code for f in lint_document(Document("x.py", b"", text), rules_for(settings), settings, fixes=False).findings]


def _fix(cli, tmp_path: Path, source: str, *args: str) -> str:
    """Write ``source``, run ``initlint --fix ARGS``, return the new text (and check that a
    second run leaves it alone)."""
    path = tmp_path / "model.py"
    path.write_text(source)
    cli(["--fix", "--no-cache", *args, "model.py"], tmp_path)
    fixed = path.read_text()
    ast.parse(fixed)
    cli(["--fix", "--no-cache", *args, "model.py"], tmp_path)
    assert path.read_text() == fixed, "a second --fix changed the file again"
    return fixed


HEAD = "import torch\nimport torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"


def _net(*body: str, tail: str = "") -> str:
    return HEAD + "".join(f"        {line}\n" for line in body) + tail


CASES = {
    # code: (source, expected, extra args)
    "IL501": (
        _net("self.fc = nn.Linear(64, 64)", "nn.init.xavier_uniform(self.fc.weight)  # keep me"),
        _net("self.fc = nn.Linear(64, 64)", "nn.init.xavier_uniform_(self.fc.weight)  # keep me"),
        (),
    ),
    "IL206": (
        _net("self.fc = nn.Linear(64, 64)", "nn.init.uniform_(self.fc.bias, a=0.1,  b=-0.1)"),
        _net("self.fc = nn.Linear(64, 64)", "nn.init.uniform_(self.fc.bias, a=-0.1,  b=0.1)"),
        (),
    ),
    "IL502": (
        _net("self.fc = nn.Linear(64, 64)", "# zero the bias", "self.fc.bias.zero_()", "self.fc.weight.normal_(0, 0.05)", "self.out = nn.Linear(64, 2)"),
        _net(
            "self.fc = nn.Linear(64, 64)", "# zero the bias", "with torch.no_grad():",
            "    self.fc.bias.zero_()", "    self.fc.weight.normal_(0, 0.05)", "self.out = nn.Linear(64, 2)",
        ),
        (),
    ),
    "IL503": (
        HEAD + "        self.fc = nn.Linear(8, 8)\n        self.apply(self._init_weights())\n\n"
        "    def _init_weights(self, m):\n        if isinstance(m, nn.Linear):\n            nn.init.zeros_(m.bias)\n",
        HEAD + "        self.fc = nn.Linear(8, 8)\n        self.apply(self._init_weights)\n\n"
        "    def _init_weights(self, m):\n        if isinstance(m, nn.Linear):\n            nn.init.zeros_(m.bias)\n",
        (),
    ),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_safe_fix_exact_edit(cli, tmp_path, code):
    source, expected, args = CASES[code]
    assert code in _codes(source)
    assert FIXES[code].applicability is SAFE
    assert _fix(cli, tmp_path, source, *args) == expected
    assert code not in _codes(expected)


def _bad_example(code: str) -> str:
    return examples(read_page(code)).bad[0]


@pytest.mark.parametrize("code", sorted(c for c in FIXES if FIXES[c].applicability is UNSAFE))
def test_unsafe_fixes_wait_for_the_flag(cli, tmp_path, code):
    """Without --unsafe-fixes nothing changes; with it the catalog's bad example is fixed
    where the rule's details allow (see the exact-edit tests below)."""
    source = _bad_example(code)
    path = tmp_path / "model.py"
    path.write_text(source)
    result = cli(["--fix", "--no-cache", "model.py"], tmp_path)
    assert path.read_text() == source
    assert result.exit_code == 1


def _apply(source: str, code: str, unsafe: bool = True) -> str:
    """Lint + fix in process until nothing changes (the runner the CLI uses)."""
    from initlint.fixes.runner import fix_document

    settings = Settings()
    rules = rules_for(settings)
    document = Document("x.py", source.encode(), source)
    outcome = fix_document(document, lambda d: lint_document(d, rules, settings), unsafe)
    return outcome.current.text


UNSAFE_CASES = {
    "IL301": (
        "xavier_uniform_(layer.weight)",
        'kaiming_uniform_(layer.weight, nonlinearity="relu")',
    ),
    "IL302": (
        "nn.init.kaiming_normal_(self.layers[-1].weight, nonlinearity=\"relu\")",
        None,
    ),
}


@pytest.mark.parametrize("code", ["IL501", "IL503", "IL206", "IL502", "IL201", "IL202", "IL203", "IL301", "IL302", "IL303", "IL401", "IL205", "IL209", "IL506"])
def test_fix_on_the_catalog_example(code):
    """The catalog's bad example: after --fix (--unsafe-fixes for unsafe ones) it parses, the
    finding is gone, and only the lines of the edit changed."""
    source = _bad_example(code)
    assert code in _codes(source)
    fixed = _apply(source, code, unsafe=FIXES[code].applicability is UNSAFE)
    ast.parse(fixed)
    assert code not in _codes(fixed)
    assert _apply(fixed, code) == fixed
    old, new = source.splitlines(), fixed.splitlines()
    first = next(i for i, (a, b) in enumerate(zip(old, new)) if a != b)
    last = next(i for i, (a, b) in enumerate(zip(reversed(old), reversed(new))) if a != b)
    assert old[:first] == new[:first] and old[len(old) - last:] == new[len(new) - last:]
    assert len(old) - last - first <= 2  # the edit touches at most the init's own lines


def test_unsafe_exact_edits():
    relu = "import torch.nn as nn\n\n\nclass MLP(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.layers = nn.ModuleList([nn.Linear(256, 256) for _ in range(8)])\n        for layer in self.layers:\n            nn.init.xavier_uniform_(layer.weight)\n\n    def forward(self, x):\n        for layer in self.layers:\n            x = nn.functional.relu(layer(x))\n        return x\n"
    assert "IL301" in _codes(relu)
    assert _apply(relu, "IL301") == relu.replace(
        "nn.init.xavier_uniform_(layer.weight)", 'nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")'
    )
    tanh = relu.replace("xavier_uniform_(layer.weight)", "kaiming_normal_(layer.weight, nonlinearity='relu')").replace("nn.functional.relu", "torch.tanh").replace("import torch.nn as nn", "import torch\nimport torch.nn as nn")
    assert "IL302" in _codes(tanh)
    assert _apply(tanh, "IL302") == tanh.replace(
        "nn.init.kaiming_normal_(layer.weight, nonlinearity='relu')",
        "nn.init.xavier_normal_(layer.weight, gain=nn.init.calculate_gain('tanh'))",
    )
    trunc = _net("self.fc = nn.Linear(64, 64)", "nn.init.trunc_normal_(self.fc.weight, std=3.0)")
    assert "IL205" in _codes(trunc)
    assert _apply(trunc, "IL205") == trunc.replace("std=3.0)", "std=3.0, a=-2.0 * 3.0, b=2.0 * 3.0)")
    nothing_cut = _net("self.fc = nn.Linear(64, 64)", "nn.init.trunc_normal_(self.fc.weight, std=0.02)")
    assert "IL209" in _codes(nothing_cut)
    assert _apply(nothing_cut, "IL209") == nothing_cut.replace("std=0.02)", "std=0.02, a=-2.0 * 0.02, b=2.0 * 0.02)")
    twice = _net("self.fc = nn.Linear(64, 64)", "# first init", "nn.init.normal_(self.fc.weight)", "nn.init.xavier_uniform_(self.fc.weight)")
    assert "IL506" in _codes(twice)
    assert _apply(twice, "IL506") == twice.replace("        nn.init.normal_(self.fc.weight)\n", "")


def test_scheme_fix_needs_the_activation_in_details():
    """IL201/IL202/IL203 fixes read details['activation']; without it there is no fix (no
    guess), with it the fan-in-scaled scheme for that activation."""
    source = _net("self.fc = nn.Linear(128, 128)", "nn.init.uniform_(self.fc.weight, -100, 100)")
    line = source.splitlines().index("        nn.init.uniform_(self.fc.weight, -100, 100)") + 1

    def finding(details):
        location = Location("x.py", line, 9, line, 52)
        return Finding("IL201", "extreme-uniform-range", Effect.EXPLODING, "m", location, details, "advice")

    unknown = finding({"predicted_gain": 4.3e5})
    attach_fixes(source, [unknown])
    assert not unknown.fix.automatic and unknown.fix.message == "advice"
    for activation, expected in [
        ("relu", "nn.init.kaiming_uniform_(self.fc.weight, nonlinearity=\"relu\")"),
        ("tanh", "nn.init.xavier_uniform_(self.fc.weight, gain=nn.init.calculate_gain(\"tanh\"))"),
        ("identity", "nn.init.kaiming_uniform_(self.fc.weight, nonlinearity=\"linear\")"),
    ]:
        known = finding({"activation": activation})
        attach_fixes(source, [known])
        assert known.fix.applicability is UNSAFE
        (edit,) = known.fix.edits
        from initlint.documents import apply_text_edits

        fixed = apply_text_edits(source, known.fix.edits)
        assert fixed == source.replace("nn.init.uniform_(self.fc.weight, -100, 100)", expected)
        assert "IL201" not in _codes(fixed)
    gelu = finding({"activation": "gelu"})
    attach_fixes(source, [gelu])
    assert not gelu.fix.automatic


def test_deprecated_name_import_gets_the_new_name(cli, tmp_path):
    source = "from torch.nn.init import normal\nimport torch.nn as nn\n\nfc = nn.Linear(4, 4)\nnormal(fc.weight)\n"
    fixed = _fix(cli, tmp_path, source)
    assert fixed == "from torch.nn.init import normal, normal_\nimport torch.nn as nn\n\nfc = nn.Linear(4, 4)\nnormal_(fc.weight)\n"


def test_fix_keeps_crlf_bom_and_coding(cli, tmp_path):
    source = "\ufeff" + _net("self.fc = nn.Linear(64, 64)", "nn.init.normal(self.fc.weight)  # é").replace("\n", "\r\n")
    path = tmp_path / "model.py"
    path.write_bytes(source.encode("utf-8"))
    cli(["--fix", "--no-cache", "model.py"], tmp_path)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8") == source.replace("nn.init.normal(", "nn.init.normal_(")
    latin = "# -*- coding: latin-1 -*-\n" + _net("self.fc = nn.Linear(64, 64)", "nn.init.normal(self.fc.weight)  # café")
    path.write_bytes(latin.encode("latin-1"))
    cli(["--fix", "--no-cache", "model.py"], tmp_path)
    assert path.read_bytes() == latin.replace("normal(", "normal_(").encode("latin-1")


def test_diff_prints_and_writes_nothing(cli, tmp_path):
    source = _net("self.fc = nn.Linear(64, 64)", "nn.init.normal(self.fc.weight)")
    path = tmp_path / "model.py"
    path.write_text(source)
    result = cli(["--diff", "--no-cache", "model.py"], tmp_path)
    assert result.exit_code == 1
    assert path.read_text() == source
    assert "-        nn.init.normal(self.fc.weight)\n+        nn.init.normal_(self.fc.weight)\n" in result.stdout
    assert result.stdout.startswith("--- a/model.py\n+++ b/model.py\n")
    assert "Would fix 1 finding." in result.stderr
    path.write_text(source.replace("normal(", "normal_("))
    clean = cli(["--diff", "--no-cache", "model.py"], tmp_path)
    assert clean.exit_code == 0 and clean.stdout == ""


def test_show_fixes_lists_what_was_fixed(cli, tmp_path):
    source = _net("self.fc = nn.Linear(64, 64)", "nn.init.xavier_normal(self.fc.weight)", "nn.init.uniform(self.fc.bias, 0.1, -0.1)")
    (tmp_path / "model.py").write_text(source)
    listed = cli(["--no-cache", "--show-fixes", "model.py"], tmp_path)
    assert "model.py:9:9: IL501 [*] [misuse]" in listed.stdout
    assert "    safe fix: use `xavier_normal_` (same arguments)" in listed.stdout
    assert "[*] 3 fixable with --fix." in listed.stdout
    result = cli(["--fix", "--show-fixes", "--no-cache", "model.py"], tmp_path)
    assert result.exit_code == 0
    assert "Fixed 3 findings in 1 file.\n- model.py:\n    1 x IL206 (reversed-uniform-bounds)\n    2 x IL501 (deprecated-init-alias)\n" in result.stdout


def test_json_fix_object(cli, tmp_path):
    (tmp_path / "model.py").write_text(_net("self.fc = nn.Linear(64, 64)", "nn.init.xavier_normal(self.fc.weight)"))
    data = json.loads(cli(["--format", "json", "--no-cache", "model.py"], tmp_path).stdout)
    assert [item["code"] for item in data] == ["IL501"]
    assert data[0]["fix"] == {
        "message": "use `xavier_normal_` (same arguments)",
        "applicability": "safe",
        "edits": [{"content": "_", "location": {"line": 9, "column": 30}, "end_location": {"line": 9, "column": 30}, "cell": None}],
    }
    assert data[0]["cell"] is None


def test_a_file_changed_on_disk_is_not_written(tmp_path, monkeypatch):
    from initlint.fixes import runner

    path = tmp_path / "model.py"
    path.write_text("old\n")
    assert runner.write_atomically(path, b"new\n", b"something else\n") is not None
    assert path.read_text() == "old\n"
    path.chmod(0o640)
    assert runner.write_atomically(path, b"new\n", b"old\n") is None
    assert path.read_text() == "new\n" and (path.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["model.py"]  # no temporary file left


def test_cli_reports_a_file_changed_while_fixing(cli, tmp_path, monkeypatch):
    from initlint.fixes import runner

    source = _net("self.fc = nn.Linear(64, 64)", "nn.init.normal(self.fc.weight)")
    path = tmp_path / "model.py"
    path.write_text(source)
    real = runner.fix_document

    def meddle(document, lint, unsafe):
        outcome = real(document, lint, unsafe)
        path.write_text(source + "# edited meanwhile\n")
        return outcome

    monkeypatch.setattr(runner, "fix_document", meddle)
    result = cli(["--fix", "--no-cache", "model.py"], tmp_path)
    assert result.exit_code == 2
    assert "model.py: changed on disk since initlint read it; fixes not written (run again)" in result.stderr
    assert path.read_text() == source + "# edited meanwhile\n"


def test_add_noqa(cli, tmp_path):
    source = _net(
        "self.fc = nn.Linear(64, 64)",
        "nn.init.uniform_(self.fc.weight, -100, 100)",
        "nn.init.zeros_(self.fc.weight)  # noqa: IL101",
    )
    path = tmp_path / "model.py"
    path.write_text(source)
    result = cli(["--add-noqa", "--no-cache", "model.py"], tmp_path)
    assert result.exit_code == 0
    assert result.stdout == "Added 1 noqa directive in 1 file.\n"
    text = path.read_text()
    # the uniform_ is overwritten by the zeros_ on the next line: dead (IL506), so no IL201
    assert "        nn.init.uniform_(self.fc.weight, -100, 100)  # noqa: IL506\n" in text
    assert "        nn.init.zeros_(self.fc.weight)  # noqa: IL101\n" in text
    assert cli(["--no-cache", "model.py"], tmp_path).exit_code == 0


@pytest.mark.parametrize(
    "old, new",
    [
        ("x = 1\n" * 3000 + "a\n" + "x = 1\n" * 3000, "x = 1\n" * 3000 + "b\n" + "x = 1\n" * 3000),
        ("x = 1\n" * 3000, "x = 1\n" * 2999 + "x = 2\n"),
        ("a\nb\nc\n", "a\nc\n"),
        ("a\nb\n", "a\nb\nc\n"),
        ("same\n", "same\n"),
        ("p\nx\nx\nq\n", "p\nx\ny\nx\nq\n"),
    ],
)
def test_text_edits_turn_the_old_text_into_the_new_one(old, new):
    # the common first and last lines are skipped before matching: 3,000 equal lines around a
    # change must still give exactly the lines that differ, at their place in the old text
    from initlint.documents import apply_text_edits
    from initlint.fixes.base import text_edits

    edits = text_edits(old, new)
    assert apply_text_edits(old, edits) == new
    assert len(edits) == (0 if old == new else 1)


def test_one_edit_in_a_file_of_many_equal_lines_is_placed_on_its_line():
    from initlint.fixes.base import text_edits

    old = "x = 1\n" * 3000 + "nn.init.normal(w)\n" + "x = 1\n" * 3000
    new = old.replace("nn.init.normal(", "nn.init.normal_(")
    (edit,) = text_edits(old, new)
    assert (edit.line, edit.column, edit.end_line, edit.end_column, edit.content) == (3001, 15, 3001, 15, "_")


_NESTED = (
    "# header\n"
    "class Net(nn.Module):\n"
    "\tdef __init__(self):\n"
    "\t\tsuper().__init__()\n"
    "\t\tif True:\n"
    "\t\t  # odd indent, kept\n"
    "\t\t  nn.init.normal(self.w)\n"
    "\t\t  nn.init.zeros_(self.b)\n"
    "x = nn.init.normal(w)"  # no final newline
)


@pytest.mark.parametrize(
    "target, removal, local",
    [
        ("nn.init.normal(self.w)", False, True),  # inside a block: only its statement regenerated
        ("nn.init.zeros_(self.b)", True, True),  # a statement removed: its block regenerated
        ("x = nn.init.normal(w)", False, False),  # top level: no statement holds it, whole module
    ],
)
def test_a_fix_regenerates_only_the_statement_around_it(target, removal, local):
    # the statement's code is generated inside its blocks' own indents (a tab, then two
    # spaces here): the result is exactly what rewriting the whole module gives
    import libcst as cst

    from initlint.fixes.attach import _ancestors
    from initlint.fixes.base import Change, changed_code, changed_text
    from initlint.positions import positions

    module = cst.parse_module(_NESTED)
    ranges = positions(module)
    wanted = cst.parse_statement(target + "\n")
    node = next(
        n for n in ranges.nodes()
        if isinstance(n, (cst.SimpleStatementLine, cst.Call)) and module.code_for_node(n).strip() == target
        and (isinstance(n, cst.SimpleStatementLine) if removal or not local else isinstance(n, cst.Call))
    )
    if removal:
        change = Change("", {node: cst.RemovalSentinel.REMOVE})
    else:
        change = Change("", {node: node.with_changes(func=node.func.with_changes(attr=cst.Name("normal_")))}
                        if isinstance(node, cst.Call) else {node: wanted})
    result = changed_text(_NESTED, module, change, ranges.spans, lambda n: _ancestors(module, n, ranges.offsets))
    if local:
        assert result == changed_code(module, change)
        assert result != _NESTED
    else:
        assert result is None


def test_the_light_list_of_fixable_rules_is_the_fix_table():
    # fixes/__init__.py names them without importing libcst; attach.py holds the functions
    assert FIXABLE_CODES == set(FIXES)


_CLASSES = (
    "import torch.nn as nn\r\n\r\n\r\n"
    "@register\r\nclass Other(nn.Module):\r\n    def __init__(self):\r\n        super().__init__()\r\n\r\n\r\n"
    "class Net(nn.Module):\r\n    def __init__(self):\r\n        super().__init__()\r\n"
    "        self.fc = nn.Linear(64, 64)\r\n        nn.init.normal(self.fc.weight)\r\n"
)


def test_fixes_parse_only_the_classes_that_hold_findings():
    from initlint.fixes.attach import _fix_scope
    from initlint.parsing import parse

    scoped, kept = _fix_scope(_CLASSES, parse(_CLASSES), {14})
    lines, original = scoped.splitlines(keepends=True), _CLASSES.splitlines(keepends=True)
    assert len(lines) == len(original)
    assert [n for n, line in enumerate(lines, 1) if line != original[n - 1]] == [4, 5, 6, 7]  # decorator to end
    assert all(lines[n - 1] == "\r\n" for n in (4, 5, 6, 7))
    assert kept == set(range(1, 16)) - {4, 5, 6, 7}
    (finding,) = [f for f in check_source(_CLASSES.replace("\r\n", "\n")) if f.code == "IL501"]
    attach_fixes(_CLASSES, [finding])
    (edit,) = finding.fix.edits
    assert (edit.line, edit.column, edit.content) == (14, 23, "_")  # normal -> normal_
    assert _fix_scope("x = 1\n", parse("x = 1\n"), {1}) == ("x = 1\n", None)  # no class to leave out


_METHODS = (
    "import torch.nn as nn\n\n\n"
    "def helper(m):\n    return m\n\n\n"
    "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.fc = nn.Linear(64, 64)\n        nn.init.normal(self.fc.weight)\n\n"
    "    @staticmethod\n    def other(x):\n        return x\n"
)


def test_fixes_parse_only_the_methods_and_functions_that_hold_findings():
    from initlint.fixes.attach import _fix_scope
    from initlint.parsing import parse

    scoped, kept = _fix_scope(_METHODS, parse(_METHODS), {12})
    lines = scoped.splitlines(keepends=True)
    assert [n for n, line in enumerate(lines, 1) if line != _METHODS.splitlines(keepends=True)[n - 1]] == [4, 5, 14, 15, 16]
    assert kept == set(range(1, 18)) - {4, 5, 14, 15, 16}
    # a fix that reads the file's functions (IL503: an init function passed by name) keeps them
    assert _fix_scope(_METHODS, parse(_METHODS), {12}, definitions=True) == (_METHODS, None)
    (finding,) = [f for f in check_source(_METHODS) if f.code == "IL501"]
    attach_fixes(_METHODS, [finding])
    (edit,) = finding.fix.edits
    assert (edit.line, edit.column, edit.content) == (12, 23, "_")


def test_an_init_function_passed_by_name_is_still_found_by_its_fix():
    text = (
        "import torch.nn as nn\n\n\ndef init_weights(m):\n    nn.init.zeros_(m.bias)\n\n\n"
        "model = nn.Sequential(nn.Linear(4, 4))\nmodel.apply(init_weights())\n"
    )
    (finding,) = [f for f in check_source(text) if f.code == "IL503"]
    attach_fixes(text, [finding])
    (edit,) = finding.fix.edits
    assert (edit.line, edit.column, edit.end_column, edit.content) == (9, 25, 27, "")  # init_weights() -> init_weights


def test_a_file_that_does_not_parse_is_fixed_whole(monkeypatch):
    from initlint.fixes import attach

    calls = []
    monkeypatch.setattr(attach, "_attach", lambda text, findings, kept: calls.append((text, kept)) or [])
    (finding,) = [f for f in check_source(_CLASSES.replace("\r\n", "\n")) if f.code == "IL501"]
    attach.attach_fixes(_CLASSES + "x = (\n", [finding])  # CPython cannot parse it: all of it
    assert calls == [(_CLASSES + "x = (\n", None)]


def test_a_fix_that_reaches_outside_the_parsed_part_is_computed_on_the_whole_file(monkeypatch):
    from initlint.fixes import attach

    calls = []
    real = attach._attach

    def spy(text, findings, kept):
        calls.append(kept is None)
        return list(findings) if kept is not None else real(text, findings, kept)

    monkeypatch.setattr(attach, "_attach", spy)
    (finding,) = [f for f in check_source(_CLASSES.replace("\r\n", "\n")) if f.code == "IL501"]
    attach.attach_fixes(_CLASSES, [finding])
    assert calls == [False, True]
    assert finding.fix is not None and finding.fix.edits[0].line == 14
