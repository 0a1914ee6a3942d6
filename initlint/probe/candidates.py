"""Model classes a file defines, read with ``ast`` in the parent (no import, no torch).

Used for what the parent must know without running anything: where a class or factory is defined
(the location of a measured finding), and which classes a file holds when importing it fails
(each gets its one "not probed" line). A class counts when a base is ``nn.Module``-like (a name
ending in ``Module``, a capitalised ``nn.X`` other than ``nn.Parameter``) or another such class of
the files read together, by name. The worker's own listing (listing.py) is what runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

from initlint.lean import dataclass


@dataclass(frozen=True)
class Definition:
    name: str
    line: int
    column: int
    end_column: int
    is_class: bool
    bases: tuple[str, ...] = ()
    #: in a notebook: the cell and the line inside it (``line`` is the virtual module's)
    cell: int | None = None
    line_in_cell: int | None = None

    @property
    def shown_line(self) -> int:
        return self.line if self.line_in_cell is None else self.line_in_cell

    def where(self, path: str) -> str:
        """``path:line`` or, in a notebook, ``path:cell N:line``."""
        return f"{path}:cell {self.cell}:{self.shown_line}" if self.cell is not None else f"{path}:{self.line}"


def definitions(text: str) -> dict[str, Definition]:
    """Top-level classes and functions of a source text (empty when it does not parse)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            keyword = "class" if isinstance(node, ast.ClassDef) else "def"
            bases = tuple(ast.unparse(b) for b in node.bases) if isinstance(node, ast.ClassDef) else ()
            column = node.col_offset + 1
            found[node.name] = Definition(
                node.name, node.lineno, column, column + len(f"{keyword} {node.name}"),
                isinstance(node, ast.ClassDef), bases,
            )
    return found


def definitions_of(path: str, text: str) -> dict[str, Definition]:
    """``definitions`` of a file's text (``read_text``); in a notebook each also gets its cell."""
    found = definitions(text)
    if not path.endswith(".ipynb") or not found:
        return found
    from dataclasses import replace

    from initlint.notebook import NotebookError, read_notebook

    try:
        notebook = read_notebook(Path(path).read_bytes().decode("utf-8-sig", errors="replace"))
    except (NotebookError, OSError):
        return found
    located = {}
    for name, definition in found.items():
        cell, inner = notebook.locate(definition.line)
        located[name] = replace(definition, cell=cell.number, line_in_cell=inner)
    return located


def _module_like(base: str, known: set[str]) -> bool:
    base = base.split("[", 1)[0]  # ``Net[Any]``: a generic base is its class
    last = base.rsplit(".", 1)[-1]
    if last.endswith("DataModule"):
        return False  # Lightning's data modules hold loaders, not layers
    if last in known or last.endswith("Module"):
        return True
    head = base.rsplit(".", 1)[0] if "." in base else ""
    return head in ("nn", "torch.nn") and last[:1].isupper() and last not in ("Parameter", "Buffer")


def module_classes(texts: dict[str, str]) -> dict[str, list[Definition]]:
    """path -> the nn.Module classes of that file, resolving bases across all ``texts``."""
    defined = {path: definitions_of(path, text) for path, text in texts.items()}
    known: set[str] = set()
    for _ in range(8):  # bases defined in other files of the set, a few levels deep
        grown = False
        for found in defined.values():
            for definition in found.values():
                if definition.is_class and definition.name not in known and any(
                    _module_like(base, known) for base in definition.bases
                ):
                    known.add(definition.name)
                    grown = True
        if not grown:
            break
    # each class by its own bases: ``class PPO:`` is no module because another file's PPO is
    return {
        path: [d for d in found.values() if d.is_class and any(_module_like(base, known) for base in d.bases)]
        for path, found in defined.items()
    }


def read_text(path: str) -> str:
    """A file's Python text: a notebook's is the virtual module of its code cells (notebook.py)."""
    try:
        text = Path(path).read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""
    if not path.endswith(".ipynb"):
        return text
    from initlint.notebook import NotebookError, read_notebook

    try:
        return read_notebook(text.removeprefix("\ufeff")).text
    except NotebookError:
        return ""
