"""A model without a forward of its own, measured through the method that runs its layers.

RL code often writes an actor-critic as one nn.Module with ``pi(x)`` and ``v(x)`` and no
``forward`` (or a ``forward`` that only raises NotImplementedError): calling the model fails,
yet its layers and their init are the ones training uses. The probe then calls the public
method that takes at least one argument and calls the most of the model's child modules (the
first such method on a tie), and the report's notes name it and the others.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any

from torch import nn

from initlint.probe.construct import Built
from initlint.probe.usage import attributes_called, function_tree


def _only_raises(function: Any) -> bool:
    """``def forward(self): raise NotImplementedError`` (a docstring aside)."""
    tree = function_tree(function)
    if tree is None:
        return False
    body = [s for s in tree.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    return len(body) == 1 and isinstance(body[0], ast.Raise) and "NotImplementedError" in ast.unparse(body[0])


def _has_no_forward(model: nn.Module) -> bool:
    forward = type(model).forward
    return forward is nn.Module.forward or _only_raises(forward)


def _takes_an_argument(function: Any) -> bool:
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty for p in parameters)


def forward_through_method(built: Built) -> None:
    """When ``built.model`` has no forward of its own, make the method that runs its layers its
    forward (see the module docstring), noted; otherwise leave it."""
    model = built.model
    if not isinstance(model, nn.Module) or not _has_no_forward(model):
        return
    children = {name for name, _ in model.named_children()}
    candidates: list[tuple[int, str]] = []
    seen: set[str] = set()
    for klass in type(model).__mro__:
        if klass is nn.Module or not issubclass(klass, nn.Module) or klass.__module__.split(".")[0] == "torch":
            continue
        for name, value in vars(klass).items():
            if name in seen or name.startswith("_") or name == "forward" or not inspect.isfunction(value):
                continue
            seen.add(name)
            if not _takes_an_argument(getattr(model, name)):
                continue
            count = len(attributes_called(klass, only=name) & children)
            if count:
                candidates.append((count, name))
    if not candidates:
        return
    best = max(count for count, _ in candidates)
    chosen = next(name for count, name in candidates if count == best)
    model.forward = getattr(model, chosen)
    others = [name for _, name in candidates if name != chosen]
    signature = str(inspect.signature(model.forward))
    note = f"no forward of its own: measured through `{chosen}{signature}`, the method that calls the most of its layers"
    built.notes.append(note + (f" (also: {', '.join(others)})" if others else ""))
