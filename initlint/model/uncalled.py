"""What an init method that nothing runs would have changed: IL505's consequence, established.

"Nothing calls ``_init_backbone``" is a fact of the file; "so the model keeps PyTorch's default
init" is one only when the tensors the method writes have no other init. A helper left behind
after its work moved elsewhere (peft's ``_init_tinylora_v``: the vectors are drawn where they are
made) is dead code, not an init bug. So each such method is evaluated once, as if called: on a
fresh build of its class with the class entry's defaults, its open parameters symbolic, in an
evaluator of its own (none of it reaches the entries' facts). The tensors it would write with an
init, and that until then hold PyTorch's default init, are what the model misses. A method
whose class cannot be built, or whose writes land on tensors the evaluator cannot name, gives
nothing: unknown stays unknown.
"""

from __future__ import annotations

from typing import Sequence

from initlint.lean import dataclass
from initlint.model.defaults import build_with_defaults, open_parameters
from initlint.model.dists import Uninitialised
from initlint.model.effective import by_author, established, trainable
from initlint.model.interp.builds import BuildMemo
from initlint.model.interp.context import BudgetExceeded
from initlint.model.interp.instances import makes_module
from initlint.model.interp.machine import Evaluator
from initlint.model.project import Project
from initlint.model.syntax import SyntaxFacts
from initlint.model.tensors import Tensor, Write
from initlint.model.values import ClassValue, FunctionValue, Module, Place, module_tree

#: steps for the build and the call together (a class entry's budget: the build is most of it)
BUDGET = 150_000


@dataclass(frozen=True)
class MissedInit:
    """What an uncalled init method would have written: the paths of the trainable tensors
    (``backbone.weight``) that keep PyTorch's default init without it, and of those that keep
    the memory ``torch.empty`` left, each in the order written."""

    defaults: tuple[str, ...] = ()
    uninitialised: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.defaults or self.uninitialised)


def uncalled_inits(
    classes: list[ClassValue], syntax: SyntaxFacts | None, executed: set[int], project: Project, builds: BuildMemo,
    models: Sequence[Module] = (),
) -> dict[int, MissedInit]:
    """For each method of the file's model classes that initialises weights and that no entry
    ran (by the id of its def): what it would have written. Methods whose class cannot be
    built with its defaults, or that run out of steps, are left out. Where the class is a part
    of the entries' ``models``, a tensor counts only when it keeps its default there too (a
    transformers block inside a model gets the model's ``_init_weights`` from the walk)."""
    if syntax is None:
        return {}
    by_name = {cls.name: cls for cls in classes}
    found: dict[int, MissedInit] = {}
    for info in syntax.defs:
        if not info.weight_inits or info.cls is None or id(info.node) in executed:
            continue
        cls = by_name.get(info.cls)
        method = cls.body.get(info.node.name.value) if cls is not None else None
        if not isinstance(method, FunctionValue) or method.node is not info.node or not makes_module(cls):
            continue
        missed = _what_if_called(cls, method, project, builds)
        if missed is not None:
            found[id(info.node)] = _kept_in(missed, [m for model in models for m in module_tree(model)[1:] if m.cls is cls])
    return found


def _kept_in(missed: MissedInit, parts: list[Module]) -> MissedInit:
    """``missed`` less the tensors that some part (an instance of the class inside a model)
    does not hold at their default: written there by someone else, or not known to exist."""
    def still(paths: tuple[str, ...], empty: bool) -> tuple[str, ...]:
        return tuple(path for path in paths if all(_at_default(part, path, empty) for part in parts))

    return MissedInit(still(missed.defaults, False), still(missed.uninitialised, True))


def _at_default(part: Module, path: str, empty: bool) -> bool:
    *names, last = path.split(".")
    module: object = part
    for name in names:
        module = module.modules.get(name) if isinstance(module, Module) else None
    write = _held(module.params.get(last)) if isinstance(module, Module) else None
    return write is not None and isinstance(write.dist, Uninitialised) == empty


def _held(tensor: object) -> Write | None:
    """The write that decides a trainable tensor when it is PyTorch's default or the memory
    ``torch.empty`` left (no init of the code's own); None otherwise or when not established."""
    write = established(tensor) if isinstance(tensor, Tensor) and trainable(tensor) else None
    if write is None or not (isinstance(write.dist, Uninitialised) or not by_author(write)):
        return None
    return write


def _what_if_called(cls: ClassValue, method: FunctionValue, project: Project, builds: BuildMemo) -> MissedInit | None:
    evaluator = Evaluator(project, budget=BUDGET, builds=builds)
    place = Place(cls.namespace.source, method.node)
    try:
        model, _ = build_with_defaults(evaluator, cls, place)
        if not isinstance(model, Module) or any(event.kind == "construction-raised" for event in evaluator.events):
            return None
        kept: dict[int, tuple[str, Write]] = {}  # storage: its path, and the write that decides it
        for module in module_tree(model):
            for name, tensor in module.params.items():
                write = _held(tensor)
                if write is not None:
                    kept.setdefault(id(tensor.root.storage), (f"{module.path}.{name}" if module.path else name, write))
        start = len(evaluator.writes)
        open_ = open_parameters(method, skip_self=True)
        if _applied_to_modules(method, open_):  # ``def _init_weights(self, m)``: for ``self.apply``
            for module in reversed(module_tree(model)):  # children before parents, as apply runs
                evaluator.call_function(method, [model, module], {}, place)
        else:
            evaluator.call_function(method, [model], open_, place)
    except (BudgetExceeded, RecursionError):
        return None
    defaults: list[str] = []
    uninitialised: list[str] = []
    for write in evaluator.writes[start:]:
        if write.tensor is None or not by_author(write) or isinstance(write.dist, Uninitialised):
            continue
        path, before = kept.get(id(write.tensor.root.storage), (None, None))
        if path is None or write.dist == before.dist:
            continue  # a tensor with an init of its own, or a write of the values it has (a norm's bias to 0)
        found = uninitialised if isinstance(before.dist, Uninitialised) else defaults
        if path not in found:
            found.append(path)
    return MissedInit(tuple(defaults), tuple(uninitialised))


def _applied_to_modules(method: FunctionValue, open_: dict) -> bool:
    """A method whose one open parameter after ``self`` is the module ``apply`` passes it."""
    params = method.node.params
    positional = [*params.posonly_params, *params.params][1:]
    return len(open_) == 1 and len(positional) == 1 and positional[0].name.value in open_


__all__ = ["MissedInit", "uncalled_inits"]
