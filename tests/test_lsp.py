"""``initlint server`` with a real client process over stdio: initialize, didOpen ->
publishDiagnostics, didChange, codeAction (safe, unsafe, noqa), hover, didSave, shutdown."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")

from lsp_client import LspClient  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from lsp_latency import BLOCKS, HEADER  # noqa: E402

#: a long model file whose classes read a constant, an imported init and a base class
TOP = HEADER + '''SCALE = 0.05
from torch.nn.init import uniform_ as draw


class Scaled(nn.Module):
    def __init__(self, width=128):
        super().__init__()
        self.fc = nn.Linear(width, width)
        draw(self.fc.weight, -SCALE, SCALE)

    def forward(self, x):
        return torch.tanh(self.fc(x))


'''


def _text(blocks: int = 12) -> str:
    parts = [TOP]
    for n in range(blocks):
        parts.append(BLOCKS[n % len(BLOCKS)].format(n=n, w=64 + 16 * (n % 5)) + "\n\n")
    return "".join(parts)



SOURCE = """import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(256, 256)
        nn.init.xavier_uniform(self.proj.weight)

    def forward(self, x):
        return self.proj(x).tanh()
"""


@pytest.fixture
def client(tmp_path):
    client = LspClient([sys.executable, "-m", "initlint", "server"], cwd=str(tmp_path))
    result = client.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
    assert result["serverInfo"]["name"] == "initlint"
    capabilities = result["capabilities"]
    assert capabilities["hoverProvider"] and capabilities["codeActionProvider"]
    client.notify("initialized", {})
    yield client
    client.close()
    assert client.process.returncode == 0


def test_diagnostics_code_actions_and_hover(client, tmp_path):
    path = tmp_path / "encoder.py"
    path.write_text(SOURCE)
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": SOURCE}})
    _, message = client.diagnostics(uri)
    (diagnostic,) = message["params"]["diagnostics"]
    assert diagnostic["code"] == "IL501"
    assert diagnostic["source"] == "initlint"
    assert diagnostic["range"] == {"start": {"line": 7, "character": 8}, "end": {"line": 7, "character": 48}}
    assert diagnostic["severity"] == 1  # counts under the default --fail-on any: an error
    assert diagnostic["codeDescription"]["href"].endswith("/rules/IL501-deprecated-init-alias.md")

    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]},
    })
    titles = [action["title"] for action in actions]
    assert titles == [
        "initlint: use `xavier_uniform_` (same arguments) (IL501)",
        "initlint: silence IL501 on this line (# noqa)",
    ]
    assert actions[0]["isPreferred"] is True
    assert actions[0]["edit"]["changes"][uri] == [
        {"range": {"start": {"line": 7, "character": 30}, "end": {"line": 7, "character": 30}}, "newText": "_"}
    ]

    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 7, "character": 12}})
    assert hover["contents"]["kind"] == "markdown"
    assert hover["contents"]["value"].startswith("# IL501: deprecated-init-alias")
    assert client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}) is None

    fixed = SOURCE.replace("xavier_uniform(", "xavier_uniform_(")
    client.notify("textDocument/didChange", {
        "textDocument": {"uri": uri, "version": 2},
        "contentChanges": [{"range": {"start": {"line": 7, "character": 30}, "end": {"line": 7, "character": 30}}, "text": "_"}],
    })
    _, message = client.diagnostics(uri)
    assert message["params"]["diagnostics"] == [] and message["params"]["version"] == 2

    relu = fixed.replace("tanh()", "relu()").replace("nn.Linear(256, 256)", "nn.ModuleList([nn.Linear(256, 256) for _ in range(8)])")
    relu = relu.replace("nn.init.xavier_uniform_(self.proj.weight)", "for layer in self.proj:\n            nn.init.xavier_uniform_(layer.weight)")
    relu = relu.replace("return self.proj(x).relu()", "for layer in self.proj:\n            x = layer(x).relu()\n        return x")
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": relu}]})
    _, message = client.diagnostics(uri)
    (diagnostic,) = message["params"]["diagnostics"]
    assert diagnostic["code"] == "IL301" and diagnostic["severity"] == 1
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]},
    })
    assert actions[0]["title"] == 'initlint: use He init for the `relu` that follows: kaiming_uniform_(..., nonlinearity="relu") (IL301, unsafe)'
    assert actions[0]["isPreferred"] is False


def test_config_of_the_file_applies_and_save_rereads_it(client, tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.initlint]\nignore = ["IL501"]\nfail-on = ["exploding"]\n')
    path = project / "encoder.py"
    path.write_text(SOURCE)
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": SOURCE}})
    _, message = client.diagnostics(uri)
    assert message["params"]["diagnostics"] == []
    (project / "pyproject.toml").write_text('[tool.initlint]\nfail-on = ["exploding"]\n')
    client.notify("textDocument/didSave", {"textDocument": {"uri": (project / "pyproject.toml").as_uri()}})
    _, message = client.diagnostics(uri)
    (diagnostic,) = message["params"]["diagnostics"]
    assert diagnostic["code"] == "IL501" and diagnostic["severity"] == 3  # misuse, not counted: information


def _cli_diagnostics(path: Path, text: str) -> list[tuple]:
    """What ``initlint --format json`` reports for ``text`` at ``path``, as the server's fields."""
    import json
    import subprocess

    path.write_text(text)
    run = subprocess.run(
        [sys.executable, "-m", "initlint", "--no-cache", "--format", "json", str(path)],
        capture_output=True, text=True, cwd=path.parent,
    )
    assert run.returncode in (0, 1), run.stderr
    return sorted(
        (f["code"], f["line"] - 1, f["column"] - 1, f["end_line"] - 1, f["end_column"] - 1, f"[{f['effect']}] {f['message']}")
        for f in json.loads(run.stdout)
    )


def _server_diagnostics(message: dict) -> list[tuple]:
    return sorted(
        (d["code"], d["range"]["start"]["line"], d["range"]["start"]["character"], d["range"]["end"]["line"],
         d["range"]["end"]["character"], d["message"])
        for d in message["params"]["diagnostics"]
    )


@pytest.mark.slow
def test_after_edits_the_server_reports_what_the_command_line_reports(client, tmp_path):
    """didChange after didChange (one statement, a constant several classes read, a syntax error
    and back, a renamed init method): the published diagnostics are the CLI's on that text."""
    path = tmp_path / "models.py"
    text = _text()
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})
    _, message = client.diagnostics(uri)
    assert _server_diagnostics(message) == _cli_diagnostics(path, text)
    edits = [
        ("width=64,", "width=65,"),
        ("SCALE = 0.05", "SCALE = 100"),
        ("class Base(nn.Module):", "class Base(nn.Module)"),  # a syntax error
        ("class Base(nn.Module)", "class Base(nn.Module):"),
        ("def _init_weights(self):", "def _init_weight(self):"),  # IL510 on every Head
    ]
    codes = set()
    for version, (old, new) in enumerate(edits, start=2):
        text = text.replace(old, new, 1)
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]})
        _, message = client.wait(
            lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"].get("version") == version
        )
        if version == 4:
            (error,) = message["params"]["diagnostics"]
            assert error["message"].startswith("initlint could not analyse this file: syntax error at line")
            continue
        found = _server_diagnostics(message)
        assert found == _cli_diagnostics(path, text), old
        codes |= {item[0] for item in found}
    assert {"IL201", "IL501", "IL510", "IL511"} <= codes
