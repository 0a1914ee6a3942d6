"""transformers' ``PreTrainedModel`` init protocol, modelled instead of read (its source is not
in the linted tree).

A model deriving from ``PreTrainedModel`` calls ``self.post_init()`` at the end of
``__init__``; that walks the module tree children first (``smart_apply``) and calls
``_init_weights(module)`` of the nearest ``PreTrainedModel`` at or above each module: the
subclass's own override when it has one, else the library's. A module a walk initialised is
marked (``_is_hf_initialized``): the outer model's own ``post_init`` skips the parts that a
nested model's ``post_init`` already did. The walk runs under ``torch.no_grad()``. What the library's own
``_init_weights`` writes (``super()._init_weights(module)``) depends on its version: it is a
write of an unknown value to that one module's own parameters, never a guess and never a
write to its children. Of ``PreTrainedConfig.__post_init__`` only the step that runs the
configuration's own code is modelled (``hf_config_post_init``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from initlint.model.interp import container_visits, visits
from initlint.model.tensors import Tensor
from initlint.model.values import BoundMethod, ClassValue, DictObj, External, FunctionValue, Instance, Module, Place

if TYPE_CHECKING:
    from initlint.model.interp.context import Frame
    from initlint.model.interp.machine import Evaluator

#: the methods of PreTrainedModel that run the init walk
INIT_WALKS = frozenset({"post_init", "init_weights"})
#: the library's own per-module init, reached through ``super()`` or when nothing overrides it
LIBRARY_INITS = frozenset({"_init_weights", "_initialize_weights"})


#: transformers' PreTrainedModel and its library subclasses that models derive from (the audio
#: tokenizers' base adds methods, not init): each runs the same post_init protocol
_PRETRAINED = frozenset({"PreTrainedModel", "PreTrainedAudioTokenizerBase"})


@lru_cache(maxsize=8192)
def is_pretrained_base(name: str) -> bool:
    """transformers' PreTrainedModel, from the package or (relative, as inside transformers and
    copies of its model files) from its ``modeling_utils``."""
    parts = name.split(".")
    if parts[-1] not in _PRETRAINED:
        return False
    return parts[:-1] in (["transformers"], ["transformers", "modeling_utils"]) or (
        name.lstrip(".") == f"modeling_utils.{parts[-1]}"  # relative, beyond the linted tree
    ) or name.startswith(".") and parts[-2] == "modeling_utils"


def is_config_base(name: str) -> bool:
    """transformers 5's ``PreTrainedConfig`` (4's ``PretrainedConfig`` is a plain class)."""
    parts = name.split(".")
    return parts[-1] == "PreTrainedConfig" and (
        parts[0] == "transformers" or len(parts) >= 2 and parts[-2] == "configuration_utils"
    )


def _derives_config(cls: ClassValue) -> bool:
    """A subclass of transformers' configuration base (5's ``PreTrainedConfig``, 4's
    ``PretrainedConfig``), from the package or from its ``configuration_utils``. Asked at every
    attribute of a configuration, so kept on the class (its MRO never changes)."""
    try:
        return cls._derives_config
    except AttributeError:
        pass
    found = False
    for item in cls.mro():
        if isinstance(item, External):
            parts = item.name.split(".")
            if parts[-1] in ("PreTrainedConfig", "PretrainedConfig") and (
                parts[0] == "transformers" or len(parts) >= 2 and parts[-2] == "configuration_utils"
            ):
                found = True
                break
    cls._derives_config = found
    return found


def config_alias(cls: ClassValue, name: str) -> str:
    """The attribute a transformers configuration stores ``name`` under: the library's
    ``__getattribute__`` and ``__setattr__`` send a key of the class's ``attribute_map``
    (``{"num_experts": "moe_num_experts"}``) to the attribute it names. ``name`` itself when
    the class is no configuration, has no such map, or the map does not hold ``name``."""
    if name == "attribute_map" or not _derives_config(cls):
        return name
    try:
        table = cls.lookup("attribute_map")
    except KeyError:
        return name
    if not isinstance(table, DictObj):
        return name
    target = table.items.get(name)
    return target if isinstance(target, str) else name


def dataclass_config(cls: ClassValue) -> bool:
    """A subclass of transformers 5's ``PreTrainedConfig`` with no ``__init__`` of its own:
    the library's ``__init_subclass__`` makes it a keyword-only dataclass, so building it binds
    its annotated fields and then runs its ``__post_init__``."""
    order = cls.mro()
    return any(isinstance(item, External) and is_config_base(item.name) for item in order) and not any(
        isinstance(item, ClassValue) and "__init__" in item.body for item in order
    )


def _derives_pretrained(cls: ClassValue) -> bool:
    """Asked at every module init_weights visits, so kept on the class (its MRO never changes)."""
    try:
        return cls._derives_pretrained
    except AttributeError:
        pass
    found = any(isinstance(item, External) and is_pretrained_base(item.name) for item in cls.mro())
    cls._derives_pretrained = found
    return found


def is_pretrained(module: Any) -> bool:
    cls = module.cls if isinstance(module, Module) else None
    return isinstance(cls, ClassValue) and _derives_pretrained(cls)


def config_class_of(cls: ClassValue) -> ClassValue | None:
    """A PreTrainedModel's ``config_class`` (its constructor's first argument is one), or the
    type its class body declares for ``config`` (``config: BertConfig``, transformers 5)."""
    if not _derives_pretrained(cls):
        return None
    for item in cls.mro():
        if not isinstance(item, ClassValue):
            continue
        found = item.body.get("config_class")
        if isinstance(found, ClassValue):
            return found
        declared = item.declared.get("config")
        if isinstance(declared, ClassValue):
            return declared
    return None


def _has_attribute(config: Instance, name: str) -> bool:
    """``hasattr(config, name)`` established by the evaluated code: a field or attribute it set,
    or an attribute of one of its class bodies (what a library base may define is not known)."""
    return name in config.attrs or any(isinstance(item, ClassValue) and name in item.body for item in config.cls.mro())


def library_config_post_init(name: str) -> bool:
    """``super().__post_init__(...)`` landing in transformers' PreTrainedConfig."""
    owner, _, method = name.rpartition(".")
    return method == "__post_init__" and is_config_base(owner)


@lru_cache(maxsize=8192)
def library_init_call(name: str) -> bool:
    """``super()._init_weights(module)`` landing in the library's PreTrainedModel."""
    owner, _, method = name.rpartition(".")
    return method in LIBRARY_INITS and is_pretrained_base(owner)


class HuggingFace:
    """``post_init`` / ``init_weights`` and the library's ``_init_weights`` on a PreTrainedModel."""

    def hf_init_walk(self: "Evaluator", model: Module, place: Place, frame: "Frame | None") -> None:
        done = self.hf_initialized

        def visit(current: Any, owner: Module, seen: set[int]) -> None:
            if not isinstance(current, Module) or id(current) in seen or id(current) in done:
                return
            seen.add(id(current))
            if not self.maybe:
                done.add(id(current))
            if current is not model and is_pretrained(current):
                owner = current
            for child in list(current.modules.values()):
                visit(child, owner, seen)
            method = self.getattr(owner, "_init_weights", place, frame)
            if isinstance(method, BoundMethod) and not isinstance(method.function, External):
                (container_visits.visit if current.modules else visits.visit)(self, method, current, place, frame)
            else:
                self.hf_library_init(current, place)

        self.grad_stack.append("off")  # transformers runs the walk under @torch.no_grad()
        try:
            visit(model, model, set())
        finally:
            self.grad_stack.pop()

    def hf_config_post_init(self: "Evaluator", config: Any, kwargs: dict[str, Any], place: Place) -> None:
        """The step of transformers 5's ``PreTrainedConfig.__post_init__`` that runs the
        config's own code: ``kwargs = self.convert_rope_params_to_dict(**kwargs)`` when the
        config has a ``rope_parameters`` attribute (configuration_utils.py). A configuration of
        the evaluated code that overrides the method has it run here (gemma3's fills in its
        per-layer-type rope parameters there, which its rotary embedding's buffers are made
        from). The library's own version, and the rest of the library's method, are not
        modelled: what they would set stays as it was."""
        if not isinstance(config, Instance) or not _has_attribute(config, "rope_parameters"):
            return
        for item in config.cls.mro():
            if not isinstance(item, ClassValue):
                return  # the library's own convert_rope_params_to_dict
            method = item.body.get("convert_rope_params_to_dict")
            if method is not None:
                if isinstance(method, FunctionValue):
                    self.call_function(method, [config], dict(kwargs), place)
                return

    def hf_library_init(self: "Evaluator", target: Any, place: Place) -> None:
        """The library's ``_init_weights(target)``: the module's own tensors get values this
        version of transformers chooses; its children are not touched."""
        if not isinstance(target, Module):
            return
        for tensor in (*target.params.values(), *target.buffers.values()):
            if isinstance(tensor, Tensor):
                self._taint_tensor(tensor, place)


__all__ = ["HuggingFace", "INIT_WALKS", "LIBRARY_INITS", "config_alias", "config_class_of", "dataclass_config", "is_config_base", "is_pretrained_base", "is_pretrained", "library_config_post_init", "library_init_call"]
