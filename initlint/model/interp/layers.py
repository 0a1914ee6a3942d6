"""torch.nn layers built by the code: a layer's parameters as torch makes them
(torchlib/construct.py), containers filled from their arguments, a subclass's
``super().__init__(...)`` building the torch layer it derives from, and a subclass's own
``reset_parameters`` run in place of torch's."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from initlint.model.dists import Uninitialised
from initlint.model.interp.hf import is_pretrained_base
from initlint.model.torchlib.classes import family, torch_class
from initlint.model.torchlib.construct import bind, build
from initlint.model.tensors import Tensor, Write
from initlint.model.values import UNKNOWN, DictObj, ListObj, Module, Place

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator


class Layers:
    """The layer-building half of the Evaluator."""

    def torch_module(self: "Evaluator", kind: str, args: list[Any], kwargs: dict[str, Any], place: Place, open_: bool) -> Module:
        module = Module(kind, family(kind), made=place, repeat=self.repeat)
        if family(kind) == "container":
            self.fill_container(module, args, kwargs)
            return module
        if open_:
            module.tainted = True
        module.arg_source = partial(_argument_texts, kind, place)
        build(module, kind, bind(kind, args, kwargs), place, self.frames_to(place))
        for tensor in [*module.params.values(), *module.buffers.values()]:
            if tensor is not None:
                self.writes.extend(tensor.storage.writes)  # new tensors: writes no one has seen
                for write in tensor.storage.writes:
                    write.tensor = tensor
        _own_children(module)
        return module

    def fill_container(self: "Evaluator", module: Module, args: list[Any], kwargs: dict[str, Any]) -> None:
        """Sequential(*layers), Sequential(OrderedDict), ModuleList(iterable), ModuleDict(dict)."""
        if module.kind == "Sequential" and len(args) == 1 and isinstance(args[0], DictObj):
            items: list[tuple[str, Any]] = [(str(k), v) for k, v in args[0].items.items()]
        elif module.kind in ("ModuleDict", "ParameterDict"):
            source = args[0] if args else None
            items = [(str(k), v) for k, v in source.items.items()] if isinstance(source, DictObj) else []
        elif module.kind == "Sequential":
            items = [(str(i), value) for i, value in enumerate(args)]
        else:
            source = args[0] if args else ListObj([])
            listed = self.iterate(source)
            if listed is None:
                element = self.template_element(source)
                count = self.template_count(source)
                if isinstance(element, Module):
                    element.repeat = count
                    items = [("0", element)]
                else:
                    module.tainted = True
                    items = []
            else:
                items = [(str(i), value) for i, value in enumerate(listed)]
        for key, value in items:
            if self.adopt_item(module, key, value):
                continue
            if value is UNKNOWN:
                module.modules[key] = UNKNOWN

    def base_init(self: "Evaluator", base: str, args: list[Any], kwargs: dict[str, Any], place: Place, open_: bool) -> Any:
        receiver = args[0] if args else None
        rest = args[1:]
        torch_kind = torch_class(base)
        if isinstance(receiver, Module):
            if torch_kind == "Module" or base in ("builtins.object", "object"):
                return None
            if torch_kind is not None:
                if family(torch_kind) == "container":
                    self.fill_container(receiver, rest, kwargs)
                else:
                    build(receiver, torch_kind, bind(torch_kind, rest, kwargs), place, self.frames_to(place))
                    for tensor in [*receiver.params.values(), *receiver.buffers.values()]:
                        if tensor is not None:
                            for write in tensor.storage.writes:
                                write.tensor = tensor
                                if write not in self.writes:
                                    self.writes.append(write)
                    _own_children(receiver)
                    self._overridden_reset(receiver, torch_kind, place)
                return None
            receiver.open_base = True
            if is_pretrained_base(base) and (rest or "config" in kwargs):
                receiver.attrs["config"] = rest[0] if rest else kwargs["config"]  # PreTrainedModel keeps it
            for value in [*rest, *kwargs.values()]:
                self.taint(value, place)
            return None
        if base in ("builtins.object", "object"):
            return None
        return self.unknown_call(rest, kwargs, place)

    def _overridden_reset(self: "Evaluator", module: Module, torch_kind: str, place: Place) -> None:
        """torch's layers make their parameters with ``torch.empty`` and then call
        ``self.reset_parameters()`` (MultiheadAttention: ``_reset_parameters``): a subclass that
        overrides it gets only what its override writes."""
        name = "_reset_parameters" if torch_kind == "MultiheadAttention" else "reset_parameters"
        override = _own_method(module, name)
        if override is None:
            return
        for tensor in module.params.values():
            if isinstance(tensor, Tensor):
                empty = Write(Uninitialised("torch.empty"), place, self.frames_to(place), spelled=f"nn.{torch_kind}.__init__",
                              kind="init", tensor=tensor, no_grad=True)
                tensor.storage.state = [empty]
                tensor.storage.writes.append(empty)
                self.writes.append(empty)
        self.call_function(override, [module], {}, place)


def _own_method(module: Module, name: str) -> Any:
    """The user class's own definition of ``name``, before the MRO reaches torch's class."""
    from initlint.model.values import ClassValue, FunctionValue

    for item in module.cls.mro() if module.cls is not None else []:
        if not isinstance(item, ClassValue):
            return None
        found = item.body.get(name)
        if found is not None:
            return found if isinstance(found, FunctionValue) else None
    return None


def _argument_texts(kind: str, place: Place) -> dict[str, str]:
    """``{"in_features": "hidden_dim"}`` from the constructor call's source."""
    from initlint.tree import nodes

    from initlint.model.torchlib.classes import SIGNATURES

    node = place.node
    if not isinstance(node, nodes.Call):
        return {}
    names = [name for name, _ in SIGNATURES.get(kind, ())]
    texts: dict[str, str] = {}
    position = 0
    for arg in node.args:
        if arg.star:
            break
        if arg.keyword is not None:
            key = arg.keyword.value
        elif position < len(names):
            key = names[position]
            position += 1
        else:
            continue
        text = place.source.code(arg.value)
        if len(text) <= 40:
            texts[key] = text
    return texts


def _own_children(module: Module) -> None:
    for name, child in module.modules.items():
        if isinstance(child, Module):
            child.path = f"{module.path}.{name}" if module.path else name
