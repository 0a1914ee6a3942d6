"""Evaluating statements: assignment, control flow, definitions, imports.

Control flow follows Python where a test is decided. Where it is not, both branches run "under
an undecided test" (Evaluator.undecided): writes made there are possible, not certain, and local
names that differ between the branches become UNKNOWN. A ``return``, ``raise``, ``break`` or
``continue`` on such a branch makes everything after it in the function (or loop iteration)
undecided as well. Loops over a known sequence of at most MAX_UNROLL items are unrolled; others
run once as a template whose count is ``repeat`` (objects made there stand for that many copies).
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, Any

from initlint.lean import dataclass
from initlint.model.interp.context import (
    BREAK,
    CONTINUE,
    BudgetExceeded,
    MAX_UNROLL,
    RAISE,
    unroll_limit,
    Completion,
    Frame,
    Return,
    same,
    truth,
)
from initlint.model.interp.branches import MISSING as _MISSING, Branches
from initlint.model.interp.operators import augmented
from initlint.model.tensors import Tensor
from initlint.model.values import UNKNOWN, ListObj, Place, Signal, is_number
from initlint.tree import nodes

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator


@dataclass
class LoopState:
    """An undecided ``break`` makes later iterations undecided; an undecided ``continue`` the
    rest of the current one."""

    maybe_break: bool = False
    maybe_continue: bool = False
    #: loop variables bound to a parameter by this iteration (a rebinding of one of them
    #: leaves the parameter as it was: a ``loop-rebind`` event)
    bound: dict[str, Any] = field(default_factory=dict)


class Statements(Branches):
    """The statement half of the Evaluator."""

    def exec_block(self: "Evaluator", body: Any, frame: Frame) -> Completion | None:
        opened = 0
        block = id(body)
        outer = self.statement
        try:
            for index, statement in enumerate(body):
                # an exit on an undecided path earlier (return, break, continue): what follows may not run
                if not opened and (frame.maybe_returned or frame.loops and (frame.loops[-1].maybe_break or frame.loops[-1].maybe_continue)):
                    self.maybe += 1
                    opened = 1
                self.statement = (block, index)
                completion = self.exec(statement, frame)
                if completion is not None:
                    if opened and completion is not RAISE:
                        self._possibly_exited(completion, frame)
                        return None
                    return completion
            return None
        finally:
            self.maybe -= opened
            self.statement = outer

    def _possibly_exited(self, completion: Completion, frame: Frame) -> None:
        """A completion reached only on an undecided path: remember it, go on undecided."""
        if isinstance(completion, Return):
            frame.returns.append(completion.value)
            frame.maybe_returned = True
        elif completion is RAISE:
            frame.maybe_returned = True
        elif frame.loops:
            if completion is BREAK:
                frame.loops[-1].maybe_break = True
            elif completion is CONTINUE:
                frame.loops[-1].maybe_continue = True

    def exec(self: "Evaluator", node: nodes.CSTNode, frame: Frame) -> Completion | None:
        self.steps += 1  # self.tick(), inlined
        if self.steps > self.budget:
            raise BudgetExceeded()
        if type(node) is nodes.SimpleStatementLine:
            for small in node.body:
                completion = self.exec_small(small, frame)
                if completion is not None:
                    return completion
            return None
        handler = _COMPOUND.get(type(node))
        return handler(self, node, frame) if handler is not None else None

    def exec_small(self: "Evaluator", node: nodes.BaseSmallStatement, frame: Frame) -> Completion | None:
        kind = type(node)
        if kind is nodes.Expr:
            self.eval(node.value, frame)
        elif kind is nodes.Assign:
            value = self.eval(node.value, frame)
            for target in node.targets:
                self.assign(target.target, value, frame)
        elif kind is nodes.AugAssign:
            self._augmented(node, frame)
        elif kind is nodes.AnnAssign:
            if frame.class_body and isinstance(node.target, nodes.Name):
                frame.annotations.append(node.target.value)
                annotation = node.annotation.annotation
                if node.value is None and self.defining_class is not None and isinstance(annotation, (nodes.Name, nodes.Attribute)):
                    self.defining_class.declared[node.target.value] = self.eval(annotation, frame)
            if node.value is not None:
                self.assign(node.target, self.eval(node.value, frame), frame)
        elif kind is nodes.Return:
            return Return(None if node.value is None else self.eval(node.value, frame))
        elif kind is nodes.Raise:
            if node.exc is not None:
                self.eval(node.exc, frame)
            return RAISE
        elif kind is nodes.Assert:
            if truth(self.eval(node.test, frame)) is False:
                return RAISE
        elif kind is nodes.Break:
            return BREAK
        elif kind is nodes.Continue:
            return CONTINUE
        elif kind is nodes.Import:
            self.import_names(node, frame)
        elif kind is nodes.ImportFrom:
            self.import_from(node, frame)
        elif kind is nodes.Global:
            frame.globals_.update(name.name.value for name in node.names)
        elif kind is nodes.Del:
            self._delete(node.target, frame)
        return None

    # ----- assignment
    def assign(self: "Evaluator", target: nodes.BaseExpression, value: Any, frame: Frame) -> None:
        kind = type(target)
        if kind is nodes.Name:
            if frame.loops and not self.in_forward:
                self._rebound(target, value, frame)
            self.bind(target.value, value, frame)
        elif kind is nodes.Attribute:
            owner = self.eval(target.value, frame)
            self.setattr(owner, target.attr.value, value, Place(frame.source, target), frame)
        elif kind is nodes.Subscript:
            owner = self.eval(target.value, frame)
            if len(target.slice) == 1:
                index = self.slice_value(target.slice[0].slice, frame)
            else:
                index = tuple(self.slice_value(e.slice, frame) for e in target.slice)
            self.setitem(owner, index, value, Place(frame.source, target), frame)
        elif kind in (nodes.Tuple, nodes.List):
            self._unpack(target.elements, value, frame)
        elif kind is nodes.StarredElement:
            self.assign(target.value, UNKNOWN, frame)

    def _loop_target(self: "Evaluator", target: Any, value: Any, frame: Frame) -> None:
        """Bind a loop's target for one iteration, remembering names bound to parameters."""
        state = frame.loops[-1]
        state.bound = {}
        self.assign(target, value, frame)
        for name in _names(target):
            bound = frame.locals.get(name)
            if isinstance(bound, Tensor) and bound.root.parameter:
                state.bound[name] = bound

    def _rebound(self: "Evaluator", target: nodes.Name, value: Any, frame: Frame) -> None:
        """``for w in m.parameters(): w = F.normalize(w)``: the name now holds a new tensor and
        the parameter keeps its values."""
        name = target.value
        for state in frame.loops:
            old = state.bound.pop(name, None)
            if old is None:
                continue
            if isinstance(value, Tensor) and value.root.storage is not old.root.storage:
                self.event("loop-rebind", Place(frame.source, target), old.root, name, value)

    def _unpack(self: "Evaluator", elements: Any, value: Any, frame: Frame) -> None:
        items = self.iterate(value)
        starred = [i for i, e in enumerate(elements) if isinstance(e, nodes.StarredElement)]
        if items is None or (not starred and len(items) != len(elements)) or (starred and len(items) < len(elements) - 1):
            signal = value if isinstance(value, Signal) else None
            for element in elements:  # ``a, b = x.chunk(2)``: each part carries the signal
                self.assign(element.value, signal if signal is not None else UNKNOWN, frame)
            return
        if starred:
            at = starred[0]
            tail = len(elements) - at - 1
            parts = [*items[:at], ListObj(list(items[at:len(items) - tail])), *items[len(items) - tail:]]
        else:
            parts = list(items)
        for element, item in zip(elements, parts):
            self.assign(element.value, item, frame)

    def bind(self: "Evaluator", name: str, value: Any, frame: Frame) -> None:
        if name in frame.globals_:
            self.note_change(frame.namespace)
            frame.namespace.names[name] = value
        elif frame.nonlocals and name in frame.nonlocals and frame.closure is not None:
            frame.closure[name] = value
        else:
            frame.locals[name] = value

    def _augmented(self: "Evaluator", node: nodes.AugAssign, frame: Frame) -> None:
        op = augmented(node.operator)
        current = self.eval(node.target, frame)
        right = self.eval(node.value, frame)
        if isinstance(current, ListObj) and op is nodes.Add:
            items = self.iterate(right)
            if items is None:
                self.note_change(current)
                current.repeat = UNKNOWN
            else:
                self.extend_list(current, items)
            return
        if self.inplace_tensor_op(current, op, right, node, frame):
            return
        self.assign(node.target, self.binop(op, current, right, node, frame), frame)

    def _delete(self: "Evaluator", target: nodes.BaseExpression, frame: Frame) -> None:
        if isinstance(target, nodes.Name):
            frame.locals.pop(target.value, None)
        elif isinstance(target, nodes.Attribute):
            owner = self.eval(target.value, frame)
            self.delattr(owner, target.attr.value)
        elif isinstance(target, (nodes.Tuple, nodes.List)):
            for element in target.elements:
                self._delete(element.value, frame)

    # ----- control flow
    def _for(self: "Evaluator", node: nodes.For, frame: Frame) -> Completion | None:
        iterable = self.eval(node.iter, frame)
        items = self.iterate(iterable)
        if items is not None and len(items) <= unroll_limit(iterable):
            return self._unrolled(node, items, frame)
        count = len(items) if items is not None else self.template_count(iterable)
        element = items[0] if items else self.template_element(iterable)
        return self._template(node.target, node.body.body, element, count, frame)

    def _unrolled(self: "Evaluator", node: nodes.For, items: list[Any], frame: Frame) -> Completion | None:
        state = LoopState()
        frame.loops.append(state)
        opened = 0
        try:
            for item in items:
                if state.maybe_break and not opened:
                    self.maybe += 1
                    opened = 1
                state.maybe_continue = False
                self._loop_target(node.target, item, frame)
                completion = self.exec_block(node.body.body, frame)
                if completion is BREAK:
                    if opened:
                        break
                    return None
                if completion is CONTINUE:
                    continue
                if completion is not None:
                    return completion
        finally:
            frame.loops.pop()
            self.maybe -= opened
        if node.orelse is not None:
            if state.maybe_break:
                with self.undecided():
                    return self.exec_block(node.orelse.body.body, frame)
            return self.exec_block(node.orelse.body.body, frame)
        return None

    def _template(self: "Evaluator", target: Any, body: Any, element: Any, count: Any, frame: Frame) -> Completion | None:
        """A loop with an open or large count: the body once, undecided, as ``count`` copies."""
        before = dict(frame.locals)
        frame.loops.append(LoopState())
        try:
            with self.undecided(), self.repeated(count):
                if target is not None:
                    self._loop_target(target, element, frame)
                completion = self.exec_block(body, frame)
        finally:
            frame.loops.pop()
        if isinstance(completion, Return):
            frame.returns.append(completion.value)
            frame.maybe_returned = True
        for name, value in list(frame.locals.items()):
            old = before.get(name, _MISSING)
            if old is _MISSING or not same(old, value):
                frame.locals[name] = value if isinstance(value, Signal) else UNKNOWN
        return None

    def _while(self: "Evaluator", node: nodes.While, frame: Frame) -> Completion | None:
        for _ in range(MAX_UNROLL):
            decided = truth(self.eval(node.test, frame))
            if decided is False:
                return None
            if decided is None:
                break
            completion = self.exec_block(node.body.body, frame)
            if completion is BREAK:
                return None
            if completion is not None and completion is not CONTINUE:
                return completion
        return self._template(None, node.body.body, None, UNKNOWN, frame)

    def _with(self: "Evaluator", node: nodes.With, frame: Frame) -> Completion | None:
        pushed = 0
        for item in node.items:
            value = self.eval(item.item, frame)
            grad = self.grad_context(value)
            if grad is not None:
                self.grad_stack.append(grad)
                pushed += 1
            if item.asname is not None:
                self.assign(item.asname.name, UNKNOWN, frame)
        try:
            return self.exec_block(node.body.body, frame)
        finally:
            for _ in range(pushed):
                self.grad_stack.pop()

    def _try(self: "Evaluator", node: Any, frame: Frame) -> Completion | None:
        handled = 1 if node.handlers else 0  # an error in the body is caught: not a crash
        self.in_try += handled
        try:
            completion = self.exec_block(node.body.body, frame)
        finally:
            self.in_try -= handled
        for handler in node.handlers:
            with self.undecided():
                if handler.name is not None:
                    self.assign(handler.name.name, UNKNOWN, frame)
                self.exec_block(handler.body.body, frame)
        if completion is RAISE:
            completion = None  # a handler (or none) took it: the rest is undecided
            frame.maybe_returned = True
        elif completion is None and node.orelse is not None:
            completion = self.exec_block(node.orelse.body.body, frame)
        if node.finalbody is not None:
            final = self.exec_block(node.finalbody.body.body, frame)
            if final is not None:
                return final
        return completion

    def _match(self: "Evaluator", node: nodes.Match, frame: Frame) -> Completion | None:
        self.eval(node.subject, frame)
        with self.undecided():
            for case in node.cases:
                completion = self.exec_block(case.body.body, frame)
                if completion is not None:
                    self._possibly_exited(completion, frame)
        return None

    def _function_def(self: "Evaluator", node: nodes.FunctionDef, frame: Frame) -> None:
        self.bind(node.name.value, self.define_function(node, frame), frame)

    def _class_def(self: "Evaluator", node: nodes.ClassDef, frame: Frame) -> None:
        self.bind(node.name.value, self.define_class(node, frame), frame)



def _names(target: Any) -> list[str]:
    """The plain names a ``for`` target binds (``w``, ``(name, w)``)."""
    if isinstance(target, nodes.Name):
        return [target.value]
    if isinstance(target, (nodes.Tuple, nodes.List)):
        return [name for element in target.elements for name in _names(element.value)]
    return []


def count_of(value: Any) -> Any:
    return value if is_number(value) else UNKNOWN


_COMPOUND = {
    nodes.If: Branches._if,
    nodes.For: Statements._for,
    nodes.While: Statements._while,
    nodes.With: Statements._with,
    nodes.Try: Statements._try,
    nodes.TryStar: Statements._try,
    nodes.Match: Statements._match,
    nodes.FunctionDef: Statements._function_def,
    nodes.ClassDef: Statements._class_def,
}
