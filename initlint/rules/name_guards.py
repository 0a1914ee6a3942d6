"""IL511: init code reads the weight of a module that has none (a class-name test hit it).

``if classname.find('Conv') != -1: m.weight.data.normal_(0, 0.02)`` meant torch's Conv layers,
and also matches the project's own ``ConvBlock``, ``SNConv2d`` wrappers and ``ConvLSTM`` cells:
modules that hold a Conv but have no ``weight`` of their own. ``model.apply(weights_init)``
reaches them and raises AttributeError the moment the model is built. Evaluation establishes
it: the test ran on the module's real class name, the read happened on every path (not under
an undecided test, not inside a ``try`` that catches it, not in forward), and the module's
class and bases are all known and define no such attribute.
"""

from __future__ import annotations

from typing import Iterable

from initlint.findings import Effect, Prediction
from initlint.model.facts import FileFacts
from initlint.model.values import ClassValue, Module
from initlint.model.walk import Walker
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.support import anchor, live
from initlint.tree import nodes

#: the attributes init code writes: a module without them cannot be initialised this way
_PARAMETERS = frozenset({"weight", "bias"})


@rule(
    "IL511",
    "name-guard-hits-custom-class",
    Effect.MISUSE,
    "init code selected by class name reads .weight/.bias of a project class that has none: AttributeError",
    # a class-name test reads ``m.__class__.__name__``, ``type(m).__name__``, ``m._get_name()``
    # or ``str(m.__class__)``; a bare ``__name__`` is the module's name (every file's logger)
    (".__name__", "_get_name(", "__class__"),
)
def name_guard_hits_custom_class(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    found: dict[int, tuple[nodes.CSTNode, object, str, list[Module], object]] = {}
    for entry in live(facts):
        for event in entry.events:
            if event.kind != "missing-attribute" or event.conditional or event.extra:
                continue
            module, name = event.subject, event.other
            if name not in _PARAMETERS or not isinstance(module, Module) or not isinstance(module.cls, ClassValue):
                continue
            at = anchor(facts, event.frames)
            if at is None:
                continue
            group = found.setdefault(id(at), (at, event, name, [], entry))[3]
            if not any(m is module for m in group):
                group.append(module)
    for at, event, name, modules, entry in found.values():
        yield _hit(facts, at, event, name, modules, entry)


def _hit(facts: FileFacts, at: nodes.CSTNode, event, name: str, modules: list[Module], entry) -> Hit:
    read = event.place.source.code(event.place.node)
    classes = sorted({m.cls.name for m in modules if m.cls is not None})
    # several models built from the same blocks give the same paths: each is named once
    paths = list(dict.fromkeys(f"`{m.path}`" for m in modules if m.path)) or ["the model"]
    shown = ", ".join(paths[:4]) + (f" and {len(paths) - 4} more" if len(paths) > 4 else "")
    guard = _name_test(event.place, classes)
    return Hit(
        at,
        f"`{read}` is read on {shown} ({', '.join(classes)}: "
        f"{'classes' if len(classes) > 1 else 'a class'} of this project with no `{name}`){guard}: init raises "
        "AttributeError when the model is built",
        {"attribute": name, "classes": classes, "modules": [m.path for m in modules]},
        "test the layer type instead of its name (isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))), "
        f"or check hasattr(m, '{name}') before writing it",
        Prediction(model=entry.name if entry.kind == "class" else None, raises="has no attribute"),
    )


def _name_test(place, classes: list[str]) -> str:
    """``; the test matched its name ('Conv' is in 'ConvBlock')`` when the function that reads
    the attribute compares a string that is part of the class name."""
    function = _enclosing_def(place.source.tree, place.node)
    if function is None:
        return ""
    for literal in _strings(function):
        for cls in classes:
            if len(literal) >= 3 and literal in cls and literal != cls:
                return f"; the class-name test matched it ({literal!r} is in {cls!r})"
    return ""


def _enclosing_def(tree: nodes.Module, target: nodes.CSTNode) -> nodes.FunctionDef | None:
    walker = _Enclosing(target)
    walker.walk(tree)
    return walker.found


class _Enclosing(Walker):
    """The innermost ``def`` around ``target``: a node the evaluator placed, anywhere but in
    whitespace, so every other node type and field is entered (as libcst's own visit would,
    without rebuilding the tree: ~100 ms a walk on a 1,000-line file)."""

    opaque = frozenset()
    skipped = frozenset()

    def __init__(self, target: nodes.CSTNode) -> None:
        self.target = target
        self.stack: list[nodes.FunctionDef] = []
        self.found: nodes.FunctionDef | None = None

    def walk(self, node: nodes.CSTNode) -> None:
        if self.found is not None:
            return
        if node is self.target and self.stack:
            self.found = self.stack[-1]
            return
        super().walk(node)

    def visit_FunctionDef(self, node: nodes.FunctionDef) -> None:
        self.stack.append(node)

    def leave_FunctionDef(self, node: nodes.FunctionDef) -> None:
        self.stack.pop()


def _strings(node: nodes.CSTNode) -> list[str]:
    """The values of the string literals under ``node``."""
    found: list[str] = []
    for string in node.walk():
        if type(string) is nodes.SimpleString:
            try:
                value = string.evaluated_value
            except (ValueError, SyntaxError, MemoryError):
                continue
            if isinstance(value, str):
                found.append(value)
    return found
