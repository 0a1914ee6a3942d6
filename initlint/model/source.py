"""One file the evaluator reads: its display path, its module name in the project, its tree."""

from __future__ import annotations

from dataclasses import field
from pathlib import Path

from initlint.lean import dataclass
from initlint.tree import nodes
from initlint.tree.spans import code


@dataclass(eq=False)
class ParsedFile:
    """A parsed file. ``module`` is its dotted name inside its package (``pkg.models.net``), or
    the file's stem for a script; ``folder`` is where a script's own imports are looked up."""

    path: str
    tree: nodes.Module = field(repr=False)
    text: str = field(repr=False)
    module: str = ""
    folder: Path | None = None
    package_root: Path | None = None  # the folder holding the top package, if in a package
    is_package: bool = False  # an __init__.py
    #: content hash of the bytes it was read from (the cache checks dependencies by it)
    digest: str = ""
    def code(self, node: nodes.CSTNode) -> str:
        """The source text of a node (messages quote small expressions), of whichever file
        holds it: a rule may quote a helper's line in another file of the project."""
        return code(node)

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        if self.is_package:
            return self.module
        return self.module.rpartition(".")[0]


def module_identity(path: Path) -> tuple[str, Path | None, bool]:
    """(dotted module name, folder holding the top package or None, is __init__.py).

    Walks up while the folder has an ``__init__.py``: ``src/pkg/models/net.py`` in package ``pkg``
    is ``pkg.models.net`` with root ``src``; a script outside any package is its stem.
    """
    path = path.resolve()
    is_package = path.name == "__init__.py"
    parts = [] if is_package else [path.stem]
    folder = path.parent
    root = None
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        root = folder.parent
        if folder.parent == folder:
            break
        folder = folder.parent
    return ".".join(parts), root, is_package
