"""The language server: lint on open/change/save, code actions, hover.

The server is warm before the first edit: ``initialize`` imports the rules and libcst (code
actions edit with it) and lints a small model once, so a ``didChange`` costs only the lint of that document (no import, no cold
code paths). Diagnostics carry no fixes; code actions compute them for the diagnostics they are
asked about, on the text the diagnostics were computed from.

Every change is parsed and evaluated again in full: CPython's parser makes the parse a few
milliseconds of a change's ~70 ms on a 1,000-line file (benchmarks/lsp_latency.py). The
evaluation is not reused across edits: an entry's facts hold the objects of the run that made
them (the file, its classes, its namespace) and may depend on what other entries did to shared
module state, so reusing them would need the evaluator to track what each entry read and wrote.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from initlint import __version__
from initlint.config import CONFIG_NAMES, ConfigError
from initlint.findings import Finding
from initlint.lean import dataclass
from initlint.lsp.convert import code_point_column, diagnostic, text_edit

_WARM_UP = """import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(128, 128)
        nn.init.uniform_(self.fc.weight, -100, 100)
        nn.init.normal(self.fc.bias)

    def forward(self, x):
        return self.fc(x).relu()
"""


@dataclass
class Linted:
    """The last lint of a document: the text it read and what it found."""

    version: int | None
    text: str
    lines: list[str]
    findings: list[Finding]


class InitlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("initlint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.linted: dict[str, Linted] = {}
        self.hierarchy = None

    def settings_for(self, path: Path):
        from initlint.hierarchy import Hierarchy, cli_overrides

        if self.hierarchy is None:
            self.hierarchy = Hierarchy(cli_overrides())
        return self.hierarchy.for_file(path)

    def lint(self, uri: str) -> None:
        """Lint the document at ``uri`` and publish its diagnostics."""
        from initlint.catalog import page_path
        from initlint.documents import Document, lint_document
        from initlint.engine import rules_for
        from initlint.selection import FailPolicy

        document = self.workspace.get_text_document(uri)
        path = _path(uri)
        if path is None or path.suffix not in (".py", ".pyi"):
            return
        try:
            settings = self.settings_for(path)
        except ConfigError as error:
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"initlint: {error}"))
            return
        diagnostics: list[types.Diagnostic] = []
        text = document.source
        lines = text.splitlines()
        findings: list[Finding] = []
        if not (settings.exclude and self.hierarchy.excluded(path, False)):
            result = lint_document(Document(str(path), b"", text), rules_for(settings, str(path)), settings, fixes=False)
            findings = result.findings
            policy = FailPolicy(settings.fail_on)
            for finding in findings:
                page = page_path(finding.code)
                diagnostics.append(diagnostic(finding, lines, policy, page.name if page else None))
            if result.error is not None:
                diagnostics.append(types.Diagnostic(
                    range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
                    message=f"initlint could not analyse this file: {result.error.reason}",
                    severity=types.DiagnosticSeverity.Error,
                    source="initlint",
                ))
        self.linted[uri] = Linted(document.version, text, lines, findings)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=document.version)
        )


def _path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


server = InitlintServer()


@server.feature(types.INITIALIZE)
def initialize(ls: InitlintServer, params: types.InitializeParams) -> None:
    """Warm up: every import and code path a lint needs, before the first keystroke."""
    from initlint.config import Settings
    from initlint.documents import Document, lint_document
    from initlint.engine import rules_for
    from initlint.fixes import attach_fixes
    from initlint.tuning import tune_own_process

    tune_own_process()
    settings = Settings()
    result = lint_document(Document("warm_up.py", b"", _WARM_UP), rules_for(settings), settings, fixes=False)
    attach_fixes(_WARM_UP, result.findings)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: InitlintServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.lint(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: InitlintServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.lint(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: InitlintServer, params: types.DidSaveTextDocumentParams) -> None:
    path = _path(params.text_document.uri)
    if path is not None and path.name in CONFIG_NAMES:
        ls.hierarchy = None  # a config changed: read the configs again
        for uri in list(ls.linted):
            ls.lint(uri)
        return
    ls.lint(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: InitlintServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.linted.pop(params.text_document.uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


def _overlaps(finding: Finding, lines: list[str], query: types.Range) -> bool:
    start = (finding.location.line - 1, finding.location.column)
    end = (finding.location.end_line - 1, finding.location.end_column)
    first = (query.start.line, code_point_column(lines[query.start.line] if query.start.line < len(lines) else "", query.start.character))
    last = (query.end.line, code_point_column(lines[query.end.line] if query.end.line < len(lines) else "", query.end.character))
    return start <= last and first <= end


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
def code_action(ls: InitlintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """Quick fixes for the findings in range: the safe fix (preferred), the unsafe one (marked
    so), and ``# noqa: CODE`` for the line."""
    from initlint.documents import Document
    from initlint.fixes import attach_fixes
    from initlint.fixes.noqa import noqa_edits

    linted = ls.linted.get(params.text_document.uri)
    if linted is None:
        return []
    wanted = [replace(f) for f in linted.findings if _overlaps(f, linted.lines, params.range)]
    if not wanted:
        return []
    attach_fixes(linted.text, wanted)
    document = Document(params.text_document.uri, b"", linted.text)
    actions = []
    for finding in wanted:
        fix = finding.fix
        diagnostics = [d for d in params.context.diagnostics if d.code == finding.code] or None
        if fix is not None and fix.automatic:
            unsafe = fix.applicability.value == "unsafe"
            actions.append(types.CodeAction(
                title=f"initlint: {fix.message} ({finding.code}{', unsafe' if unsafe else ''})",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=diagnostics,
                is_preferred=not unsafe,
                edit=types.WorkspaceEdit(changes={params.text_document.uri: [text_edit(e, linted.lines) for e in fix.edits]}),
            ))
        plan = noqa_edits(document, [finding])
        if plan.edits:
            actions.append(types.CodeAction(
                title=f"initlint: silence {finding.code} on this line (# noqa)",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=diagnostics,
                edit=types.WorkspaceEdit(changes={params.text_document.uri: [text_edit(e, linted.lines) for e in plan.edits]}),
            ))
    return actions


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: InitlintServer, params: types.HoverParams) -> types.Hover | None:
    """On a diagnostic: its rule's catalog page, as Markdown."""
    from initlint.catalog import read_page

    linted = ls.linted.get(params.text_document.uri)
    if linted is None:
        return None
    point = types.Range(start=params.position, end=params.position)
    pages = []
    for finding in linted.findings:
        if _overlaps(finding, linted.lines, point) and finding.code not in {p[0] for p in pages}:
            pages.append((finding.code, read_page(finding.code) or f"{finding.code}: {finding.name}"))
    if not pages:
        return None
    value = "\n\n---\n\n".join(page for _, page in pages)
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=value))


def main() -> None:
    server.start_io()
