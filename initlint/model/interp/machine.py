"""The Evaluator: runs model code abstractly and records what it does to tensors and signals.

One Evaluator runs one entry (a file's module body, one model class built with its defaults and
called on an input, or one top-level function); its state is what that entry did: every write
to a tensor, the flow graph of every model call, and events such as a module replaced or an
attribute that does not exist. Expressions, statements, calls, attributes, tensors, flow ops and
external calls and imports live in the mixins this class combines.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from initlint.model.interp.builds import BuildMemo
from initlint.model.interp.builtins import builtin
from initlint.model.interp.calls import Builtin, Calls
from initlint.model.interp.containers import Containers
from initlint.model.interp.context import STEP_BUDGET, BudgetExceeded, Event, Frame, InitRecord
from initlint.model.interp.expressions import Expressions
from initlint.model.interp.operators import Operators
from initlint.model.interp.externals import GRAD_CONTEXTS, Externals
from initlint.model.interp.flow_ops import FlowOps
from initlint.model.interp.hf import HuggingFace
from initlint.model.interp.layers import Layers
from initlint.model.interp.instances import Instances
from initlint.model.interp.methods import Methods
from initlint.model.interp.namespaces import Namespaces
from initlint.model.interp.objects import Objects
from initlint.model.interp.statements import Statements
from initlint.model.interp.tensor_ops import TensorOps
from initlint.model.interp.tensor_views import TensorViews
from initlint.model.interp.timm_models import TimmModels
from initlint.model.interp.types import Types
from initlint.model.interp.visits import VisitLog
from initlint.model.project import Project
from initlint.model.tensors import Tensor, Write
from initlint.model.values import (
    UNKNOWN,
    DictObj,
    External,
    FlowNode,
    FunctionValue,
    ListObj,
    Module,
    Namespace,
    Place,
    Sym,
    is_number,
    next_serial,
)
from initlint.tree import nodes


class Evaluator(Expressions, Operators, Statements, Calls, Objects, Containers, Types, Methods, Instances, Layers, TensorOps, TensorViews, FlowOps, Externals, HuggingFace, TimmModels, Namespaces):
    """See the module docstring."""

    def __init__(self, project: Project, grad_known: bool = True, budget: int = STEP_BUDGET,
                 builds: BuildMemo | None = None) -> None:
        self.project = project
        #: builds earlier class entries of the file recorded (builds.py), or None
        self.builds = builds
        #: the creation number this entry started at: what it made is its own (builds.py)
        self.born = next_serial()
        #: the builds being recorded, outermost first: [the creation number each started at,
        #: how many times an object older than that was changed] (older objects must stay)
        self.recording: list[list[int]] = []
        #: the imported names being looked up in the files that define them (_resolve)
        self.resolving: set[tuple[int, str]] = set()
        #: module bodies of other files being evaluated (each under DEPENDENCY_BUDGET), and those
        #: of them being recorded (loads.py)
        self.in_dependency = 0
        self.body_recordings: list[Any] = []
        self.budget = budget
        self.steps = 0
        self.maybe = 0
        self.repeat: Any = 1
        #: len(self.graph) where each enclosing repeated region (a template loop) began
        self.repeat_marks: list[int] = []
        self.grad_stack: list[str] = []
        self.grad_base: Any = False if grad_known else UNKNOWN
        self.in_forward = 0
        self.calls: list[Place] = []
        self.active: list[FunctionValue] = []
        self.graph: list[FlowNode] = []
        self.writes: list[Write] = []
        self.events: list[Event] = []
        #: every call of a function of the code, in order (``executed`` is the set of their defs)
        self.called: list[FunctionValue] = []
        #: the most calls open at once, and the calls the depth or recursion limit refused
        self.deepest = 0
        self.refused = 0
        self.raised: list[Place] = []
        self.init_calls: list[InitRecord] = []
        self.statement: tuple[int, int] | None = None
        self.forwards: dict[int, int] = {}
        self.defining_class = None
        #: every def evaluated, by id of its node (entries run decorated functions too)
        self.defined: dict[int, FunctionValue] = {}
        #: modules transformers' init walk already initialised (hf.py)
        self.hf_initialized: set[int] = set()
        #: per class, the classes known to predate it, by id (types.Types.excludes); kept here,
        #: not on the class, whose copies (records.py) hold other objects
        self.predating: dict[int, tuple[Any, dict[int, Any]]] = {}
        self.loaded = 0
        self.read_in_forward: set[int] = set()
        #: try bodies with handlers around the code running now (a missing attribute is caught)
        self.in_try = 0
        #: the init walk's recorded visits of leaf modules, and what each visit being recorded
        #: changed and used (visits.py)
        self.visits: dict[tuple, Any] = {}
        self.visit_logs: list[VisitLog] = []
        #: changes so far to objects other than tensors (a copied visit may have read them)
        self.object_changes = 0
        #: comparisons of objects by identity so far (a recorded visit must have made none)
        self.identity_tests = 0

    @property
    def executed(self) -> set[Any]:
        """The defs (and lambdas) whose body ran."""
        return {function.node for function in self.called}

    # ----- bookkeeping
    def note_change(self, obj: Any) -> None:
        """``obj`` is about to change: counted against each build being recorded that it is
        older than, and, when the entry did not make it (a module-level list, a class), as a
        change to what every entry of the file shares (builds.py)."""
        if type(obj) is not Tensor:
            self.object_changes += 1
        serial = getattr(obj, "serial", None)
        if serial is None:
            return
        for level in self.recording:
            if serial < level[0]:
                level[1] += 1
        for log in self.visit_logs:
            log.changed.append(obj)
        if serial < self.born and self.builds is not None:
            self.builds.shared_changes += 1

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.budget:
            raise BudgetExceeded()

    @contextmanager
    def undecided(self) -> Iterator[None]:
        self.maybe += 1
        try:
            yield
        finally:
            self.maybe -= 1

    @contextmanager
    def repeated(self, count: Any) -> Iterator[None]:
        if count == 1 and not isinstance(count, bool):
            yield
            return
        outer = self.repeat
        self.repeat = outer * count if is_number(outer) and is_number(count) else UNKNOWN
        self.repeat_marks.append(len(self.graph))
        try:
            yield
        finally:
            self.repeat = outer
            self.repeat_marks.pop()

    def frames_to(self, place: Place) -> tuple[Place, ...]:
        return (*self.calls, place)

    def frame_for(self, place: Place) -> Frame:
        return Frame(place.source, Namespace(place.source), {})

    def event(self, kind: str, place: Place, subject: Any = None, other: Any = None, extra: Any = None) -> None:
        self.events.append(Event(kind, place, self.frames_to(place), subject, other, extra, self.maybe > 0, len(self.writes)))

    def note_read(self, tensor: Tensor, place: Place) -> None:
        """A parameter read while a model runs forward: a ``parameter-read`` event, once per tensor."""
        root = tensor.root
        if id(root) not in self.read_in_forward:
            self.read_in_forward.add(id(root))
            self.event("parameter-read", place, root)

    def grad_off(self) -> Any:
        """Whether autograd is off here: True, False, or UNKNOWN (the caller is not known)."""
        for mode in reversed(self.grad_stack):
            return mode == "off"
        return True if self.grad_base is True else self.grad_base

    def grad_context(self, value: Any) -> str | None:
        if isinstance(value, External):
            if value.name in GRAD_CONTEXTS:
                return GRAD_CONTEXTS[value.name]
            if value.name.startswith("torch.set_grad_enabled:"):
                flag = value.name.split(":", 1)[1]
                return {"False": "off", "True": "on"}.get(flag)
        return None

    def builtin(self, name: str) -> Any:
        return builtin(name)

    # ----- taint
    def taint(self, value: Any, place: Place, depth: int = 0) -> None:
        """Code the evaluator cannot see got ``value``: whatever it holds may have changed."""
        if depth > 4:
            return
        if isinstance(value, Module):
            if value.tainted:
                return
            self.note_change(value)
            value.tainted = True
            for tensor in (*value.params.values(), *value.buffers.values()):
                if isinstance(tensor, Tensor):
                    self._taint_tensor(tensor, place)
            for child in value.modules.values():
                self.taint(child, place, depth + 1)
        elif isinstance(value, Tensor):
            self._taint_tensor(value, place)
        elif isinstance(value, (tuple, ListObj)):
            for item in value if isinstance(value, tuple) else value.items:
                self.taint(item, place, depth + 1)
        elif isinstance(value, DictObj):
            for item in value.items.values():
                self.taint(item, place, depth + 1)

    def _taint_tensor(self, tensor: Tensor, place: Place) -> None:
        from initlint.model.dists import UNKNOWN_DIST

        root = tensor.root
        self.note_change(root)
        write = Write(UNKNOWN_DIST, place, self.frames_to(place), conditional=True, kind="unknown", tensor=root)
        root.storage.state.append(write)
        root.storage.writes.append(write)

    # ----- comprehensions
    def run_comprehension(self, for_in: nodes.CompFor, frame: Frame, produce) -> Any:
        """Run the ``for``/``if`` clauses of a comprehension, calling ``produce`` per element;
        returns the repeat count (1 when every element is known)."""
        from initlint.model.interp.context import truth, unroll_limit

        iterable = self.eval(for_in.iter, frame)
        items = self.iterate(iterable)
        template = items is None or len(items) > unroll_limit(iterable)
        count = self.template_count(iterable) if items is None else len(items)
        elements = [items[0] if items else self.template_element(iterable)] if template else items
        result: Any = 1

        def body() -> None:
            nonlocal result
            for condition in for_in.ifs:
                decided = truth(self.eval(condition.test, frame))
                if decided is False:
                    return
                if decided is None:
                    result = UNKNOWN
            if for_in.inner_for_in is not None:
                inner = self.run_comprehension(for_in.inner_for_in, frame, produce)
                if inner != 1:
                    result = UNKNOWN
            else:
                produce()

        for element in elements:
            self.assign(for_in.target, element, frame)
            if template:
                with self.undecided(), self.repeated(count):
                    body()
            else:
                body()
        if template:
            return count if result == 1 else UNKNOWN
        return result


__all__ = ["Evaluator", "Builtin", "Sym"]
