"""Items and iteration of evaluated containers: lists, tuples, dicts, ``nn.Sequential`` /
``ModuleList`` / ``ModuleDict`` (``self.layers[0]``, ``for layer in self.layers``), and loops
whose count is open (a template element standing for ``repeat`` copies)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from initlint.model.interp import slots
from initlint.model.interp.context import MISSING, Frame
from initlint.model.interp.types import is_plain
from initlint.model.tensors import Tensor
from initlint.model.values import (
    UNKNOWN,
    ClassValue,
    DictObj,
    External,
    KnownSet,
    ListObj,
    Module,
    Place,
    Shape,
    Signal,
    Sym,
    is_generic,
)

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator


class Containers:
    """The container half of the Evaluator."""

    def getitem(self: "Evaluator", value: Any, index: Any, node: Any, frame: Frame) -> Any:
        if slots.tracking:
            slots.touch(value, index)  # a sequence indexed or sliced by an int subclass reads it in C
        if isinstance(value, Shape) and value.tensor is not None and index == 0 and not isinstance(index, bool):
            self.event("size-read", Place(frame.source, node), value.tensor.root, 0)
        if isinstance(value, (Signal,)):
            return value  # x[:, 0], x[..., :d]: the same signal, sliced
        if isinstance(value, Tensor):
            return self.tensor_item(value, index, Place(frame.source, node))
        if isinstance(value, Module):
            return self.container_item(value, index)
        if isinstance(value, (tuple, str, ListObj)):
            items = value.items if isinstance(value, ListObj) else value
            if isinstance(value, ListObj) and value.template:
                if isinstance(index, slice):
                    return ListObj(list(items), UNKNOWN)
                return items[0] if items else UNKNOWN
            if isinstance(index, slice):
                if index.step is UNKNOWN:
                    return UNKNOWN
                part = items[index]
                return ListObj(list(part)) if isinstance(value, ListObj) else part
            if isinstance(index, int) and not isinstance(index, bool):
                try:
                    return items[index]
                except IndexError:
                    return UNKNOWN
            return UNKNOWN
        if isinstance(value, DictObj):
            if is_plain(index) and index in value.items:
                return value.items[index]
            return UNKNOWN
        if isinstance(value, Sym):
            return Sym(f"{value.text}[{index!r}]", derived=True) if is_plain(index) else UNKNOWN
        if isinstance(value, External):
            return value  # typing: List[int], Optional[X]
        if isinstance(value, ClassValue) and is_generic(value):
            # ``Net[Any]``: typing's alias of the class, which a class statement's bases and a
            # call both take as the class itself (``__mro_entries__``, the alias's ``__call__``)
            return value
        return UNKNOWN

    def container_item(self, module: Module, index: Any) -> Any:
        children = list(module.modules.values()) or list(module.params.values())
        if module.kind == "ModuleDict" or module.kind == "ParameterDict":
            table = module.modules if module.kind == "ModuleDict" else module.params
            return table.get(index, UNKNOWN) if isinstance(index, str) else UNKNOWN
        if module.repeat != 1 or any(child is not None and child.repeat != 1 for child in children if isinstance(child, Module)):
            if isinstance(index, slice):
                return module
            return children[0] if len(children) == 1 else UNKNOWN
        if isinstance(index, int) and not isinstance(index, bool):
            try:
                return children[index]
            except IndexError:
                return UNKNOWN
        if isinstance(index, slice) and index.step is not UNKNOWN:
            part = Module(module.kind, module.family, made=module.made, path=module.path)
            for i, child in enumerate(children[index]):
                part.modules[str(i)] = child
            return part
        return UNKNOWN

    def setitem(self: "Evaluator", owner: Any, index: Any, value: Any, place: Place, frame: Frame) -> None:
        if slots.tracking:
            slots.touch(index)  # list[i] = x: the list reads an int subclass in C
        self.note_change(owner)
        if isinstance(owner, Tensor):
            self.tensor_setitem(owner, index, value, place)
        elif isinstance(owner, ListObj):
            if isinstance(index, int) and not owner.template and -len(owner.items) <= index < len(owner.items):
                owner.items[index] = value
            else:
                owner.repeat = UNKNOWN
        elif isinstance(owner, DictObj):
            if is_plain(index):
                owner.items[index] = self._maybe_replace(owner.items.get(index, MISSING), value)
            else:
                owner.open = True
        elif isinstance(owner, Module) and isinstance(index, (str, int)) and not isinstance(index, bool):
            self.adopt_item(owner, str(index), value)

    # ----- iteration
    def iterate(self: "Evaluator", value: Any) -> list[Any] | None:
        """The items a ``for`` loop over ``value`` visits, or None when they are not known."""
        if isinstance(value, tuple):
            return list(value)
        if isinstance(value, ListObj):
            return None if value.template else list(value.items)
        if isinstance(value, str):
            return list(value) if len(value) <= 64 else None
        if isinstance(value, DictObj):
            return None if value.open else list(value.items)
        if isinstance(value, range):
            return list(value) if len(value) <= 100_000 else None
        if isinstance(value, KnownSet):
            return list(value.items) if len(value.items) <= 1 else None  # more: order not known
        if isinstance(value, Module):
            if value.family == "container":
                if value.kind in ("ModuleDict", "ParameterDict"):
                    return list(value.modules) if value.kind == "ModuleDict" else list(value.params)
                children = value.modules if value.kind != "ParameterList" else value.params
                if any(isinstance(c, Module) and c.repeat != 1 for c in children.values()):
                    return None
                return list(children.values())
            return None
        return None

    def template_count(self, value: Any) -> Any:
        """How often a loop over ``value`` runs when its items are not all known."""
        if isinstance(value, ListObj):
            return value.repeat if value.template and len(value.items) == 1 else UNKNOWN
        if isinstance(value, range):
            return len(value)
        if isinstance(value, Module) and value.family == "container":
            children = list(value.modules.values())
            if len(children) == 1 and isinstance(children[0], Module):
                return children[0].repeat
        return UNKNOWN

    def template_element(self, value: Any) -> Any:
        if isinstance(value, ListObj) and value.items:
            return value.items[0]
        if isinstance(value, Module) and value.family == "container":
            children = list(value.modules.values())
            if children:
                return children[0]
        return UNKNOWN

    def extend_list(self: "Evaluator", target: ListObj, items: list[Any]) -> None:
        self.note_change(target)
        if self.repeat != 1:
            target.items.extend(items)
            target.repeat = self.repeat if len(target.items) == 1 else UNKNOWN
        elif target.template:
            target.repeat = UNKNOWN
        else:
            target.items.extend(items)

    # ----- the module tree
