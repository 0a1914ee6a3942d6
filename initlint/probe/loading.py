"""Importing the user's module inside a task child, the way its project imports it.

A file is imported under its package name (layout.py) with the project root as the working
directory. Two fallbacks keep real repositories importable: a file whose name collides with a
module already imported (``types.py``) is loaded by path under a private name, and a module whose
package ``__init__.py`` fails (it imports an optional dependency) is imported below stand-in
parent packages that skip those ``__init__`` files. A notebook runs only its definition cells'
statements (notebook_loading.py), never its training code.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import traceback
import types
from pathlib import Path
from typing import Any, Callable

from initlint.probe.guard import refuse_writes
from initlint.probe.layout import Layout, LoadError, layout_of
from initlint.probe.notebook_loading import load_notebook
from initlint.probe.removed_names import restore_removed_name
from initlint.probe.scripts import (
    failed_in_definition, failed_in_top_level, imported_names, main_block_constants, script_definitions,
)
from initlint.probe.setup import left_out, run_definitions
from initlint.probe.standins import stand_in_for


def _put_on_path(paths) -> None:
    for path in reversed([p for p in paths if p]):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)


def import_target(where: str, search: tuple[str, ...] = (), cwd: str | None = None, definitions: bool = False):
    """The module for ``path/to/file.py`` or ``package.module``; sets the working directory.
    ``definitions``: run only the file's definitions (a script whose top level ran past the
    time limit before; scripts.py). A file whose own top-level code raises gets the same."""
    if where.endswith((".py", ".ipynb")):
        layout = layout_of(Path(where))
        os.chdir(layout.root)
        refuse_writes(layout.root)
        _put_on_path([*layout.paths, *search])
        if where.endswith(".ipynb"):
            return load_notebook(layout.file, layout.root)
        if definitions:
            return with_main_constants(load_definitions(layout, "its top-level code ran past the time limit before"), layout.file)
        try:
            module = _import_repairing(layout)
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt):
                raise
            line = _top_level_line(error, layout.file)
            why = _definitions_get_past(Path(layout.file).read_text(encoding="utf-8", errors="replace"), line, error)
            if why is None:
                raise
            module = load_definitions(layout, why)
        return with_main_constants(module, layout.file)
    if cwd:
        os.chdir(cwd)
        refuse_writes(cwd)
    _put_on_path([*search, *([cwd] if cwd else [])])
    try:
        return importlib.import_module(where)
    except BaseException as error:
        layout = _layout_of_dotted(where)
        if layout is None or not _failed_in_parent_init(error, layout):
            raise
        top = where.split(".")[0]
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[name]
        return _import_below_stand_ins(layout)


#: project modules loaded with their definitions only, at most, before the import gives up
_REPAIRS = 4


def _import_repairing(layout: Layout):
    """``_import_layout``; when the import fails in the top level of another module of the
    project, at a statement its definitions leave out (a compiled extension built at import, a
    script run by an import), that module is loaded with its definitions only (scripts.py) and
    the import is tried again. The module then notes which modules were loaded so."""
    repaired: list[str] = []
    found: list[str] = []
    for _ in range(2 * _REPAIRS + 1):
        try:
            module = _import_layout(layout)
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt) or len(repaired) >= _REPAIRS:
                raise
            located = (_locate_missing(error, layout) or stand_in_for(error, layout.root)
                       or restore_removed_name(error)) if len(found) < _REPAIRS else None
            if located:
                found.append(located)
                continue
            broken = _broken_project_module(error, layout)
            if broken is None:
                raise
            file, line, why = broken
            other = layout_of(Path(file))
            load_definitions(other, why)
            _drop_stand_ins(other)
            repaired.append(f"{os.path.relpath(file, layout.root)} ({type(error).__name__} at line {line})")
            continue
        if repaired:
            module.__initlint_repaired__ = tuple(repaired)  # type: ignore[attr-defined]
        if found:
            module.__initlint_import_notes__ = tuple(found)  # type: ignore[attr-defined]
        return module
    raise AssertionError("unreachable")  # pragma: no cover


def _locate_missing(error: BaseException, layout: Layout) -> str | None:
    """A module the import did not find, found where the project's layout puts it; the note
    says where, or None (then the error stands):

    - ``import mmcv_custom`` from ``seg/backbone/net.py`` where ``seg/mmcv_custom/`` exists: the
      repository runs that part from ``seg/`` (a folder between the file and the project root);
      that folder goes on ``sys.path`` after the others.
    - ``timm.models.efficientnet_blocks`` missing from an installed library that has
      ``timm.models._efficientnet_blocks``: the library made the module private (timm 0.9); the
      private one is imported under the old name.
    """
    if not isinstance(error, ModuleNotFoundError) or not error.name:
        return None
    name = error.name
    if "." not in name:
        folder = Path(layout.file).parent
        root = Path(layout.root)
        while folder != root and root in folder.parents:
            folder = folder.parent
            if str(folder) in sys.path:
                continue
            if (folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file():
                sys.path.append(str(folder))
                return f"import: `{name}` is in {os.path.relpath(folder, layout.root)}/, put on sys.path (the folder the repository runs that part from)"
        return None
    parent_name, _, last = name.rpartition(".")
    try:
        parent = importlib.import_module(parent_name)
    except BaseException:  # noqa: BLE001 - the parent itself does not import: nothing to alias
        return None
    if _inside(parent, layout.root) or last.startswith("_"):
        return None  # the project's own modules are not renamed for it
    private = f"{parent_name}._{last}"
    try:
        if importlib.util.find_spec(private) is None:
            return None
        module = importlib.import_module(private)
    except BaseException:  # noqa: BLE001
        return None
    sys.modules[name] = module
    setattr(parent, last, module)
    version = getattr(sys.modules.get(name.split(".")[0]), "__version__", "")
    return (f"import: `{name}` is `{private}` in the installed {name.split('.')[0]} {version}".rstrip()
            + " (made private there); imported under the old name")


def _definitions_get_past(text: str, line: int | None, error: BaseException) -> str | None:
    """Why running only the file's definitions gets past ``error``, raised at the top-level
    ``line``: it was not a definition (a training loop, a compiled extension built at import),
    or it was one class or function whose definition raised, which is then the only one left
    out (setup.py). None when neither holds."""
    if failed_in_top_level(text, line):
        return f"its top-level code raised {type(error).__name__} at line {line}"
    name = failed_in_definition(text, line)
    if name is not None:
        return f"the definition of `{name}` raised {type(error).__name__} at line {line}"
    imported = _left_out_import(text, line, error)
    if imported is not None:
        return f"it imports `{imported}` at line {line}, whose definition was left out"
    return None


def _left_out_import(text: str, line: int | None, error: BaseException) -> str | None:
    """X, when ``error`` is ``cannot import name 'X' from 'M'``, raised by the ``from M import
    X`` at ``line``, and M was loaded with its definitions only and X's definition was left out
    (setup.py then binds the import's other names)."""
    if not isinstance(error, ImportError) or isinstance(error, ModuleNotFoundError) or not error.name:
        return None
    match = re.match(r"cannot import name '(\w+)'", str(error))
    if match is None or not left_out(error.name, match.group(1)):
        return None
    return match.group(1) if match.group(1) in imported_names(text, line) else None


def _broken_project_module(error: BaseException, layout: Layout) -> tuple[str, int, str] | None:
    """(file, line, why) of the innermost module-level frame of another file under the project
    root whose failing statement its definitions get past; None when there is none."""
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        file = str(Path(frame.filename).resolve())
        if frame.name == "<module>" and file != layout.file and file.startswith(layout.root + os.sep):
            found = (file, frame.lineno)
    if found is None or found[1] is None or found[0] in _definitions_loaded:
        return None
    try:
        text = Path(found[0]).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    why = _definitions_get_past(text, found[1], error)
    return (*found, why) if why is not None else None


#: files loaded with their definitions only in this child (each at most once)
_definitions_loaded: set[str] = set()


def _drop_stand_ins(layout: Layout) -> None:
    """Forget the stand-in parent packages ``load_definitions`` may have made, so that the next
    import runs the real ``__init__`` files (which now find the repaired module)."""
    _definitions_loaded.add(layout.file)
    parts = layout.module.split(".")
    for depth in range(1, len(parts)):
        name = ".".join(parts[:depth])
        if name in sys.modules and getattr(sys.modules[name], "__file__", None) is None:
            del sys.modules[name]


def _layout_of_dotted(name: str) -> Layout | None:
    """Where ``pkg.sub.module`` lives on sys.path, without importing its packages."""
    parts = name.split(".")
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        base = Path(entry).joinpath(*parts[:-1])
        for candidate in (base / f"{parts[-1]}.py", base / parts[-1] / "__init__.py"):
            if candidate.is_file():
                return Layout(str(candidate.resolve()), name, (str(Path(entry).resolve()),), os.getcwd())
    return None


def _inside(module: types.ModuleType, folder: str) -> bool:
    where = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", []) or []), None)
    return bool(where) and str(Path(where).resolve()).startswith(str(Path(folder).resolve()) + os.sep)


def _import_layout(layout: Layout):
    top = layout.module.split(".")[0]
    existing = sys.modules.get(top)
    if existing is not None and not _inside(existing, layout.paths[0]):
        return load_by_path(layout.file)  # ``types.py``, ``copy.py``: the name is taken
    try:
        return importlib.import_module(layout.module)
    except BaseException as error:
        if not layout.in_package or not _failed_in_parent_init(error, layout):
            raise
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[name]
        return _import_below_stand_ins(layout)


def _failed_in_parent_init(error: BaseException, layout: Layout) -> bool:
    """Whether the import failed inside a parent package's ``__init__.py`` before the file ran."""
    files = [str(Path(frame.filename).resolve()) for frame in traceback.extract_tb(error.__traceback__)]
    if layout.file in files:
        return False
    package_dirs = {str(Path(layout.file).parent)} | {str(p) for p in Path(layout.file).parents}
    return any(f.endswith(os.sep + "__init__.py") and str(Path(f).parent) in package_dirs for f in files)


def _import_below_stand_ins(layout: Layout):
    _stand_in_parents(layout)
    return importlib.import_module(layout.module)


def _stand_in_parents(layout: Layout) -> None:
    parts = layout.module.split(".")
    folder = Path(layout.paths[0])
    for depth in range(1, len(parts)):
        name = ".".join(parts[:depth])
        folder = folder / parts[depth - 1]
        stand_in = types.ModuleType(name)
        stand_in.__path__ = [str(folder)]  # type: ignore[attr-defined]
        stand_in.__package__ = name
        sys.modules[name] = stand_in


def _top_level_line(error: BaseException, file: str) -> int | None:
    """The line of the innermost ``<module>`` frame of ``file`` in the traceback, if any."""
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.name == "<module>" and str(Path(frame.filename).resolve()) == file:
            line = frame.lineno
    return line


def load_definitions(layout: Layout, why: str) -> types.ModuleType:
    """Run only the definitions of the script ``layout.file`` (scripts.py), under its import
    name so that its relative imports and ``__module__`` are its project's."""
    try:
        source = script_definitions(Path(layout.file).read_text(encoding="utf-8", errors="replace"))
    except (SyntaxError, ValueError) as error:
        raise LoadError(f"{Path(layout.file).name}: {error}") from None
    top = layout.module.split(".")[0]
    for name in [n for n in sys.modules if n == layout.module]:
        del sys.modules[name]
    name = layout.module
    existing = sys.modules.get(top)
    if existing is not None and not _inside(existing, layout.paths[0]) and not layout.in_package:
        name = f"initlint_probe_{abs(hash(layout.file))}_{Path(layout.file).stem}"
    elif layout.in_package:
        parent = layout.module.rpartition(".")[0]
        try:
            importlib.import_module(parent)
        except Exception:  # noqa: BLE001 - a parent __init__ that fails: stand-ins instead
            for stale in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
                if not hasattr(sys.modules[stale], "__initlint_script__"):  # one loaded so before stays
                    del sys.modules[stale]
            _stand_in_parents(layout)
    spec = importlib.util.spec_from_file_location(name, layout.file)
    if spec is None:
        raise LoadError(f"cannot import {layout.file}")
    module = importlib.util.module_from_spec(spec)
    module.__initlint_script__ = why  # type: ignore[attr-defined]
    module.__initlint_skipped_lines__ = source.skipped  # type: ignore[attr-defined]
    sys.modules[name] = module
    module.__initlint_setup__ = run_definitions(source, layout.file, module.__dict__)  # type: ignore[attr-defined]
    return module


def with_main_constants(module: types.ModuleType, file: str) -> types.ModuleType:
    """Give the module the side-effect-free constants of its ``__main__`` block that it does
    not define itself (scripts.main_block_constants), so that its classes can read them; noted."""
    try:
        text = Path(file).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return module
    taken = main_block_constants(module, text, file)
    if taken:
        module.__initlint_main_constants__ = tuple(taken)  # type: ignore[attr-defined]
    return module


def load_by_path(path: str, name: str | None = None):
    file = Path(path).resolve()
    module_name = name or f"initlint_probe_{abs(hash(str(file)))}_{file.stem}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise LoadError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def load_callable(spec: str) -> Callable[..., Any]:
    """``path/to/file.py:function`` or ``package.module:function``."""
    where, _, name = spec.rpartition(":")
    if not where or not name:
        raise LoadError(f"expected module:function or file.py:function, got {spec!r}")
    module = load_by_path(where) if where.endswith(".py") else importlib.import_module(where)
    value = module
    for part in name.split("."):
        if not hasattr(value, part):
            raise LoadError(f"`{name}` is not defined in {where}")
        value = getattr(value, part)
    if not callable(value):
        raise LoadError(f"`{spec}` is not callable")
    return value
