"""Attributes, items and iteration of evaluated objects, with nn.Module's own semantics.

``self.fc = nn.Linear(...)`` registers a sub-module, ``self.w = nn.Parameter(...)`` a parameter,
as torch's ``Module.__setattr__`` does; ``m.weight`` finds them again. ``modules()``,
``named_parameters()`` and friends enumerate the evaluated tree in torch's order, so loops over
them visit the same modules and tensors the real loop would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from initlint.model.interp.calls import Property, Super
from initlint.model.interp.hf import INIT_WALKS, config_alias, is_pretrained
from initlint.model.interp.context import MISSING, Frame, Lazy
from initlint.model.interp.types import is_plain
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
    Namespace,
    Place,
    Signal,
    Sym,
    is_number,
)
from initlint.model.torchlib.classes import torch_class
from initlint.model.torchlib.init_fns import TENSOR_WRITES

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

#: nn.Module methods the evaluator models (calls.py dispatches BoundMethod(module, name))
MODULE_METHODS = frozenset(
    {
        "apply", "modules", "named_modules", "children", "named_children", "parameters",
        "named_parameters", "buffers", "named_buffers", "register_buffer", "register_parameter",
        "add_module", "register_module", "to", "cuda", "cpu", "float", "double", "half",
        "bfloat16", "train", "eval", "requires_grad_", "zero_grad", "reset_parameters",
        "_reset_parameters", "forward", "__call__", "type", "share_memory", "get_submodule",
        "get_parameter", "append", "extend", "insert", "keys", "values", "items", "__len__",
        "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
        "register_backward_hook", "extra_repr", "state_dict", "load_state_dict", "pop", "update",
    }
)
#: those that ``super().name(...)`` reaches as torch's own from a subclass that overrides them
#: (gpytorch's ``register_parameter`` calls torch's): a torch layer's ``forward`` and
#: ``reset_parameters`` are its own, and externals.py runs those
_SUPER_MODULE_METHODS = MODULE_METHODS - {"forward", "__call__", "reset_parameters", "_reset_parameters"}
_ATTRIBUTE_DEFAULTS = {"training": True}
_TABLES = {"_modules": "modules", "_parameters": "params", "_buffers": "buffers"}
#: a name a scope does not bind (one dict lookup instead of ``in`` then ``[]``)
_ABSENT = object()


class Objects:
    """Attribute and item access of the Evaluator."""

    # ----- names
    def lookup(self: "Evaluator", name: str, frame: Frame) -> Any:
        local = frame.locals
        value = local.get(name, _ABSENT)
        if value is not _ABSENT:
            return self.force(local, name) if type(value) is Lazy else value
        if frame.closure is not None and name in frame.closure:
            return frame.closure.get(name)
        names = frame.namespace.names
        value = names.get(name, _ABSENT)
        if value is not _ABSENT:
            return self.force(names, name) if type(value) is Lazy else value
        return self.builtin(name)

    # ----- attributes
    def getattr(self: "Evaluator", value: Any, name: str, place: Place, frame: Frame | None) -> Any:
        if isinstance(value, Module):
            return self.module_attr(value, name, place)
        if isinstance(value, Tensor):
            for log in self.visit_logs:
                log.used.append(value)
            return self.tensor_attr(value, name, place)
        if isinstance(value, Signal):
            if name in ("T", "mT", "real"):
                return value
            if name in ("shape", "dtype", "device", "ndim", "is_cuda", "data", "grad"):
                return value if name == "data" else UNKNOWN
            return BoundMethod(value, name)
        if isinstance(value, External):
            if name == "__name__" and value.name.rsplit(".", 1)[-1][:1].isupper():
                return value.name.rsplit(".", 1)[-1]  # a class: ``m.__class__.__name__``
            return External(f"{value.name}.{name}")
        if isinstance(value, Namespace):
            if name in value.names:
                return self.force(value.names, name)
            return UNKNOWN
        if isinstance(value, Instance):
            name = config_alias(value.cls, name)
            if name in value.attrs:
                return value.attrs[name]
            return self.class_attr(value.cls, name, value, place)
        if isinstance(value, ClassValue):
            return self.class_attr(value, name, None, place)
        if isinstance(value, Super):
            return self.super_attr(value, name, place)
        if (isinstance(value, Sym) or value is UNKNOWN) and name in TENSOR_WRITES:
            return BoundMethod(value, name)  # ``m.weight.data.normal_``: an init of an open value
        if isinstance(value, Sym):
            return Sym(f"{value.text}.{name}", derived=True)
        if isinstance(value, (ListObj, DictObj, str, tuple)):
            return BoundMethod(value, name)
        if isinstance(value, FunctionValue) and name == "__name__":
            return value.name
        return UNKNOWN

    def class_attr(self: "Evaluator", cls: ClassValue, name: str, receiver: Any, place: Place) -> Any:
        if name == "__name__":
            return cls.name
        try:
            found = cls.lookup(name)
        except KeyError:
            return UNKNOWN
        if receiver is None and isinstance(found, FunctionValue) and "classmethod" in found.decorators:
            return BoundMethod(cls, found)  # ``Cls.create(...)`` passes the class as ``cls``
        return self.bind_attribute(found, receiver, place)

    def bind_attribute(self: "Evaluator", found: Any, receiver: Any, place: Place) -> Any:
        if receiver is None:
            return found
        if isinstance(found, Property):
            return self.call_function(found.function, [receiver], {}, place)
        if isinstance(found, FunctionValue):
            if "staticmethod" in found.decorators:
                return found
            if "classmethod" in found.decorators:
                cls = receiver.cls if isinstance(receiver, (Module, Instance)) else receiver
                return BoundMethod(cls, found)
            return BoundMethod(receiver, found)
        return found

    def module_attr(self: "Evaluator", module: Module, name: str, place: Place) -> Any:
        if name in module.attrs:
            return module.attrs[name]
        if module.cls is not None:
            try:
                found = module.cls.lookup(name)
            except KeyError:
                found = MISSING
            if found is not MISSING and found is not UNKNOWN:
                return self.bind_attribute(found, module, place)
            if found in (UNKNOWN, MISSING) and name in INIT_WALKS and is_pretrained(module):
                return BoundMethod(module, name)
            if found is UNKNOWN and name not in module.params and name not in module.buffers and name not in module.modules:
                return UNKNOWN
        for table in (module.params, module.buffers, module.modules):
            if name in table:
                value = table[name]
                if self.in_forward and table is module.params and isinstance(value, Tensor):
                    self.note_read(value, place)
                return value
        if name in module.args:
            return module.args[name]
        if name in _ATTRIBUTE_DEFAULTS:
            return _ATTRIBUTE_DEFAULTS[name]
        if name in _TABLES:  # ``self._modules``: torch's own dicts, live views of the tables
            return DictObj(getattr(module, _TABLES[name]), open=module.tainted or module.open_base)
        torch_value = self.torch_layer_attr(module, name)
        if torch_value is not MISSING:
            return torch_value
        if name in MODULE_METHODS:
            return BoundMethod(module, name)
        if name == "__class__":
            return self.type_of(module)
        if module.open_base or module.tainted or module.family == "opaque":
            self.touch_skipped(module, name)  # ``model.reset_classifier``: library code reaches it
            return UNKNOWN
        # extra: the AttributeError would not stop construction (in forward, or caught)
        self.event("missing-attribute", place, module, name, self.in_forward > 0 or self.in_try > 0)
        return UNKNOWN

    def torch_layer_attr(self, module: Module, name: str) -> Any:
        """Attributes torch's own layers set in ``__init__`` (``in_features``, ``kernel_size``)."""
        if module.family in ("dense", "conv", "embedding", "recurrent", "attention", "norm", "activation"):
            if name in ("in_features", "out_features", "in_channels", "out_channels", "embedding_dim",
                        "num_embeddings", "hidden_size", "input_size", "num_features", "embed_dim",
                        "num_heads", "groups", "kernel_size", "stride", "padding", "normalized_shape",
                        "num_layers", "negative_slope", "eps", "padding_idx"):
                value = module.args.get(name, UNKNOWN)
                if name in ("kernel_size", "stride", "padding") and is_number(value) and module.family == "conv":
                    dims = int(module.kind[-2]) if module.kind[-2].isdigit() else 2
                    return (value,) * dims
                return value
        return MISSING

    def super_attr(self: "Evaluator", proxy: Super, name: str, place: Place) -> Any:
        obj = proxy.obj
        own = obj.cls if isinstance(obj, (Module, Instance)) else None
        if own is None:
            return UNKNOWN
        order = own.mro()
        try:
            start = next(i for i, item in enumerate(order) if item is proxy.cls) + 1
        except StopIteration:
            return UNKNOWN
        for item in order[start:]:
            if isinstance(item, ClassValue):
                if name in item.body:
                    return self.bind_attribute(item.body[name], obj, place)
            elif isinstance(item, External):
                if name in _SUPER_MODULE_METHODS and isinstance(obj, Module) and torch_class(item.name) is not None:
                    return BoundMethod(obj, name)  # torch's own, as methods.py models it
                return BoundMethod(obj, External(f"{item.name}.{name}"))
            else:
                return UNKNOWN
        return BoundMethod(obj, External(f"builtins.object.{name}"))

    def setattr(self: "Evaluator", owner: Any, name: str, value: Any, place: Place, frame: Frame | None) -> None:
        self.note_change(owner)
        if isinstance(owner, Module):
            self.module_setattr(owner, name, value, place)
        elif isinstance(owner, Tensor):
            self.tensor_setattr(owner, name, value, place)
        elif isinstance(owner, Instance):
            name = config_alias(owner.cls, name)
            owner.attrs[name] = self._maybe_replace(owner.attrs.get(name, MISSING), value)
        elif isinstance(owner, ClassValue):
            owner.body[name] = value
        elif isinstance(owner, Namespace):
            owner.names[name] = value

    def _maybe_replace(self: "Evaluator", old: Any, new: Any) -> Any:
        """Under an undecided test a changed attribute holds one of two values: UNKNOWN."""
        if not self.maybe or old is MISSING or old is new:
            return new
        if is_plain(old) and is_plain(new) and type(old) is type(new) and old == new:
            return new
        return UNKNOWN

    def module_setattr(self: "Evaluator", module: Module, name: str, value: Any, place: Place) -> None:
        """torch's Module.__setattr__: parameters, sub-modules and buffers go to their tables."""
        previous = MISSING
        for table in (module.params, module.modules, module.buffers, module.attrs):
            if name in table:
                previous = table[name]
                break
        value = self._maybe_replace(previous, value)
        for table in (module.params, module.modules, module.buffers, module.attrs):
            table.pop(name, None)
        if isinstance(value, Tensor) and value.parameter:
            self.adopt_tensor(module, name, value)
            module.params[name] = value
        elif isinstance(value, Module):
            if isinstance(previous, Module) and previous is not value:
                self.event("module-replaced", place, module, name, previous)
            self.adopt_module(module, name, value)
            module.modules[name] = value
        elif value is None and (previous is None or isinstance(previous, (Tensor, Module))):
            table = module.params if isinstance(previous, Tensor) and previous.parameter else module.modules if isinstance(previous, Module) else module.attrs
            table[name] = None
        elif isinstance(value, Tensor) and isinstance(previous, Tensor) and previous.buffer:
            value.buffer = True
            self.adopt_tensor(module, name, value)
            module.buffers[name] = value
        else:
            module.attrs[name] = value

    def adopt_item(self, container: Module, key: str, value: Any) -> bool:
        """``container[key] = value`` in a ModuleList/Dict or ParameterList/Dict; False when
        the value is neither a module nor a tensor."""
        if isinstance(value, Module):
            self.adopt_module(container, key, value)
            container.modules[key] = value
        elif isinstance(value, Tensor):
            self.adopt_tensor(container, key, value)
            container.params[key] = value
        else:
            return False
        return True

    def adopt_module(self, parent: Module, name: str, child: Module) -> None:
        if not child.path or child.path == name:
            child.path = f"{parent.path}.{name}" if parent.path else name
            _repath(child)

    def adopt_tensor(self, module: Module, name: str, tensor: Tensor) -> None:
        if tensor.owner is None or tensor.owner is module:
            tensor.owner, tensor.name = module, name

    def delattr(self: "Evaluator", owner: Any, name: str) -> None:
        self.note_change(owner)
        tables = (owner.params, owner.modules, owner.buffers, owner.attrs) if isinstance(owner, Module) else (
            (owner.attrs,) if isinstance(owner, Instance) else ()
        )
        for table in tables:
            table.pop(name, None)

    # ----- items
    def submodules(self, module: Module, prefix: str = "") -> list[tuple[str, Module]] | None:
        """``named_modules()``: pre-order, each module once; None when part of it is not known."""
        found: list[tuple[str, Module]] = []
        seen: set[int] = set()
        complete = True

        def visit(current: Module, path: str) -> None:
            nonlocal complete
            if id(current) in seen:
                return
            seen.add(id(current))
            found.append((path, current))
            if current.tainted or current.family == "opaque" or current.open_base:
                complete = False
            for name, child in current.modules.items():
                if isinstance(child, Module):
                    visit(child, f"{path}.{name}" if path else name)
                elif child is not None:
                    complete = False

        visit(module, prefix)
        return found if complete else found + [("?", UNKNOWN)]

    def named_tensors(self, module: Module, buffers: bool = False) -> list[tuple[str, Any]]:
        """``named_parameters()`` (or buffers) of the tree, each tensor once, torch's order."""
        found: list[tuple[str, Any]] = []
        seen: set[int] = set()
        for path, sub in self.submodules(module) or []:
            if sub is UNKNOWN:
                found.append(("?", UNKNOWN))
                continue
            table = sub.buffers if buffers else sub.params
            for name, tensor in table.items():
                if tensor is None or id(tensor) in seen:
                    continue
                seen.add(id(tensor))
                found.append((f"{path}.{name}" if path else name, tensor))
        return found


def _repath(module: Module) -> None:
    for name, child in module.modules.items():
        if isinstance(child, Module) and (not child.path or child.path.endswith(name)):
            child.path = f"{module.path}.{name}" if module.path else name
            _repath(child)
