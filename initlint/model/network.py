"""Which layers an init reaches, and the chain of layers (the network) each one sits in.

An init reaches layers directly (``self.fc.weight``), through a loop over a container
(``for layer in self.layers``), through ``self.modules()`` narrowed by ``isinstance``, through a
parameters loop, and through helpers: ``init_fn(model)`` and ``model.apply(fn)`` with fn a method,
a function, a lambda that calls one, or ``functools.partial``. The module expression is followed
back to a class of the file (``self``, ``model = Net()``) or to layers bound to a name
(``model = nn.Sequential(...)``, ``layers = [nn.Linear(...) for _ in range(10)]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import libcst as cst

from initlint.model.facts import all_weight_layers, find_layer
from initlint.model.flow import Step, class_steps, container_steps
from initlint.model.imports import dotted_name
from initlint.model.layers import Layer

if TYPE_CHECKING:
    from initlint.model.facts import FileFacts, FunctionInfo, ModuleClass
    from initlint.model.inits import InitCall

_MODULE_LOOPS = frozenset({"modules", "named_modules", "children", "named_children"})
_PARAMETER_LOOPS = frozenset({"parameters", "named_parameters"})
_MAX_HOPS = 3


@dataclass(frozen=True)
class Root:
    """What a module expression stands for: a class of the file, or layers bound to a name."""

    cls: str | None
    layer: Layer | None = None


@dataclass
class Network:
    """Layers in the order data flows through them."""

    name: str
    steps: list[Step]
    of_class: bool = False  # the forward of a class (layer names are attribute paths)

    def step_of(self, layer: Layer) -> Step | None:
        for step in self.steps:
            if step.layer is layer:
                return step
        return None

    def run(self, step: Step, members: set[int]) -> list[Step]:
        """The chain through ``step`` of steps in ``members``, each reading the one before it,
        with no norm or residual in between."""
        run = [step]
        while (
            (source := run[0].source) is not None
            and id(source.layer) in members
            and not source.reset
            and source not in run
        ):
            run.insert(0, source)
        while not run[-1].reset:
            readers = [s for s in self.steps if s.source is run[-1] and id(s.layer) in members]
            if len(readers) != 1 or readers[0] in run:
                break
            run.append(readers[0])
        return run


def class_layers(facts: "FileFacts", name: str, hops: int = 0) -> Iterator[Layer]:
    """Every weight layer of a class, also inside the file's own sub-module classes."""
    cls = facts.classes.get(name)
    if cls is None or hops > _MAX_HOPS:
        return
    for layer in cls.weight_layers():
        yield layer
    for member in cls.members.values():
        inner = member.rsplit(".", 1)[-1]
        if inner in facts.classes and inner != name:
            yield from class_layers(facts, inner, hops + 1)
    for layer in cls.layers.values():  # ModuleList([Block(...) for ...]) holds no nn layers
        if layer.family == "container":
            for call in _container_calls(layer):
                if call in facts.classes and call != name:
                    yield from class_layers(facts, call, hops + 1)


def _container_calls(layer: Layer) -> Iterator[str]:
    node = layer.node
    if isinstance(node, cst.Call):
        for arg in node.args:
            value = arg.value
            if isinstance(value, (cst.ListComp, cst.GeneratorExp)):
                value = value.elt
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
                yield value.func.value


def root_layers(facts: "FileFacts", root: Root) -> list[Layer]:
    if root.layer is not None:
        return all_weight_layers(root.layer)
    return list(class_layers(facts, root.cls)) if root.cls else []


def roots(facts: "FileFacts", text: str | None, cls: str | None, function: str | None, hops: int = 0) -> list[Root]:
    """What the module expression ``text`` stands for where it is written."""
    if text is None or hops > _MAX_HOPS:
        return []
    head, _, rest = text.partition(".")
    if head == "self" and cls in facts.classes:
        if not rest:
            return [Root(cls)]
        found = find_layer(facts.classes[cls].layers, tuple(rest.split(".")))
        return [Root(cls, found)] if found is not None else []
    if rest:
        return []
    for scope in (function, None):
        if (scope, head) in facts.bindings:
            return [Root(None, facts.bindings[(scope, head)])]
        if (scope, head) in facts.instances and facts.instances[(scope, head)] in facts.classes:
            return [Root(facts.instances[(scope, head)])]
    info = facts.functions.get((cls, function)) or facts.functions.get((None, function))
    if info is not None and head in info.params:
        return parameter_roots(facts, info, info.params.index(head), hops + 1)
    return []


def parameter_roots(facts: "FileFacts", info: "FunctionInfo", index: int, hops: int) -> list[Root]:
    """What callers pass as parameter ``index`` of a function: call sites and apply sites."""
    found: list[Root] = []
    offset = 1 if info.cls is not None else 0
    for call in facts.calls:
        if call.callee != info.name or (info.cls is not None and call.cls != info.cls):
            continue
        position = index - offset
        if 0 <= position < len(call.args):
            found.extend(roots(facts, call.args[position], call.cls, call.function, hops))
    if index == offset:  # the module parameter of a function given to apply()
        for site in facts.applies:
            if applied_function(site.fn) == info.name:
                found.extend(roots(facts, site.receiver, site.cls, site.function, hops))
        if not found and info.name == "_init_weights" and info.cls is not None:
            # Hugging Face's post_init() applies _init_weights to every sub-module of each
            # model class that inherits it
            found.extend(Root(name) for name in (info.cls, *subclasses(facts, info.cls)))
    return found


def subclasses(facts: "FileFacts", name: str) -> list[str]:
    """Classes of the file that inherit from ``name``, directly or through others of the file."""
    found: list[str] = []
    frontier = [name]
    while frontier:
        parent = frontier.pop()
        for cls in facts.classes.values():
            if cls.name not in found and any(b.rsplit(".", 1)[-1] == parent for b in cls.bases):
                found.append(cls.name)
                frontier.append(cls.name)
    return found


def applied_function(fn: cst.BaseExpression) -> str | None:
    """``self._init_weights``, ``init_fn``, ``partial(init_fn, std=...)``, ``lambda m: f(m)``."""
    if isinstance(fn, cst.Lambda) and isinstance(fn.body, cst.Call):
        fn = fn.body.func
    elif isinstance(fn, cst.Call) and (dotted_name(fn.func) or "").endswith("partial") and fn.args:
        fn = fn.args[0].value
    text = dotted_name(fn)
    return text.rsplit(".", 1)[-1] if text else None


_SAFE_GUARD = re.compile(
    r"^(not\s+)?(isinstance\(|hasattr\(|getattr\(|type\(\w+\)\s+(==|is|in)\s)|\.bias is not None$|\.bias$"
)


def _readable_guard(facts: "FileFacts", guard: cst.BaseExpression) -> bool:
    """An ``if`` that picks modules by kind or checks a bias exists: the layers stay known."""
    return bool(_SAFE_GUARD.search(facts.code(guard).strip()))


def reached_layers(facts: "FileFacts", init: "InitCall") -> list[Layer]:
    """Every layer of the file whose tensor the init writes (see the module docstring)."""
    target = init.target
    if target is None:
        return []
    if target.base == "self":
        if init.cls not in facts.classes:
            return []
        found = find_layer(facts.classes[init.cls].layers, target.owner)
        return [found] if found is not None else []
    base = target.base
    kinds = init.narrowed.get(base, ())
    if any(not _readable_guard(facts, guard) for guard in init.guards):
        return []  # picked by a test we cannot read: "BatchNorm" in type(m).__name__, dim == 1
    module_roots: list[Root] = []
    keep_all = True
    for loop in reversed(init.loops):
        if base not in loop.names:
            continue
        if loop.over in _MODULE_LOOPS:
            module_roots = roots(facts, loop.receiver, init.cls, init.function)
        elif loop.over in _PARAMETER_LOOPS and not target.owner:
            module_roots = roots(facts, loop.receiver, init.cls, init.function)
        elif loop.over == "other":
            iterable = loop.iterables.get(base, loop.iterable)
            module_roots = roots(facts, iterable, init.cls, init.function)
            keep_all = False
        break
    else:
        module_roots = roots(facts, base, init.cls, init.function)
        keep_all = False
    layers: list[Layer] = []
    for root in module_roots:
        if not keep_all and root.layer is not None:
            candidates = [root.layer] if root.layer.has_weight else root.layer.children
        else:
            candidates = root_layers(facts, root)
        for layer in candidates:
            if target.owner:
                continue
            if kinds and layer.kind not in kinds:
                continue
            if layer not in layers:
                layers.append(layer)
    return layers


def networks(facts: "FileFacts") -> list[Network]:
    """Every chain of layers the file shows: each class's forward, each bound Sequential/list."""
    return facts.derived("networks", lambda: _build_networks(facts))


def _build_networks(facts: "FileFacts") -> list[Network]:
    found: list[Network] = []
    for cls in facts.classes.values():
        steps = class_steps(facts, cls)
        called = {id(step.layer) for step in steps}
        found.append(Network(cls.name, steps, of_class=True))
        for layer in cls.layers.values():
            if layer.kind == "Sequential" and "." not in layer.name and id(layer) not in called:
                if not any(id(child) in called for child in layer.children):
                    found.append(Network(f"{cls.name}.{layer.name}", container_steps(facts, cls, layer)))
    for (scope, name), layer in facts.bindings.items():
        if layer.family == "container":
            found.append(Network(name, container_steps(facts, None, layer)))
    return found


def placements(facts: "FileFacts", init: "InitCall") -> list[tuple[Network, Step]]:
    """(network, step) for every reached layer that sits in a known chain of layers."""
    reached = {id(layer) for layer in facts.reach(init)}
    found: list[tuple[Network, Step]] = []
    for network in networks(facts):
        for step in network.steps:
            if id(step.layer) in reached:
                found.append((network, step))
    return found


def class_of(facts: "FileFacts", name: str | None) -> "ModuleClass | None":
    return facts.classes.get(name) if name else None


def module_path(network: Network, step: Step) -> str:
    """The attribute path of a step's layer inside the model the probe builds; a repeated
    template reads ``blocks.*`` (every copy)."""
    name = network.name.split(".", 1)[0]
    path = step.layer.name
    if not network.of_class and "." not in network.name and path.startswith(name + "."):
        path = path[len(name) + 1 :]  # ``layers.3`` of a module-level list is index 3
    if step.repeat != 1:
        base, _, last = path.rpartition(".")
        if last.isdigit():
            path = f"{base}.*" if base else "*"
    return path


def where(network: Network, steps: list[Step]) -> dict[str, object]:
    """``details`` entries naming the model and layers a finding is about."""
    paths: list[str] = []
    for step in steps:
        path = module_path(network, step)
        if path not in paths:
            paths.append(path)
    return {"model": network.name.split(".", 1)[0], "layers": paths}


def locate(facts: "FileFacts", init: "InitCall") -> tuple[str | None, list[str]]:
    """The model an init belongs to (a class, or a module-level variable) and the attribute
    paths of the layers it reaches inside that model: what the probe builds and measures."""
    placed = placements(facts, init)
    if placed:
        network = placed[0][0]
        found = where(network, [s for n, s in placed if n.name.split(".")[0] == network.name.split(".")[0]])
        return str(found["model"]), list(found["layers"])  # type: ignore[arg-type]
    if init.cls in facts.classes:
        return init.cls, [layer.name for layer in facts.reach(init)]
    return None, []
