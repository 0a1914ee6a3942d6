"""A fast depth-first walk over the evaluator's tree, for visitors that only read.

A subclass defines ``visit_<Type>``/``leave_<Type>`` and ``visit_<Type>_<field>`` hooks, in
libcst's naming; which fields hold children and which hooks exist is looked up once per node
type, and leaves (names, literals) are never entered.
"""

from __future__ import annotations

from typing import Any, Callable

from initlint.tree import nodes

#: nodes that hold nothing a rule reads: the walk does not descend into them
OPAQUE = frozenset(
    {
        nodes.SimpleString, nodes.ConcatenatedString, nodes.FormattedString, nodes.Name, nodes.Integer,
        nodes.Float, nodes.Imaginary, nodes.Annotation, nodes.ImportAlias, nodes.Dot, nodes.Pass, nodes.Break,
        nodes.Continue,
    }
)
#: child fields a rule never reads
_SKIPPED_FIELDS = frozenset({"operator", "asname"})

#: for walks that must see every call: calls can sit in f-strings, annotations and the target
#: of ``with f() as x[g()]`` (the other skipped types and fields never hold one)
EXPRESSION_OPAQUE = OPAQUE - {nodes.FormattedString, nodes.ConcatenatedString, nodes.Annotation}
EXPRESSION_SKIPPED = _SKIPPED_FIELDS - {"asname"}

Hook = Callable[[Any, nodes.CSTNode], None]


#: the plan of a type the walk does not enter (leaves, punctuation, non-node field values)
SKIP = None


class Walker:
    """Subclasses define ``visit_<Type>``/``leave_<Type>`` and ``visit_<Type>_<field>``, and may
    enter more by smaller ``opaque`` and ``skipped`` sets (EXPRESSION_OPAQUE, EXPRESSION_SKIPPED)."""

    _plans: dict[type, Any]
    opaque: frozenset = OPAQUE
    skipped: frozenset = _SKIPPED_FIELDS

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls._plans = {}

    def _plan(self, kind: type):
        """Hooks and child fields of ``kind``, looked up once per type; SKIP for opaque types."""
        cls = type(self)
        if kind in cls.opaque or not (isinstance(kind, type) and issubclass(kind, nodes.CSTNode)):
            cls._plans[kind] = SKIP
            return SKIP
        name = kind.__name__
        fields = []
        for field in kind.fields:
            if field in cls.skipped:
                continue
            enter = getattr(cls, f"visit_{name}_{field}", None)
            exit_ = getattr(cls, f"leave_{name}_{field}", None)
            fields.append((field, enter, exit_))
        plan = (getattr(cls, f"visit_{name}", None), getattr(cls, f"leave_{name}", None), tuple(fields))
        cls._plans[kind] = plan
        return plan

    def walk(self, node: nodes.CSTNode) -> None:
        plans = self._plans
        kind = type(node)
        plan = plans[kind] if kind in plans else self._plan(kind)
        if plan is SKIP:
            return
        visit, leave, fields = plan
        if visit is not None and visit(self, node) is False:
            return
        walk = self.walk
        for name, enter, exit_ in fields:
            value = getattr(node, name)
            if enter is not None:
                enter(self, node)
            kind = type(value)
            if kind is list or kind is tuple:
                for child in value:
                    kind = type(child)
                    if (plans[kind] if kind in plans else self._plan(kind)) is not SKIP:
                        walk(child)
            elif (plans[kind] if kind in plans else self._plan(kind)) is not SKIP:
                walk(value)
            if exit_ is not None:
                exit_(self, node)
        if leave is not None:
            leave(self, node)
