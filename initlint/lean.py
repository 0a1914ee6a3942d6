"""``dataclass`` as the standard library's, with the methods every class would compile shared.

Python 3.11 compiles each generated method of each dataclass from source while its module
imports (an ``exec`` per method). initlint defines ~70 dataclasses on the way to linting one
file, and a one-file run (pre-commit) is mostly start-up: the ``__repr__``s and a frozen class's
``__setattr__``/``__delattr__`` were ~20 ms of a ~0.33 s run. Those need nothing of the class
that a shared function cannot read when asked:
- ``__repr__`` prints what the generated one prints: ``Name(field=value, ...)`` with the fields
  declared ``repr=True``, ``...`` on recursion;
- a frozen class's ``__setattr__`` lets a field be assigned once and raises
  ``FrozenInstanceError`` on assigning it again, deleting, or setting any other attribute.
  Its ``__init__`` is the standard frozen one (``object.__setattr__`` per field, never through
  ``__setattr__``): frozen values (``Sym``, the distributions) are made by the hundred thousand
  while linting, and a Python-level ``__setattr__`` per field was ~1% of it. (Copies, pickles
  and ``object.__setattr__`` in ``__post_init__`` work as with the standard frozen class.)
``__init__``, ``__eq__``, ``__hash__`` and ordering are the standard library's, compiled when
first looked up rather than at import: a one-file run uses about a third of them (49 of 140),
and each compile costs ~0.17 ms. Where the standard library builds them otherwise (Python 3.13
compiles a class's methods in one go), the class is made as the standard library makes it.
"""

from __future__ import annotations

import dataclasses
import threading
from functools import partial
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
    """A frozen class's fields are each assigned once (``__init__`` does it without this)."""
    if name in self.__dict__ or name not in type(self).__dataclass_fields__:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _frozen_delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


#: the standard library's compiler of generated methods (Python 3.10-3.12; None where it has none)
_CREATE_FN: Callable[..., Any] | None = getattr(dataclasses, "_create_fn", None)
if _CREATE_FN is not None and _CREATE_FN.__code__.co_varnames[:3] != ("name", "args", "body"):
    _CREATE_FN = None
#: one class made at a time: the compiler is swapped while the standard decorator runs
_MAKING = threading.RLock()


class _Deferred:
    """A generated method, compiled when first looked up (a call, ``inspect.signature``, any
    ``getattr``) and then set on its class in place of this descriptor."""

    __slots__ = ("__name__", "compile", "owner", "function")

    def __init__(self, name: str, compile: Callable[[], Any]) -> None:
        self.__name__ = name
        self.compile = compile
        self.owner: type | None = None
        self.function: Any = None

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        function = self.function
        if function is None:
            function = self.function = self.compile()
            kind = self.owner
            if kind is not None:
                function.__qualname__ = f"{kind.__qualname__}.{self.__name__}"
                if kind.__dict__.get(self.__name__) is self:
                    setattr(kind, self.__name__, function)
        return function.__get__(instance, owner)


def _standard(kind: type, options: dict[str, Any]) -> type:
    """``dataclasses.dataclass(kind, **options)`` with its generated methods deferred."""
    if _CREATE_FN is None:
        return dataclasses.dataclass(kind, **options)
    create = _CREATE_FN
    made_here: list[_Deferred] = []

    def defer(name: str, args: Any, body: Any, **keywords: Any) -> _Deferred:
        method = _Deferred(name, partial(create, name, args, body, **keywords))
        made_here.append(method)
        return method

    with _MAKING:
        dataclasses._create_fn = defer  # type: ignore[attr-defined]
        try:
            made = dataclasses.dataclass(kind, **options)
        finally:
            dataclasses._create_fn = create  # type: ignore[attr-defined]
    for method in made_here:
        if made.__dict__.get(method.__name__) is method:
            method.owner = made
    return made


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
        if frozen and ("__setattr__" in kind.__dict__ or "__delattr__" in kind.__dict__):
            raise TypeError(f"cannot overwrite __setattr__/__delattr__ of frozen class {kind.__name__}")
        made = _standard(kind, {**options, "repr": False, "frozen": frozen})
        if wanted and "__repr__" not in made.__dict__:
            made.__repr__ = _shared_repr
        if frozen:  # in place of the standard ones, which _standard left uncompiled
            made.__setattr__ = _frozen_setattr
            made.__delattr__ = _frozen_delattr
        return made

    return wrap if cls is None else wrap(cls)


__all__ = ["dataclass"]
