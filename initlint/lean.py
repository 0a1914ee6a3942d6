"""``dataclass`` as the standard library's, with one ``__repr__`` shared by every class.

Python 3.11 compiles each generated method of each dataclass from source while its module
imports (``exec`` per method). initlint defines ~70 dataclasses on the way to linting one file,
and a one-file run (pre-commit) is mostly start-up: their ``__repr__``s alone were ~10 ms of a
~0.33 s run. A repr is only read when debugging or in a test's failure message, so one function
reads the fields when asked instead. It prints what the generated one prints:
``Name(field=value, ...)`` with the fields declared ``repr=True``, ``...`` on recursion.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, Callable, TypeVar, overload

try:  # type checkers read the wrapper as dataclasses.dataclass (Python 3.11+)
    from typing import dataclass_transform
except ImportError:  # Python 3.10: only type checkers care
    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda function: function

Type = TypeVar("Type", bound=type)

#: the fields each class shows in its repr (``repr=True``), found on first use
_SHOWN: dict[type, tuple[str, ...]] = {}
#: objects whose repr is being built, per thread: a repr reached again prints ``...``
_RUNNING: set[tuple[int, int]] = set()


def _shared_repr(self: Any) -> str:
    kind = type(self)
    names = _SHOWN.get(kind)
    if names is None:
        names = _SHOWN[kind] = tuple(f.name for f in dataclasses.fields(kind) if f.repr)
    key = (id(self), threading.get_ident())
    if key in _RUNNING:
        return "..."
    _RUNNING.add(key)
    try:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
    finally:
        _RUNNING.discard(key)
    return f"{kind.__qualname__}({shown})"


@overload
def dataclass(cls: Type, /) -> Type: ...
@overload
def dataclass(cls: None = None, /, **options: Any) -> Callable[[Type], Type]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def dataclass(cls: Any = None, /, **options: Any) -> Any:
    """``dataclasses.dataclass(cls, **options)``; unless ``repr=False`` is asked, the class
    gets the shared ``__repr__`` (a ``__repr__`` of its own body wins, as with the original)."""
    wanted = options.pop("repr", True)

    def wrap(kind: Any) -> Any:
        made = dataclasses.dataclass(kind, repr=False, **options)
        if wanted and "__repr__" not in made.__dict__:
            made.__repr__ = _shared_repr
        return made

    return wrap if cls is None else wrap(cls)


__all__ = ["dataclass"]
