"""Who else names a function: every Python file and notebook of the project a file belongs to.

An init method that nothing in its own file calls may still be called by a training script of
the same project (``model.init_weights()`` in ``train.py``). To say "nothing calls it", every
file of the project must be read, so the project must have an end: the nearest folder above the
file that marks a repository root (``.git``, a ``LICENSE`` or ``README``, a
``requirements.txt``). A project that is packaged for others (``setup.py``, ``setup.cfg``,
``pyproject.toml``, ``PKG-INFO``, a ``*.dist-info`` folder) is a library: its public methods are
called by its users' code, which is not here, so no answer is given. Nor is one given when no
root is found or the project is too large to read.

The search is textual and conservative: the name as a word anywhere outside comments (strings
count: ``getattr(model, "init_weights")``). Reading is cheap next to parsing (DESIGN.md 9).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from initlint.lean import dataclass
from initlint.reading import content_hash

#: files and folders that mark where a repository starts
_ROOT_MARKS = (".git", "requirements.txt", "environment.yml")
_ROOT_PREFIXES = ("license", "licence", "readme", "copying")
#: files and folders that mark a project packaged for other people's code
_LIBRARY_MARKS = ("setup.py", "setup.cfg", "pyproject.toml", "PKG-INFO")
#: a project past this many files is not read for one method (no answer instead)
MAX_FILES = 3000
#: files that may call a method: code, notebooks, and the configs, shell scripts and docs that
#: name a method for a runner or a user (``init_cfg``, ``python -c``, a README's usage)
_SEARCHED = (".py", ".ipynb", ".yaml", ".yml", ".json", ".sh", ".cfg", ".toml", ".md", ".rst", ".txt")
#: larger files are data, not code: not read
_MAX_BYTES = 2_000_000
_SKIP = frozenset({"__pycache__", "node_modules", "site-packages", "build", "dist"})


@dataclass(frozen=True)
class Search:
    """Where a name was looked for: the project root, how many files were read, which name it."""

    root: Path
    searched: int
    naming: tuple[Path, ...]


@dataclass(frozen=True)
class Tree:
    """The project files a caller search read, and what they held when it read them."""

    root: Path
    files: tuple[tuple[Path, str], ...]  # (path, text without comments)
    digests: dict[str, str]
    #: a hash of which files were read: a file added later (a new caller) changes it
    listing: str


#: the key under which a result records the listing of a project tree it searched
LISTING = "listing:"


def project_root(path: Path) -> tuple[Path | None, bool]:
    """(root folder, packaged as a library) for the file at ``path``; (None, False) when no
    folder above it marks a repository root."""
    library = False
    for folder in list(path.resolve().parents)[:12]:
        try:
            names = os.listdir(folder)
        except OSError:
            return None, library
        if any(name in _LIBRARY_MARKS or name.endswith((".dist-info", ".egg-info")) for name in names):
            library = True
        if _marks_root(names):
            return folder, library
    return None, library


def _marks_root(names: list[str]) -> bool:
    """Whether a folder holding ``names`` is where a repository starts."""
    return any(name in _ROOT_MARKS or name.lower().startswith(_ROOT_PREFIXES) for name in names)


def repository_root(folder: Path) -> Path | None:
    """The nearest folder at or above ``folder`` (12 levels at most) holding a file that marks
    a repository's root, as ``project_root`` finds it; each folder is listed once per run (the
    import resolver asks this for hundreds of sibling folders)."""
    for candidate in [folder, *folder.parents][:12]:
        if _is_root(candidate):
            return candidate
    return None


@lru_cache(maxsize=4096)
def _is_root(folder: Path) -> bool:
    try:
        return _marks_root(os.listdir(folder))
    except OSError:
        return False


def _searched_paths(root: Path):
    """The files a search reads under ``root``, in a stable order; stops after MAX_FILES + 1."""
    count = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP
                         and not os.path.exists(os.path.join(folder, d, "pyvenv.cfg")))
        for name in sorted(names):
            if name.endswith(_SEARCHED):
                count += 1
                yield Path(folder, name)
                if count > MAX_FILES:
                    return


def _listing(paths: list[Path]) -> str:
    return content_hash("\n".join(str(p) for p in paths).encode("utf-8", "surrogateescape"))


def listing_digest(root: Path) -> str | None:
    """The ``Tree.listing`` the folder would give now (None past MAX_FILES or unreadable)."""
    paths = [path for path in _searched_paths(root) if _readable_size(path)]
    return None if len(paths) > MAX_FILES else _listing([p.resolve() for p in paths])


def _readable_size(path: Path) -> bool:
    try:
        return path.stat().st_size <= _MAX_BYTES
    except OSError:
        return False


def read_tree(root: Path) -> Tree | None:
    """Every code, notebook, config and doc file under ``root`` (hidden folders, virtualenvs and build output
    left out), or None past MAX_FILES."""
    files: list[tuple[Path, str]] = []
    digests: dict[str, str] = {}
    for path in _searched_paths(root):
        if len(files) >= MAX_FILES:
            return None
        if not _readable_size(path):
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        text = data.decode("utf-8", "replace")
        if path.name.endswith(".py"):
            text = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
        files.append((path.resolve(), text))
        digests[str(path.resolve())] = content_hash(data)
    return Tree(root, tuple(files), digests, _listing([path for path, _ in files]))


def naming(tree: Tree, name: str, own: Path) -> Search:
    """The files of ``tree`` other than ``own`` that name ``name`` as a word."""
    pattern = re.compile(rf"(?<![\w]){re.escape(name)}\b")
    own = own.resolve()
    found = tuple(path for path, text in tree.files if path != own and name in text and pattern.search(text))
    return Search(tree.root, sum(1 for path, _ in tree.files if path.suffix == ".py"), found)


__all__ = ["LISTING", "MAX_FILES", "Search", "Tree", "listing_digest", "naming", "project_root", "read_tree", "repository_root"]
