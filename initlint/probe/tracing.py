"""A traced trial forward: which layer each input reaches first, and where a failure happened.

Every tensor computed from a forward argument carries that argument's name (a
``TorchFunctionMode`` passes the labels from a call's inputs to its outputs), and global module
hooks record each leaf module's input: its shape, the names it carries, and the module that was
running when an exception escaped. The input builder (inputs.py) reads this to fix a shape, and
the sizing step reads per-layer sizes (values per BatchNorm channel, activation memory).
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from initlint.lean import dataclass


def tensors_in(value: Any, depth: int = 0) -> list[torch.Tensor]:
    """Tensors inside nested tuples, lists and dicts."""
    if isinstance(value, torch.Tensor):
        return [value]
    if depth > 4:
        return []
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in tensors_in(item, depth + 1)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in tensors_in(item, depth + 1)]
    return []


@dataclass
class LeafCall:
    """One call of a leaf module during the trial."""

    module: nn.Module
    name: str
    shape: tuple[int, ...] | None
    labels: frozenset[str]
    out_numel: int = 0


@dataclass
class FailedOp:
    """The torch function that raised, with its tensor arguments."""

    name: str
    shapes: list[tuple[int, ...]]
    labels: list[frozenset[str]]


@dataclass
class Trace:
    calls: list[LeafCall] = field(default_factory=list)
    #: argument name -> the first leaf call whose input carried it
    first_reach: dict[str, LeafCall] = field(default_factory=dict)
    #: the leaf module running when the forward raised
    failed_in: LeafCall | None = None
    failed_op: FailedOp | None = None
    #: arguments whose values reached a softmax over a dimension of size one (attention over a
    #: single key: its weights are 1 whatever the input, so queries and keys get no gradient)
    one_way_softmax: frozenset[str] = frozenset()


class _Labels(TorchFunctionMode):
    def __init__(self, trace: Trace, labels: dict[int, frozenset[str]]) -> None:
        super().__init__()
        self.trace = trace
        self.labels = labels
        self.keep: list[torch.Tensor] = []  # ids stay unique while their tensors live

    def label(self, value: Any) -> frozenset[str]:
        found: frozenset[str] = frozenset()
        for tensor in tensors_in(value):
            found |= self.labels.get(id(tensor), frozenset())
        return found

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        try:
            out = func(*args, **kwargs)
        except Exception:
            if self.trace.failed_op is None:
                tensors = tensors_in(list(args)) + tensors_in(kwargs)
                self.trace.failed_op = FailedOp(
                    getattr(func, "__name__", str(func)),
                    [tuple(t.shape) for t in tensors],
                    [self.labels.get(id(t), frozenset()) for t in tensors],
                )
            raise
        found = self.label(list(args)) | self.label(kwargs)
        if found and getattr(func, "__name__", "") == "softmax":
            self._softmax(args, kwargs, found)
        if found:
            for tensor in tensors_in(out):
                self.labels[id(tensor)] = self.labels.get(id(tensor), frozenset()) | found
                self.keep.append(tensor)
        return out


    def _softmax(self, args: tuple, kwargs: dict[str, Any], found: frozenset[str]) -> None:
        source = args[0] if args else kwargs.get("input")
        dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
        if isinstance(source, torch.Tensor) and isinstance(dim, int) and source.dim() and source.numel():
            if source.shape[dim] == 1:
                self.trace.one_way_softmax |= found


def traced_forward(model: nn.Module, args: tuple, kwargs: dict[str, Any], names: dict[int, str]) -> tuple[Any, Trace]:
    """Run ``model(*args, **kwargs)`` under the tracer; ``names`` maps id(tensor) -> argument.
    Returns (output, trace); re-raises the forward's exception with ``trace`` attached."""
    trace = Trace()
    leaf_names = {id(m): n for n, m in model.named_modules() if n and not any(True for _ in m.children())}
    labels = {key: frozenset([name]) for key, name in names.items()}
    mode = _Labels(trace, labels)
    running: list[LeafCall] = []

    def before(module, inputs):
        name = leaf_names.get(id(module))
        if name is None:
            return
        tensors = tensors_in(inputs)
        first = tensors[0] if tensors else None
        call = LeafCall(module, name, tuple(first.shape) if first is not None else None, mode.label(inputs))
        running.append(call)
        trace.calls.append(call)
        for label in call.labels:
            trace.first_reach.setdefault(label, call)

    def after(module, inputs, output):
        if leaf_names.get(id(module)) is None or not running:
            return
        call = running.pop()
        call.out_numel = sum(t.numel() for t in tensors_in(output))

    handles = [
        nn.modules.module.register_module_forward_pre_hook(before),
        nn.modules.module.register_module_forward_hook(after),
    ]
    try:
        with mode:
            output = model(*args, **kwargs)
        return output, trace
    except BaseException as error:
        trace.failed_in = running[-1] if running else None
        error.trace = trace  # type: ignore[attr-defined]
        raise
    finally:
        for handle in handles:
            handle.remove()
