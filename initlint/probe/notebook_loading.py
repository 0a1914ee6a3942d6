"""Loading a notebook's definitions as a module inside a task child.

Only its definition cells' statements run (imports, ``def``, ``class``, constants; notebook.py),
never its training code. Model instances that skipped cells create (``model = Net(64)``) are
kept as source text so the probe can build them, and lines map back to cells for errors.
"""

from __future__ import annotations

import linecache
import sys
import types
from pathlib import Path
from typing import Any

from initlint.lean import dataclass
from initlint.probe.layout import LoadError


#: modules not installed that one notebook's imports may get stand-ins for (standins.py)
_STAND_INS = 8


def load_notebook(path: str, root: str | None = None) -> types.ModuleType:
    """The definitions of the notebook at ``path`` as a module; tracebacks and ``inspect`` see
    the notebook's code (its virtual module, line for line), and ``cell_of`` maps lines back.
    A top-level import of a module that is not installed gets a stand-in, as in a ``.py`` file
    under ``root``, and a note."""
    from initlint.notebook import NotebookError, definition_source
    from initlint.probe.scripts import kept_definitions, main_block_constants
    from initlint.probe.setup import run_definitions
    from initlint.probe.standins import stand_in_for

    file = str(Path(path).resolve())
    try:
        source = definition_source(file)
    except (NotebookError, SyntaxError, UnicodeDecodeError) as error:
        raise LoadError(f"{Path(file).name}: {error}") from None
    name = f"initlint_notebook_{abs(hash(file))}_{Path(file).stem}"
    module = types.ModuleType(name)
    module.__file__ = file
    module.__initlint_skipped_cells__ = source.skipped  # type: ignore[attr-defined]
    module.__initlint_instances__ = _instances(source.notebook)  # type: ignore[attr-defined]
    sys.modules[name] = module
    _NOTEBOOKS[file] = source.notebook
    linecache.cache[file] = (len(source.text), None, source.text.splitlines(keepends=True), file)
    definitions = kept_definitions(source.text)
    notes: list[str] = []

    def where_of(line: int) -> str:
        cell = cell_of(file, line)
        return f"{Path(file).name}:cell {cell[0]}:{cell[1]}" if cell else f"{Path(file).name}:{line}"

    for _ in range(_STAND_INS + 1):
        try:
            # one definition at a time, as a script's (setup.py): a constant that reads a name of
            # a skipped cell (``train_data = dataset["train"]``) or a class whose definition
            # raises is left out, and the rest is defined
            outcome = run_definitions(definitions, file, module.__dict__)
            break
        except ModuleNotFoundError as error:
            note = stand_in_for(error, root or str(Path(file).parent), source.text, where_of) if len(notes) < _STAND_INS else None
            if note is None:
                raise
            notes.append(note)
    notes += [f"notebook: left out {where_of(line)} ({reason})" for line, reason in outcome.failed[:4]]
    taken = main_block_constants(module, source.notebook.text, file)
    if taken:
        notes.append(f"notebook: took {', '.join(taken[:8])} from its `if __name__ == \"__main__\":` block "
                     "(values computed without side effects)")
    module.__initlint_setup__ = outcome  # type: ignore[attr-defined]
    if notes:
        module.__initlint_import_notes__ = tuple(notes)  # type: ignore[attr-defined]
    return module



@dataclass(frozen=True)
class NotebookInstance:
    """``model = Net(64, width=HIDDEN).to(device)`` in a cell that does not run: the class to
    build and the arguments of its call, as source text (evaluated later where they can be)."""

    cls: str
    args: tuple[str, ...]
    kwargs: tuple[tuple[str, str], ...]
    cell: int


def _instances(notebook: Any) -> dict[str, NotebookInstance]:
    """Module-level ``NAME = Class(...)`` (possibly ``.to(...)``/``.cuda()`` after it) of a
    notebook: static findings name these instances, and their cells are training code."""
    import ast

    try:
        tree = ast.parse(notebook.text)
    except (SyntaxError, ValueError):
        return {}
    found = {}
    for statement in tree.body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)):
            continue
        call = statement.value
        while isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Call):
            call = call.func.value  # Net(...).to(device).eval() -> Net(...)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
            found[statement.targets[0].id] = NotebookInstance(
                call.func.id, tuple(ast.unparse(a) for a in call.args if not isinstance(a, ast.Starred)),
                tuple((k.arg, ast.unparse(k.value)) for k in call.keywords if k.arg),
                notebook.locate(statement.lineno)[0].number,
            )
    return found


def notebook_instance(module: Any, name: str) -> NotebookInstance | None:
    """The instance ``name`` of a notebook module's skipped code, if it is one."""
    return getattr(module, "__initlint_instances__", {}).get(name)


#: notebooks loaded in this process: file -> its Notebook (for cell numbers)
_NOTEBOOKS: dict[str, Any] = {}


def cell_of(file: str, line: int) -> tuple[int, int] | None:
    """(cell number, line inside the cell) of a line of a loaded notebook's code, else None."""
    notebook = _NOTEBOOKS.get(file)
    if notebook is None:
        return None
    cell, inner = notebook.locate(line)
    return cell.number, inner


def skipped_cells(module: Any) -> tuple[int, ...]:
    """The cells of a notebook module that held code other than definitions (not run)."""
    return tuple(getattr(module, "__initlint_skipped_cells__", ()))
