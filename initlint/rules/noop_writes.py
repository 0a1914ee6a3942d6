"""IL508: init code that writes something other than the parameter, which keeps its values.

Three shapes real projects shipped, each established by evaluation (events of the interpreter):

- ``for W in fc.parameters(): W = F.normalize(W, dim=1)`` rebinds the loop variable to a new
  tensor (``loop-rebind``); assigning to a name never changes the tensor it held.
- ``w.data.clone().normal_()``, ``nn.init.zeros_(w.detach().clone())``: a write to a copy that
  the statement then drops (``write-to-copy``); a copy that is kept and copied back is silent.
- ``m.weight.data.normal_()`` on a layer wrapped in ``weight_norm`` (``write-to-derived``):
  ``weight`` is recomputed from ``weight_g`` and ``weight_v`` before every forward (from
  ``parametrizations.weight.original0`` and ``original1`` whenever it is read, with the
  parametrization), so the write is thrown away (HiFi-GAN's ``init_weights`` after
  ``weight_norm``).

Writes in ``forward`` are not asked about (forward computes with copies on purpose), and
neither are writes under a test the evaluator could not decide.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Iterable

from initlint.findings import Effect
from initlint.model.dists import WeightNormed
from initlint.model.effective import established
from initlint.model.facts import EntryFacts, FileFacts
from initlint.model.interp.context import Event
from initlint.model.tensors import Tensor
from initlint.model.values import Place
from initlint.model.walk import Walker
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.support import anchor, code, listed, live, model_of
from initlint.tree import nodes

_KINDS = ("loop-rebind", "write-to-copy", "write-to-derived")


@rule(
    "IL508",
    "write-does-nothing",
    Effect.MISUSE,
    "an init that writes a copy, a rebound loop variable or weight_norm's recomputed weight: the parameter keeps its values",
    (".clone().", "clone())", "weight_norm", "parameters():"),
)
def write_does_nothing(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    found: dict[int, tuple[nodes.CSTNode, str, list[Event]]] = {}
    dropped = _DroppedResults(facts)
    for entry in live(facts):
        for event in entry.events:
            if event.kind not in _KINDS or event.conditional:
                continue
            if _loaded_later(event):
                continue  # a checkpoint replaces the values: what init did not do does not matter
            if event.kind == "loop-rebind" and _reaches_a_parameter(entry, event):
                continue
            if event.kind == "write-to-copy" and not dropped.copy_dropped(event):
                continue
            at = anchor(facts, event.frames)
            if at is None:
                continue
            group = found.setdefault(id(at), (at, event.kind, []))[2]
            if not any(e.subject is event.subject for e in group):
                group.append(event)
    for at, kind, events in found.values():
        yield Hit(at, _MESSAGES[kind](facts, events), {"kind": kind, "tensors": [_path(e.subject) for e in events]},
                  _fix(kind, events))


def _path(tensor: Tensor) -> str:
    return tensor.path or tensor.name or "the parameter"


def _listed(events: list[Event]) -> str:
    return listed([_path(e.subject) for e in events])


def _written(facts: FileFacts, event: Event) -> str:
    """The writing code, and its file when that is not the linted one."""
    text = f"`{code(facts, event.place.node)}`"
    if event.place.source is not facts.source:
        text += f" (in {PurePath(event.place.source.path).name})"
    return text


def _holds(tensor: Tensor) -> str:
    write = established(tensor)
    return f" ({write.dist.describe()})" if write is not None else ""


def _rebind_message(facts: FileFacts, events: list[Event]) -> str:
    first = events[0]
    new = first.extra
    write = established(new) if isinstance(new, Tensor) else None
    made = f" ({write.dist.describe()})" if write is not None else ""
    value = "..."
    if isinstance(new, Tensor) and new.made is not None and new.made.source is facts.source:
        value = code(facts, new.made.node)
    many = len(events) > 1
    return (
        f"`{first.other} = {value}` rebinds the loop variable `{first.other}` to a new tensor{made}: "
        f"{_listed(events)} {'keep their' if many else 'keeps its'} values, since assigning to a name never "
        "changes the tensor it held"
    )


def _copy_message(facts: FileFacts, events: list[Event]) -> str:
    first = events[0]
    return (
        f"{_written(facts, first)} writes a copy of {_listed(events)} and drops it: the parameter keeps its values{_holds(first.subject)}"
    )


def _weight_norm_parameters(tensor: Tensor) -> tuple[str, str, bool]:
    """The names of the magnitude and direction parameters weight_norm made in place of the
    written tensor, and whether it is the parametrization (recomputed whenever it is read)."""
    name = tensor.name or "weight"
    derived = tensor.derived
    if isinstance(derived, WeightNormed) and derived.parametrized:
        return f"parametrizations.{name}.original0", f"parametrizations.{name}.original1", True
    return f"{name}_g", f"{name}_v", False


def _derived_message(facts: FileFacts, events: list[Event]) -> str:
    first = events[0]
    tensor: Tensor = first.subject
    base = tensor.base
    g, v, parametrized = _weight_norm_parameters(tensor)
    kept = f"`{v}`'s values{_holds(base)}" if isinstance(base, Tensor) else f"`{v}`'s values"
    many = len(events) > 1
    computes = (
        f"which the weight_norm parametrization computes from `{g}` and `{v}` whenever it is read"
        if parametrized else f"which weight_norm computes from `{g}` and `{v}` before every forward"
    )
    return (
        f"{_written(facts, first)} writes {_listed(events)}, {computes}: the write is thrown away and "
        f"{'the layers keep' if many else 'the layer keeps'} {kept}"
    )


_MESSAGES = {"loop-rebind": _rebind_message, "write-to-copy": _copy_message, "write-to-derived": _derived_message}
_FIXES = {
    "loop-rebind": "write into the parameter: `W.data = F.normalize(W.data, dim=1)` or `with torch.no_grad(): W.copy_(...)`",
    "write-to-copy": "write the parameter itself (`w.data.normal_(...)`, `nn.init.normal_(w, ...)`), or copy the result back",
}


def _fix(kind: str, events: list[Event]) -> str:
    if kind == "write-to-derived":
        g, v, _ = _weight_norm_parameters(events[0].subject)
        return f"initialise the layer before wrapping it in weight_norm, or write `{v}` (and `{g}`) instead"
    return _FIXES[kind]


def _loaded_later(event: Event) -> bool:
    """The parameter (weight_norm's: its ``_v``) gets a checkpoint's values on every path."""
    tensor = event.subject
    if event.kind == "write-to-derived" and isinstance(tensor, Tensor):
        tensor = tensor.base
    if not isinstance(tensor, Tensor):
        return False
    return any(w.kind == "loaded" and not w.conditional for w in tensor.root.storage.writes)


def _reaches_a_parameter(entry: EntryFacts, event: Event) -> bool:
    """The new tensor a loop variable was rebound to still reaches a parameter: it becomes
    one (``nn.Parameter(W)``), or a later write copies its values into one."""
    new = event.extra
    if not isinstance(new, Tensor):
        return True  # not established: never report
    storage = new.root.storage
    for tensor in entry.tensors():
        if tensor.root.parameter and tensor.root.storage is storage:
            return True
    drawn = {id(w) for w in storage.writes}
    return any(w.origin is not None and id(w.origin) in drawn for w in entry.writes[event.at_write:])


class _DroppedResults:
    """Which calls are whole expression statements (their result is thrown away)."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        self._expressions: dict[int, set[int]] = {}

    def copy_dropped(self, event: Event) -> bool:
        """The copy was made inside the writing call, whose result the statement drops: no name
        holds it, so nothing can copy it back."""
        copy = event.extra
        place: Place = event.place
        if not isinstance(copy, Tensor) or copy.made is None or copy.made.source is not place.source:
            return False
        if id(place.node) not in self._statements(place):
            return False
        return _contains(place.node, copy.made.node)

    def _statements(self, place: Place) -> set[int]:
        key = id(place.source)
        if key not in self._expressions:
            walker = _ExpressionStatements()
            walker.walk(place.source.tree)
            self._expressions[key] = walker.found
        return self._expressions[key]


class _ExpressionStatements(Walker):
    """The values of expression statements (statements sit in no f-string or annotation)."""

    def __init__(self) -> None:
        self.found: set[int] = set()

    def visit_Expr(self, node: nodes.Expr) -> bool:
        self.found.add(id(node.value))
        return False  # an expression holds no statement


def _contains(root: nodes.CSTNode, target: nodes.CSTNode) -> bool:
    stack = [root]
    while stack:
        node = stack.pop()
        if node is target:
            return True
        stack.extend(node.children)
    return False


__all__ = ["model_of", "write_does_nothing"]
