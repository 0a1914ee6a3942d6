"""The project index: which file an import names, and each file's evaluated globals.

Imports between files of the linted tree resolve the way Python would resolve them for a script
run from its own folder or a package imported from its root: ``from .utils import init_weights``
in ``pkg/models/net.py`` is ``pkg/models/utils.py``; ``import utils`` in a script is a sibling
file; ``from pkg.layers import Block`` is found under the folder that holds ``pkg``. A name
imported from a file that cannot be found stays an External (outside the evaluated code).

Files are read through a loader the engine supplies (read once, decoded, parsed) and kept for
the run; every file a result depended on is recorded with its content hash, so the cache can tell
when a dependency changed.
"""

from __future__ import annotations

from dataclasses import field
from functools import lru_cache
from pathlib import Path
from typing import Callable

from initlint.lean import dataclass
from initlint.model.callers import LISTING, Search, Tree, naming, project_root, read_tree, repository_root
from initlint.model.source import ParsedFile
from initlint.model.values import Namespace
from initlint.reading import content_hash

#: at most this many other files are loaded for one linted file (a package's __init__ chains)
MAX_DEPENDENCIES = 64

Loader = Callable[[Path], "ParsedFile | None"]


@dataclass(eq=False)
class Project:
    """Files and their namespaces for one run (or one worker's share of it)."""

    loader: Loader
    sources: dict[Path, ParsedFile | None] = field(default_factory=dict)
    namespaces: dict[Path, Namespace] = field(default_factory=dict)
    #: content hashes of the files loaded as dependencies: path -> digest (from the loader)
    digests: dict[Path, str] = field(default_factory=dict)
    #: the project trees read to find who names a function (callers.py), by root
    trees: dict[Path, "Tree | None"] = field(default_factory=dict)
    #: content hashes of the files such a search read: a call added there changes the answer
    searched: dict[str, str] = field(default_factory=dict)
    #: each import already looked up: (importer, dotted, level) -> file (``from .x import a, b``
    #: looks ``.x`` up once per name, each a few stat calls)
    found: dict[tuple[str, str, int], Path | None] = field(default_factory=dict)
    #: the defs of decorators that ran out of their steps once (calls.apply_decorator): not run
    #: again for this file (transformers' ``@auto_docstring`` reads whole docstrings)
    costly_decorators: set[int] = field(default_factory=set)

    def search(self, source: ParsedFile, name: str, in_library: bool = False) -> Search | None:
        """Which other files of ``source``'s project name ``name``; None when the project has
        no known end, is too large (callers.py), or is a packaged library: its users' code is
        not in the tree, so finding no file that names ``name`` proves nothing. With
        ``in_library`` a library is searched too, for questions that only a file found answers,
        and a package with no repository around it (an unpacked wheel) is its own project."""
        if source.folder is None:
            return None
        own = source.folder / Path(source.path).name
        root, library = project_root(own)
        if root is None and in_library and source.package_root is not None:
            root = source.package_root / source.module.split(".")[0]
        if root is None or library and not in_library:
            return None
        if root not in self.trees:
            self.trees[root] = read_tree(root)
        tree = self.trees[root]
        if tree is None:
            return None
        self.searched.update(tree.digests)
        self.searched[LISTING + str(root)] = tree.listing
        return naming(tree, name, own)

    def source(self, path: Path) -> ParsedFile | None:
        path = resolved(path)
        if path not in self.sources:
            self.sources[path] = self.loader(path)
        return self.sources[path]

    def dependencies(self, own: str) -> dict[str, str]:
        """{path: content hash} of every other file this run's evaluation read."""
        found = {}
        for path, source in self.sources.items():
            if source is None or str(path) == own:
                continue
            if not source.digest:
                try:
                    source.digest = content_hash(path.read_bytes())
                except OSError:
                    continue
            found[str(path)] = source.digest
        for path, digest in self.searched.items():
            if path != own:
                found.setdefault(path, digest)
        return found

    def find(self, importer: ParsedFile, dotted: str, level: int) -> Path | None:
        """The file ``import dotted`` (with ``level`` leading dots) names, from ``importer``."""
        key = (importer.path, dotted, level)
        if key not in self.found:
            self.found[key] = self._find(importer, dotted, level)
        return self.found[key]

    def _find(self, importer: ParsedFile, dotted: str, level: int) -> Path | None:
        """The first folder's file; never, for an absolute import, the importer itself: that is
        the library module it shadows (``from typing import Union`` in ``pkg/typing.py``)."""
        parts = [p for p in dotted.split(".") if p]
        itself = resolved(Path(importer.path)) if level == 0 else None
        for folder in self._search(importer, level, parts[0] if parts else None):
            found = _importable(folder, parts, itself)
            if found is not None:
                return found
        if level == 0 and parts:
            # last, as Python searches site-packages after the script's folder
            own = _own_package_holder(resolved(Path(importer.path)).parent, parts[0])
            if own is not None:
                return _importable(own, parts, itself)
        return None

    def _search(self, importer: ParsedFile, level: int, top: str | None = None) -> list[Path]:
        """Folders an import is looked up in: the importer's folder, the folder holding its top
        package, and above that when the import's first name is that folder (a namespace
        package: ``timm/`` without ``__init__.py`` around ``timm/layers`` and ``timm/models``)."""
        here = resolved(Path(importer.path)).parent
        if level > 0:
            folder = here
            for _ in range(level - 1):
                folder = folder.parent
            return [folder]
        folders = [here]
        root = importer.package_root
        if root is not None and root not in folders:
            folders.append(root)
        if root is not None and top == root.name and root.parent != root:
            folders.append(root.parent)
        return folders


@lru_cache(maxsize=4096)
def resolved(path: Path) -> Path:
    """``path.resolve()``, once per path: imports resolve the same files thousands of times."""
    return path.resolve()


@lru_cache(maxsize=4096)
def _own_package_holder(folder: Path, top: str) -> Path | None:
    """The folder holding package ``top`` when it is the package of the repository ``folder``
    lies in (``<root>/top/`` or ``<root>/src/top/``, with an ``__init__.py``): the examples,
    scripts and tests beside a package import it as installed for development (``pip install
    -e .``), and that installation is this very folder. Asked only once the importer's own
    folders lack the module."""
    root = repository_root(folder)
    if root is None:
        return None
    for holder in (root, root / "src"):
        if (holder / top / "__init__.py").is_file():
            return holder
    return None


def _importable(folder: Path, parts: list[str], itself: Path | None) -> Path | None:
    """The module's file in ``folder``, unless it is the importer itself (``itself``)."""
    found = _module_file(folder, parts)
    return found if found is not None and (itself is None or resolved(found) != itself) else None


def _module_file(folder: Path, parts: list[str]) -> Path | None:
    if not parts:
        init = folder / "__init__.py"
        return init if init.is_file() else None
    base = folder.joinpath(*parts)
    candidate = base.with_suffix(".py")
    if candidate.is_file():
        return candidate
    init = base / "__init__.py"
    if init.is_file():
        return init
    return None
