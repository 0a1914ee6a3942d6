"""timm's model constructors, modelled where they switch the architecture's init off.

``timm.create_model(name, weight_init='skip')`` and a timm model class called with
``weight_init='skip'`` (VisionTransformer, Swin, Hiera, ...) build the model without running its
``init_weights()``: timm's switch for a model whose weights are loaded next. Such a call
returns an opaque module marked with where the init was skipped; what later gives the model
values (``load_state_dict``, ``apply``, a method the evaluator does not model, code it cannot
see) marks it tainted, so a rule can tell a model that trains from the skipped init apart from
one that is loaded or initialised by its user. Any other timm call stays an unknown call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from initlint.model.values import Module, Place

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

#: methods of a built model that neither write its weights nor hand them to other code
HARMLESS = frozenset({
    "to", "cuda", "cpu", "train", "eval", "forward", "__call__", "float", "half", "double", "bfloat16",
    "parameters", "named_parameters", "zero_grad", "requires_grad_", "num_parameters", "__len__",
})


def timm_constructor(name: str) -> bool:
    """``timm.create_model`` or a model class of ``timm.models``, by qualified name."""
    last = name.rsplit(".", 1)[-1]
    return name.startswith("timm.") and (last == "create_model" or name.startswith("timm.models.") and last[:1].isupper())


class TimmModels:
    def timm_model(self: "Evaluator", name: str, args: list[Any], kwargs: dict[str, Any], place: Place) -> Any:
        """A timm model built with ``weight_init='skip'``: an opaque module and an
        ``init-skipped`` event (subject: the module, other: the architecture, extra: the
        keywords that may load weights)."""
        last = name.rsplit(".", 1)[-1]
        arch = args[0] if last == "create_model" and args else kwargs.get("model_name", last)
        module = Module(arch if isinstance(arch, str) else last, "opaque", made=place, repeat=self.repeat)
        module.init_skipped = place
        loads = {key: kwargs[key] for key in ("pretrained", "checkpoint_path", "pretrained_cfg_overlay") if key in kwargs}
        for value in args[1:]:
            self.taint(value, place)
        self.event("init-skipped", place, module, arch if isinstance(arch, str) else None, loads)
        return module

    def touch_skipped(self: "Evaluator", module: Module, method: str) -> None:
        """A method call on (or a checkpoint load into) a model built with its init skipped."""
        if module.init_skipped is not None and method not in HARMLESS:
            module.tainted = True


__all__ = ["HARMLESS", "TimmModels", "timm_constructor"]
