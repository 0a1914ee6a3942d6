"""The Evaluator: runs model code abstractly and records what it does to tensors and signals.

One Evaluator runs one entry (a file's module body, one model class built with its defaults and
called on an input, or one top-level function); its state is what that entry did: every write
to a tensor, the flow graph of every model call, and events such as a module replaced or an
attribute that does not exist. Expressions, statements, calls, attributes, tensors, flow ops and
external calls live in the mixins this class combines.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from initlint.model.interp import loads
from initlint.model.interp.builds import BuildMemo
from initlint.model.interp.builtins import builtin
from initlint.model.interp.calls import Builtin, Calls
from initlint.model.interp.containers import Containers
from initlint.model.interp.context import DEPENDENCY_BUDGET, STEP_BUDGET, BudgetExceeded, Event, Frame, InitRecord, Lazy
from initlint.model.interp.expressions import Expressions
from initlint.model.interp.operators import Operators
from initlint.model.interp.externals import GRAD_CONTEXTS, Externals, library_module, library_name
from initlint.model.interp.flow_ops import FlowOps
from initlint.model.interp.hf import HuggingFace
from initlint.model.interp.layers import Layers
from initlint.model.interp.instances import Instances
from initlint.model.interp.methods import Methods
from initlint.model.interp.objects import Objects
from initlint.model.interp.statements import Statements
from initlint.model.interp.tensor_ops import TensorOps
from initlint.model.interp.timm_models import TimmModels
from initlint.model.interp.types import Types
from initlint.model.project import MAX_DEPENDENCIES, Project, resolved
from initlint.model.source import ParsedFile
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


class Evaluator(Expressions, Operators, Statements, Calls, Objects, Containers, Types, Methods, Instances, Layers, TensorOps, FlowOps, Externals, HuggingFace, TimmModels):
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
        self.loaded = 0
        self.read_in_forward: set[int] = set()
        #: try bodies with handlers around the code running now (a missing attribute is caught)
        self.in_try = 0

    @property
    def executed(self) -> set[Any]:
        """The defs (and lambdas) whose body ran."""
        return {function.node for function in self.called}

    # ----- bookkeeping
    def note_change(self, obj: Any) -> None:
        """``obj`` is about to change: counted against each build being recorded that it is
        older than, and, when the entry did not make it (a module-level list, a class), as a
        change to what every entry of the file shares (builds.py)."""
        serial = getattr(obj, "serial", None)
        if serial is None:
            return
        for level in self.recording:
            if serial < level[0]:
                level[1] += 1
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

    # ----- imports and namespaces
    def import_names(self, node: nodes.Import, frame: Frame) -> None:
        for alias in node.names:
            dotted = _dotted(alias.name)
            if dotted is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, nodes.Name):
                self.bind(alias.asname.name.value, self._module_value(frame.source, dotted, 0), frame)
            else:
                head = dotted.split(".", 1)[0]
                self.bind(head, self._module_value(frame.source, head, 0), frame)

    def import_from(self, node: nodes.ImportFrom, frame: Frame) -> None:
        level = len(node.relative)
        module = _dotted(node.module) if node.module is not None else ""
        if module is None:
            return
        absolute = _absolute(frame.source, module, level)
        if isinstance(node.names, nodes.ImportStar):
            target = self._module_value(frame.source, module, level)
            if isinstance(target, Namespace):
                for name, value in list(target.names.items()):
                    if not name.startswith("_"):
                        frame.namespace.names.setdefault(name, value) if frame.function is None else frame.locals.setdefault(name, value)
            return
        for alias in node.names:
            name = _dotted(alias.name) or ""
            local = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, nodes.Name) else name
            if level and not frame.source.package:
                value: Any = External(f"{'.' * level}{module}.{name}" if module else f"{'.' * level}{name}")
            elif library_module(absolute) or library_name(absolute, name) or not absolute:
                value = External(f"{absolute}.{name}" if absolute else name)
            else:
                path = self.project.find(frame.source, module, level)
                if path is None:
                    value = External(f"{absolute}.{name}")
                else:
                    value = Lazy(frame.source, path, name, f"{absolute}.{name}")
            self.bind(local, value, frame)

    def _module_value(self, source: ParsedFile, dotted: str, level: int) -> Any:
        absolute = _absolute(source, dotted, level)
        if library_module(absolute):
            return External(absolute)
        path = self.project.find(source, dotted, level)
        if path is None:
            return External(absolute)
        return Lazy(source, path, None, absolute)

    def force(self, names: dict[str, Any], name: str) -> Any:
        """The value of a name, loading the file a lazy import names."""
        value = names[name]
        if not isinstance(value, Lazy):
            return value
        resolved = self._resolve(value)
        names[name] = resolved
        return resolved

    def _resolve(self, lazy: Lazy) -> Any:
        namespace = self.namespace_of(lazy.path)
        if namespace is None:
            return External(lazy.dotted)
        if lazy.name is None:
            return namespace
        if lazy.name in namespace.names:
            key = (id(namespace), lazy.name)
            if key in self.resolving:
                return UNKNOWN  # files that import the name from each other: Python's ImportError
            self.resolving.add(key)
            try:
                return self.force(namespace.names, lazy.name)
            finally:
                self.resolving.discard(key)
        sub = self.project.find(namespace.source, lazy.name, 1) if namespace.source.is_package else None
        if sub is not None:
            return self._resolve(Lazy(namespace.source, sub, None, lazy.dotted))
        return UNKNOWN

    def namespace_of(self, path: Any) -> Namespace | None:
        """The evaluated globals of another file of the project (its body runs once per run)."""
        project = self.project
        key = resolved(path)
        if key in project.namespaces:
            if self.body_recordings:
                loads.note_read(self, key)
            return project.namespaces[key]
        if self.loaded >= MAX_DEPENDENCIES:
            return None
        copied = loads.copy(self, key)  # this process evaluated the same body before
        if copied is not None:
            return copied
        source = project.source(key)
        if source is None:
            return None
        self.loaded += 1
        recording = loads.Recording(self, key)
        namespace = Namespace(source, {"__name__": source.module or "__module__"})
        project.namespaces[key] = namespace
        frame = Frame(source, namespace, namespace.names)
        saved = (self.calls, self.maybe, self.in_forward, self.repeat, self.budget, self.defining_class)
        # a module body runs in a context of its own: loaded from a class body, its functions
        # are still plain functions, not that class's methods
        self.calls, self.maybe, self.in_forward, self.repeat, self.defining_class = [], 0, 0, 1, None
        self.budget = min(self.budget, self.steps + DEPENDENCY_BUDGET)
        self.in_dependency += 1
        completed = False
        try:
            self.exec_block(source.tree.body, frame)
            completed = True
        except BudgetExceeded:
            if self.budget == saved[4]:
                raise  # the entry's own budget: the entry fails
            completed = True  # the body's: the rest of it stays unevaluated
        except RecursionError:
            pass
        finally:
            self.calls, self.maybe, self.in_forward, self.repeat, self.budget, self.defining_class = saved
            self.in_dependency -= 1
            recording.finish(self, completed)
        return namespace

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


def _dotted(node: Any) -> str | None:
    parts: list[str] = []
    while isinstance(node, nodes.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, nodes.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def _absolute(source: ParsedFile, dotted: str, level: int) -> str:
    """The absolute module name of an import, as far as the file's package says; an import
    that climbs above the top package found on disk keeps its leading dots (``.initialization``
    from ``models/bert`` when ``models``' parent is no package)."""
    if level == 0:
        return dotted
    package = source.package.split(".") if source.package else []
    if level - 1 >= len(package):
        return "." * (level - len(package)) + dotted
    base = package[: len(package) - (level - 1)]
    return ".".join(p for p in (*base, *dotted.split(".")) if p)


__all__ = ["Evaluator", "Builtin", "Sym"]
