"""IL510: the constructor calls an init method of the model that no class defines.

``self._initialize_weights()`` in ``__init__`` whose ``def`` was deleted or commented out
raises AttributeError the moment the model is built. Evaluation establishes it: the call runs
on every path of construction (not in ``forward``, not under an undecided test), the model's
class and every base are known (bases in other files of the project are read through the
project index; a base the evaluator cannot read leaves the attribute open and the rule
silent), nothing assigned the attribute, and no ``def`` of that name exists anywhere in the file
(a subclass in the file may supply it: the template-method pattern). An init method is known by
its name (``INIT_METHOD``), called on ``self``: the prefilter's tokens are those calls.
"""

from __future__ import annotations

import re
from typing import Iterable

from initlint.findings import Effect, Prediction
from initlint.model.facts import FileFacts
from initlint.model.values import Module
from initlint.model.walk import EXPRESSION_OPAQUE, EXPRESSION_SKIPPED, Walker
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.support import anchor, live, model_of
from initlint.tree import nodes


#: what makes a method an init method (the issue's and the ecosystem's names: _initialize_weights,
#: init_weights, _init_weights, weights_init, reset_parameters, init): the prefilter's tokens
#: must cover every name this matches
INIT_METHOD = re.compile(r"^_?(initiali[sz]|init_?weight|weights?_init|reset_param|init$)")
_TOKENS = tuple(
    f"self.{under}{name}"
    for under in ("", "_")
    for name in ("initiali", "init_weight", "initweight", "weights_init", "weight_init", "reset_param", "init(")
)


@rule(
    "IL510",
    "undefined-init-method",
    Effect.MISUSE,
    "the constructor calls a method that no class of the model defines: AttributeError when it is built",
    _TOKENS,
)
def undefined_init_method(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    called: set[int] | None = None  # a walk of the whole tree: only once an event needs it
    defined = {info.node.name.value for info in facts.syntax.defs}
    reported: set[int] = set()
    for entry in live(facts):
        for event in entry.events:
            if event.kind != "missing-attribute" or event.conditional or event.extra:
                continue
            module, name = event.subject, event.other
            node = event.place.node
            if not isinstance(module, Module) or module.cls is None or not isinstance(name, str):
                continue
            if not INIT_METHOD.search(name) or name in defined or event.place.source is not facts.source:
                continue
            if not facts.source.code(node).startswith("self."):
                continue
            if called is None:
                called = _called_attributes(facts.source.tree)
            if id(node) not in called:
                continue
            at = anchor(facts, event.frames)
            if at is None or id(at) in reported:
                continue
            reported.add(id(at))
            model, path = model_of(entry, module, facts) if module.params else (None, None)
            bases = [c.name for c in module.cls.mro()[1:] if hasattr(c, "body")]
            chain = f", its bases ({', '.join(bases)})," if bases else ""
            yield Hit(
                at,
                f"`{facts.source.code(node)}()` is called while `{module.cls.name}` is built, but neither "
                f"`{module.cls.name}`{chain} nor nn.Module defines `{name}`{_commented(facts, name)}: "
                f"constructing the model raises AttributeError",
                {"method": name, "class": module.cls.name},
                f"define `{name}` on `{module.cls.name}` (or restore its def), or remove the call",
                Prediction(model=model or entry.name, raises="has no attribute"),
            )


def _called_attributes(tree: nodes.Module) -> set[int]:
    """ids of the ``self.x`` nodes that are called (``self.x(...)``)."""
    walker = _CalledAttributes()
    walker.walk(tree)
    return walker.found


class _CalledAttributes(Walker):
    """Every call's ``func`` that is an attribute: a read-only walk (libcst's own visit rebuilds
    the tree, ~100 ms on a 1,000-line file) that also enters f-strings and annotations."""

    opaque = EXPRESSION_OPAQUE
    skipped = EXPRESSION_SKIPPED

    def __init__(self) -> None:
        self.found: set[int] = set()

    def visit_Call(self, node: nodes.Call) -> None:
        if isinstance(node.func, nodes.Attribute):
            self.found.add(id(node.func))


def _commented(facts: FileFacts, name: str) -> str:
    """Where a comment still holds the method's def (a def commented out)."""
    pattern = re.compile(rf"#\s*def\s+{re.escape(name)}\s*\(")
    for number, line in enumerate(facts.source.text.splitlines(), start=1):
        if pattern.search(line):
            return f" (its def is commented out at line {number})"
    return ""
