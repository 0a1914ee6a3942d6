"""Tensors: their attributes and methods, and every write to their values (views: tensor_views.py).

A write goes to the storage of the tensor it is made through: ``w.data.normal_()`` and
``w.detach().zero_()`` reach the parameter (autograd does not see them), ``w[:, :k] = eye``
changes part of it, ``w.clone().zero_()`` changes only a copy. Each write records what the
evaluator knew at that moment: the distribution, whether its test was decided, whether autograd
was off, and the call frames that led to it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from initlint.model.dists import Constant, Dist, Mixed, Opaque, Uninitialised
from initlint.model.interp.context import Frame, InitRecord
from initlint.model.torchlib.init_fns import (
    ARITHMETIC_METHODS,
    PARTIAL_METHODS,
    RANDOM_METHODS,
    TENSOR_WRITES,
    bind_init,
    distribution,
)
from initlint.model.tensors import VIEWS, Storage, Tensor, Write
from initlint.model.values import (
    UNKNOWN,
    BoundMethod,
    Place,
    Signal,
    Sym,
    is_number,
    shape_of,
)
from initlint.tree import nodes

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

_VIEWS = frozenset(
    {
        "view", "reshape", "t", "transpose", "permute", "flatten", "unsqueeze", "squeeze",
        "contiguous", "expand", "view_as", "reshape_as", "expand_as", "float", "double", "half",
        "bfloat16", "to", "cuda", "cpu", "type", "type_as", "requires_grad_", "pin_memory",
        "unflatten", "movedim", "swapaxes",
    }
)
_PARTS = frozenset({"narrow", "select", "diagonal", "__getitem__", "as_strided"})
_SCALARS = frozenset({"mean", "std", "var", "norm", "sum", "max", "min", "item", "abs", "sqrt", "prod", "amax", "amin"})


class TensorOps:
    """Tensor semantics of the Evaluator."""

    def tensor_attr(self: "Evaluator", tensor: Tensor, name: str, place: Place) -> Any:
        if name == "shape":
            return shape_of(tensor, tensor.shape)
        if name == "data":
            return self.tensor_view(tensor, "data", place)
        if name in ("T", "mT", "H", "mH"):
            return self.tensor_view(tensor, "alias", place)
        if name == "ndim":
            return len(tensor.shape) if isinstance(tensor.shape, tuple) else UNKNOWN
        if name == "requires_grad":
            return tensor.root.requires_grad
        if name == "is_leaf":
            root = tensor.root
            return True if root.parameter or root.requires_grad is False else UNKNOWN
        if name == "grad":
            return None
        if name in ("dtype", "device", "layout"):
            return UNKNOWN
        return BoundMethod(tensor, name)

    def tensor_method(self: "Evaluator", tensor: Tensor, name: str, args: list[Any], kwargs: dict[str, Any], place: Place, open_: bool) -> Any:
        shape = tensor.shape
        if name == "size":
            if not args:
                return shape_of(tensor, shape)
            if args[0] == 0:
                self.event("size-read", place, tensor.root, 0)
            return _index(shape, args[0])
        if name in ("dim", "ndimension"):
            return len(shape) if isinstance(shape, tuple) else UNKNOWN
        if name in ("numel", "nelement"):
            return _product(shape)
        if name in TENSOR_WRITES:
            self.tensor_write_method(tensor, name, args, kwargs, place, open_)
            return tensor
        if name == "copy_":
            source = args[0] if args else kwargs.get("src", UNKNOWN)
            self.write(tensor, self.values_of(source), place, ".copy_", kind="init", origin=_origin(source))
            return tensor
        if name in ("mul_", "div_", "add_", "sub_"):
            self.inplace_arithmetic(tensor, name, args[0] if args else UNKNOWN, place)
            return tensor
        if name in RANDOM_METHODS:
            self.write(tensor, Opaque(f"{name} values"), place, f".{name}")
            return tensor
        if name in PARTIAL_METHODS:
            self.write(tensor, Opaque(f"{name} values", random=False), place, f".{name}", partial=True)
            return tensor
        if name in ARITHMETIC_METHODS:
            self.write(tensor, Opaque(f"values changed by .{name}", random=True), place, f".{name}", kind="arithmetic")
            return tensor
        if name == "requires_grad_":
            flag = args[0] if args else kwargs.get("requires_grad", True)
            self.note_change(tensor.root)
            tensor.root.requires_grad = flag if isinstance(flag, bool) and not self.maybe else UNKNOWN
            return tensor
        if name == "detach":
            return self.tensor_view(tensor, "data", place)
        if name == "detach_":
            self.note_change(tensor.root)
            tensor.root.requires_grad = False if not self.maybe else UNKNOWN
            return tensor
        if name == "clone" or name == "new_tensor":
            return self.tensor_copy(tensor, place)
        if name in _VIEWS:
            return self._alias(tensor, name, args, kwargs, place)
        if name in _PARTS:
            return self.tensor_view(tensor, "part", place)
        if name in ("chunk", "split", "unbind"):
            count = args[0] if args and is_number(args[0]) and name == "chunk" else None
            part = self.tensor_view(tensor, "part", place)
            return tuple([part] * int(count)) if count and count <= 64 else UNKNOWN
        if name in ("new_zeros", "new_ones", "new_empty", "new_full"):
            size = args[0] if args else UNKNOWN
            value = {"new_zeros": Constant(0.0), "new_ones": Constant(1.0), "new_empty": Uninitialised(".new_empty")}.get(name)
            if name == "new_full":
                fill = args[1] if len(args) > 1 else kwargs.get("fill_value")
                value = Constant(float(fill)) if is_number(fill) else Opaque("a fill value", random=False)
            return self.new_tensor(_shape(size), value, place, f".{name}")
        if name in _SCALARS:
            return UNKNOWN
        return self.new_tensor(UNKNOWN, Opaque(f"the result of .{name}", random=tensor_random(tensor)), place, f".{name}")

    def tensor_write_method(self: "Evaluator", tensor: Any, name: str, args: list[Any], kwargs: dict[str, Any], place: Place, open_: bool) -> None:
        """``w.normal_(0, 0.02)``, ``w.fill_(0)``: on a tensor, or on a value not established."""
        scheme, signature = TENSOR_WRITES[name]
        bound = bind_init(scheme, args, kwargs, open_, signature)
        shape = tensor.root.shape if isinstance(tensor, Tensor) else UNKNOWN
        dist = distribution(scheme, bound, shape)
        target = _receiver_text(place)
        self.init_calls.append(InitRecord(place, self.frames_to(place), scheme, f".{name}", dist,
                                          tensor.root if isinstance(tensor, Tensor) else None, target))
        if isinstance(tensor, Tensor):
            self.write(tensor, dist, place, f".{name}")

    # ----- making tensors
    def new_tensor(self: "Evaluator", shape: Any, dist: Dist | None, place: Place, spelled: str, parameter: bool = False) -> Tensor:
        storage = Storage()
        tensor = Tensor(shape, storage, parameter=parameter, requires_grad=parameter, made=place)
        if dist is not None:
            write = Write(dist, place, self.frames_to(place), conditional=False, spelled=spelled, kind="init", tensor=tensor,
                          no_grad=True, created=True)
            storage.state.append(write)
            storage.writes.append(write)
            self.writes.append(write)
        return tensor

    def tensor_copy(self, tensor: Tensor, place: Place) -> Tensor:
        storage = Storage(list(tensor.storage.state), list(tensor.storage.state))
        return Tensor(tensor.shape, storage, made=place, view="copy", base=tensor)

    def parameter(self: "Evaluator", value: Any, requires_grad: Any, place: Place) -> Tensor:
        """``nn.Parameter(t)``: a parameter sharing ``t``'s values."""
        if isinstance(value, Tensor):
            storage = value.storage
            shape = value.shape
        else:
            storage = Storage()
            shape = UNKNOWN
            write = Write(Opaque("values the evaluator cannot establish"), place, self.frames_to(place), kind="unknown")
            storage.state.append(write)
            storage.writes.append(write)
        flag = requires_grad if isinstance(requires_grad, bool) else UNKNOWN
        tensor = Tensor(shape, storage, parameter=True, requires_grad=flag, made=place)
        for write in storage.writes:
            if write.tensor is None or write.tensor is value:
                write.tensor = tensor
        return tensor

    def values_of(self, value: Any) -> Dist:
        """The distribution a tensor (or number) holds, for ``copy_`` and ``.data =``."""
        if is_number(value):
            return Constant(float(value))
        if isinstance(value, Tensor):
            state = value.storage.state
            if len(state) == 1:
                return state[0].dist
        return Opaque("values copied from elsewhere")

    # ----- writes
    def write(self: "Evaluator", tensor: Any, dist: Dist, place: Place, spelled: str, *, kind: str = "init",
              partial: bool = False, autograd_free: bool = False, origin: Write | None = None) -> None:
        """Record a write of ``dist`` through ``tensor`` (see the module docstring)."""
        if not isinstance(tensor, Tensor):
            if tensor is not UNKNOWN and not isinstance(tensor, Sym):
                return
            return
        via_data = False
        reaches = True  # False: made through a view that may be a copy (``.contiguous()``)
        current: Tensor | None = tensor
        while current is not None and current.view in VIEWS:
            via_data = via_data or current.view == "data"
            partial = partial or current.view == "part"
            reaches = reaches and current.view != "maybe"
            current = current.base
        root = current if current is not None else tensor
        if self.in_forward:
            pass  # forward computes with copies (noise, masks): only init code is asked about
        elif root.view == "copy" and _copied_from_parameter(root):
            self.event("write-to-copy", place, _copied_from_parameter(root), spelled, root)
        elif root.derived is not None:
            self.event("write-to-derived", place, root, spelled)
        grad = True if autograd_free else self.grad_off()
        leaf = root.parameter and root.requires_grad
        if not reaches and leaf:
            leaf = UNKNOWN  # a copy is no leaf: whether torch raises is not known
        write = Write(
            dist, place, self.frames_to(place), conditional=self.maybe > 0 or not reaches, partial=partial,
            no_grad=grad, via_data=via_data, spelled=spelled, in_forward=self.in_forward > 0,
            kind=kind, tensor=root, leaf=leaf, statement=self.statement, origin=origin,
        )
        self.note_change(root)
        storage = root.storage
        storage.writes.append(write)
        self.writes.append(write)
        if partial:
            mixed = [
                Write(_mixed(old.dist, dist), place, write.frames, conditional=write.conditional or old.conditional,
                      partial=True, spelled=spelled, kind=kind, tensor=root)
                for old in storage.state
            ] or [write]
            storage.state = storage.state + mixed if write.conditional else mixed
        elif write.conditional:
            storage.state.append(write)
        else:
            storage.state = [write]
        if len(storage.state) > MAX_ALTERNATIVES:
            # too many undecided paths to tell apart: the values are not established
            storage.state = [Write(Opaque("one of many values written on undecided paths"), place, write.frames,
                                   conditional=True, kind="unknown", tensor=root)]

    def inplace_arithmetic(self: "Evaluator", tensor: Tensor, name: str, operand: Any, place: Place) -> None:
        if not is_number(operand):
            self.write(tensor, Opaque(f"values changed by .{name}"), place, f".{name}", kind="arithmetic")
            return
        storage = tensor.root.storage if tensor.view != "copy" else tensor.storage
        factor = {"mul_": operand, "div_": 1.0 / operand if operand else math.inf}.get(name)
        shift = {"add_": operand, "sub_": -operand}.get(name)
        state = storage.state or []
        for old in state:
            if factor is not None:
                if not math.isfinite(factor):
                    dist: Dist = Opaque("values divided by zero")
                else:
                    dist = old.dist.scaled(float(factor))
            else:
                dist = old.dist.shifted(float(shift))
            self.write(tensor, dist, place, f".{name}({operand})", kind="arithmetic")
            if len(state) > 1:
                break  # several alternatives: the transformed one of each is not tracked
        if len(state) != 1:
            self.write(tensor, Opaque(f"values changed by .{name}"), place, f".{name}", kind="arithmetic")

    def inplace_tensor_op(self: "Evaluator", current: Any, op: type, right: Any, node: Any, frame: Frame) -> bool:
        """``w *= 0.1``, ``self.weight.data += x``: an in-place write; True when handled."""
        if not isinstance(current, Tensor):
            return False
        place = Place(frame.source, node)
        name = {nodes.Multiply: "mul_", nodes.Divide: "div_", nodes.Add: "add_", nodes.Subtract: "sub_"}.get(op)
        if name is None:
            self.write(current, Opaque("values changed in place"), place, "in-place arithmetic", kind="arithmetic")
        else:
            self.inplace_arithmetic(current, name, right, place)
        return True

    def tensor_setattr(self: "Evaluator", tensor: Tensor, name: str, value: Any, place: Place) -> None:
        if name == "data":
            self.write(self.tensor_view(tensor, "data", place), self.values_of(value), place, ".data =",
                       origin=_origin(value))
        elif name == "requires_grad":
            self.note_change(tensor.root)
            tensor.root.requires_grad = value if isinstance(value, bool) and not self.maybe else UNKNOWN

    def tensor_setitem(self: "Evaluator", tensor: Tensor, index: Any, value: Any, place: Place) -> None:
        whole = _covers_all(index)
        self.write(tensor, self.values_of(value), place, "item assignment", partial=not whole, origin=_origin(value))

    def tensor_binop(self: "Evaluator", op: type, left: Any, right: Any, node: Any, frame: Frame) -> Any:
        """Arithmetic with a tensor: a flow op when a signal is involved, else a new tensor
        whose distribution follows (``torch.randn(n, m) * 0.02`` is N(0, 0.02^2))."""
        if isinstance(left, Signal) or isinstance(right, Signal):
            return self.signal_binop(op, left, right, Place(frame.source, node))
        place = Place(frame.source, node)
        tensor, other = (left, right) if isinstance(left, Tensor) else (right, left)
        if op is nodes.MatrixMultiply:
            return self.new_tensor(UNKNOWN, Opaque("a matrix product"), place, "@")
        state = tensor.storage.state
        source = state[0].dist if len(state) == 1 else None
        dist: Dist
        if source is not None and is_number(other):
            value = float(other)
            if op is nodes.Multiply:
                dist = source.scaled(value)
            elif op is nodes.Divide and tensor is left and value:
                dist = source.scaled(1.0 / value)
            elif op is nodes.Add:
                dist = source.shifted(value)
            elif op is nodes.Subtract:
                dist = source.shifted(-value) if tensor is left else source.scaled(-1.0).shifted(value)
            else:
                dist = Opaque("values the code computes", random=source.random)
        else:
            random = tensor_random(left) or tensor_random(right)
            dist = Opaque("values the code computes", random=random)
        return self.new_tensor(tensor.shape, dist, place, frame.source.code(node) if len(frame.source.code(node)) < 60 else "an expression")


#: alternatives a tensor's state keeps before it counts as not established
MAX_ALTERNATIVES = 8


def _mixed(old: Dist, new: Dist) -> Dist:
    """Old values partly overwritten by new ones (nested mixes flattened)."""
    parts = (*(old.parts if isinstance(old, Mixed) else (old,)), new)
    return Mixed(parts[-4:]) if len(parts) > 4 else Mixed(parts)


def _origin(value: Any) -> Write | None:
    """The write that drew a tensor's values, when it holds one established write."""
    if isinstance(value, Tensor) and len(value.storage.state) == 1:
        return value.storage.state[0]
    return None


def _receiver_text(place: Place) -> str:
    node = place.node
    if isinstance(node, nodes.Call) and isinstance(node.func, nodes.Attribute):
        return place.source.code(node.func.value)
    return "?"


def tensor_random(value: Any) -> bool:
    if isinstance(value, Tensor):
        return any(write.dist.random for write in value.storage.state)
    return False


def _copied_from_parameter(tensor: Tensor) -> Tensor | None:
    current = tensor.base
    while current is not None:
        if current.parameter:
            return current
        current = current.base
    return None


def _index(shape: Any, index: Any) -> Any:
    if isinstance(shape, tuple) and isinstance(index, int) and not isinstance(index, bool):
        try:
            return shape[index]
        except IndexError:
            return UNKNOWN
    return UNKNOWN


def _product(shape: Any) -> Any:
    if not isinstance(shape, tuple) or not all(is_number(s) for s in shape):
        return UNKNOWN
    return math.prod(shape)


def _shape(size: Any) -> Any:
    if isinstance(size, tuple):
        return size
    if is_number(size) or isinstance(size, Sym):
        return (size,)
    return UNKNOWN


def _covers_all(index: Any) -> bool:
    """``[:]``, ``[...]``, ``[:, :]``: an item assignment that writes every element."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        part is Ellipsis or isinstance(part, slice) and part.start is None and part.stop is None and part.step is None
        for part in parts
    )
