"""What one model's code may change in the worker, put back before the next model runs.

A worker serves several models in turn (torch is imported once). User code runs with the
worker's whole interpreter: a model that calls ``os.chdir('/')`` made every later model fail
to import, and one that replaced ``torch.nn.functional.relu`` changed later models' numbers.
``CleanState.take`` records the interpreter after torch's import; ``restore`` puts back the
working directory, ``sys.path``, the environment, every module attribute and the attributes
of torch's classes, forgets the modules user code imported, and resets torch's global
defaults. What a C extension keeps in its own memory is out of reach (see the README's Safety).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

_MISSING = object()


@dataclass
class CleanState:
    cwd: str
    path: list[str]
    environ: dict[str, str]
    #: module name -> its attributes (a shallow copy of its __dict__)
    modules: dict[str, dict[str, Any]]
    #: classes user code may patch (torch.Tensor.__add__ = ...) -> their attributes
    classes: list[tuple[type, dict[str, Any]]]
    default_dtype: Any

    @classmethod
    def take(cls) -> "CleanState":
        import torch

        main = sys.modules.get("__main__")
        modules = {  # not __main__ (nor its alias __mp_main__): the worker's own loop
            name: dict(vars(module))
            for name, module in list(sys.modules.items())
            if isinstance(module, ModuleType) and module is not main
        }
        return cls(
            os.getcwd(), list(sys.path), dict(os.environ), modules, _torch_classes(),
            torch.get_default_dtype(),
        )

    def restore(self) -> None:
        """Put the interpreter back as ``take`` saw it (best effort: never raises)."""
        try:
            os.chdir(self.cwd)
        except OSError:
            pass
        sys.path[:] = self.path
        if dict(os.environ) != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
        self._restore_modules()
        for owner, saved in self.classes:
            _restore_attributes(owner, vars(owner), saved)
        self._restore_torch()

    def _restore_modules(self) -> None:
        installed = _installed_folders()
        for name, module in list(sys.modules.items()):
            if name not in self.modules and _users(module, installed):
                del sys.modules[name]  # the next model imports the user's files afresh
        for name, saved in self.modules.items():
            module = sys.modules.get(name)
            if module is None:
                continue
            _restore_attributes(module, vars(module), saved)

    def _restore_torch(self) -> None:
        import torch

        try:
            torch.set_default_dtype(self.default_dtype)
            torch.set_grad_enabled(True)
        except Exception:  # noqa: BLE001 - a patched torch may refuse; the next task says so
            pass


def _installed_folders() -> tuple[str, ...]:
    import site

    folders = [sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()]
    return tuple(os.path.join(os.path.realpath(folder), "") for folder in folders)


def _users(module: Any, installed: tuple[str, ...]) -> bool:
    """A module loaded from a file outside the interpreter and its installed packages: the
    user's code. Installed packages stay loaded (a C extension cannot be imported twice)."""
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return False
    return not os.path.realpath(file).startswith(installed)


def _torch_classes() -> list[tuple[type, dict[str, Any]]]:
    import torch

    found: dict[int, type] = {}
    for namespace in (torch, torch.nn, torch.nn.functional):
        for value in list(vars(namespace).values()):
            if isinstance(value, type) and value.__module__.startswith("torch"):
                found[id(value)] = value
    return [(owner, dict(vars(owner))) for owner in found.values()]


def _restore_attributes(owner: Any, current: Any, saved: dict[str, Any]) -> None:
    """Set back changed and removed attributes of ``owner``, delete added ones (by identity:
    ``==`` on tensors compares elements)."""
    try:
        for key in [key for key in current if key not in saved]:
            delattr(owner, key)
        for key, value in saved.items():
            if current.get(key, _MISSING) is not value:
                setattr(owner, key, value)
    except (AttributeError, TypeError):  # a C type's slot, a read-only attribute
        pass
