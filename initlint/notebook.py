"""Jupyter notebooks (nbformat 4) as one Python module, and back.

The code cells are joined, in order, into one virtual module, so imports and definitions of
earlier cells are visible to later ones, as in the kernel. IPython syntax (``%magic``,
``!shell``, ``x = !cmd``, ``obj?``) becomes ``pass`` at the same indentation, so every line keeps
its number; a cell magic that is not Python (``%%bash``, ``%%writefile``) and a cell that does not
parse on its own are left out (the second one is reported). Findings map back to
``cell N`` (1-based, markdown cells count) and a line inside it.

Writing back (``--fix``) touches only the ``source`` of the cells that changed: the rest of the
JSON, outputs included, stays byte for byte as it was.

``definition_source`` is the notebook as the probe should import it: only statements that
define (imports, ``def``, ``class``, assignments without calls), never training code.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import field
from pathlib import Path

from initlint.lean import dataclass

#: cell magics whose body is Python run in the notebook's namespace
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
#: a line IPython rewrites: ``%magic``, ``!cmd``, ``x = !cmd``, ``x = %magic``, ``obj?``, ``?obj``
_IPYTHON_LINE = re.compile(
    r"^(?P<indent>[ \t]*)(?:%|!(?!=)|\?|[\w.]+\s*=\s*(?:%|!(?!=))|[\w.\[\]()]+\?{1,2}\s*$)"
)


class NotebookError(ValueError):
    """A file that is not a notebook initlint can read, with a one-line reason."""


@dataclass
class Cell:
    """One code cell: its index in the notebook (0-based), its source and its Python view."""

    index: int
    source: str
    #: the source with IPython lines replaced, one line per source line ("" when left out)
    python: str
    #: 1-based lines of ``source`` that are IPython syntax (no edit may touch them)
    ipython_lines: frozenset[int] = frozenset()
    #: why the cell is left out of the module (a syntax error), or None
    problem: str | None = None

    @property
    def number(self) -> int:
        """The cell's number as reports show it: ``cell 3`` is ``cells[2]``."""
        return self.index + 1

    @property
    def line_count(self) -> int:
        return len(_lines(self.source)) or 1


@dataclass
class Notebook:
    """A parsed notebook: its raw text, its code cells and the virtual module built from them."""

    raw: str
    cells: list[Cell]
    #: (first virtual line, cell) for each code cell, in order
    starts: list[tuple[int, Cell]] = field(default_factory=list)
    text: str = ""
    is_python: bool = True

    def locate(self, line: int) -> tuple[Cell, int]:
        """The cell and the line inside it of a 1-based line of the virtual module."""
        found = self.starts[0]
        for start, cell in self.starts:
            if start > line:
                break
            found = (start, cell)
        start, cell = found
        return cell, line - start + 1

    def first_line(self, cell: Cell) -> int:
        for start, item in self.starts:
            if item is cell:
                return start
        raise KeyError(cell.index)

    def cell(self, number: int) -> Cell | None:
        return next((cell for cell in self.cells if cell.number == number), None)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _join_source(value: object) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else ""


def read_notebook(raw: str) -> Notebook:
    """The notebook in ``raw`` (its JSON text); NotebookError if it is not one."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise NotebookError(f"not a valid notebook: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        version = data.get("nbformat") if isinstance(data, dict) else None
        if version is not None and version < 4:
            raise NotebookError(f"nbformat {version} notebooks are not supported (convert with `jupyter nbconvert --to notebook`)")
        raise NotebookError("not a valid notebook: no list of cells")
    cells = []
    for index, item in enumerate(data["cells"]):
        if isinstance(item, dict) and item.get("cell_type") == "code":
            cells.append(_python_view(index, _join_source(item.get("source"))))
    notebook = Notebook(raw, cells, is_python=_is_python(data))
    _build_module(notebook)
    return notebook


def _is_python(data: dict) -> bool:
    """False for notebooks of another language (R, Julia kernels); unknown counts as Python."""
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    info = metadata.get("language_info")
    if isinstance(info, dict) and isinstance(info.get("name"), str):
        return info["name"].lower() in {"python", "python3", "ipython", "ipython3"}
    spec = metadata.get("kernelspec")
    if isinstance(spec, dict) and isinstance(spec.get("language"), str):
        return spec["language"].lower() in {"python", "python3"}
    return True


def _python_view(index: int, source: str) -> Cell:
    lines = _lines(source)
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        magic = first[2:].split(maxsplit=1)[0] if len(first) > 2 else ""
        if magic not in _PYTHON_CELL_MAGICS:  # %%bash, %%writefile: not this kernel's Python
            return Cell(index, source, "\n" * len(lines), frozenset(range(1, len(lines) + 1)))
    plain = "".join(line if line.endswith(("\n", "\r")) else line + "\n" for line in lines)
    if _parses(plain):  # plain Python: no line is rewritten (``% b`` may continue a line)
        return Cell(index, source, plain)
    python_lines, ipython = [], set()
    for number, line in enumerate(lines, start=1):
        match = _IPYTHON_LINE.match(line)
        if match is not None and not line.lstrip().startswith("#"):
            python_lines.append(match.group("indent") + "pass\n")
            ipython.add(number)
        else:
            python_lines.append(line if line.endswith(("\n", "\r")) else line + "\n")
    python = "".join(python_lines)
    cell = Cell(index, source, python, frozenset(ipython))
    try:
        ast.parse(python)
    except SyntaxError as error:
        cell.problem = f"syntax error at line {error.lineno}, column {error.offset}: {error.msg}"
        cell.python = "\n" * len(lines)
    except (ValueError, RecursionError, MemoryError) as error:
        cell.problem = f"cannot parse: {type(error).__name__}"
        cell.python = "\n" * len(lines)
    return cell


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _build_module(notebook: Notebook) -> None:
    parts, line = [], 1
    for cell in notebook.cells:
        notebook.starts.append((line, cell))
        cell.python = text = cell.python or "\n"
        parts.append(text)
        line += text.count("\n")
    notebook.text = "".join(parts)


# --- writing back --------------------------------------------------------------------------


def replace_sources(raw: str, sources: dict[int, str]) -> str:
    """``raw`` with the ``source`` of the cells in ``sources`` (by index) replaced.

    Only those JSON values change; their new text keeps the old one's shape (a list of lines
    with the same indentation, or one string). The result is checked to load as the same
    notebook with the new sources.
    """
    if not sources:
        return raw
    spans = _source_spans(raw)
    pieces, last = [], 0
    for index in sorted(sources):
        if index not in spans:
            raise NotebookError(f"cell {index + 1} has no source to replace")
        start, end = spans[index]
        pieces.append(raw[last:start])
        pieces.append(_encode_like(raw[start:end], sources[index]))
        last = end
    pieces.append(raw[last:])
    result = "".join(pieces)
    expected = json.loads(raw)
    for index, source in sources.items():
        expected["cells"][index]["source"] = source
    loaded = json.loads(result)
    for cell in loaded["cells"]:
        if "source" in cell:
            cell["source"] = _join_source(cell["source"])
    for cell in expected["cells"]:
        if "source" in cell:
            cell["source"] = _join_source(cell["source"])
    if loaded != expected:
        raise NotebookError("rewriting the cell sources would change more than the sources")
    return result


def _encode_like(old: str, source: str) -> str:
    """``source`` as JSON in the shape of ``old`` (the old value's text)."""
    ensure_ascii = "\\u" in old and not any(ord(ch) > 127 for ch in old)
    if not old.startswith("["):
        return json.dumps(source, ensure_ascii=ensure_ascii)
    lines = _lines(source)
    if not lines:
        return "[]"
    match = re.match(r"\[(\s*)", old)
    opening = match.group(1) if match else ""
    closing = re.search(r"(\s*)\]\Z", old)
    closing_ws = closing.group(1) if closing else ""
    separator = "," + opening if opening else ", "
    body = separator.join(json.dumps(line, ensure_ascii=ensure_ascii) for line in lines)
    return f"[{opening}{body}{closing_ws}]"


def _source_spans(raw: str) -> dict[int, tuple[int, int]]:
    """Where each cell's ``source`` value lies in ``raw``: {cell index: (start, end)}."""
    decoder = json.JSONDecoder()
    position = _skip(raw, 0)
    spans: dict[int, tuple[int, int]] = {}
    for key, start, end in _members(raw, position, decoder):
        if key != "cells":
            continue
        index = 0
        position = _skip(raw, start + 1)
        while raw[position] != "]":
            if raw[position] == "{":
                for name, value_start, value_end in _members(raw, position, decoder):
                    if name == "source":
                        spans[index] = (value_start, value_end)
                _, position = decoder.raw_decode(raw, position)
            else:
                _, position = decoder.raw_decode(raw, position)
            index += 1
            position = _skip(raw, position)
            if raw[position] == ",":
                position = _skip(raw, position + 1)
        break
    return spans


def _skip(raw: str, position: int) -> int:
    while position < len(raw) and raw[position] in " \t\r\n":
        position += 1
    return position


def _members(raw: str, position: int, decoder: json.JSONDecoder):
    """(key, value start, value end) of each member of the object starting at ``position``."""
    position = _skip(raw, position + 1)  # past "{"
    while raw[position] != "}":
        key, position = decoder.raw_decode(raw, position)
        position = _skip(raw, position)
        position = _skip(raw, position + 1)  # past ":"
        _, end = decoder.raw_decode(raw, position)
        yield key, position, end
        position = _skip(raw, end)
        if raw[position] == ",":
            position = _skip(raw, position + 1)


# --- for the probe -------------------------------------------------------------------------


@dataclass(frozen=True)
class DefinitionSource:
    """The defining statements of a notebook as one module text.

    ``text`` has exactly the lines of the virtual module that linting reads, with every other
    statement blanked: a line number in a traceback of ``text`` is a line number in findings'
    terms, and ``notebook.locate(line)`` gives its cell. ``skipped`` names the cells (1-based)
    that held statements that were not run.
    """

    text: str
    notebook: Notebook
    skipped: tuple[int, ...]


def definition_source(path: str | Path) -> DefinitionSource:
    """The notebook at ``path`` reduced to what defines a model, for the probe to execute.

    Kept at the top level of each code cell: ``import``/``from ... import``, ``def``,
    ``class`` (with their decorators), and assignments whose value makes no call (constants,
    ``HIDDEN = 128``, ``sizes = [64, 32]``). Dropped: everything else (training loops, data
    loading, ``model = Net().to(device)``, plotting), and IPython syntax. Raises NotebookError
    (a ValueError) when the file is not a readable notebook.
    """
    raw = Path(path).read_text(encoding="utf-8-sig")
    notebook = read_notebook(raw)
    text, dropped = top_level_kept(notebook.text, _defines)
    skipped = {notebook.locate(line)[0].number for line in dropped}
    return DefinitionSource(text, notebook, tuple(sorted(skipped)))


def top_level_kept(text: str, keeps) -> tuple[str, list[int]]:
    """``text`` with each top-level statement ``keeps`` rejects blanked line for line (so line
    numbers stay), and the first lines of those statements (decorators included). Raises
    SyntaxError when the text does not parse."""
    lines = text.splitlines(keepends=True)
    keep = [False] * len(lines)
    dropped = []
    for statement in ast.parse(text).body:
        first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
        last = statement.end_lineno or statement.lineno
        if keeps(statement):
            for number in range(first, last + 1):
                keep[number - 1] = True
        else:
            dropped.append(first)
    return "".join(line if keep[i] else "\n" for i, line in enumerate(lines)), dropped


def _defines(statement: ast.stmt) -> bool:
    if isinstance(statement, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(statement, (ast.Assign, ast.AnnAssign)):
        value = statement.value
        return value is not None and not any(isinstance(node, (ast.Call, ast.Await, ast.Yield)) for node in ast.walk(value))
    return False
