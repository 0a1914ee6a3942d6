"""Calls: binding arguments, running functions and methods, making instances, defining them.

A call of a function of the evaluated code runs its body with the arguments bound the way
Python binds them (defaults, ``*args``, ``**kwargs``, keyword-only). A call the evaluator cannot
follow (an unknown callee, too deep a chain, arguments hidden behind an open ``*args``) returns
UNKNOWN, and whatever it was given may have been changed: modules and tensors passed to it are
tainted (their values are no longer established).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from initlint.model.interp import slots
from initlint.model.interp.context import MAX_DEPTH, MAX_RECURSION, RAISE, BudgetExceeded, Frame, Lazy, Return, join
from initlint.model.interp.hf import dataclass_config
from initlint.model.values import (
    UNKNOWN,
    forward_of,
    BoundMethod,
    ClassValue,
    DictObj,
    External,
    FunctionValue,
    Instance,
    ListObj,
    Module,
    Namespace,
    PartialValue,
    Place,
    Signal,
)
from initlint.tree import nodes

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

#: decorators that leave a function as it is, for what the evaluator asks
_TRANSPARENT_DECORATORS = frozenset(
    {
        "staticmethod", "classmethod", "abstractmethod", "abc.abstractmethod", "torch.jit.ignore",
        "torch.jit.unused", "torch.jit.export", "torch.jit.script", "torch.compile",
        "torch.jit.script_method", "functools.lru_cache", "functools.cache", "typing.overload",
        "torch.no_grad", "torch.inference_mode", "torch.enable_grad", "torch.autocast",
        "torch.cuda.amp.autocast", "torch.amp.autocast", "torch.autograd.no_grad", "override",
        "typing_extensions.override", "typing.override", "functools.wraps",
    }
)


#: steps a decorator of the project's code may take on a method before it is left open
DECORATOR_BUDGET = 2_000

#: decorators that run the function with autograd off
_NO_GRAD = frozenset({"torch.no_grad", "torch.inference_mode"})


class Super:
    """``super()``: attribute lookup starts after ``cls`` in the MRO of ``obj``'s class."""

    __slots__ = ("cls", "obj")

    def __init__(self, cls: ClassValue, obj: Any) -> None:
        self.cls, self.obj = cls, obj


class Calls:
    """The call half of the Evaluator."""

    def eval_call(self: "Evaluator", node: nodes.Call, frame: Frame) -> Any:
        func = self.eval(node.func, frame)
        args, kwargs, open_ = self.call_arguments(node.args, frame)
        place = Place(frame.source, node)
        return self.call(func, args, kwargs, place, frame, open_)

    def call_arguments(self: "Evaluator", arguments: Any, frame: Frame) -> tuple[list[Any], dict[str, Any], bool]:
        """Positional and keyword values; ``open_`` when a ``*x``/``**x`` could not be expanded."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        open_ = False
        for arg in arguments:
            value = self.eval(arg.value, frame)
            if arg.star == "*":
                items = self.iterate(value)
                if items is None:
                    open_ = True
                    self.taint(value, Place(frame.source, arg))
                else:
                    args.extend(items)
            elif arg.star == "**":
                if isinstance(value, DictObj) and not value.open and all(isinstance(k, str) for k in value.items):
                    kwargs.update(value.items)
                else:
                    open_ = True
            elif arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            else:
                args.append(value)
        return args, kwargs, open_

    def call(self: "Evaluator", func: Any, args: list[Any], kwargs: dict[str, Any], place: Place, frame: Frame | None, open_: bool = False) -> Any:
        self.steps += 1  # self.tick(), inlined: every call passes here
        if self.steps > self.budget:
            raise BudgetExceeded()
        if slots.tracking and not isinstance(func, (FunctionValue, ClassValue, BoundMethod, PartialValue)):
            slots.touch(*args, *kwargs.values())  # a library or builtin reads an int as it likes
        if type(func) is External:  # the most frequent callee (torch, nn.init): tested first
            return self.call_external(func.name, args, kwargs, place, frame, open_)
        if isinstance(func, FunctionValue):
            return self.call_function(func, args, kwargs, place, open_)
        if isinstance(func, BoundMethod):
            target = func.function
            if isinstance(target, FunctionValue):
                if _own_forward(func.receiver, target):  # ``net.forward(x)`` runs as ``net(x)``
                    return self.call_module(func.receiver, args, kwargs, place)
                return self.call_function(target, [func.receiver, *args], kwargs, place, open_)
            if isinstance(target, str):
                return self.call_method(func.receiver, target, args, kwargs, place, frame, open_)
            return self.call(target, [func.receiver, *args], kwargs, place, frame, open_)
        if isinstance(func, ClassValue):
            return self.instantiate(func, args, kwargs, place, open_)
        if isinstance(func, PartialValue):
            return self.call(func.function, [*func.args, *args], {**func.kwargs, **kwargs}, place, frame, open_)
        if isinstance(func, External):
            return self.call_external(func.name, args, kwargs, place, frame, open_)
        if isinstance(func, Module):
            return self.call_module(func, args, kwargs, place)
        if isinstance(func, Builtin):
            return func.function(self, args, kwargs, place, frame, open_)
        if isinstance(func, Instance):
            method = self.getattr(func, "__call__", place, frame)
            if method is not UNKNOWN:
                return self.call(method, args, kwargs, place, frame, open_)
        return self.unknown_call(args, kwargs, place)

    def unknown_call(self: "Evaluator", args: list[Any], kwargs: dict[str, Any], place: Place) -> Any:
        """A callee the evaluator does not know: its inputs may change, its result is open."""
        values = [*args, *kwargs.values()]
        for value in values:
            self.taint(value, place)
        signals = [v for v in values if isinstance(v, Signal)]
        if signals:
            return self.flow_unknown(signals, place)
        return UNKNOWN

    # ----- functions
    def call_function(self: "Evaluator", function: FunctionValue, args: list[Any], kwargs: dict[str, Any], place: Place, open_: bool = False) -> Any:
        depth = len(self.calls)
        if depth >= MAX_DEPTH or self.active.count(function) >= MAX_RECURSION:  # FunctionValue: eq is identity
            self.refused += 1
            return self.unknown_call(args, kwargs, place)
        if depth >= self.deepest:
            self.deepest = depth + 1
        locals_ = self.bind_arguments(function, args, kwargs, open_)
        frame = Frame(function.namespace.source, function.namespace, locals_, function, function.closure)
        self.calls.append(place)
        self.active.append(function)
        grad = "off" if function.decorators and not _NO_GRAD.isdisjoint(function.decorators) else None
        if grad:
            self.grad_stack.append(grad)
        self.called.append(function)
        try:
            if function.is_lambda:
                return self.eval(function.node.body, frame)
            completion = self.exec_block(_statements(function.node.body), frame)
        finally:
            if grad:
                self.grad_stack.pop()
            self.active.pop()
            self.calls.pop()
        if frame.yields is not None:
            return ListObj(frame.yields, 1 if not frame.maybe_returned else UNKNOWN)
        results = list(frame.returns)
        if isinstance(completion, Return):
            results.append(completion.value)
        elif completion is RAISE:
            if not results:
                self.raised.append(place)
                return UNKNOWN
        else:
            results.append(None)
        return join(results)

    def bind_arguments(self: "Evaluator", function: FunctionValue, args: list[Any], kwargs: dict[str, Any], open_: bool) -> dict[str, Any]:
        params = function.node.params
        locals_: dict[str, Any] = {}
        positional = [*params.posonly_params, *params.params]
        remaining = list(args)
        for param in positional:
            name = param.name.value
            if remaining:
                locals_[name] = remaining.pop(0)
            elif name in kwargs:
                locals_[name] = kwargs.pop(name)
            elif open_:
                locals_[name] = UNKNOWN
            else:
                locals_[name] = function.defaults.get(name, UNKNOWN)
        star = params.star_arg
        if isinstance(star, nodes.Param):
            locals_[star.name.value] = UNKNOWN if open_ else tuple(remaining)
        for param in params.kwonly_params:
            name = param.name.value
            if name in kwargs:
                locals_[name] = kwargs.pop(name)
            else:
                locals_[name] = UNKNOWN if open_ else function.defaults.get(name, UNKNOWN)
        if params.star_kwarg is not None:
            locals_[params.star_kwarg.name.value] = DictObj(dict(kwargs), open=open_)
        return locals_

    def param_defaults(self: "Evaluator", params: nodes.Parameters, frame: Frame) -> dict[str, Any]:
        defaults: dict[str, Any] = {}
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.default is not None:
                defaults[param.name.value] = self.eval(param.default, frame)
        return defaults

    def closure_of(self, frame: Frame) -> dict[str, Any] | None:
        """The names a function defined in ``frame`` sees besides its own (nested defs)."""
        if frame.function is None:
            return frame.closure  # module and class bodies: their names are globals
        return _LiveClosure(frame.locals, frame.closure)

    def define_function(self: "Evaluator", node: nodes.FunctionDef, frame: Frame) -> Any:
        defaults = self.param_defaults(node.params, frame)
        decorators = tuple(self.decorator_name(d.decorator, frame) for d in node.decorators)
        function = FunctionValue(
            node, node.name.value, frame.namespace, defaults,
            cls=self.defining_class, closure=self.closure_of(frame), decorators=decorators,
        )
        self.defined[id(node)] = function  # the def itself, whatever a decorator makes of it
        value: Any = function
        for decorator, name in reversed(list(zip(node.decorators, decorators))):
            if name == "property":
                value = Property(function)
            elif name.endswith(".setter") or name.endswith(".deleter") or name in _TRANSPARENT_DECORATORS:
                continue
            elif name == "dataclass":
                continue
            else:
                value = self.apply_decorator(decorator, value, frame, node)
                if value is UNKNOWN:
                    return UNKNOWN
        return value

    def apply_decorator(self: "Evaluator", decorator: nodes.Decorator, value: Any, frame: Frame, node: nodes.FunctionDef) -> Any:
        """``decorator(value)`` for a method whose decorator is the project's own code and
        returns a function (diffusers' ``@register_to_config`` wraps ``__init__`` in
        ``inner_init``, which calls it), run within ``DECORATOR_BUDGET`` steps; UNKNOWN for any
        other decorator or result, or past those steps: what it does stays open. A module-level
        function keeps its decorators unrun: registries (timm's ``@register_model`` on hundreds
        of factories) cost steps and change nothing a model is built from, and a function entry
        evaluates the function by its own def. A decorator that ran out of its steps once is
        not run again for the file."""
        if not frame.class_body:
            return UNKNOWN
        applied = self.eval(decorator.decorator, frame)
        costly = self.project.costly_decorators
        if not isinstance(applied, FunctionValue) or id(applied.node) in costly:
            return UNKNOWN
        entry_budget = self.budget
        self.budget = min(entry_budget, self.steps + DECORATOR_BUDGET)
        try:
            result = self.call_function(applied, [value], {}, Place(frame.source, node))
        except BudgetExceeded:
            if self.budget == entry_budget:
                raise  # the entry's own budget: the entry fails
            costly.add(id(applied.node))  # the same decorator on the next method: left open at once
            return UNKNOWN
        finally:
            self.budget = entry_budget
        return result if isinstance(result, FunctionValue) else UNKNOWN

    def decorator_name(self: "Evaluator", node: nodes.BaseExpression, frame: Frame) -> str:
        """The library name of a decorator (``torch.no_grad``, ``dataclass``), ``x.setter`` for
        a property's, else ``?``. A name imported from another file of the project and not
        loaded yet is loaded only if it may be one of the names asked about (re-exported under
        its own name): a project decorator's name is ``?`` either way, and loading its file for
        that (transformers' ``@auto_docstring`` on every class of a checkout: the auto
        mappings' tables) cost more than the rest of a dependency's body."""
        target = node.func if isinstance(node, nodes.Call) else node
        unloaded = _unloaded_import(target, frame)
        if unloaded is not None and unloaded.rsplit(".", 1)[-1] not in _ASKED_NAMES:
            return "?"
        value = self.eval(target, frame)
        if isinstance(value, External):
            name = value.name
            for prefix in ("builtins.",):
                name = name.removeprefix(prefix)
            return name
        if isinstance(value, Builtin):
            return value.name
        if isinstance(target, nodes.Attribute) and target.attr.value in ("setter", "deleter"):
            return "x.setter"
        return "?"

    def define_class(self: "Evaluator", node: nodes.ClassDef, frame: Frame) -> ClassValue:
        bases = tuple(self.eval(arg.value, frame) for arg in node.bases if arg.keyword is None)
        cls = ClassValue(node, node.name.value, frame.namespace, bases)
        if frame.function is None and not frame.class_body:  # a statement of the module's body
            cls.earlier = tuple(value for value in frame.namespace.names.values() if type(value) in _EARLIER)
        body = Frame(frame.source, frame.namespace, cls.body, None, frame.closure, class_body=True)
        outer, self.defining_class = self.defining_class, cls
        try:
            self.exec_block(node.body.body, body)
        finally:
            self.defining_class = outer
        decorators = tuple(self.decorator_name(d.decorator, frame) for d in node.decorators)
        if any(name.rsplit(".", 1)[-1] == "dataclass" for name in decorators) or dataclass_config(cls):
            cls.body.setdefault("__dataclass_fields__", tuple(body.annotations))
        return cls


def _unloaded_import(target: nodes.BaseExpression, frame: Frame) -> str | None:
    """The dotted name ``target`` (``name`` or ``name.attr...``) reaches through an import of
    the project that is not loaded yet, without loading it; None for any other target."""
    attrs: list[str] = []
    while isinstance(target, nodes.Attribute):
        attrs.append(target.attr.value)
        target = target.value
    if not isinstance(target, nodes.Name):
        return None
    name = target.value
    value = frame.locals.get(name, _NOT_BOUND)
    if value is _NOT_BOUND and frame.closure is not None and name in frame.closure:
        return None
    if value is _NOT_BOUND:
        value = frame.namespace.names.get(name)
    if type(value) is not Lazy:
        return None
    return ".".join([value.dotted, *reversed(attrs)])


#: decorator names define_class and define_function ask about, by their last part
_ASKED_NAMES = frozenset(
    {"property", "setter", "deleter", "dataclass"} | {name.rsplit(".", 1)[-1] for name in _TRANSPARENT_DECORATORS | _NO_GRAD}
)
_NOT_BOUND = object()


#: what a module's names hold that is a class (ClassValue.earlier). A project import not loaded
#: yet is left out: whether its file is loaded when a question is asked depends on what else the
#: process evaluated before, and a copied body or build must answer as an evaluated one would
_EARLIER = frozenset({External, ClassValue})


def _own_forward(receiver: Any, function: FunctionValue) -> bool:
    """``function`` is the forward ``receiver``'s class resolves to (not a base's, reached with
    ``super().forward``)."""
    return function.name == "forward" and isinstance(receiver, Module) and forward_of(receiver) is function


def _statements(body: Any) -> Any:
    """The statements of a def's body (``def f(): return x`` on one line has no IndentedBlock)."""
    return body.body


class _LiveClosure(dict):
    """The enclosing function's locals as they are when the nested function runs."""

    def __init__(self, locals_: dict[str, Any], outer: dict[str, Any] | None) -> None:
        super().__init__()
        self.locals_, self.outer = locals_, outer

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.locals_:
            return self.locals_[key]
        if self.outer is not None:
            return self.outer.get(key, default)
        return default

    def __contains__(self, key: object) -> bool:
        return key in self.locals_ or (self.outer is not None and key in self.outer)

    def __setitem__(self, key: str, value: Any) -> None:
        self.locals_[key] = value


class Property:
    """A ``@property``: reading the attribute calls the function."""

    __slots__ = ("function",)

    def __init__(self, function: FunctionValue) -> None:
        self.function = function


class Builtin:
    """A builtin function the evaluator models (builtins.py)."""

    __slots__ = ("name", "function")

    def __init__(self, name: str, function: Any) -> None:
        self.name, self.function = name, function

    def __repr__(self) -> str:
        return f"<builtin {self.name}>"


__all__ = ["Builtin", "Calls", "Property", "Super", "Namespace"]
