"""IL208: a parameter the model uses while its values are still whatever memory held.

``nn.Parameter(torch.Tensor(out, in))``, ``torch.empty(...)`` and ``torch.FloatTensor(n, m)``
allocate without writing. torch's own layers do the same and then call ``reset_parameters()``;
code that copies the first half and forgets the second (or overrides ``reset_parameters`` with a
method that writes nothing) trains from garbage: zeros where the allocator handed out fresh
pages, huge values or NaN where it reused memory. The rule fires only when evaluation
established that no write reached the tensor on any path (an undecided write leaves it open,
and so does code the evaluator cannot see, or a method of the tensor's own class that writes it
and that the entry never ran: the code that owns the block may call it, as peft's Poly layer
calls its router's ``reset()``) and the model reads it in forward.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from initlint.findings import Effect, Prediction
from initlint.model.dists import Uninitialised
from initlint.model.effective import established
from initlint.model.facts import EntryFacts, FileFacts
from initlint.model.syntax import DefInfo
from initlint.model.tensors import Tensor, Write
from initlint.model.values import ClassValue, FunctionValue, Module
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.support import anchor, listed, live, model_of, unnamed_in_project

#: an allocation only matters once it is a parameter (or a torch layer's, filled by reset_parameters)
_TOKENS = ("Parameter(", "register_parameter", "reset_parameters")


def uninitialised(tensor: Tensor) -> Write | None:
    """The allocation a parameter still holds: its one established state, never written."""
    write = established(tensor)
    if write is None or not isinstance(write.dist, Uninitialised) or write.conditional:
        return None
    return write


def used(entry: EntryFacts, tensor: Tensor) -> bool:
    """The model reads the tensor while it runs forward (or applies the layer that owns it)."""
    for event in entry.events:
        if event.kind == "parameter-read" and event.subject is tensor:
            return True
    owner = tensor.owner
    for node in entry.graph:
        if node.tensor is not None and node.tensor.root is tensor:
            return True
        if owner is not None and node.module is owner and node.op in ("layer", "lookup", "norm", "act"):
            return True
    return False


def _same_allocation(tensor: Tensor, allocation: Write) -> bool:
    """The tensor's values were allocated by the same code (another build of the same class),
    and the same ``reset_parameters`` fills them: a subclass whose override writes nothing
    is not helped by its base class's own method writing the base's builds."""
    name = allocation.tensor.name if allocation.tensor else None
    if allocation.tensor is not None and _reset_method(tensor) is not _reset_method(allocation.tensor):
        return False
    return any(
        w.place.node is allocation.place.node and isinstance(w.dist, Uninitialised)
        and (w.tensor is None or w.tensor.name == name)
        for w in tensor.root.storage.writes
    )


def _written_elsewhere(facts: FileFacts, allocation: Write) -> bool:
    """Another entry of the file writes a tensor allocated by the same code (a parent model that
    calls the layer's reset, a script that initialises it): the allocation is not the end."""
    for entry in live(facts):
        for tensor in entry.tensors():
            if _same_allocation(tensor, allocation) and uninitialised(tensor) is None:
                return True
    return False


def _open_ancestor(entry: EntryFacts, tensor: Tensor) -> bool:
    """A module that holds the tensor (its owner or any parent in the entry's models) has a
    base class outside the evaluated code, or was handed to code the evaluator cannot see:
    that code (``post_init``, mmcv's ``init_weights``) may write every parameter below it. A
    class entry's tensor whose owner its model does not reach (held under an undecided test)
    has parents that are not known: open too."""
    owner = tensor.owner
    if not isinstance(owner, Module):
        return False
    reached = False
    for model in entry.models.values():
        path = _path_to(model, owner)
        if path is not None:
            reached = True
            if any(m.open_base or m.tainted for m in path):
                return True
    if entry.kind == "class" and not reached:
        return True
    return owner.open_base or owner.tainted


def _path_to(root: Module, target: Module, depth: int = 0) -> list[Module] | None:
    if root is target:
        return [root]
    if depth > 32:
        return None
    for child in root.modules.values():
        if isinstance(child, Module):
            found = _path_to(child, target, depth + 1)
            if found is not None:
                return [root, *found]
    return None


def _init_code_names_it(facts: FileFacts, entry: EntryFacts, tensor: Tensor) -> bool:
    """A function of the file that initialises weights, which this entry did not run, names the
    tensor's class (HF's ``_init_weights``: ``elif isinstance(module, Experts): init.normal_(...)``,
    run by ``post_init`` of a library base): it may be what writes the tensor."""
    owner = tensor.owner
    if not isinstance(owner, Module) or owner.cls is None:
        return False
    names = [c.name for c in owner.cls.mro() if isinstance(c, ClassValue)]
    for info in _unrun_inits(facts, entry):
        text = facts.source.code(info.node)
        if any(re.search(rf"(?<![\w.]){re.escape(name)}\b", text) for name in names):
            return True
    return False


def _unrun_defs(facts: FileFacts, entry: EntryFacts) -> Iterator[DefInfo]:
    """The file's functions and methods that ``entry`` never ran."""
    executed = {id(node) for node in entry.executed}
    return (info for info in facts.syntax.defs if id(info.node) not in executed)


def _unrun_inits(facts: FileFacts, entry: EntryFacts) -> Iterator[DefInfo]:
    """The file's functions and methods that initialise something and that ``entry`` never ran."""
    return (info for info in _unrun_defs(facts, entry) if info.inits)


def _writes_attribute(text: str, name: str) -> bool:
    """``text`` writes ``self.<name>``'s values: ``self.magnitude.copy_(...)``, ``.data =``,
    an item assignment, an in-place init method, or binds a new tensor to the name."""
    target = rf"self\.{re.escape(name)}\b(?:\.data)?"
    writes = rf"\s*(?:\.(?:copy_|fill_|zero_|normal_|uniform_|set_)\(|\[[^\]\n]*\]\s*=(?!=)|=(?!=))"
    return re.search(target + writes, text) is not None


def _unrun_method_writes_it(facts: FileFacts, entry: EntryFacts, tensor: Tensor) -> bool:
    """A method of the owner's class (or of a base class in this file) initialises
    ``self.<name>`` of the tensor, the entry never ran it, and it may be called: a ``reset()``
    the class leaves to the code that builds it, or torchtune's DoRA
    ``initialize_dora_magnitude()`` (``self.magnitude.copy_(...)``), which its recipes call
    once the weights are loaded. Only a method that nothing names, not this file and no other
    file of the project (callers.py, as IL505 asks), rescues nothing."""
    owner = tensor.owner
    if not isinstance(owner, Module) or owner.cls is None or not tensor.name:
        return False
    # what each method name runs on the owner: an overridden base method never runs
    resolved: dict[str, FunctionValue] = {}
    for item in owner.cls.mro():
        if not isinstance(item, ClassValue):
            break
        for name, value in item.body.items():
            if isinstance(value, FunctionValue):
                resolved.setdefault(name, value)
    methods = {id(value.node) for value in resolved.values() if value.namespace.source is facts.source}
    attribute = re.compile(rf"\bself\.{re.escape(tensor.name)}\b")
    for info in _unrun_defs(facts, entry):
        if id(info.node) not in methods:
            continue
        text = facts.source.code(info.node)
        if not (info.inits and attribute.search(text) or _writes_attribute(text, tensor.name)):
            continue
        name = info.node.name.value
        if facts.mentions(name) > 1 or unnamed_in_project(facts, name) is None:
            return True
    return False


def _component(facts: FileFacts, entry: EntryFacts) -> bool:
    """The entry's class is used by other code of the file, or by another file of the project
    that writes tensors: a block of a bigger model, which may initialise it (an ``apply`` or a
    loop over ``named_parameters()`` from the parent, a framework's ``_init_weights``, a
    checkpoint its loader reads)."""
    if entry.kind != "class":
        return False
    pattern = re.compile(rf"(?<![\w.]){re.escape(entry.name)}\b")
    inside = sum(len(pattern.findall(line.split("#", 1)[0])) for line in facts.source.code(entry.place.node).splitlines())
    return facts.mentions(entry.name) > inside or _built_where_tensors_are_written(facts, entry.name)


#: how code in another file reaches a block's tensors to write them: a walk over the model
#: (``apply``, a loop over ``parameters()`` or ``modules()``, an init method) or a checkpoint
_PARENT_WRITES = (".apply(", "parameters()", "modules()", "init_weights", "reset_parameters", "post_init", "load_state_dict")


def _built_where_tensors_are_written(facts: FileFacts, name: str) -> bool:
    """Another file of the project (callers.py, as IL505 asks) names the class and holds code
    that reaches a model's tensors to write them (a walk over the model, ``load_state_dict``):
    a parent model there may initialise the block, as one in this file may. A file that only
    builds it (``router = Router()``), or writes tensors of its own, initialises nothing."""
    project = facts.project
    search = project.search(facts.source, name, in_library=True) if project is not None else None
    if search is None or not search.naming:
        return False
    tree = project.trees.get(search.root)
    naming = set(search.naming)
    return tree is not None and any(
        path in naming and any(token in text for token in _PARENT_WRITES) for path, text in tree.files
    )


def _parents_agree(facts: FileFacts, entry: EntryFacts, allocation: Write) -> bool:
    """Every other entry that builds the same allocation leaves it unwritten too, at least one
    model that no other code uses (a root, not another block) does, and no entry of the file
    was abandoned (its parents' verdict would be missing)."""
    if any(other.failed is not None for other in facts.entries):
        return False
    found = False
    for other in facts.entries:
        if other is entry:
            continue
        for tensor in other.tensors():
            if _same_allocation(tensor, allocation):
                if uninitialised(tensor) is None or _open_ancestor(other, tensor):
                    return False
                found = found or not _component(facts, other)
    return found


@rule(
    "IL208",
    "uninitialised-parameter",
    Effect.EXPLODING,
    "a parameter allocated with torch.empty / torch.Tensor(n, m) is used without ever being written",
    _TOKENS,
)
def uninitialised_parameter(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    reported: set[int] = set()
    for entry in live(facts):
        found: dict[int, tuple[object, list[tuple[Tensor, Write]], FunctionValue | None]] = {}
        for tensor in entry.tensors():
            if not tensor.parameter or tensor.root is not tensor:
                continue
            write = uninitialised(tensor)
            if write is None or write.place.source is not facts.source or not used(entry, tensor):
                continue
            if (_written_elsewhere(facts, write) or _open_ancestor(entry, tensor) or _init_code_names_it(facts, entry, tensor)
                    or _unrun_method_writes_it(facts, entry, tensor)):
                continue
            if _component(facts, entry) and not _parents_agree(facts, entry, write):
                continue  # the parent model decides a block's init
            override = _reset_override(tensor) if _by_torch_layer(write) else _project_override(entry, tensor)
            if override is not None:
                if override.namespace.source is not facts.source:
                    continue  # the override's own file reports it
                at = override.node.name
            else:
                at = anchor(facts, write.frames)
            if at is None or id(at) in reported:
                continue
            found.setdefault(id(at), (at, [], override))[1].append((tensor, write))
        for at, tensors, override in found.values():
            reported.add(id(at))
            tensor, write = tensors[0]
            model, path = model_of(entry, tensor, facts)
            names = [t.path or t.name for t, _ in tensors]
            yield Hit(at, _message(tensors, override), {"tensors": names, "allocated_by": write.spelled},
                      _fix(override),
                      Prediction(model=model, layers=(path,) if path else (), uninitialised=True))


def _by_torch_layer(write: Write) -> bool:
    """The allocation is a torch layer's own ``torch.empty`` (its __init__)."""
    return write.spelled.startswith("nn.") and write.spelled.endswith(".__init__")


def _reset_override(tensor: Tensor) -> FunctionValue | None:
    """The user class's ``reset_parameters`` that replaces a torch layer's own."""
    return _project_method(tensor, ("reset_parameters", "_reset_parameters"))


def _reset_method(tensor: Tensor) -> FunctionValue | None:
    """The ``reset_parameters`` of the project that the tensor's owner resolves to, if any."""
    return _project_method(tensor, ("reset_parameters",))


def _project_method(tensor: Tensor, names: tuple[str, ...]) -> FunctionValue | None:
    """The first of ``names`` the owner's project classes define, before the MRO leaves them."""
    owner = tensor.owner
    if not isinstance(owner, Module) or owner.cls is None:
        return None
    for item in owner.cls.mro():
        if not isinstance(item, ClassValue):
            return None
        for name in names:
            found = item.body.get(name)
            if isinstance(found, FunctionValue):
                return found
    return None


def _project_override(entry: EntryFacts, tensor: Tensor) -> FunctionValue | None:
    """A subclass's ``reset_parameters`` that replaced a project base class's own and ran (the
    base's constructor called it) without writing the tensor the base allocated."""
    owner = tensor.owner
    if not isinstance(owner, Module) or owner.cls is None:
        return None
    found: FunctionValue | None = None
    for item in owner.cls.mro():
        if not isinstance(item, ClassValue):
            return None
        method = item.body.get("reset_parameters")
        if isinstance(method, FunctionValue):
            if found is not None:
                return found if found.node in entry.executed else None
            found = method
    return None


def _message(tensors: list[tuple[Tensor, Write]], override: FunctionValue | None) -> str:
    names = listed([t.path or t.name for t, _ in tensors])
    write = tensors[0][1]
    if override is not None and not _by_torch_layer(write):
        owner = override.cls.name if override.cls is not None else "the subclass"
        base = _overridden(override, tensors[0][0])
        them = "them" if len(tensors) > 1 else "it"
        return (
            f"`{owner}.{override.name}` overrides `{base}.{override.name}` and never writes {names}: "
            f"{'they are' if len(tensors) > 1 else 'it is'} allocated by {write.spelled} and the constructor's "
            f"{override.name}() call now runs the override, so nothing fills {them} and the layer trains from "
            "whatever memory held (zeros, huge values or NaN)"
        )
    if override is not None:
        layer = write.spelled[3: -len(".__init__")]
        owner = override.cls.name if override.cls is not None else "the subclass"
        return (
            f"`{owner}.{override.name}` overrides nn.{layer}'s and never writes {names}: nn.{layer}.__init__ "
            f"allocates {'them' if len(tensors) > 1 else 'it'} with torch.empty and relies on "
            f"{override.name}() to fill {'them' if len(tensors) > 1 else 'it'}, so the layer trains from "
            "whatever memory held (zeros, huge values or NaN)"
        )
    return (
        f"{names} {'are' if len(tensors) > 1 else 'is'} allocated by {write.spelled} and never written "
        "before the model uses it: its values are whatever memory held (zeros, huge values or NaN), not an "
        "init; no reset_parameters(), apply() or init call reaches it"
    )


def _overridden(override: FunctionValue, tensor: Tensor) -> str:
    """The class whose ``reset_parameters`` the override replaced."""
    owner = tensor.owner
    seen = False
    for item in owner.cls.mro() if isinstance(owner, Module) and owner.cls is not None else []:
        if isinstance(item, ClassValue) and isinstance(item.body.get(override.name), FunctionValue):
            if seen:
                return item.name
            seen = True
    return "the base class"


def _fix(override: FunctionValue | None) -> str:
    if override is not None:
        return f"write every parameter in {override.name}() (or call super().{override.name}() first)"
    return (
        "initialise it after allocating, e.g. nn.init.kaiming_uniform_(w, a=math.sqrt(5)) in a reset_parameters() "
        "called from __init__, or allocate it with torch.randn(...) * std / torch.zeros(...)"
    )
