"""What class a value has, and ``isinstance`` / ``type(a) == B`` decided on evaluated values:
guards in init loops (``isinstance(m, nn.Conv2d)``, ``type(m) == nn.Linear``) decide per element
here, and anything not decided is None (the interpreter runs both branches)."""

from __future__ import annotations

from typing import Any

from initlint.model.interp import slots
from initlint.model.interp.calls import Builtin
from initlint.model.torchlib.classes import ancestry
from initlint.model.tensors import Tensor
from initlint.model.values import (
    UNKNOWN,
    BoundMethod,
    ClassValue,
    DictObj,
    External,
    FunctionValue,
    Instance,
    ListObj,
    Module,
    PartialValue,
)


class Types:
    """The type half of the Evaluator."""

    def type_of(self, value: Any) -> Any:
        if slots.tracking:
            slots.touch(value)  # an int subclass's class is not int's
        if isinstance(value, Module):
            return value.cls if value.cls is not None else External(f"torch.nn.{value.kind}")
        if isinstance(value, Instance):
            return value.cls
        if isinstance(value, Tensor):
            return External("torch.nn.parameter.Parameter" if value.parameter else "torch.Tensor")
        if isinstance(value, bool):
            return External("builtins.bool")
        if isinstance(value, int):
            return External("builtins.int")  # also a tracked int's (slots.py)
        if isinstance(value, (float, str)):
            return External(f"builtins.{type(value).__name__}")
        return UNKNOWN

    def class_equality(self, left: Any, right: Any) -> bool | None:
        """``type(m) == nn.Linear``: equality of two class values."""
        classes = (ClassValue, External)
        if not (isinstance(left, classes) and isinstance(right, classes)):
            return None
        if isinstance(left, ClassValue) or isinstance(right, ClassValue):
            return left is right
        a, b = _torch_name(left.name), _torch_name(right.name)
        if a and b:
            return a == b
        return True if left.name == right.name else None

    def excludes(self, cls: ClassValue, order: tuple[Any, ...]) -> bool:
        """No class of ``order`` (an MRO) outside the evaluated code can derive from ``cls``:
        each is object or torch's, or existed before ``cls`` did. A class is made after its bases,
        so what ``cls``'s module had bound when its class statement ran, and their bases, cannot
        have it as a base: ``class Block(GradientCheckpointingLayer)`` is no ``LayerNorm`` of
        the same file, whatever the library's class holds."""
        for item in order:
            if isinstance(item, ClassValue):
                continue
            if not isinstance(item, External):
                return False
            if item.name in ("object", "builtins.object") or item.name.startswith("torch."):
                continue  # neither can derive from a class of the evaluated code
            if id(item) not in self._predating(cls):
                return False
        return True

    def _predating(self, cls: ClassValue) -> dict[int, Any]:
        """The classes that existed before ``cls`` (by id): ``cls.earlier`` and their MROs."""
        known = self.predating.get(id(cls))
        if known is None:
            found = {id(item): item for value in cls.earlier
                     for item in (value.mro() if isinstance(value, ClassValue) else (value,))}
            known = self.predating[id(cls)] = (cls, found)  # the class kept alive: its id stays its own
        return known[1]

    def isinstance_of(self, value: Any, cls: Any) -> bool | None:
        """Whether ``isinstance(value, cls)`` holds; None when it is not decided."""
        if isinstance(cls, Builtin) and cls.name in ("int", "float", "str", "bool", "tuple", "list", "dict"):
            cls = External(f"builtins.{cls.name}")  # the modelled constructor names the class
        if isinstance(cls, tuple):
            results = [self.isinstance_of(value, item) for item in cls]
            if True in results:
                return True
            return None if None in results else False
        if isinstance(value, Module):
            return _module_isinstance(self, value, cls)
        if isinstance(value, Tensor):
            if isinstance(cls, External):
                name = cls.name.rsplit(".", 1)[-1]
                if name == "Parameter":
                    return value.parameter
                if name == "Tensor":
                    return True
                return False if cls.name.startswith(("torch.nn.", "builtins.")) else None
            return False
        if isinstance(cls, External) and cls.name.startswith("builtins."):
            kind = cls.name.removeprefix("builtins.")
            python = {"int": int, "float": float, "str": str, "bool": bool, "tuple": tuple}.get(kind)
            if python is not None and (is_plain(value) or isinstance(value, tuple)):
                if python is int and isinstance(value, bool):
                    return True
                return isinstance(value, python)
            if kind in ("list", "dict") and isinstance(value, (ListObj, DictObj, tuple)) or is_plain(value):
                return isinstance(value, ListObj if kind == "list" else DictObj)
            if kind in ("int", "float", "str", "bool", "tuple", "list", "dict") and isinstance(
                value, (ClassValue, FunctionValue, BoundMethod, PartialValue, Instance)
            ):
                return False  # a class, a function or an object of the code is none of these
        if isinstance(cls, External):
            abstract = _abstract_collection(value, cls.name)
            if abstract is not None:
                return abstract
        if isinstance(value, Instance) and isinstance(cls, ClassValue):
            return any(item is cls for item in value.cls.mro()) or None
        return None


#: collections.abc's classes (also under typing) and which of Python's own values are instances
_ABSTRACT: dict[str, tuple[type, ...]] = {
    "Sequence": (list, tuple, str), "MutableSequence": (list,), "Mapping": (dict,), "MutableMapping": (dict,),
    "Iterable": (list, tuple, str, dict), "Collection": (list, tuple, str, dict),
    "Container": (list, tuple, str, dict), "Sized": (list, tuple, str, dict),
}


def _abstract_collection(value: Any, name: str) -> bool | None:
    """``isinstance(v, Sequence)`` (collections.abc or typing) for a list, tuple, dict, string or
    number the code made; None for anything else."""
    module, _, last = name.rpartition(".")
    if module not in ("collections.abc", "typing", "collections") or last not in _ABSTRACT:
        return None
    if isinstance(value, ListObj):
        python: type = list
    elif isinstance(value, DictObj):
        python = dict
    elif isinstance(value, tuple) or is_plain(value):
        python = type(value)
    else:
        return None
    return issubclass(python, _ABSTRACT[last])


def is_plain(value: Any) -> bool:
    """None, a bool, a number or a string: a value Python itself can compare and test."""
    return value is None or isinstance(value, (bool, int, float, str))


def _torch_name(name: str) -> str | None:
    if name.startswith("torch.nn."):
        return name.rsplit(".", 1)[-1]
    return None


def _module_isinstance(evaluator: Any, module: Module, cls: Any) -> bool | None:
    if isinstance(cls, ClassValue):
        if module.cls is None:
            return False
        order = module.cls.mro()
        if any(item is cls for item in order):
            return True
        return None if module.open_base and not evaluator.excludes(cls, order) else False
    if not isinstance(cls, External):
        return None
    torch = _torch_name(cls.name)
    if torch is not None:
        if torch == "Module":
            return True
        torch_kind = module.kind if module.cls is None else _torch_base(module)
        if torch_kind is not None and torch in ancestry(torch_kind):
            return True
        return None if module.open_base else False
    if module.cls is not None and any(isinstance(item, External) and item.name == cls.name for item in module.cls.mro()):
        return True
    if cls.name.startswith("builtins."):
        return False
    return None if module.open_base or module.cls is None and module.family == "opaque" else False


def _torch_base(module: Module) -> str | None:
    for item in module.cls.mro() if module.cls is not None else []:
        if isinstance(item, External):
            name = _torch_name(item.name)
            if name and name != "Module":
                return name
    return None
