"""Undecided ``if``: both branches run, their locals are joined.

A name keeps its value where both branches agree; two different signals meet in a join node of
the flow graph; anything else is UNKNOWN. A module's or class body's locals are its namespace,
so the joined names go back into that same dict (later definitions and other files read it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from initlint.model.interp.context import Completion, Frame, Return, join, same, truth
from initlint.model.values import UNKNOWN, Signal
from initlint.tree import nodes

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

#: a name a branch did not bind
MISSING = object()


class Branches:
    """The ``if`` half of the Evaluator's statements."""

    def _if(self: "Evaluator", node: nodes.If, frame: Frame) -> Completion | None:
        decided = truth(self.eval(node.test, frame))
        if decided is True:
            return self.exec_block(node.body.body, frame)
        if decided is False:
            return self._orelse(node.orelse, frame)
        home = frame.locals
        before = dict(home)
        with self.undecided():
            first = self.exec_block(node.body.body, frame)
            after_body = dict(frame.locals)
            frame.locals = dict(before)
            second = self._orelse(node.orelse, frame)
            after_else = frame.locals
        try:
            return self._joined(first, second, after_body, after_else, frame)
        finally:
            # a module's or class body's locals are its namespace: the joined names go back
            # into that same dict, which later definitions and other files read
            if frame.locals is not home:
                joined = frame.locals
                for name in [name for name in home if name not in joined]:
                    del home[name]
                home.update(joined)
                frame.locals = home

    def _joined(
        self: "Evaluator", first: Completion | None, second: Completion | None,
        after_body: dict[str, Any], after_else: dict[str, Any], frame: Frame,
    ) -> Completion | None:
        """The completion and locals after both branches of an undecided ``if``."""
        if first is None and second is None:
            frame.locals = self.merge_locals(after_body, after_else)
            return None
        if first is not None and second is not None:
            if isinstance(first, Return) and isinstance(second, Return):
                return Return(join([first.value, second.value]))
            if first is second:
                return first
        if first is not None:
            frame.locals = after_else if second is None else self.merge_locals(after_body, after_else)
            self._possibly_exited(first, frame)
        if second is not None:
            frame.locals = after_body if first is None else frame.locals
            self._possibly_exited(second, frame)
        return None

    def _orelse(self: "Evaluator", orelse: Any, frame: Frame) -> Completion | None:
        if orelse is None:
            return None
        if isinstance(orelse, nodes.If):
            return self._if(orelse, frame)
        return self.exec_block(orelse.body.body, frame)

    def merge_locals(self: "Evaluator", first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
        """Locals after an undecided ``if``: a name keeps its value where both branches agree;
        two different signals meet in a join node of the flow graph."""
        merged: dict[str, Any] = {}
        for name in first.keys() | second.keys():
            a, b = first.get(name, MISSING), second.get(name, MISSING)
            if a is not MISSING and b is not MISSING and same(a, b):
                merged[name] = a
            elif isinstance(a, Signal) and isinstance(b, Signal):
                merged[name] = self.join_signals(a, b)
            else:
                merged[name] = UNKNOWN
        return merged


__all__ = ["Branches", "MISSING"]
