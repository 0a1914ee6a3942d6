"""What evaluating one file established: one EntryFacts per entry, gathered in FileFacts.

An entry is one way the file's code runs: its module body (scripts and notebooks build models
and initialise them at module level), each nn.Module class built with its defaults and called on
an input, and each top-level function no other entry ran. Rules read these records; queries over
them (roles in the flow graph, chains of layers, effective inits) live in graph.py and tensors.py.
"""

from __future__ import annotations

import re
from dataclasses import field
from typing import TYPE_CHECKING, Any, Callable, Hashable, TypeVar

from initlint.lean import dataclass
from initlint.model.interp.context import Event
from initlint.model.source import ParsedFile
from initlint.model.syntax import SyntaxFacts
from initlint.model.tensors import Tensor, Write
from initlint.model.values import FlowNode, FunctionValue, Module, Namespace, Place

if TYPE_CHECKING:  # uncalled.py evaluates; this module only holds its results
    from initlint.model.uncalled import MissedInit

T = TypeVar("T")


@dataclass(eq=False)
class EntryFacts:
    """What one entry did."""

    name: str  # the class, "<module>", or the function
    kind: str  # class, module, function
    place: Place
    #: the models it built, by the name the probe can build them under (a class entry: its
    #: class; a module entry: each module-level variable holding a model)
    models: dict[str, Module] = field(default_factory=dict)
    graph: list[FlowNode] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    init_calls: list[tuple[Place, str, str, Any]] = field(default_factory=list)
    executed: set[Any] = field(default_factory=set)
    #: why the entry's facts are incomplete (its budget ran out, it raised): rules skip it
    failed: str | None = None
    #: what building the model assumed beyond the code's defaults (``config = BertConfig()``)
    assumed: tuple[str, ...] = ()
    #: autograd's state is known (False for a function whose callers are not known)
    grad_known: bool = True
    #: what rules derive from the finished facts, computed once for all of them (gains.py)
    derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def derive(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, once per entry and key: the facts are finished when rules ask, and
        several rules ask the same."""
        if key not in self.derived:
            self.derived[key] = compute()
        return self.derived[key]

    def tensors(self) -> list[Tensor]:
        """Every tensor the entry wrote to, each once, in the order of first write."""
        return self.derive("tensors", self._tensors)

    def _tensors(self) -> list[Tensor]:
        seen: set[int] = set()
        found: list[Tensor] = []
        for write in self.writes:
            tensor = write.tensor
            if tensor is not None and id(tensor) not in seen:
                seen.add(id(tensor))
                found.append(tensor)
        return found


@dataclass(eq=False)
class FileFacts:
    """Every entry of one file, the functions it defines, and what its text says as written."""

    source: ParsedFile
    namespace: Namespace
    entries: list[EntryFacts]
    functions: list[FunctionValue]
    syntax: SyntaxFacts = field(default_factory=SyntaxFacts)
    #: files of the project this result depended on
    dependencies: list[str] = field(default_factory=list)
    #: the run's project index (callers of a function in other files), when evaluated with one
    project: Any = None
    #: by the id of its def: what each init method no entry ran would have written (uncalled.py)
    uncalled: dict[int, "MissedInit"] = field(default_factory=dict)

    def mentions(self, name: str) -> int:
        """How often ``name`` appears as a word in the file's code (comments left out)."""
        pattern = re.compile(rf"(?<![\w]){re.escape(name)}\b")
        return sum(len(pattern.findall(line.split("#", 1)[0])) for line in self.source.text.splitlines())

    def commented_call(self, name: str) -> int | None:
        """The first line whose comment calls or applies ``name`` (``# self.apply(self._init_weights)``,
        ``# self.reset()``): code switched off by hand; None if none does."""
        pattern = re.compile(rf"(?<![\w]){re.escape(name)}\s*[()]")
        for number, line in enumerate(self.source.text.splitlines(), 1):
            if "#" in line and pattern.search(line.split("#", 1)[1]):
                return number
        return None
