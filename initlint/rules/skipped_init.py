"""IL512, IL513: a switch that turns the architecture's intended init off.

timm's ``weight_init='skip'`` makes a model's constructor skip its own ``init_weights`` (for a
ViT: trunc_normal(std=.02) on every Linear, zeroed head, normal position embeddings); it is
meant for a model whose weights are loaded next. An ``_init_weights`` override that does
nothing on a transformers ``PreTrainedModel`` does the same to the walk ``post_init()`` runs.
Either way the layers keep PyTorch's defaults. The rules fire on evaluated facts: the value
of the keyword (``**kwargs`` dicts included) and, for the hook, that ``post_init`` ran it and
which layers were then left with torch's default init.
"""

from __future__ import annotations

from typing import Iterable

from initlint.findings import Effect
from initlint.model.effective import established
from initlint.model.facts import EntryFacts, FileFacts
from initlint.model.interp.hf import is_pretrained
from initlint.model.tensors import Tensor
from initlint.model.values import ClassValue, FunctionValue, Module, module_tree
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.support import listed, live
from initlint.tree import nodes

#: what timm's VisionTransformer.init_weights() writes, which ``weight_init='skip'`` leaves out
_VIT = (
    "pos_embed (trunc_normal, std .02) and cls_token (normal, std 1e-6), which timm 1.0 allocates "
    "with torch.empty, keep whatever memory held, and every Linear keeps PyTorch's default instead of "
    "trunc_normal(std .02) weights and zero biases"
)


def _vit(arch: str | None) -> bool:
    """timm's ViT family, by its class or registry name."""
    return arch is not None and (arch.startswith(("vit_", "deit_", "deit3_")) or arch == "VisionTransformer")


@rule(
    "IL512",
    "timm-init-skipped",
    Effect.MISUSE,
    "a timm model built with weight_init='skip' and never loaded or initialised: its own init never runs",
    ("weight_init",),
)
def timm_init_skipped(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    if facts.syntax.inits:
        return  # the file initialises weights itself: its init may be the one meant to replace timm's
    for entry in live(facts):
        if entry.kind == "class":
            continue  # the model is a part: whoever builds the class may load its weights
        returned = [m for m in entry.models.values()] if entry.kind == "function" else []
        for event in entry.events:
            if event.kind != "init-skipped" or event.conditional or event.place.source is not facts.source:
                continue
            module, arch, loads = event.subject, event.other, event.extra or {}
            if not isinstance(module, Module) or module.tainted:
                continue  # loaded, applied, or handed to code the evaluator cannot see
            if any(module is part for model in returned for part in module_tree(model)):
                continue  # returned to a caller, who may load it
            if loads.get("pretrained", False) is not False or loads.get("checkpoint_path") not in (None, ""):
                continue
            if "pretrained_cfg_overlay" in loads:
                continue
            call = facts.source.code(event.place.node) if isinstance(event.place.node, nodes.Call) else "the call"
            skipped = _VIT if _vit(arch) else "every parameter it initialises, which keep PyTorch's defaults or, where it allocates with torch.empty, whatever memory held"
            yield Hit(
                event.place.node,
                f"`{_short(call)}` builds {f'`{arch}`' if arch else 'the model'} with weight_init='skip', which skips "
                f"the architecture's init_weights(): {skipped}; nothing loads weights into it afterwards "
                "(no pretrained=True, checkpoint_path or load_state_dict) and no init of this file reaches it",
                {"model": arch, "skipped": "init_weights"},
                "drop weight_init='skip' (it is meant for a model whose weights are loaded next), or load them "
                "(pretrained=True, checkpoint_path=..., model.load_state_dict(...))",
            )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 90 else text[:87] + "..."


#: the layer families whose torch default differs from what the library's init writes
_LAYERS = ("dense", "conv", "embedding")


@rule(
    "IL513",
    "init-hook-does-nothing",
    Effect.MISUSE,
    "a PreTrainedModel's _init_weights override does nothing: post_init() leaves every layer at PyTorch's default",
    ("_init_weights",),
)
def init_hook_does_nothing(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    reported: set[int] = set()
    for entry in live(facts):
        for model in entry.models.values():
            if not is_pretrained(model) or model.cls is None:
                continue
            hook, overridden = _hook(model.cls)
            if hook is None or hook.namespace.source is not facts.source or id(hook.node) in reported:
                continue
            if not _does_nothing(hook.node) or hook.node not in entry.executed:
                continue  # post_init never ran it (the model does not call post_init)
            kept = _default_layers(model)
            if not kept:
                continue  # every layer is initialised by the model's own code
            reported.add(id(hook.node))
            owner = hook.cls.name if hook.cls is not None else model.cls.name
            shown = listed(kept)
            yield Hit(
                hook.node.name,
                f"`{owner}._init_weights` overrides {overridden} and does nothing: post_init() calls it on "
                f"every module of `{model.cls.name}`, so {shown} {'keep' if len(kept) > 1 else 'keeps'} PyTorch's "
                "default init instead of the one the library's _init_weights gives "
                "(normal(0, config.initializer_range) weights, zero biases)",
                {"class": owner, "layers": kept},
                "delete the override (the library's _init_weights then runs), or initialise the "
                "layers in it (`super()._init_weights(module)` first)",
            )


def _hook(cls: ClassValue) -> tuple[FunctionValue | None, str]:
    """The ``_init_weights`` the walk calls, and what it overrides (a project class's or the
    library's)."""
    found: FunctionValue | None = None
    for item in cls.mro():
        if not isinstance(item, ClassValue):
            break
        value = item.body.get("_init_weights")
        if isinstance(value, FunctionValue):
            if found is None:
                found = value
            else:
                return found, f"`{item.name}._init_weights`"
    return found, "PreTrainedModel's"


def _does_nothing(node: nodes.CSTNode) -> bool:
    """A body of only ``pass``, ``...``, a docstring or a bare ``return``."""
    body = node.body
    if not isinstance(body, nodes.IndentedBlock):
        statements = [body]
    else:
        statements = list(body.body)
    for statement in statements:
        if not isinstance(statement, nodes.SimpleStatementLine):
            return False
        for small in statement.body:
            if isinstance(small, nodes.Pass) or isinstance(small, nodes.Return) and small.value is None:
                continue
            if isinstance(small, nodes.Expr) and isinstance(small.value, (nodes.Ellipsis, nodes.SimpleString, nodes.ConcatenatedString)):
                continue
            return False
    return True


def _default_layers(model: Module) -> list[str]:
    """Paths of the layers under the model (not under a nested pretrained model) whose every
    parameter still holds torch's default init, when nothing outside the evaluated code got
    the model; empty when any part is open."""
    kept: list[str] = []

    def visit(module: Module, depth: int) -> bool:
        if module.tainted or depth > 32:
            return False
        if module is not model and is_pretrained(module):
            return True  # its own _init_weights decides
        if module.family in _LAYERS and module.params:
            writes = [established(t) for t in module.params.values() if isinstance(t, Tensor)]
            if any(w is None for w in writes):
                return False  # a value the evaluator could not establish
            if all(w.kind == "default" for w in writes):
                kept.append(module.path or module.kind)
        for child in module.modules.values():
            if isinstance(child, Module) and not visit(child, depth + 1):
                return False
        return True

    return kept if visit(model, 0) else []


__all__ = ["init_hook_does_nothing", "timm_init_skipped"]
