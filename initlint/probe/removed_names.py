"""Names newer Python removed that research code still imports.

``from collections import Sequence`` worked until Python 3.10, which removed the aliases of the
``collections.abc`` classes from ``collections``; code written before then fails at import
with ``cannot import name 'Sequence' from 'collections'``. The name meant exactly
``collections.abc.Sequence``, so the probe puts that class back under the old name and says so
in the report's notes; the model's own code then runs as its authors ran it.
"""

from __future__ import annotations

import collections
import collections.abc
import re

_CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)' from 'collections' ")


def restore_removed_name(error: BaseException) -> str | None:
    """When ``error`` is an import of a ``collections.abc`` class from ``collections``: alias
    it and return the note, else None."""
    name = None
    if isinstance(error, ImportError) and not isinstance(error, ModuleNotFoundError):
        match = _CANNOT_IMPORT.search(str(error) + " ")
        name = match.group(1) if match else None
    elif isinstance(error, AttributeError) and getattr(error, "obj", None) is collections:
        name = error.name
    if not name or name not in collections.abc.__all__ or hasattr(collections, name):
        return None
    setattr(collections, name, getattr(collections.abc, name))
    return (f"import: `collections.{name}` is `collections.abc.{name}`, removed from collections in "
            f"Python 3.10; restored under the old name")
