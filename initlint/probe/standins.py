"""Stand-ins for modules a project imports at its top level but that are not installed.

Research repositories import everything their scripts need at the top of every module: a
logger imports ``tensorflow``, a normalizer ``baselines``. A model class that never touches
them is the same model without them. When an import stops at such a statement (a top-level
``import``/``from ... import`` of a module that is not there, outside any ``try``), the
module name gets a stand-in and the import is tried again. The stand-in holds no value: any use
of it (a call, an attribute, a base class, arithmetic) raises ``ModuleNotFoundError`` naming
the missing module, so a model that does use it fails with that line, as before. Every stand-in
is noted.
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.machinery
import sys
import traceback
import types
from pathlib import Path


#: how a model report's note says that a stand-in was used (confirm.py repeats it on findings)
STAND_IN_NOTE = "a stand-in that fails when used took its place"


class MissingModuleError(ModuleNotFoundError):
    """A stand-in was used: the model needs the missing module."""


class MissingAttributeError(AttributeError):
    """``getattr``/``hasattr`` on a stand-in (``hasattr(x, "forward")`` is False)."""


class Missing:
    """A name imported from a missing module; any use raises."""

    def __init__(self, module: str, name: str = "") -> None:
        object.__setattr__(self, "_where", f"{module}.{name}" if name else module)
        object.__setattr__(self, "_module", module)

    def _refuse(self, *args, **kwargs):
        raise MissingModuleError(
            f"No module named '{self._module}': the model uses `{self._where}` "
            f"(a stand-in took its place so that the rest of its file could be imported)",
            name=self._module,
        )

    __call__ = __getitem__ = __iter__ = __len__ = __bool__ = _refuse
    __add__ = __radd__ = __mul__ = __rmul__ = __sub__ = __truediv__ = __lt__ = __gt__ = _refuse

    def __getattr__(self, name: str):
        raise MissingAttributeError(f"`{self._where}` is a stand-in for the missing module '{self._module}'")

    def __eq__(self, other) -> bool:
        return self is other

    def __mro_entries__(self, bases):
        self._refuse()

    def __setattr__(self, name, value):
        self._refuse()

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"<missing {self._where}>"


class _StandInModule(types.ModuleType):
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return Missing(self.__name__, name)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves every module at or below the missing top-level names."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def find_spec(self, fullname, path=None, target=None):
        if any(fullname == n or fullname.startswith(n + ".") for n in self.names):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StandInModule(spec.name)
        module.__path__ = []  # type: ignore[attr-defined]
        module.__initlint_stand_in__ = True  # type: ignore[attr-defined]
        return module

    def exec_module(self, module) -> None:
        return None


_FINDER = _Finder()


def stand_in_for(error: BaseException, root: str, text: str | None = None, where_of=None) -> str | None:
    """When ``error`` is a module that is not installed, imported by a top-level statement of a
    file under ``root`` outside any ``try``: give it a stand-in and return the note, else None.
    A notebook passes its definitions' ``text`` (its virtual module) and ``where_of(line)``,
    which names the cell."""
    if not isinstance(error, ModuleNotFoundError) or isinstance(error, MissingModuleError) or not error.name:
        return None
    top = error.name.split(".")[0]
    missing, what = top, "is not installed"
    if "." in error.name and _project_folder(error.name.rpartition(".")[0], root) is not None:
        # a project package whose submodule is not in the checkout (a git submodule); an
        # installed package that lacks a submodule is a version mismatch, not stood in for
        missing, what = error.name, "is not in the project's checkout"
    elif top in sys.modules or _project_folder(top, root) is not None:
        return None
    if missing in _FINDER.names:
        return None
    where = _importing_statement(error, root, text)
    if where is None:
        return None
    _FINDER.names.add(missing)
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
    file, line = where
    shown = where_of(line) if where_of is not None else f"{Path(file).name}:{line}"
    return f"import: `{missing}` {what}; {STAND_IN_NOTE} (imported at {shown}, and nothing the model ran used it)"


def _project_folder(dotted: str, root: str) -> Path | None:
    """The folder of package ``dotted`` under ``root``, found on sys.path (no import)."""
    base = Path(root).resolve()
    for entry in sys.path:
        if not entry:
            continue
        folder = Path(entry).resolve().joinpath(*dotted.split("."))
        if folder.is_dir() and (folder == base or base in folder.parents):
            return folder
    return None


def _importing_statement(error: BaseException, root: str, text: str | None = None) -> tuple[str, int] | None:
    """(file, line) of the innermost module-level frame under ``root`` whose statement is a
    top-level import, or None; ``text``: that file's source, when it is not the file on disk."""
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.name == "<module>" and str(Path(frame.filename).resolve()).startswith(str(Path(root).resolve())):
            found = (str(Path(frame.filename).resolve()), frame.lineno)
    if found is None or found[1] is None:
        return None
    try:
        tree = ast.parse(text if text is not None else Path(found[0]).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return None
    for statement in tree.body:
        if statement.lineno <= found[1] <= (statement.end_lineno or statement.lineno):
            return found if isinstance(statement, (ast.Import, ast.ImportFrom)) else None
    return None


def is_stand_in(value: object) -> bool:
    return isinstance(value, Missing) or bool(getattr(value, "__initlint_stand_in__", False))
