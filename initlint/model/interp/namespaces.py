"""Imports and other files' namespaces: ``import x``, ``from .y import z``, and the module
bodies of the project's files, evaluated once per project when a name from them is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from initlint.model.interp import loads
from initlint.model.interp.context import DEPENDENCY_BUDGET, BudgetExceeded, Frame, Lazy
from initlint.model.interp.externals import library_module, library_name
from initlint.model.project import MAX_DEPENDENCIES, resolved
from initlint.model.source import ParsedFile
from initlint.model.values import UNKNOWN, External, Namespace
from initlint.tree import nodes

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator


class Namespaces:
    """The import half of the Evaluator."""

    def import_names(self: "Evaluator", node: nodes.Import, frame: Frame) -> None:
        for alias in node.names:
            dotted = _dotted(alias.name)
            if dotted is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, nodes.Name):
                self.bind(alias.asname.name.value, self._module_value(frame.source, dotted, 0), frame)
            else:
                head = dotted.split(".", 1)[0]
                self.bind(head, self._module_value(frame.source, head, 0), frame)

    def import_from(self: "Evaluator", node: nodes.ImportFrom, frame: Frame) -> None:
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

    def _module_value(self: "Evaluator", source: ParsedFile, dotted: str, level: int) -> Any:
        absolute = _absolute(source, dotted, level)
        if library_module(absolute):
            return External(absolute)
        path = self.project.find(source, dotted, level)
        if path is None:
            return External(absolute)
        return Lazy(source, path, None, absolute)

    def force(self: "Evaluator", names: dict[str, Any], name: str) -> Any:
        """The value of a name, loading the file a lazy import names."""
        value = names[name]
        if not isinstance(value, Lazy):
            return value
        resolved = self._resolve(value)
        names[name] = resolved
        return resolved

    def _resolve(self: "Evaluator", lazy: Lazy) -> Any:
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

    def namespace_of(self: "Evaluator", path: Any) -> Namespace | None:
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
        saved = (self.calls, self.maybe, self.in_forward, self.repeat, self.defining_class)
        entry_budget = self.budget
        # a module body runs in a context of its own: loaded from a class body, its functions
        # are still plain functions, not that class's methods
        self.calls, self.maybe, self.in_forward, self.repeat, self.defining_class = [], 0, 0, 1, None
        self.budget = min(entry_budget, self.steps + DEPENDENCY_BUDGET)
        self.in_dependency += 1
        completed = False
        try:
            self.exec_block(source.tree.body, frame)
            completed = True
        except BudgetExceeded:
            if self.budget == entry_budget:
                raise  # the entry's own budget: the entry fails
            completed = True  # the body's: the rest of it stays unevaluated
        except RecursionError:
            pass
        finally:
            self.calls, self.maybe, self.in_forward, self.repeat, self.defining_class = saved
            self.budget = entry_budget
            self.in_dependency -= 1
            recording.finish(self, completed)
        return namespace


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


__all__ = ["Namespaces"]
