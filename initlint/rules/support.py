"""Questions many rules ask of the evaluated facts: where to report, what to call a tensor.

A finding is placed at the write (or event) that established it, or, when that code lies in
another file (a helper in ``utils.py``), at the call in this file that led there: the innermost
call frame in the linted file, like a traceback.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from initlint.model.callers import Search
from initlint.model.facts import EntryFacts, FileFacts
from initlint.model.graph import role
from initlint.model.tensors import Tensor, Write
from initlint.model.values import FlowNode, Module, Place, describe
from initlint.theory import format_number
from initlint.tree import nodes

fmt = format_number
#: trailing in-place calls of a chain (``.zero_()``, ``.mul_(0.1)``), which return their receiver
_IN_PLACE_CALL = re.compile(r"(\.[a-z][a-z0-9]*_\([^()]*\))+$")


#: a message names this many tensors or layers at most; the finding's details list them all
#: (an ``apply(init_fn)`` after weight_norm in an audio codec reaches 74 convolutions)
NAMED_AT_MOST = 4


def listed(names: list[str]) -> str:
    """The names in backticks, as a message names them: `a` and `b`, or `a`, `b`, `c`, `d`
    and 3 more."""
    quoted = [f"`{name}`" for name in names[:NAMED_AT_MOST]]
    if len(names) > NAMED_AT_MOST:
        return ", ".join(quoted) + f" and {len(names) - NAMED_AT_MOST} more"
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" and {quoted[-1]}"


def node_role(entry: EntryFacts, node: FlowNode) -> str:
    """``graph.role`` of a node of the entry's finished graph, found once for all the rules that
    ask (following a layer's output through the graph is not cheap)."""
    roles = entry.derive("roles", dict)
    found = roles.get(id(node))
    if found is None:
        found = roles[id(node)] = role(node)
    return found


def live(facts: FileFacts) -> Iterator[EntryFacts]:
    """Entries whose evaluation completed (an abandoned entry's facts are incomplete)."""
    for entry in facts.entries:
        if entry.failed is None:
            yield entry


def anchor(facts: FileFacts, frames: tuple[Place, ...]) -> nodes.CSTNode | None:
    """The node to report at: the innermost frame that lies in the linted file."""
    for place in reversed(frames):
        if place.source is facts.source:
            return place.node
    return None


def unnamed_in_project(facts: FileFacts, name: str) -> Search | None:
    """The project search (callers.py) that found no other file naming ``name``; None when one
    does, or when the project gives no answer (no known end, a packaged library, too large)."""
    search = facts.project.search(facts.source, name) if facts.project is not None else None
    return search if search is not None and not search.naming else None


def code(facts: FileFacts, node: nodes.CSTNode) -> str:
    return facts.source.code(node) if node is not None else "?"


def target_text(write: Write) -> str:
    """How the code names the tensor it writes: ``self.fc1.weight``, ``m.weight``."""
    node = write.place.node
    source = write.place.source
    if isinstance(node, nodes.Call):
        func = node.func
        if write.created:  # ``torch.randn(d, d)``: its arguments are sizes, not the tensor
            return _trim(source.code(node))
        if write.spelled.endswith("(out=)"):  # ``torch.arange(n, out=self.freq)``
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "out":
                    return _trim(source.code(arg.value))
        if isinstance(func, nodes.Attribute) and write.spelled.startswith("."):
            return _trim(source.code(func.value))
        if node.args:
            return _trim(source.code(node.args[0].value))
    if isinstance(node, (nodes.Attribute, nodes.Subscript)):
        return _trim(source.code(node))
    tensor = write.tensor
    return tensor.path if tensor is not None and tensor.path else "the tensor"


def _trim(text: str) -> str:
    text = _IN_PLACE_CALL.sub("", text)  # ``w.zero_().add_(1)``: the tensor is ``w``
    for suffix in (".data", ".detach()"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text if len(text) <= 60 else text[:57] + "..."


def layer_path(tensor: Tensor) -> str:
    """``fc1`` for ``fc1.weight``; the tensor's own name for a free parameter."""
    owner = tensor.owner
    if owner is not None and owner.path:
        return owner.path
    return tensor.path or tensor.name or "?"


def layer_name(facts: FileFacts, entry: EntryFacts, tensor: Tensor) -> str:
    """The layer's name as the file shows it (see gains.layer_label)."""
    from initlint.rules.gains import layer_label

    return layer_label(facts, entry, tensor)


def named(text: str, tensor: Tensor) -> str:
    """```m.weight``` plus the layer it is, when the code's name does not say it."""
    path = tensor.path
    if not path or text.endswith(path) or text == path:
        return f"`{text}`"
    return f"`{text}` (`{path}`)"


def model_of(entry: EntryFacts, tensor: Tensor, facts: FileFacts | None = None) -> tuple[str | None, str | None]:
    """(model the probe builds, attribute path of the tensor's layer inside it): the class of a
    class entry, a script's module-level model, or a script's list of layers (probed as an
    nn.Sequential of them, so its layers are the list's indices)."""
    owner = tensor.owner
    for name, model in entry.models.items():
        if owner is model:
            return name, "" if entry.kind != "class" else owner.path
        if owner is not None and id(owner) in _below(entry, model):
            return name, owner.path
    if facts is not None and owner is not None and entry.kind != "class":
        from initlint.model.values import ListObj

        for name, value in facts.namespace.names.items():
            if isinstance(value, ListObj) and not value.template:
                for index, item in enumerate(value.items):
                    if item is owner:
                        return name, str(index)
    return None, None


def _below(entry: EntryFacts, root: Module) -> set[int]:
    """The ids of the modules under ``root`` (33 levels at most), found once per entry and model:
    every finding asks which model holds its layer."""
    return entry.derive(("below", id(root)), lambda: _below_ids(root))


def _below_ids(root: Module) -> set[int]:
    found: set[int] = set()
    level, depth = [root], 0
    while level and depth <= 32:
        children = [child for parent in level for child in parent.modules.values() if isinstance(child, Module)]
        level = [child for child in children if id(child) not in found]
        found.update(id(child) for child in level)
        depth += 1
    return found


def fan_in_text(tensor: Tensor) -> str | None:
    """The source text the fan-in came from (``hidden_dim``), when it is not a plain number."""
    owner = tensor.owner
    if owner is None:
        return None
    for key in ("in_features", "in_channels", "in1_features", "input_size", "embed_dim"):
        text = owner.arg_text.get(key)
        if text is not None:
            return None if text.replace("_", "").isdigit() else text
    return None


def value_text(value: Any) -> str:
    return describe(value)


__all__ = ["anchor", "code", "fan_in_text", "fmt", "layer_path", "live", "model_of", "named", "target_text"]
