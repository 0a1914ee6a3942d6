"""Evaluating one file: its module body, then each model class, then each unreached function.

A model class is built the way ``Net()`` would build it: constructor defaults bound, each
parameter without a default a symbolic size (``Sym("hidden_dim")``), then called on one input
signal per ``forward`` parameter without a default. A parameter whose declared type is a
configuration class of the project that builds with no arguments (``config: BertConfig``, or
transformers' ``config_class``) gets that class's defaults, as its documentation's
``Model(Config())`` does; findings on such a model say so. A top-level function that no other entry
ran is evaluated with symbolic parameters: what it does to the models it builds itself is still
established (``def main(): model = Net(); model.apply(weights_init)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from initlint.model.defaults import build_with_defaults, open_parameters
from initlint.model.facts import EntryFacts, FileFacts
from initlint.model.uncalled import uncalled_inits
from initlint.model.interp.builds import BuildMemo
from initlint.model.interp.context import BudgetExceeded, Frame
from initlint.model.interp.machine import Evaluator
from initlint.model.project import Project
from initlint.model.source import ParsedFile
from initlint.model.syntax import SyntaxFacts
from initlint.model.interp.instances import makes_module
from initlint.model.modular import adapt_modular
from initlint.model.values import (
    ClassValue, DictObj, FunctionValue, ListObj, Module, Namespace, Place, Signal, forward_of, module_tree,
)
from initlint.tree import nodes


#: steps a class entry (build and forward) and a function entry may take (context.STEP_BUDGET
#: is the module body's): past it the entry's facts are incomplete and dropped. A transformers
#: model of 48 layers with post_init's walk takes 60-120k steps; 150k costs little time on the
#: ecosystem corpus (a sample of 60 transformers model folders: 113 s at 40k, 118 s at 150k)
CLASS_BUDGET = 150_000
FUNCTION_BUDGET = 20_000


def evaluate_file(source: ParsedFile, project: Project, syntax: SyntaxFacts | None = None) -> FileFacts:
    """Every entry of ``source`` (see the module docstring). ``syntax`` says which functions
    can initialise anything; without it every unreached function is an entry."""
    namespace = Namespace(source, {"__name__": "__main__"})
    if source.folder is not None:
        project.namespaces[(source.folder / Path(source.path).name).resolve()] = namespace
    module_entry, evaluator = _module_entry(source, project, namespace)
    entries = [module_entry]
    classes, functions = _definitions(source, namespace, evaluator.defined)
    adapt_modular(namespace, classes, evaluator.force)
    builds = BuildMemo(_built_elsewhere(syntax, classes), syntax.call_shapes if syntax is not None else None)
    for cls in classes:
        entry = _class_entry(cls, project, builds)
        if entry is not None:
            entries.append(entry)
    reached = set(module_entry.executed)
    for entry in entries[1:]:
        reached |= entry.executed
    relevant = None if syntax is None else _relevant(syntax, classes, functions)
    classes_end = len(entries)
    for function in functions:
        if function.node in reached or function.cls is not None:
            continue
        if relevant is None or id(function.node) in relevant:
            entries.append(_function_entry(function, project, builds))
    methods = [value for cls in classes for value in cls.body.values() if isinstance(value, FunctionValue)]
    for entry in entries[classes_end:]:
        reached |= entry.executed
    models = [model for entry in entries if entry.failed is None for model in entry.models.values()]
    uncalled = uncalled_inits(classes, syntax, {id(node) for node in reached}, project, builds, models)
    return FileFacts(source, namespace, entries, [*functions, *methods], syntax or SyntaxFacts(), project=project,
                     uncalled=uncalled)


def _module_entry(source: ParsedFile, project: Project, namespace: Namespace) -> tuple[EntryFacts, Evaluator]:
    evaluator = Evaluator(project)
    frame = Frame(source, namespace, namespace.names)
    entry = EntryFacts("<module>", "module", Place(source, source.tree))
    try:
        evaluator.exec_block(source.tree.body, frame)
    except BudgetExceeded:
        entry.failed = "the module body took too long to evaluate"
    except RecursionError:
        entry.failed = "the module body nests too deeply to evaluate"
    entry.models = _script_models(namespace, source)
    if entry.failed is None:
        _run_uncalled(evaluator, entry, source)
    evaluator.close_graph()
    _collect(entry, evaluator)
    return entry, evaluator


def _built_elsewhere(syntax: SyntaxFacts | None, classes: list[ClassValue]) -> set[str]:
    """The file's classes that a method of another of its classes calls by name (a head that
    builds its base model): their builds are worth recording for later entries (builds.py)."""
    if syntax is None:
        return set()
    names = {cls.name for cls in classes}
    return {name for info in syntax.defs if info.cls is not None for name in info.called & names if name != info.cls}


def _relevant(syntax: SyntaxFacts, classes: list[ClassValue], functions: list[FunctionValue]) -> set[int]:
    """Functions worth an entry: those that initialise or apply something, and factories that
    build one of the file's model classes (directly, or through another such function)."""
    found = {id(info.node) for info in syntax.defs if info.relevant}
    builders = {cls.name for cls in classes}
    top = {id(function.node): function.name for function in functions}
    infos = [info for info in syntax.defs if id(info.node) in top]
    changed = True
    while changed:
        changed = False
        for info in infos:
            if info.node.name.value not in builders and info.called & builders:
                builders.add(info.node.name.value)
                found.add(id(info.node))
                changed = True
    return found


def _script_models(namespace: Namespace, source: ParsedFile) -> dict[str, Module]:
    """Module-level names holding a model this file builds: not a part of another model, not
    an element of a module-level list, each model once (under its first name)."""
    parts: set[int] = set()
    for value in namespace.names.values():
        if isinstance(value, Module):
            parts.update(id(m) for m in module_tree(value)[1:])
        elif isinstance(value, (ListObj, tuple, DictObj)):
            items = value.items.values() if isinstance(value, DictObj) else value.items if isinstance(value, ListObj) else value
            parts.update(id(m) for m in items if isinstance(m, Module))
    models: dict[str, Module] = {}
    for name, value in namespace.names.items():
        if not isinstance(value, Module) or id(value) in parts or value.made is None or value.made.source is not source:
            continue
        if all(model is not value for model in models.values()):
            models[name] = value
    return models


def _run_uncalled(evaluator: Evaluator, entry: EntryFacts, source: ParsedFile) -> None:
    """A model the script builds but never calls is still a model: run it once on an input."""
    applied = {id(node.module) for node in evaluator.graph if node.module is not None}
    for model in entry.models.values():
        if id(model) in applied or any(id(m) in applied for m in module_tree(model)):
            continue
        try:
            _call_forward(evaluator, model, Place(source, model.made.node))
        except BudgetExceeded:
            entry.failed = "running the script's models took too long to evaluate"
            return


def _definitions(
    source: ParsedFile, namespace: Namespace, defined: dict[int, FunctionValue]
) -> tuple[list[ClassValue], list[FunctionValue]]:
    """Classes and functions the file itself defines at top level, in file order (a decorated
    function by its own def: what a decorator the evaluator does not know does stays open)."""
    classes: list[ClassValue] = []
    functions: list[FunctionValue] = []
    for statement in source.tree.body:
        if isinstance(statement, nodes.ClassDef):
            value = namespace.names.get(statement.name.value)
            if isinstance(value, ClassValue) and value.node is statement:
                classes.append(value)
        elif isinstance(statement, nodes.FunctionDef):
            value = namespace.names.get(statement.name.value)
            if not (isinstance(value, FunctionValue) and value.node is statement):
                value = defined.get(id(statement))
            if value is not None:
                functions.append(value)
    return classes, functions


def _class_entry(cls: ClassValue, project: Project, builds: BuildMemo) -> EntryFacts | None:
    """The model ``cls`` builds with its defaults, then run forward; None for a class whose
    instances are no Module (a dataset, a config, an output record): its bases say so before
    its constructor runs, and evaluating one only to drop it cost up to a whole budget (a
    dataset's constructor reads files; flair's 137 dataset classes in one file: 98 s)."""
    if not makes_module(cls):
        return None
    evaluator = Evaluator(project, budget=CLASS_BUDGET, builds=builds)
    place = Place(cls.namespace.source, cls.node)
    entry = EntryFacts(cls.name, "class", place)
    try:
        model, entry.assumed = build_with_defaults(evaluator, cls, place)
        if not isinstance(model, Module):
            return None
        entry.models[cls.name] = model
        if any(event.kind == "construction-raised" and event.place is place for event in evaluator.events):
            entry.failed = "building the model with its defaults raises"
        else:
            _call_forward(evaluator, model, place)
    except BudgetExceeded:
        entry.failed = "building and running the model took too long to evaluate"
    except RecursionError:
        entry.failed = "the model nests too deeply to evaluate"
    _collect(entry, evaluator)
    return entry


def _call_forward(evaluator: Evaluator, model: Module, place: Place) -> None:
    forward = forward_of(model)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    if isinstance(forward, FunctionValue):
        params = forward.node.params
        for param in [*params.posonly_params, *params.params][1:]:
            if param.default is None:
                args.append(Signal(evaluator.node("input", (), place)))
            else:
                break
        for param in params.kwonly_params:
            if param.default is None:
                kwargs[param.name.value] = Signal(evaluator.node("input", (), place))
    elif model.family in ("user", "opaque"):
        return
    else:
        args.append(Signal(evaluator.node("input", (), place)))
    result = evaluator.call_module(model, args, kwargs, place)
    if model.cls is None:
        evaluator.mark_output(result, place)


def _function_entry(function: FunctionValue, project: Project, builds: BuildMemo) -> EntryFacts:
    evaluator = Evaluator(project, grad_known=False, budget=FUNCTION_BUDGET, builds=builds)
    place = Place(function.namespace.source, function.node)
    entry = EntryFacts(function.name, "function", place, grad_known=False)
    try:
        result = evaluator.call_function(function, [], open_parameters(function, skip_self=False), place)
        if isinstance(result, Module) and not result.tainted:
            entry.models[function.name] = result  # a factory: the model it returns, run once
            _call_forward(evaluator, result, place)
    except BudgetExceeded:
        entry.failed = "the function took too long to evaluate"
    except RecursionError:
        entry.failed = "the function nests too deeply to evaluate"
    evaluator.close_graph()
    _collect(entry, evaluator)
    return entry


def _collect(entry: EntryFacts, evaluator: Evaluator) -> None:
    entry.graph = evaluator.graph
    entry.writes = evaluator.writes
    entry.events = evaluator.events
    entry.init_calls = evaluator.init_calls
    entry.executed = evaluator.executed


__all__ = ["evaluate_file"]
