"""IL5xx misuse: init code that does not do what its author meant, or warns while doing it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

from initlint.findings import Effect, Prediction
from initlint.model.effective import by_author, trainable
from initlint.model.facts import EntryFacts, FileFacts
from initlint.model.dists import Opaque
from initlint.model.torchlib.classes import torch_class
from initlint.model.tensors import Write
from initlint.model.values import ClassValue, External, FunctionValue, Module, module_tree
from initlint.model.tokens import INIT_TOKENS
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.support import anchor, code, layer_name, live, model_of, named, target_text, unnamed_in_project
from initlint.tree import nodes

if TYPE_CHECKING:
    from initlint.model.uncalled import MissedInit

#: the tokens of every init spelling: rules about init code in general
ANY_INIT = INIT_TOKENS


@rule(
    "IL501",
    "deprecated-init-alias",
    Effect.MISUSE,
    "a deprecated non-underscore torch.nn.init alias (warns on every call)",
    tuple(f"{name}(" for name in ("uniform", "normal", "constant", "eye", "dirac", "xavier_uniform",
                                  "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"))
    + ("nn.init import",),
)
def deprecated_init_alias(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for node, spelled in facts.syntax.deprecated:
        new = spelled + "_"
        yield Hit(
            node,
            f"`{spelled}` is deprecated in favour of `{new}` and warns on every call",
            {"replacement": new},
            f"call `{new}` (same arguments, in place)",
        )


_INPLACE = frozenset({".normal_", ".uniform_", ".fill_", ".zero_", ".copy_", "item assignment"})


@rule(
    "IL502",
    "inplace-init-with-grad",
    Effect.MISUSE,
    "an in-place write to a parameter outside torch.no_grad(): RuntimeError",
    INIT_TOKENS,
)
def inplace_init_with_grad(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        for write in entry.writes:
            spelled = write.spelled
            if not (spelled in _INPLACE or spelled.startswith((".mul_", ".div_", ".add_", ".sub_")) or spelled.endswith("(out=)")):
                continue
            if write.via_data or write.no_grad is not False or write.leaf is not True or write.kind not in ("init", "arithmetic"):
                continue
            at = anchor(facts, write.frames)
            if at is None or write.tensor is None:
                continue
            target = target_text(write)
            model, _ = model_of(entry, write.tensor, facts)
            how = f"`{target}{spelled}{'' if spelled.endswith(')') else '(...)'}`" if spelled.startswith(".") else f"`{code(facts, write.place.node)}`"
            yield Hit(
                at,
                f"{how} writes in place to {named(target, write.tensor)}, a parameter (a leaf tensor that "
                "requires grad), outside torch.no_grad(): PyTorch raises \"a leaf Variable that requires "
                "grad is being used in an in-place operation\" when this runs",
                {"method": spelled, "raises": "leaf Variable"},
                "use nn.init (it runs under no_grad), wrap the code in `with torch.no_grad():`, or "
                f"write through `{target}.data`",
                Prediction(model=model, raises="leaf Variable"),
            )


@rule(
    "IL503",
    "apply-called-init",
    Effect.MISUSE,
    "model.apply(init_fn()) calls the init function instead of passing it",
    ANY_INIT,
)
def apply_called_init(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        for event in entry.events:
            if event.kind != "apply-not-callable" or event.other is not None:
                continue
            node = event.place.node
            if not isinstance(node, nodes.Call) or not node.args or not isinstance(node.args[0].value, nodes.Call):
                continue
            inner = node.args[0].value
            made = [r for r in entry.init_calls if any(f.node is inner for f in r.frames)]
            at = anchor(facts, event.frames)
            if not made or at is None:
                continue  # not an init function: apply() misuse is not ours to report
            name = code(facts, inner.func)
            receiver = code(facts, node.func.value) if isinstance(node.func, nodes.Attribute) else "model"
            yield Hit(
                at,
                f"`{receiver}.apply({code(facts, inner)})` calls `{name}` once and passes what it returns "
                f"(None) to apply: apply raises a TypeError (NoneType is not callable), and `{name}` "
                f"initialised only what it was called with",
                {"function": name.rsplit(".", 1)[-1]},
                f"pass the function itself: `{receiver}.apply({name})`",
            )


@rule(
    "IL504",
    "init-in-forward",
    Effect.MISUSE,
    "an init inside forward(): the weights are redrawn on every call and never learn",
    ANY_INIT,
)
def init_in_forward(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        seen: set[int] = set()
        for write in entry.writes:
            if not write.in_forward or write.conditional or write.kind != "init" or write.tensor is None:
                continue
            if not (write.dist.random or _init_api(write.spelled)):
                continue  # a constant reset of a tensor op (a quantizer's zero_point): a constraint
            if isinstance(write.dist, Opaque) and not _init_api(write.spelled):
                continue  # values the evaluator could not follow: no established redraw
            if _own_values(write):
                continue  # ``w.data = w.data.to(device)``: the values it learned, moved or cast
            if not trainable(write.tensor) or id(write.place.node) in seen:
                continue
            at = anchor(facts, write.frames)
            if at is None:
                continue
            seen.add(id(write.place.node))
            yield Hit(
                at,
                f"{named(target_text(write), write.tensor)} is written by {write.spelled} while the "
                "model runs forward: every forward pass overwrites what the optimizer learned, so "
                "the layer never trains",
                {"layer": layer_name(facts, entry, write.tensor)},
                "move the init to __init__ (or a method called from there)",
            )


def _own_values(write: Write) -> bool:
    """The write copies values the tensor itself held (a cast, a device move, a renorm)."""
    storage = write.tensor.root.storage if write.tensor is not None else None
    origin = write.origin
    for _ in range(8):
        if origin is None:
            return False
        if origin.tensor is not None and origin.tensor.root.storage is storage:
            return True
        origin = origin.origin
    return False


def _init_api(spelled: str) -> bool:
    """Written by an init function (nn.init, transformers' init, timm), not a tensor op."""
    return not spelled.startswith(".") and spelled not in ("item assignment", ".data =")


#: methods that frameworks call for you: Hugging Face post_init, mmengine, torch's own convention
FRAMEWORK_HOOKS = frozenset(
    {"_init_weights", "init_weights", "reset_parameters", "_reset_parameters", "_initialize_weights_hook"}
)
#: hooks whatever the class derives from: torch's layers and HF's walk call these by name
ALWAYS_HOOKS = frozenset({"_init_weights", "reset_parameters", "_reset_parameters", "_initialize_weights_hook"})


@rule(
    "IL505",
    "init-never-applied",
    Effect.MISUSE,
    "an init function or method that nothing calls or applies",
    ANY_INIT,
)
def init_never_applied(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    executed = set()
    for entry in facts.entries:
        executed |= {id(node) for node in entry.executed}
    script = "__main__" in facts.source.text
    methods = {id(f.node): f for f in facts.functions if f.cls is not None}
    for info in facts.syntax.defs:
        name = info.node.name.value
        if not info.weight_inits or id(info.node) in executed or name.startswith("__"):
            continue
        if name == "forward" or facts.mentions(name) > 1:
            continue
        if facts.commented_call(name) is not None:
            continue  # its call is commented out here: switched off by the author, on purpose
        method = methods.get(id(info.node))
        hook = name in FRAMEWORK_HOOKS
        if hook and (method is None or _a_base_may_call(method)):
            if name in ALWAYS_HOOKS:
                continue  # torch's layers, HF's walk or a library base calls it by name
        elif hook:
            hook = False  # every base is the project's or nn.Module, and none names it
        where = f"`{info.cls}.{name}`" if info.cls else f"`{name}`"
        fix = f"call it at the end of __init__ (`self.{name}()`), or `model.apply({name})`"
        if info.cls is None:
            kept = "the model keeps PyTorch's default init"
        else:  # a method: what it would have written, evaluated (uncalled.py)
            missed = facts.uncalled.get(id(info.node))
            if not missed:
                continue  # its class cannot be built, or what it writes has an init already
            kept = _kept(missed)
        if not hook and (script or (info.cls is not None and name.startswith("_"))):
            yield Hit(
                info.node.name,
                f"{where} initialises weights, but nothing in this file calls or applies it: {kept}",
                {"function": name},
                fix,
            )
            continue
        if method is None or not _own_module_method(method, facts):
            continue  # a function, or a method a base class outside the project may call
        search = unnamed_in_project(facts, name)
        if search is None:
            continue  # the project has no known end, is a library, or another file names it
        others = search.searched - 1
        yield Hit(
            info.node.name,
            f"{where} initialises weights, but nothing calls or applies it: not this file, and no other file "
            f"of the project under `{search.root.name}/` names it ({others} other Python file{'s' if others != 1 else ''} "
            f"read, with its notebooks, configs and docs); {kept}",
            {"function": name, "searched": others},
            fix,
        )


def _kept(missed: MissedInit) -> str:
    """What the model keeps without the method: ``backbone.weight keeps PyTorch's default
    init``, ``logits keeps the memory torch.empty left``, up to three tensors named in each."""
    said = []
    for paths, what in ((missed.defaults, "PyTorch's default init"), (missed.uninitialised, "the memory torch.empty left")):
        if paths:
            said.append(f"{_named(paths)} {'keeps' if len(paths) == 1 else 'keep'} {what}")
    return "; ".join(said)


def _named(paths: tuple[str, ...]) -> str:
    shown = [f"`{path}`" for path in paths[:3]]
    more = len(paths) - len(shown)
    if more:
        shown.append(f"{more} more tensor{'s' if more > 1 else ''}")
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _a_base_may_call(method: FunctionValue) -> bool:
    """Whether a base of the method's class may call it by its name: a base of the project
    whose code names it (transformers' PreTrainedModel calls ``_init_weights``), one of torch's
    layers (``nn.Linear`` calls ``reset_parameters``), or a base outside the evaluated code.
    Only ``nn.Module`` itself calls none of the hooks."""
    cls = method.cls
    if not isinstance(cls, ClassValue):
        return True
    pattern = re.compile(rf"(?<![\w]){re.escape(method.name)}\b")
    for item in cls.mro()[1:]:
        if isinstance(item, ClassValue):
            if pattern.search(item.namespace.source.code(item.node)):
                return True
        elif not (isinstance(item, External) and torch_class(item.name) == "Module") and item is not object:
            return True
    return False


def _own_module_method(method: FunctionValue, facts: FileFacts) -> bool:
    """A method of an nn.Module class whose bases are all the project's or torch's (none may call
    it as a hook), that overrides nothing, and whose file was evaluated completely."""
    cls = method.cls
    if not isinstance(cls, ClassValue) or any(entry.failed is not None for entry in facts.entries):
        return False
    torch_base = False
    for item in cls.mro()[1:]:
        if isinstance(item, ClassValue):
            if method.name in item.body:
                return False  # overrides a base's method: the base's protocol calls it
        elif isinstance(item, External) and torch_class(item.name) is not None:
            torch_base = True
        else:
            return False  # a base outside the project (mmcv's BaseModule, LightningModule)
    return torch_base


@rule(
    "IL506",
    "init-overwritten",
    Effect.MISUSE,
    "the same tensor is initialised twice in a row: the first init is dead code",
    ANY_INIT,
)
def init_overwritten(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    reported: set[int] = set()
    for entry in live(facts):
        for tensor in entry.tensors():
            writes = tensor.storage.writes
            for first, second in zip(writes, writes[1:]):
                if not (first.kind == second.kind == "init") or first.conditional or second.conditional:
                    continue
                if first.partial or second.partial or "sparse" in first.spelled or first.frames[:-1] != second.frames[:-1]:
                    continue
                a, b = first.statement, second.statement
                if a is None or b is None or a[0] != b[0] or b[1] != a[1] + 1:
                    continue
                at = anchor(facts, first.frames)
                if at is None or id(at) in reported:
                    continue
                reported.add(id(at))
                yield Hit(
                    at,
                    f"{named(target_text(first), tensor)} is initialised by {first.spelled} and then at "
                    f"once again by {second.spelled} on the next statement: only the second one takes effect",
                    {"overwritten_by": second.spelled},
                    "delete the first init, or the second if the first was the one you meant",
                )


@rule(
    "IL507",
    "init-then-replaced",
    Effect.MISUSE,
    "a layer is initialised and then replaced by a new layer, which keeps the default init",
    ANY_INIT,
)
def init_then_replaced(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        held: set[int] | None = None
        by_owner: dict[int, list[tuple[int, Write]]] | None = None
        for event in entry.events:
            if event.kind != "module-replaced" or event.conditional:
                continue
            parent, name, old = event.subject, event.other, event.extra
            if not isinstance(parent, Module) or old is None or parent.modules.get(name) is old:
                continue
            if held is None:
                held = _held(entry.models.values())
            if id(old) in held:
                continue  # still part of the model elsewhere
            # the init and the new assignment are statements of one function run: a base class's
            # constructor (super().__init__) or a helper that built the part the code then
            # replaces is an override by design
            if by_owner is None:
                by_owner = _writes_by_owner(entry)
            lost = [w for index, w in by_owner.get(id(old), ()) if index < event.at_write
                    and by_author(w) and not w.conditional and w.frames[:-1] == event.frames[:-1]]
            for write in lost[:1]:
                at = anchor(facts, write.frames)
                if at is None:
                    continue
                yield Hit(
                    at,
                    f"{named(target_text(write), write.tensor)} is initialised here, but `{name}` is assigned "
                    "a new module later: the new one has PyTorch's default init and this init is lost",
                    {"layer": name},
                    f"initialise `{name}` after its last assignment",
                )


def _writes_by_owner(entry: EntryFacts) -> dict[int, list[tuple[int, Write]]]:
    """The entry's writes to tensors of each module (by the module's id), with their index."""
    found: dict[int, list[tuple[int, Write]]] = {}
    for index, write in enumerate(entry.writes):
        if write.tensor is not None and write.tensor.owner is not None:
            found.setdefault(id(write.tensor.owner), []).append((index, write))
    return found


def _held(models: Iterable[Module]) -> set[int]:
    """The ids of the models and every module under them (values.module_tree)."""
    return {id(module) for model in models for module in module_tree(model)}

