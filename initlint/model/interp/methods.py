"""Methods of built-in kinds of objects (making instances of classes is in instances.py).

nn.Module's methods walk the evaluated tree in torch's order (``apply`` visits children before
the module itself, as torch does); list, dict and str methods do what Python's do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from initlint.model.interp import slots
from initlint.model.interp.context import Frame
from initlint.model.interp.hf import INIT_WALKS, is_pretrained
from initlint.model.tensors import Tensor
from initlint.model.values import (
    UNKNOWN,
    DictObj,
    ListObj,
    Module,
    Place,
    Signal,
    Sym,
    is_number,
    module_tree,
)
from initlint.model.torchlib.init_fns import TENSOR_WRITES

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

_SELF_RETURNING = frozenset(
    {"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval", "type", "share_memory", "requires_grad_"}
)
#: list and dict methods that change nothing
_READING_METHODS = frozenset({"get", "keys", "values", "items", "copy", "index", "count"})
_HOOKS = frozenset(
    {"register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook", "register_backward_hook",
     "register_load_state_dict_post_hook", "register_state_dict_pre_hook", "zero_grad", "extra_repr"}
)
_STR_METHODS = frozenset(
    {"find", "startswith", "endswith", "lower", "upper", "replace", "split", "strip", "lstrip",
     "rstrip", "rfind", "count", "index", "isdigit", "isalpha", "title", "capitalize", "partition", "rpartition"}
)


class Methods:
    """Method calls on values of the evaluator's own kinds."""

    def call_method(self: "Evaluator", receiver: Any, name: str, args: list[Any], kwargs: dict[str, Any], place: Place, frame: Frame | None, open_: bool) -> Any:
        if slots.tracking:
            slots.touch(receiver, *args, *kwargs.values())  # x.size(i), ints' own methods
        if isinstance(receiver, Signal):
            return self.signal_method(receiver, name, args, kwargs, place)
        if (isinstance(receiver, Sym) or receiver is UNKNOWN) and name in TENSOR_WRITES:
            self.tensor_write_method(receiver, name, args, kwargs, place, open_)
            return UNKNOWN
        if isinstance(receiver, Tensor):
            return self.tensor_method(receiver, name, args, kwargs, place, open_)
        if isinstance(receiver, Module):
            return self.module_method(receiver, name, args, kwargs, place, frame, open_)
        if isinstance(receiver, ListObj):
            return self.list_method(receiver, name, args, kwargs, place, open_)
        if isinstance(receiver, DictObj):
            return self.dict_method(receiver, name, args, kwargs, open_)
        if isinstance(receiver, str) and name in _STR_METHODS and not open_:
            if all(a is None or isinstance(a, (str, int)) for a in args) and not kwargs:
                try:
                    result = getattr(receiver, name)(*args)
                except (TypeError, ValueError):
                    return UNKNOWN
                return tuple(result) if isinstance(result, list) else result
            return UNKNOWN
        if isinstance(receiver, str) and name == "join" and args:
            items = self.iterate(args[0])
            if items is not None and all(isinstance(i, str) for i in items):
                return receiver.join(items)
            return UNKNOWN
        if isinstance(receiver, str) and name == "format":
            return UNKNOWN
        return self.unknown_call(args, kwargs, place)

    # ----- nn.Module
    def module_method(self: "Evaluator", module: Module, name: str, args: list[Any], kwargs: dict[str, Any], place: Place, frame: Frame | None, open_: bool) -> Any:
        self.touch_skipped(module, name)
        if name == "apply":
            function = args[0] if args else kwargs.get("fn", UNKNOWN)
            if function is None or isinstance(function, (bool, int, float, str, tuple)):
                self.event("apply-not-callable", place, module, function)
                return module
            for sub in self._post_order(module):
                if sub is UNKNOWN:
                    continue
                if isinstance(sub, Module):
                    self.touch_skipped(sub, name)
                self.call(function, [sub], {}, place, frame)
            return module
        if name in ("modules", "named_modules"):
            found = self.submodules(module) or []
            return ListObj([m if name == "modules" else (p, m) for p, m in found])
        if name in ("children", "named_children"):
            items = [(key, child) for key, child in module.modules.items() if child is not None]
            return ListObj([child if name == "children" else (key, child) for key, child in items])
        if name in ("parameters", "named_parameters", "buffers", "named_buffers"):
            recurse = kwargs.get("recurse", args[0] if args and isinstance(args[0], bool) else True)
            buffers = "buffers" in name
            if recurse is False:
                table = module.buffers if buffers else module.params
                found = [(key, tensor) for key, tensor in table.items() if tensor is not None]
            else:
                found = self.named_tensors(module, buffers)
            return ListObj([tensor if not name.startswith("named") else (key, tensor) for key, tensor in found])
        if name == "register_buffer":
            key = args[0] if args else kwargs.get("name")
            tensor = args[1] if len(args) > 1 else kwargs.get("tensor")
            if isinstance(key, str):
                if isinstance(tensor, Tensor):
                    tensor.buffer = True
                    self.adopt_tensor(module, key, tensor)
                    module.buffers[key] = tensor
                elif tensor is None:
                    module.buffers[key] = None
            return None
        if name == "register_parameter":
            key = args[0] if args else kwargs.get("name")
            tensor = args[1] if len(args) > 1 else kwargs.get("param")
            if isinstance(key, str) and (isinstance(tensor, Tensor) or tensor is None):
                if tensor is not None:
                    self.adopt_tensor(module, key, tensor)
                module.params[key] = tensor
            return None
        if name in ("add_module", "register_module"):
            key = args[0] if args else kwargs.get("name")
            child = args[1] if len(args) > 1 else kwargs.get("module")
            if isinstance(key, str) and isinstance(child, Module):
                self.module_setattr(module, key, child, place)
            return None
        if name in _SELF_RETURNING:
            if name == "requires_grad_":
                flag = args[0] if args else kwargs.get("requires_grad", True)
                for _, tensor in self.named_tensors(module):
                    if isinstance(tensor, Tensor):
                        self.note_change(tensor)
                        tensor.requires_grad = flag if isinstance(flag, bool) and not self.maybe else UNKNOWN
            return module
        if name in _HOOKS:
            return None
        if name in ("reset_parameters", "_reset_parameters"):
            self._reset_default(module, place)
            return None
        if name in ("forward", "__call__"):
            return self.call_module(module, args, kwargs, place)
        if name == "load_state_dict":
            self.load_checkpoint(module, place)
            return UNKNOWN
        if name in ("append", "extend", "insert"):
            self.note_change(module)
            items = [args[-1]] if name != "extend" else (self.iterate(args[0]) if args else None)
            if items is None:
                module.tainted = True
                return module
            for item in items:
                if isinstance(item, Module):
                    key = str(len(module.modules))
                    if self.repeat != 1:
                        item.repeat = self.repeat
                    self.adopt_module(module, key, item)
                    module.modules[key] = item
                elif isinstance(item, Tensor):
                    key = str(len(module.params))
                    self.adopt_tensor(module, key, item)
                    module.params[key] = item
            return module
        if name in ("keys", "values", "items"):
            table = module.modules if module.kind != "ParameterDict" else module.params
            pairs = list(table.items())
            picked = {"keys": [k for k, _ in pairs], "values": [v for _, v in pairs], "items": pairs}[name]
            return ListObj(list(picked))
        if name == "__len__":
            return len(module.modules)
        if name == "get_submodule":
            target = args[0] if args else ""
            current: Any = module
            for part in target.split(".") if isinstance(target, str) and target else []:
                current = current.modules.get(part, UNKNOWN) if isinstance(current, Module) else UNKNOWN
            return current
        if name == "state_dict":
            return UNKNOWN
        if name in INIT_WALKS and is_pretrained(module):
            self.hf_init_walk(module, place, frame)
            return None
        return self.unknown_call(args, kwargs, place)

    def load_checkpoint(self: "Evaluator", module: Module, place: Place) -> None:
        """``model.load_state_dict(...)``: every parameter and buffer gets values from a
        checkpoint. That is not an init: on the path that loads, the init does not matter, and
        effective.py leaves such writes out when they happen only on some paths."""
        from initlint.model.dists import Opaque

        for sub in module_tree(module):
            self.touch_skipped(sub, "load_state_dict")
        for _, tensor in [*self.named_tensors(module), *self.named_tensors(module, buffers=True)]:
            if isinstance(tensor, Tensor):
                self.write(tensor, Opaque("values loaded from a checkpoint", random=True), place,
                           ".load_state_dict", kind="loaded", autograd_free=True)

    def _post_order(self: "Evaluator", module: Module) -> list[Any]:
        """The modules ``apply`` visits, in its order: each child's subtree, then the module."""
        order: list[Any] = []
        seen: set[int] = set()

        def visit(current: Any) -> None:
            if not isinstance(current, Module):
                if current is not None:
                    order.append(UNKNOWN)
                return
            if id(current) in seen:
                return
            seen.add(id(current))
            for child in current.modules.values():
                visit(child)
            order.append(current)

        visit(module)
        return order

    def _reset_default(self: "Evaluator", module: Module, place: Place) -> None:
        """A torch layer's reset_parameters: its default init again, for every parameter."""
        for tensor in module.params.values():
            if not isinstance(tensor, Tensor):
                continue
            default = next((w for w in tensor.storage.writes if w.kind == "default"), None)
            if default is not None:
                self.write(tensor, default.dist, place, "reset_parameters", kind="default", autograd_free=True)

    # ----- list, dict
    def list_method(self: "Evaluator", target: ListObj, name: str, args: list[Any], kwargs: dict[str, Any], place: Place, open_: bool) -> Any:
        if name not in _READING_METHODS:
            self.note_change(target)
        if name == "append" and args:
            self.extend_list(target, [args[0]])
            return None
        if name == "extend" and args:
            items = self.iterate(args[0])
            if items is None:
                target.repeat = UNKNOWN
            else:
                self.extend_list(target, items)
            return None
        if name == "insert" and len(args) == 2:
            if target.template or not isinstance(args[0], int):
                target.repeat = UNKNOWN
            else:
                target.items.insert(args[0], args[1])
            return None
        if name == "pop":
            if target.template or not target.items:
                return UNKNOWN
            index = args[0] if args else -1
            return target.items.pop(index) if isinstance(index, int) else UNKNOWN
        if name == "copy":
            return ListObj(list(target.items), target.repeat)
        if name in ("reverse", "sort", "clear", "remove"):
            if name == "reverse" and not target.template:
                target.items.reverse()
            elif name == "clear":
                target.items.clear()
                target.repeat = 1
            else:
                target.repeat = UNKNOWN if name != "sort" else target.repeat
            return None
        if name in ("index", "count"):
            return UNKNOWN
        return self.unknown_call(args, kwargs, place)

    def dict_method(self: "Evaluator", target: DictObj, name: str, args: list[Any], kwargs: dict[str, Any], open_: bool) -> Any:
        if name not in _READING_METHODS:
            self.note_change(target)
        key = args[0] if args else None
        plain = key is None or isinstance(key, (bool, int, float, str, tuple))
        if name in ("get", "pop"):
            default = args[1] if len(args) > 1 else kwargs.get("default", None)
            if plain and key in target.items:
                return target.items.pop(key) if name == "pop" else target.items[key]
            if plain and not target.open:
                return default
            return UNKNOWN
        if name == "setdefault":
            if plain and key in target.items:
                return target.items[key]
            if plain and not target.open:
                target.items[key] = args[1] if len(args) > 1 else None
                return target.items[key]
            return UNKNOWN
        if name in ("keys", "values", "items"):
            if target.open:
                return ListObj([UNKNOWN], UNKNOWN)
            pairs = list(target.items.items())
            return ListObj({"keys": [k for k, _ in pairs], "values": [v for _, v in pairs], "items": pairs}[name])
        if name == "update":
            if args and isinstance(args[0], DictObj):
                target.items.update(args[0].items)
                target.open = target.open or args[0].open
            elif args:
                target.open = True
            target.items.update(kwargs)
            return None
        if name == "copy":
            return DictObj(dict(target.items), target.open)
        return UNKNOWN


__all__ = ["Methods", "is_number"]
