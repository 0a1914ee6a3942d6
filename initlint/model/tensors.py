"""A tensor's values and the writes that set them: what the evaluator knows of a parameter,
a buffer or a plain tensor, and of each write to it (which rules read as its initial value).
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, Any

from initlint.lean import dataclass
from initlint.model.values import Obj, Place, next_serial

if TYPE_CHECKING:
    from initlint.model.dists import Dist
    from initlint.model.values import Module


@dataclass(eq=False)
class Storage:
    """The values of a tensor, shared by its views (``.data``, ``.detach()``, ``.view()``).

    ``state`` holds the alternatives for the last write (more than one when a write happened
    under a condition the evaluator could not decide); ``writes`` is every write, in order.
    """

    state: list["Write"] = field(default_factory=list)
    writes: list["Write"] = field(default_factory=list)
    serial: int = field(default_factory=next_serial, init=False, repr=False)


#: the kinds of view whose values are (or may be) the base's own: a tensor's root is reached through them
VIEWS = ("data", "part", "alias", "maybe")


@dataclass(eq=False)
class Tensor(Obj):
    """A tensor: a parameter, a buffer or a plain tensor. Views share ``storage``."""

    shape: Any  # a tuple of sizes (ints or Sym), or UNKNOWN
    storage: Storage
    parameter: bool = False
    buffer: bool = False
    requires_grad: Any = False  # True/False, or UNKNOWN
    owner: "Module | None" = None
    name: str = ""  # the attribute the owner holds it under (weight, bias, W)
    made: Place | None = None
    #: how this value reaches its storage: "" itself, "data" (.data/.detach(): autograd does not
    #: see writes), "part" (an indexed slice: a write changes only part of it), "alias" (``.t()``,
    #: ``.view(...)``), "maybe" (``.contiguous()``, ``.reshape()`` of a tensor that may not be
    #: contiguous: the tensor itself or a copy), "copy"
    view: str = ""
    base: "Tensor | None" = None  # the tensor a view was taken of
    dtype: str | None = None
    #: a weight computed from others (weight_norm: g * v / |v|): its second moment
    derived: "Dist | None" = None
    serial: int = field(default_factory=next_serial, init=False, repr=False)

    @property
    def root(self) -> "Tensor":
        """The tensor this value is a view of (itself when it is no view)."""
        tensor = self
        while tensor.base is not None and tensor.view in VIEWS:
            tensor = tensor.base
        return tensor

    @property
    def path(self) -> str:
        """``fc1.weight`` inside its model, or the name alone."""
        owner = self.owner
        if owner is not None and owner.path:
            return f"{owner.path}.{self.name}"
        return self.name


@dataclass(eq=False)
class Write:
    """One write to a tensor's values, with what the evaluator knew when it ran."""

    dist: "Dist"
    place: Place
    #: call frames from the entry down to the write (each a Place): findings are placed in
    #: the innermost frame that lies in the file being linted
    frames: tuple[Place, ...]
    conditional: bool = False  # under a test the evaluator could not decide
    partial: bool = False  # to a slice of the tensor
    no_grad: Any = False  # autograd off (torch.no_grad, nn.init): True/False/UNKNOWN
    via_data: bool = False  # through .data or .detach()
    spelled: str = ""  # how the code wrote it: "nn.init.normal_", ".fill_", "torch.randn"
    in_forward: bool = False
    kind: str = "init"  # default (torch's own init), init, arithmetic, unknown (tainted)
    tensor: "Tensor | None" = None  # the tensor written (the root of the view written through)
    #: the written tensor was a leaf that requires grad at the time: True/False/UNKNOWN
    leaf: Any = False
    #: (block, index) of the statement that made the write, in the innermost evaluated frame
    statement: tuple[int, int] | None = None
    #: where the values were drawn, when this write copies them from another tensor
    #: (``w.data = fanin_init(size)``, ``w.copy_(t)``)
    origin: "Write | None" = None
    #: the initial values of the call that made the tensor (``torch.randn(d, d)``): its
    #: arguments are sizes, so messages name the call itself (rules.support.target_text)
    created: bool = False
    serial: int = field(default_factory=next_serial, init=False, repr=False)

    @property
    def drawn(self) -> "Write":
        """The write that drew these values (following copies back to their origin)."""
        write = self
        for _ in range(8):
            if write.origin is None:
                break
            write = write.origin
        return write
