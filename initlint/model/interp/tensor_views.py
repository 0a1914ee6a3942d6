"""Views of a tensor: ``.data``, ``.t()``, ``.view(...)``, ``tensor[index]``.

A view shares the tensor's storage, so a write through it reaches the tensor (tensor_ops.py
follows ``base`` down to the root). Where torch may return a copy instead (``.contiguous()`` of
a tensor whose strides the evaluator does not follow, an index that may be a tensor), the view
is a "maybe" view: a write through it may or may not reach the tensor. Advanced indexing (an
index tensor or list) gathers the values into a new tensor, a copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from initlint.model.interp.view_shapes import view_shape
from initlint.model.tensors import Tensor
from initlint.model.values import ListObj, Place, Sym

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

#: the tensor itself (or a view of it) when its memory is contiguous, else a copy: whether a write
#: through the result reaches the tensor is known only for a tensor torch allocated
_VIEW_OR_COPY = frozenset({"contiguous", "reshape", "reshape_as", "flatten"})


class TensorViews:
    """The view half of the Evaluator's tensors (machine.py mixes the halves together)."""

    def tensor_view(self, tensor: Tensor, view: str, place: Place | None, shape: Any = None) -> Tensor:
        """A view of ``tensor`` (``.data``, a part, an alias); an alias without a ``shape`` is
        the transpose (``.T``, ``.t()``)."""
        if shape is None:
            shape = tensor.shape
            if view == "alias" and isinstance(shape, tuple):
                shape = tuple(reversed(shape))
        return Tensor(shape, tensor.storage, parameter=False, requires_grad=tensor.requires_grad,
                      owner=tensor.owner, name=tensor.name, made=place, view=view, base=tensor)

    def tensor_item(self: "Evaluator", tensor: Tensor, index: Any, place: Place) -> Tensor:
        """``tensor[index]``: basic indexing (ints, slices, ``None``, ``...``) is a view of a part;
        an index tensor or list (advanced indexing) gathers the values into a new tensor, which
        a write changes alone (``score = self.start[tags[0]]; score += x``); an index that may
        be either makes a view that may be a copy (``write``)."""
        kind = indexing(index)
        if kind == "copy":
            return self.tensor_copy(tensor, place)
        part = self.tensor_view(tensor, "part", place)
        return part if kind == "part" else self.tensor_view(part, "maybe", place)

    def _alias(self, tensor: Tensor, name: str, args: list[Any], kwargs: dict[str, Any], place: Place) -> Tensor:
        """``w.t()``, ``w.to(dtype)``, ``w.view(a, b)``: the same values, with the shape the
        method gives (view_shapes.py). Where the result may be a copy instead (``_VIEW_OR_COPY``
        on a tensor not known to be contiguous), a "maybe" view: a write through it may or may
        not reach the tensor (``write``)."""
        shape = view_shape(name, tensor.shape, args, kwargs)
        if name in _VIEW_OR_COPY and not _known_contiguous(tensor):
            return self.tensor_view(tensor, "maybe", place, shape)
        return self.tensor_view(tensor, "alias", place, shape)


def indexing(index: Any) -> str | None:
    """How ``tensor[index]`` relates to the tensor: "part" (basic indexing, a view), "copy"
    (advanced indexing: an index tensor of one or more dimensions, or a list), None when not
    known: an open value, a forward signal, or a scalar tensor (torch may take it as an int)."""
    items = index if type(index) is tuple else (index,)
    if any(isinstance(item, ListObj) or isinstance(item, Tensor) and isinstance(item.shape, tuple) and item.shape
           for item in items):
        return "copy"
    if all(item is None or item is Ellipsis or isinstance(item, (int, slice)) or type(item) is Sym and not item.derived
           for item in items):
        return "part"
    return None


def _known_contiguous(tensor: Tensor) -> bool:
    """A tensor torch allocated (a parameter, a new tensor) or its ``.data``: contiguous, so
    ``contiguous()`` returns it and ``reshape`` a view of it. After a transpose, an expand, an
    index or a copy the evaluator does not follow strides, and they may copy."""
    while tensor.view == "data" and tensor.base is not None:
        tensor = tensor.base
    return tensor.base is None and tensor.view == ""


__all__ = ["TensorViews", "indexing"]
