"""A file as initlint lints and fixes it: the bytes read, the Python text, the way back.

A ``.py`` file's text is its decoded source; a notebook's is the virtual module of its code cells
(notebook.py). Findings and fix edits are reported in the file's own coordinates (a cell and a
line inside it for notebooks), and ``apply_edits`` turns edits in those coordinates into the new
bytes of the file: same encoding, byte-order mark and line endings, notebook outputs untouched.
The engine's ``lint_text`` sees only Python text; this module is the boundary around it.
"""

from __future__ import annotations

import codecs
import io
import re
import tokenize
from dataclasses import replace
from typing import TYPE_CHECKING, Iterable, Sequence

from initlint.findings import Edit, FileError, FileResult, Finding, Fix
from initlint.lean import dataclass
from initlint.lines import line_starts
from initlint.stack_room import with_stack_room

if TYPE_CHECKING:
    from initlint.config import Settings
    from initlint.notebook import Notebook
    from initlint.rules import Rule

_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass
class Document:
    """One file's content: ``text`` is what the rules read (Python, or a notebook's module)."""

    display: str
    data: bytes
    text: str
    notebook: Notebook | None = None

    @property
    def is_notebook(self) -> bool:
        return self.notebook is not None


def is_notebook_path(path: str) -> bool:
    return path.lower().endswith(".ipynb")


def load_document(display: str, data: bytes, notebook: bool | None = None) -> Document:
    """Decode ``data``; ValueError with a one-line reason when it cannot be read."""
    from initlint.engine import decode_source

    if notebook is None:
        notebook = is_notebook_path(display)
    if not notebook:
        return Document(display, data, decode_source(data))
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"notebook is not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start})") from None
    # imported here, for notebooks only: ~7 ms of every start otherwise
    from initlint.notebook import read_notebook

    parsed = read_notebook(raw)  # NotebookError is a ValueError
    return Document(display, data, parsed.text, parsed)


# --- coordinates -----------------------------------------------------------------------------


def offset_of(starts: list[int], text: str, line: int, column: int) -> int:
    if line - 1 >= len(starts):
        return len(text)
    return min(starts[line - 1] + column - 1, len(text))


def position_of(starts: list[int], offset: int) -> tuple[int, int]:
    """(line, column), 1-based, of a character offset."""
    low, high = 0, len(starts) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if starts[middle] <= offset:
            low = middle
        else:
            high = middle - 1
    return low + 1, offset - starts[low] + 1


def apply_text_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with non-overlapping ``edits`` applied (coordinates of ``text`` itself)."""
    starts = line_starts(text)
    spans = sorted(
        (
            (offset_of(starts, text, e.line, e.column), offset_of(starts, text, e.end_line, e.end_column), e.content)
            for e in edits
        ),
        reverse=True,
    )
    for start, end, content in spans:
        text = text[:start] + content + text[end:]
    return text


def newline_of(text: str) -> str:
    match = _NEWLINE.search(text)
    return match.group() if match else "\n"


# --- notebooks: virtual module <-> cells -------------------------------------------------------


def _to_cell(notebook: Notebook, line: int, column: int, previous: bool) -> tuple[int, int, int]:
    """(cell number, line, column) of a virtual position; at the start of a cell, ``previous``
    puts it at the end of the cell before (where an insertion after that cell's code belongs)."""
    cell, inner = notebook.locate(line)
    if previous and column == 1 and inner == 1:
        position = next((i for i, (_, item) in enumerate(notebook.starts) if item is cell), 0)
        if position > 0:
            before = notebook.starts[position - 1][1]
            return before.number, before.python.count("\n") + 1, 1
    return cell.number, inner, column


def _cell_edit(notebook: Notebook, edit: Edit) -> Edit | None:
    """The edit in cell coordinates, or None when it spans cells or touches IPython syntax."""
    insertion = (edit.line, edit.column) == (edit.end_line, edit.end_column)
    cell, line, column = _to_cell(notebook, edit.line, edit.column, previous=insertion)
    end_cell, end_line, end_column = _to_cell(notebook, edit.end_line, edit.end_column, previous=True)
    if cell != end_cell:
        return None
    found = notebook.cell(cell)
    if found is None or any(line <= number <= end_line for number in found.ipython_lines):
        return None
    return Edit(line, column, end_line, end_column, edit.content, cell)


def _cell_finding(notebook: Notebook, finding: Finding) -> Finding:
    loc = finding.location
    cell, line, column = _to_cell(notebook, loc.line, loc.column, previous=False)
    end_cell, end_line, end_column = _to_cell(notebook, loc.end_line, loc.end_column, previous=True)
    if end_cell != cell:  # cannot happen for a node; keep the start
        end_line, end_column = line, column
    location = replace(loc, line=line, column=column, end_line=end_line, end_column=end_column, cell=cell)
    fix = finding.fix
    if fix is not None and fix.edits:
        edits = [_cell_edit(notebook, edit) for edit in fix.edits]
        if all(edit is not None for edit in edits):
            fix = replace(fix, edits=tuple(edits))
        else:
            fix = Fix(fix.message)  # the edit would cross a cell or touch a magic: advice only
    return replace(finding, location=location, fix=fix)


def _cell_text(source: str) -> tuple[str, bool]:
    """A cell's source with a final newline (as in the virtual module) and whether one was added."""
    if source and not source.endswith(("\n", "\r")):
        return source + "\n", True
    return source, False


# --- the way back ------------------------------------------------------------------------------


def apply_edits(document: Document, edits: Sequence[Edit]) -> bytes:
    """The file's new bytes with ``edits`` (in the file's own coordinates) applied."""
    if document.notebook is None:
        text = apply_text_edits(document.text, edits)
        return encode_like(document.data, text)
    by_cell: dict[int, list[Edit]] = {}
    for edit in edits:
        by_cell.setdefault(edit.cell or 0, []).append(edit)
    sources = {}
    for number, cell_edits in by_cell.items():
        cell = document.notebook.cell(number)
        if cell is None:
            from initlint.notebook import NotebookError

            raise NotebookError(f"an edit names cell {number}, which is no code cell")
        text, added = _cell_text(cell.source)
        new = apply_text_edits(text, cell_edits)
        if added and new.endswith("\n"):
            new = new[:-1]
        sources[cell.index] = new
    from initlint.notebook import replace_sources

    raw = replace_sources(document.notebook.raw, sources)
    prefix = codecs.BOM_UTF8 if document.data.startswith(codecs.BOM_UTF8) else b""
    return prefix + raw.encode("utf-8")


def encode_like(original: bytes, text: str) -> bytes:
    """``text`` encoded as ``original`` was: its coding line's encoding, and its BOM if it had one."""
    bom = original.startswith(codecs.BOM_UTF8)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    except SyntaxError:
        encoding = "utf-8"
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    data = text.encode(encoding)
    return codecs.BOM_UTF8 + data if bom else data


def lint_document(document: Document, rules: Sequence[Rule], settings: Settings, fixes: bool = True) -> FileResult:
    """Findings of one document in its own coordinates, each with its fix when ``fixes``; the
    evaluation runs with room on the frame stack (stack_room.py)."""
    return with_stack_room(_lint_document, document, rules, settings, fixes)


def _lint_document(document: Document, rules: Sequence[Rule], settings: Settings, fixes: bool) -> FileResult:
    from initlint import engine

    notebook = document.notebook
    if notebook is not None and not notebook.is_python:
        return FileResult(document.display)  # an R or Julia notebook: nothing to lint

    parsed: list = []

    def parse_once(text: str):
        """The tree this process already has of this very text (a dependency of a file
        linted before), else the engine's parse (tests replace it there); kept for the fixes."""
        module = engine.known_tree(document.display, text) if notebook is None else None
        parsed.append(module if module is not None else engine.parse(text))
        return parsed[-1]

    result = engine.lint_text(document.text, document.display, rules, settings, parse_module=parse_once)
    if fixes and result.findings:
        from initlint.fixes import attach_fixes

        tree = parsed[0] if parsed and not isinstance(parsed[0], str) else None
        attach_fixes(document.text, result.findings, tree)
    if notebook is not None:
        result.findings = [_cell_finding(notebook, finding) for finding in result.findings]
        problems = [f"cell {cell.number}: {cell.problem} (cell not linted)" for cell in notebook.cells if cell.problem]
        if problems:
            reasons = "; ".join(problems + ([result.error.reason] if result.error else []))
            result.error = FileError(document.display, reasons)
    return result


def commentable_lines(document: Document) -> set[tuple[int | None, int]]:
    """(cell, line) pairs whose end can take a ``# noqa`` comment: not inside a string and not
    continued by a backslash (the tokenizer gives them a NEWLINE, NL or COMMENT token)."""
    found: set[tuple[int | None, int]] = set()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(document.text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return found
    for token in tokens:
        if token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT):
            line = token.start[0]
            if document.notebook is None:
                found.add((None, line))
            else:
                cell, inner = document.notebook.locate(line)
                if inner not in cell.ipython_lines:
                    found.add((cell.number, inner))
    return found


def source_lines(document: Document, cell: int | None) -> list[str]:
    """The lines (with their endings) of the file, or of one cell of a notebook."""
    if document.notebook is None:
        text = document.text
    else:
        found = document.notebook.cell(cell or 0)
        text = _cell_text(found.source)[0] if found is not None else ""
    starts = line_starts(text)
    return [text[start:end] for start, end in zip(starts, starts[1:] + [len(text)])]


__all__ = [
    "Document", "apply_edits", "apply_text_edits", "commentable_lines",
    "is_notebook_path", "lint_document", "load_document", "source_lines",
]
