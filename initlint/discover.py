"""Which files to lint: the paths given, folders walked for ``*.py`` and ``*.ipynb``, minus what
is excluded.

Folders skip hidden directories, virtualenvs (any folder with a ``pyvenv.cfg``),
``__pycache__``, ``build``, ``node_modules`` and ``*.egg-info``, plus what ``.gitignore`` files
and ``--exclude`` patterns (gitignore syntax, relative to the config's folder) exclude. A file
named explicitly is always linted: pre-commit passes file names and expects them checked.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from initlint.findings import FileError
from initlint.lean import dataclass
from initlint.reading import file_kind

SKIPPED_DIRS = frozenset({"__pycache__", "build", "node_modules", "site-packages"})
#: what a folder walk lints (a file named explicitly is linted whatever its name)
SOURCE_SUFFIXES = (".py", ".ipynb")


@dataclass(frozen=True)
class SourceFile:
    """A file to lint: where it is, and how reports name it."""

    path: Path  # absolute
    display: str  # as reported: relative to the working directory where possible


def display_path(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return path.as_posix()


def gitignore_spec(lines: Iterable[str]) -> Any:
    """A gitignore matcher; pathspec is imported only when a folder is walked (pre-commit
    passes file names, and every millisecond of start-up counts there)."""
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(list(lines))


class _Ignores:
    """gitignore specs, each anchored at the folder of its ``.gitignore``."""

    def __init__(self) -> None:
        self.specs: list[tuple[Path, Any]] = []

    def add_file(self, gitignore: Path) -> None:
        try:
            lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return
        self.specs.append((gitignore.parent, gitignore_spec(lines)))

    def ignored(self, path: Path, is_dir: bool) -> bool:
        for base, spec in self.specs:
            try:
                rel = path.relative_to(base).as_posix()
            except ValueError:
                continue
            if spec.match_file(rel + "/" if is_dir else rel):
                return True
        return False


def _exists(path: Path) -> bool:
    """``path.exists()``, False where a folder on the way cannot be searched."""
    try:
        return path.exists()
    except OSError:
        return False


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _git_root(folder: Path) -> Path | None:
    for parent in (folder, *folder.parents):
        if _exists(parent / ".git"):
            return parent
    return None


def _parent_gitignores(folder: Path) -> _Ignores:
    """The .gitignore files above ``folder`` up to its git root (they apply inside it too)."""
    ignores = _Ignores()
    root = _git_root(folder)
    if root is None:
        return ignores
    chain = [folder, *folder.parents]
    for parent in reversed(chain[1 : chain.index(root) + 1] if root in chain else []):
        if _is_file(parent / ".gitignore"):
            ignores.add_file(parent / ".gitignore")
    return ignores


def _skip_dir(path: Path, name: str) -> bool:
    return (
        name.startswith(".")
        or name in SKIPPED_DIRS
        or name.endswith(".egg-info")
        or _exists(path / "pyvenv.cfg")
    )


def discover(
    paths: Sequence[str],
    exclude: Sequence[str],
    root: Path,
    cwd: Path | None = None,
    *,
    excluded_by: Callable[[Path, bool], bool] | None = None,
    force_exclude: bool = False,
) -> tuple[list[SourceFile], list[FileError]]:
    """Files to lint in a stable order, and the paths and folders that cannot be read.

    ``excluded_by(path, is_dir)`` replaces the ``exclude`` patterns (per-folder configs);
    ``force_exclude`` applies exclusion to the paths named, too.
    """
    cwd = cwd or Path.cwd()
    excluded = gitignore_spec(exclude) if exclude and excluded_by is None else None
    found: dict[Path, SourceFile] = {}
    errors: list[FileError] = []

    def is_excluded(path: Path, is_dir: bool) -> bool:
        if excluded_by is not None:
            return excluded_by(path, is_dir)
        if excluded is None:
            return False
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            rel = path.name
        return excluded.match_file(rel + "/" if is_dir else rel)

    for raw in paths:
        try:
            path = (cwd / raw).resolve() if not os.path.isabs(raw) else Path(raw).resolve()
            mode = path.stat().st_mode
        except FileNotFoundError:
            errors.append(FileError(raw, "no such file or directory"))
            continue
        except RuntimeError:  # Python < 3.13 raises it for a symlink loop
            errors.append(FileError(raw, "symlink loop: too many levels of symbolic links"))
            continue
        except OSError as error:
            errors.append(FileError(raw, f"cannot open: {error.strerror or error}"))
            continue
        if force_exclude and is_excluded(path, stat.S_ISDIR(mode)):
            continue
        if stat.S_ISREG(mode):
            found.setdefault(path, SourceFile(path, display_path(path, cwd)))
            continue
        if not stat.S_ISDIR(mode):
            errors.append(FileError(raw, f"{file_kind(mode)}, not a source file or folder"))
            continue
        ignores = _parent_gitignores(path)
        if ignores.ignored(path, True):  # named explicitly: the user wants it linted
            ignores = _Ignores()
        def unreadable(error: OSError) -> None:  # os.walk skips these without a word
            where = Path(error.filename) if error.filename else path
            errors.append(FileError(display_path(where, cwd), f"cannot read folder: {error.strerror or error}"))

        for folder, dirnames, filenames in os.walk(path, onerror=unreadable):
            here = Path(folder)
            if _is_file(here / ".gitignore"):
                ignores.add_file(here / ".gitignore")
            dirnames[:] = sorted(
                name
                for name in dirnames
                if not _skip_dir(here / name, name)
                and not ignores.ignored(here / name, True)
                and not is_excluded(here / name, True)
            )
            for name in sorted(filenames):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                file = here / name
                if ignores.ignored(file, False) or is_excluded(file, False):
                    continue
                found.setdefault(file, SourceFile(file, display_path(file, cwd)))
    return sorted(found.values(), key=lambda f: f.display), errors
