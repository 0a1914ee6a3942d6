"""Making instances of the code's classes: ``Net(...)`` builds a Module (a class deriving from
nn.Module or one of torch's layers) or a plain instance, then runs ``__init__`` along the class's
MRO, with torch's own constructors where the MRO reaches one of torch's layers. A class another
class of the file builds may come back as a copy of an earlier build (builds.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from initlint.model.interp.hf import config_alias, dataclass_config
from initlint.model.torchlib.classes import family, torch_class
from initlint.model.values import UNKNOWN, ClassValue, External, FunctionValue, Instance, Module, Place

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator


class Instances:
    """Instantiation for the Evaluator."""

    def instantiate(self: "Evaluator", cls: ClassValue, args: list[Any], kwargs: dict[str, Any], place: Place, open_: bool) -> Any:
        builds = self.builds
        if builds is not None and (
            cls.name in builds.wanted or id(cls) in builds.unforeseen_classes or not self.calls and _is_module(cls, *_bases(cls.mro()))
        ):
            # a copy where one was recorded; an entry's own build is noted, in case it comes again
            return builds.build(self, cls, args, kwargs, place, open_)
        return self.make_instance(cls, args, kwargs, place, open_)

    def make_instance(self: "Evaluator", cls: ClassValue, args: list[Any], kwargs: dict[str, Any], place: Place, open_: bool) -> Any:
        order = cls.mro()
        torch_base, open_base = _bases(order)
        if _is_module(cls, torch_base, open_base):
            kind = torch_base if torch_base not in (None, "Module") else cls.name
            obj: Any = Module(kind, family(torch_base) if torch_base not in (None, "Module") else "user", cls=cls,
                              made=place, repeat=self.repeat, open_base=open_base)
        else:
            obj = Instance(cls)
        if "__dataclass_fields__" in _class_body_chain(cls):
            self._dataclass_init(obj, cls, args, kwargs)
        init = self._find_init(order)
        raised_before = len(self.raised)
        if isinstance(init, FunctionValue):
            self.call_function(init, [obj, *args], kwargs, place, open_)
        elif isinstance(init, External):
            self.call_external(f"{init.name}.__init__", [obj, *args], kwargs, place, None, open_)
        if len(self.raised) > raised_before and not self.maybe:
            self.event("construction-raised", place, cls)
        if open_ and isinstance(obj, Module):
            obj.tainted = True
        post = _lookup(cls, "__post_init__")
        if "__dataclass_fields__" in _class_body_chain(cls):
            if isinstance(post, FunctionValue):
                self.call_function(post, [obj], {}, place)
            elif isinstance(obj, Instance) and dataclass_config(cls):  # the library's __post_init__
                self.hf_config_post_init(obj, {}, place)
        return obj

    def _find_init(self, order: list[Any]) -> Any:
        for item in order:
            if isinstance(item, ClassValue):
                if "__init__" in item.body:
                    return item.body["__init__"]
                if "__dataclass_fields__" in item.body:
                    return None
            elif isinstance(item, External):
                if item.name in ("builtins.object", "object") or torch_class(item.name) == "Module":
                    continue
                return item
            else:
                return UNKNOWN
        return None

    def _dataclass_init(self, obj: Any, cls: ClassValue, args: list[Any], kwargs: dict[str, Any]) -> None:
        fields = _class_body_chain(cls)["__dataclass_fields__"]
        attrs = obj.attrs
        for index, name in enumerate(fields):
            stored = config_alias(cls, name)  # a transformers config's __setattr__ follows attribute_map
            if index < len(args):
                attrs[stored] = args[index]
            elif name in kwargs:
                attrs[stored] = kwargs[name]
            else:
                default = _lookup(cls, name)
                attrs[stored] = default if default is not None or _has(cls, name) else UNKNOWN


def makes_module(cls: ClassValue) -> bool:
    """Whether ``cls(...)`` makes a Module rather than a plain instance. Decided by the bases
    alone, before any ``__init__`` runs (make_instance)."""
    return _is_module(cls, *_bases(cls.mro()))


def _is_module(cls: ClassValue, torch_base: str | None, open_base: bool) -> bool:
    """A base is one of torch's classes, or a base outside the evaluated code may be an
    nn.Module and the class has a ``forward``."""
    return torch_base is not None or open_base and _defines(cls, "forward")


def _bases(order: list[Any]) -> tuple[str | None, bool]:
    """The torch class the MRO reaches (None: none), and whether a base lies outside the
    evaluated code and is not known to be a plain class (it may be an nn.Module)."""
    torch_base = next((torch_class(item.name) for item in order if isinstance(item, External) and torch_class(item.name)), None)
    open_base = any(item is UNKNOWN or isinstance(item, External) and not _known_base(item) for item in order)
    return torch_base, open_base


def _known_base(item: External) -> bool:
    return item.name in ("builtins.object", "object") or torch_class(item.name) is not None or item.name.startswith(
        ("typing.", "abc.", "enum.", "builtins.")
    )


def _defines(cls: ClassValue, name: str) -> bool:
    return any(isinstance(item, ClassValue) and name in item.body for item in cls.mro())


def _class_body_chain(cls: ClassValue) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for item in reversed(cls.mro()):
        if isinstance(item, ClassValue):
            merged.update(item.body)
    return merged


def _lookup(cls: ClassValue, name: str) -> Any:
    try:
        return cls.lookup(name)
    except KeyError:
        return None


def _has(cls: ClassValue, name: str) -> bool:
    try:
        cls.lookup(name)
        return True
    except KeyError:
        return False


__all__ = ["Instances", "makes_module"]
