"""Which classes of the user's code a measured forward ran.

A block that needs its parent's tensors (an attention layer fed a mask the parent builds) or a
wrapper given a module (``PreNorm(dim, fn)``) often cannot be built or fed on its own, yet it is
built and run inside the model that contains it. ``--probe=all`` counts such a class as measured
there, and names the model, instead of calling it not probed. Torch is imported only by the
functions that read a live model; the record crosses the process boundary as plain data.
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from initlint.lean import dataclass


@dataclass(frozen=True)
class ClassRun:
    """A class whose forward ran in a measured model, or (``base``) a base class of one."""

    name: str  # the class's __qualname__
    file: str  # the source file that defines it
    base: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.file, "base": self.base}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ClassRun":
        return cls(str(data["name"]), str(data["file"]), bool(data.get("base", False)))


@contextmanager
def forwards_seen(into: set[type]) -> Iterator[None]:
    """Adds the class of every module whose forward is called inside the block to ``into``."""
    from torch.nn.modules.module import register_module_forward_pre_hook

    handle = register_module_forward_pre_hook(lambda module, args: into.add(type(module)))
    try:
        yield
    finally:
        handle.remove()


def _is_library(cls: type) -> bool:
    top = (cls.__module__ or "").split(".", 1)[0]
    return top in ("torch", "builtins")


def classes_run(called: set[type]) -> list[ClassRun]:
    """The user classes among ``called`` and, marked ``base``, the user classes they derive from
    (their constructors ran, and their methods are the ones called). Torch's own are left out."""
    from torch import nn

    runs: dict[tuple[str, str], ClassRun] = {}
    for cls in called:
        for position, klass in enumerate(cls.__mro__):
            if klass is nn.Module or not issubclass(klass, nn.Module) or _is_library(klass):
                continue
            try:
                file = inspect.getsourcefile(klass)
            except (TypeError, OSError):
                file = None
            if not file:
                continue
            key = (file, klass.__qualname__)
            run = ClassRun(klass.__qualname__, file, base=position > 0)
            if key not in runs or (runs[key].base and not run.base):
                runs[key] = run
    return sorted(runs.values(), key=lambda run: (run.file, run.name))


def where_classes_ran(measured: Iterable[tuple[str, Iterable[dict[str, Any]]]]) -> dict[tuple[str, str], tuple[str, bool]]:
    """(resolved file, class name) -> (the first model whose measurement ran it, whether only as
    a base), from (model, its result's ``ran`` entries) pairs; a forward that ran wins over a base."""
    where: dict[tuple[str, str], tuple[str, bool]] = {}
    for model, entries in measured:
        for entry in entries:
            ran = ClassRun.from_dict(entry)
            key = (str(Path(ran.file).resolve()), ran.name)
            if key not in where or (where[key][1] and not ran.base):
                where[key] = (model, ran.base)
    return where
