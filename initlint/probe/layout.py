"""Where a model file sits in its project: its import name, its sys.path entries, its project root.

Pure Python (the parent uses it too). A module inside a package is imported the way its project
imports it: walk up while ``__init__.py`` exists, put the folder above the top package first on
``sys.path`` and import ``pkg.sub.module`` (relative imports work, a ``src/`` layout too). The
project root (the nearest folder above with a project marker) is also on ``sys.path``, for
repositories that import ``models.x`` from their root without ``__init__.py`` files, and it is
the worker's working directory.
"""

from __future__ import annotations

from pathlib import Path

from initlint.lean import dataclass


class LoadError(Exception):
    """The target cannot be found or imported; the message says why."""

#: files that mark a project's root folder
PROJECT_MARKERS = (
    "pyproject.toml", "setup.py", "setup.cfg", ".git", "requirements.txt",
    "LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "COPYING",
)


@dataclass(frozen=True)
class Layout:
    """How to import one file."""

    file: str
    #: dotted import name (``pkg.sub.module``), or the file's stem outside a package
    module: str
    #: folders to put first on sys.path, most important first
    paths: tuple[str, ...]
    #: the project root: the worker's working directory
    root: str

    @property
    def in_package(self) -> bool:
        return "." in self.module


def project_root(folder: Path) -> Path | None:
    """The nearest folder at or above ``folder`` holding a project marker."""
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    return None


def layout_of(file: Path) -> Layout:
    """The import name and search path of ``file`` (see the module docstring)."""
    file = file.resolve()
    parts = [file.stem]
    entry = file.parent
    while (entry / "__init__.py").is_file() and entry.name.isidentifier() and entry.parent != entry:
        parts.insert(0, entry.name)
        entry = entry.parent
    root = project_root(file.parent) or entry
    if root != entry and root not in entry.parents:
        root = entry  # a marker inside the package itself: the importable folder is the root
    paths = [str(entry)]
    for extra in (root, file.parent):
        if str(extra) not in paths:
            paths.append(str(extra))
    return Layout(str(file), ".".join(parts), tuple(paths), str(root))
