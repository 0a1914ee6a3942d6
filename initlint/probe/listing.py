"""Which models a module defines, for ``--probe=all`` (inside a task child, after the import).

A model is an ``nn.Module`` subclass defined in the module (not imported into it), or a factory:
a public function of the module that returns such a class's instance, directly or through other
functions of the module (``def resnet18(**kw): return _resnet(BasicBlock, [2, 2, 2, 2], **kw)``).
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import asdict
from typing import Any

from initlint.lean import dataclass
from initlint.probe.usage import function_tree


@dataclass(frozen=True)
class ModelEntry:
    name: str
    kind: str  # "class" or "factory"
    line: int | None = None
    #: for a factory, the class it returns when the source says so
    returns: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _line(value: Any) -> int | None:
    try:
        return inspect.getsourcelines(value)[1]
    except (OSError, TypeError):
        return None


def _returned_names(function: Any) -> set[str]:
    """Names of what ``return NAME(...)`` statements call (``return ResNet(...)`` -> ResNet)."""
    tree = function_tree(function)
    if tree is None:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                names.add(ast.unparse(func))
    return names


def list_models(module: Any) -> list[ModelEntry]:
    """Model classes and factories of ``module``, in source order."""
    from torch import nn

    name = module.__name__
    classes: dict[str, Any] = {}
    functions: dict[str, Any] = {}
    for key, value in vars(module).items():
        if getattr(value, "__module__", None) != name:
            continue
        if inspect.isclass(value) and issubclass(value, nn.Module) and value.__name__ == key:
            classes[key] = value
        elif inspect.isfunction(value) and value.__name__ == key:
            functions[key] = value
    returns = {key: _returned_names(fn) for key, fn in functions.items()}
    scope = vars(module)

    def module_class(text: str) -> str | None:
        value: Any = scope.get(text.split(".")[0])
        for part in text.split(".")[1:]:
            value = getattr(value, part, None)
        return value.__name__ if inspect.isclass(value) and issubclass(value, nn.Module) else None

    makes: dict[str, str | None] = {}
    for _ in range(4):  # factories that call other factories of the module
        for key, names in returns.items():
            if key in makes:
                continue
            for text in names:
                made = module_class(text) or makes.get(text)
                if made is not None:
                    makes[key] = made
                    break
    entries = [ModelEntry(key, "class", _line(value)) for key, value in classes.items()]
    entries += [
        ModelEntry(key, "factory", _line(functions[key]), made)
        for key, made in makes.items()
        if not key.startswith("_")
    ]
    return sorted(entries, key=lambda e: (e.line or 0, e.name))
