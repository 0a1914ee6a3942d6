"""``dataclass`` as the standard library's, with the methods every class would compile shared.

Python 3.11 compiles each generated method of each dataclass from source while its module
imports (an ``exec`` per method). initlint defines ~70 dataclasses on the way to linting one
file, and a one-file run (pre-commit) is mostly start-up: the ``__repr__``s and a frozen class's
``__setattr__``/``__delattr__`` were ~20 ms of a ~0.33 s run. Those need nothing of the class
that a shared function cannot read when asked:
- ``__repr__`` prints what the generated one prints: ``Name(field=value, ...)`` with the fields
  declared ``repr=True``, ``...`` on recursion;
- a frozen class is made as a plain one with the same ``__hash__`` (``unsafe_hash``), and its
  fields can be assigned once, which is what its ``__init__`` does; assigning again, deleting,
  or setting any other attribute raises ``FrozenInstanceError``, as before. (Copies, pickles and
  ``object.__setattr__`` in ``__post_init__`` work as with the standard frozen class.)
``__init__``, ``__eq__`` and ordering are the standard library's.
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


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    """A frozen class's fields are each assigned once, by ``__init__``; nothing else is."""
    if name in self.__dict__ or name not in type(self).__dataclass_fields__:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _frozen_delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


@overload
def dataclass(cls: Type, /) -> Type: ...
@overload
def dataclass(cls: None = None, /, **options: Any) -> Callable[[Type], Type]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def dataclass(cls: Any = None, /, **options: Any) -> Any:
    """``dataclasses.dataclass(cls, **options)``, with the shared ``__repr__`` (unless
    ``repr=False``; a ``__repr__`` of the class body wins, as with the original) and, for
    ``frozen=True``, the shared ``__setattr__``/``__delattr__`` and the field-tuple ``__hash__``
    the original gives a frozen class with ``__eq__`` (a ``__hash__`` of the body wins)."""
    wanted = options.pop("repr", True)
    frozen = options.pop("frozen", False)

    def wrap(kind: Any) -> Any:
        made_options = dict(options)
        if frozen:
            if "__setattr__" in kind.__dict__ or "__delattr__" in kind.__dict__:
                raise TypeError(f"cannot overwrite __setattr__/__delattr__ of frozen class {kind.__name__}")
            if made_options.get("eq", True) and "__hash__" not in kind.__dict__:
                made_options.setdefault("unsafe_hash", True)
        made = dataclasses.dataclass(kind, repr=False, **made_options)
        if wanted and "__repr__" not in made.__dict__:
            made.__repr__ = _shared_repr
        if frozen:
            made.__setattr__ = _frozen_setattr
            made.__delattr__ = _frozen_delattr
        return made

    return wrap if cls is None else wrap(cls)


__all__ = ["dataclass"]
