"""A fast depth-first walk over a libcst tree, for visitors that only read.

libcst's ``CSTNode.visit`` rebuilds every node it passes through (it is built for transformers)
and looks up ``visit_<Type>``/``visit_<Type>_<attribute>`` by name for every node and every
attribute. A read-only pass needs none of that: this walk reads each node's dataclass fields,
caches per node type which fields can hold children and which hooks exist, and never descends
into leaves, whitespace and punctuation. Measured on model code: a third of libcst's cost.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Callable

import libcst as cst

#: nodes that hold nothing a rule reads: the walk does not descend into them
OPAQUE = frozenset(
    {
        cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Name, cst.Integer,
        cst.Float, cst.Imaginary, cst.SimpleWhitespace, cst.ParenthesizedWhitespace,
        cst.Newline, cst.EmptyLine, cst.TrailingWhitespace, cst.Comment, cst.Annotation,
        cst.ImportAlias, cst.LeftParen, cst.RightParen, cst.LeftSquareBracket,
        cst.RightSquareBracket, cst.LeftCurlyBrace, cst.RightCurlyBrace, cst.Comma, cst.Dot,
        cst.Colon, cst.AssignEqual, cst.Semicolon, cst.Pass, cst.Break, cst.Continue,
    }
)
#: fields that only hold whitespace or punctuation
_SKIPPED_FIELDS = frozenset(
    {
        "lpar", "rpar", "whitespace_before", "whitespace_after", "leading_lines",
        "lines_after_decorators", "header", "footer", "comma", "semicolon", "equal",
        "whitespace_after_func", "whitespace_before_args", "whitespace_after_arg",
        "whitespace_before_colon", "whitespace_after_colon", "trailing_whitespace",
        "whitespace_before_indent", "whitespace_after_star", "whitespace_after_param",
        "star", "newline", "lbracket", "rbracket", "lbrace", "rbrace", "dot", "colon",
        "operator", "asname", "whitespace_after_class", "whitespace_after_def",
        "whitespace_before_params", "whitespace_after_at", "whitespace_after_if",
        "whitespace_after_for", "whitespace_before_in", "whitespace_after_in",
        "whitespace_after_with", "whitespace_after_import", "whitespace_after_from",
        "whitespace_before_import", "whitespace_after_while", "whitespace_after_return",
        "whitespace_after_assert", "whitespace_after_except", "whitespace_after_raise",
        "whitespace_after_del", "whitespace_after_global", "whitespace_after_nonlocal",
        "whitespace_before_from", "whitespace_after_lambda", "whitespace_after_yield",
        "whitespace_after_await", "whitespace_after_async", "indent",
    }
)

#: for walks that must see every call: calls can sit in f-strings, annotations and the target
#: of ``with f() as x[g()]`` (the other skipped types and fields never hold one)
EXPRESSION_OPAQUE = OPAQUE - {cst.FormattedString, cst.ConcatenatedString, cst.Annotation}
EXPRESSION_SKIPPED = _SKIPPED_FIELDS - {"asname"}

Hook = Callable[[Any, cst.CSTNode], None]


def _may_hold_nodes(annotation: Any, opaque: frozenset = OPAQUE) -> bool:
    """Whether a field declared as ``annotation`` can hold a node the walk enters.

    ``Attribute.attr: Name`` or ``Arg.keyword: Optional[Name]`` cannot (a Name is opaque), so
    the walk never reads them; anything it cannot read (a string annotation) counts as yes.
    """
    if isinstance(annotation, type):
        if issubclass(annotation, cst.CSTNode):
            return annotation not in opaque
        return False  # str, bool, MaybeSentinel
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return False
    return any(_may_hold_nodes(arg, opaque) for arg in args) if args else True


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
        if kind in cls.opaque or not (isinstance(kind, type) and issubclass(kind, cst.CSTNode)):
            cls._plans[kind] = SKIP
            return SKIP
        name = kind.__name__
        fields = []
        for field in dataclasses.fields(kind):
            if field.name in cls.skipped or field.name.startswith("whitespace"):
                continue
            enter = getattr(cls, f"visit_{name}_{field.name}", None)
            exit_ = getattr(cls, f"leave_{name}_{field.name}", None)
            if enter is None and exit_ is None and not _may_hold_nodes(field.type, cls.opaque):
                continue
            fields.append((field.name, enter, exit_))
        plan = (getattr(cls, f"visit_{name}", None), getattr(cls, f"leave_{name}", None), tuple(fields))
        cls._plans[kind] = plan
        return plan

    def walk(self, node: cst.CSTNode) -> None:
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
