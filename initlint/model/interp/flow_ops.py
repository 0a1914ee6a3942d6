"""The flow graph: what happens to the model's input signal, operation by operation.

Calling a model (its ``forward``, or a torch layer's own semantics) on a signal adds nodes to
the entry's graph: a ``layer`` node where a weight multiplies the signal (``self.fc(x)``,
``F.linear(x, self.w)``, ``x @ self.W``), ``act`` for activations, ``norm``, ``add`` where two
signals meet (a residual), ``mul`` where one gates another, ``output`` for what the model
returns, ``unknown`` for calls the evaluator does not model. Roles and gains are read from the
graph afterwards (model/graph.py), never from names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from initlint.model import activations
from initlint.model.dists import fans
from initlint.model.tensors import Tensor
from initlint.model.values import (
    UNKNOWN,
    forward_of,
    DictObj,
    FlowNode,
    FunctionValue,
    ListObj,
    Module,
    Place,
    Signal,
    is_number,
)
from initlint.tree import nodes

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

#: tensor methods and torch functions that only reshape or copy a signal
SHAPE_ONLY = frozenset(
    {
        "view", "reshape", "flatten", "permute", "transpose", "contiguous", "squeeze",
        "unsqueeze", "float", "half", "double", "bfloat16", "to", "type_as", "dropout",
        "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "clone", "expand", "expand_as",
        "view_as", "reshape_as", "unflatten", "movedim", "swapaxes", "t", "cuda", "cpu",
        "detach", "requires_grad_", "squeeze_", "unsqueeze_", "rearrange", "__getitem__",
        "narrow", "select", "contiguous_", "repeat", "tile", "roll", "flip",
    }
)
SPLITS = frozenset({"chunk", "split", "unbind", "tensor_split"})
NORM_FUNCTIONS = frozenset(
    {"layer_norm", "batch_norm", "group_norm", "instance_norm", "normalize", "rms_norm", "local_response_norm"}
)
POOL_FUNCTIONS = frozenset(
    {
        f"{kind}{n}d" for kind in ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool", "lp_pool")
        for n in (1, 2, 3)
    }
)
CONCAT = frozenset({"cat", "concat", "concatenate", "stack", "hstack", "vstack"})
#: torch functions that compute value by value on one signal: the signal goes on through them,
#: as through the tensor methods of the same names (``torch.exp(s)`` as ``s.exp()``)
ELEMENTWISE = frozenset(
    {
        "exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "abs", "neg",
        "negative", "square", "sin", "cos", "sign", "erf", "reciprocal", "pow",
    }
)


def _all_tensors(sequence: Any) -> bool:
    """Whether every part given to ``torch.cat`` / ``stack`` is a signal or a tensor that is no
    signal (a parameter, a buffer, a constant: no input flows through it), in a sequence of
    known items."""
    if isinstance(sequence, ListObj) and not sequence.template:
        sequence = sequence.items
    return isinstance(sequence, tuple | list) and all(isinstance(item, Signal | Tensor) for item in sequence)


class FlowOps:
    """Flow-graph semantics of the Evaluator."""

    def node(self: "Evaluator", op: str, inputs: tuple[FlowNode, ...], place: Place | None, **fields: Any) -> FlowNode:
        node = FlowNode(op, inputs, place=place, repeat=self.repeat, **fields)
        for source in inputs:
            source.consumers.append(node)
        self.graph.append(node)
        return node

    def as_signal(self: "Evaluator", value: Any, place: Place | None) -> Signal | None:
        """A signal for a model input: a signal stays one, data (a tensor, an unknown) becomes an
        input node; plain values (ints, None, strings) are no signals."""
        if isinstance(value, Signal):
            return value
        if isinstance(value, Tensor) and not value.parameter or value is UNKNOWN:
            return Signal(self.node("input", (), place))
        return None

    def flow_unknown(self: "Evaluator", signals: list[Signal], place: Place) -> Signal:
        return Signal(self.node("unknown", tuple(s.node for s in signals), place))

    def join_signals(self: "Evaluator", first: Signal, second: Signal) -> Signal:
        if first is second:
            return first
        return Signal(self.node("join", (first.node, second.node), None))

    # ----- calling modules
    def call_module(self: "Evaluator", module: Module, args: list[Any], kwargs: dict[str, Any], place: Place) -> Any:
        top = self.in_forward == 0
        outer_repeat = self.repeat
        if top:
            signals = [a for a in (*args, *kwargs.values()) if isinstance(a, Signal)]
            if self.repeat != 1 and not self.carried(signals):
                # a fresh input each time (a training or acting loop calls the model again and
                # again, on data or on what another model made of it in the same pass): those
                # passes run side by side, not one through the other
                self.repeat = 1
            args = [self.as_signal(a, place) or a for a in args]
        forward = forward_of(module)
        self.in_forward += 1
        try:
            if isinstance(forward, FunctionValue):
                if self.forwards.get(id(module), 0) >= 4 and top:
                    result = self.unknown_call(args, kwargs, place)
                else:
                    self.forwards[id(module)] = self.forwards.get(id(module), 0) + 1
                    result = self.call_function(forward, [module, *args], kwargs, place)
            elif forward is UNKNOWN or module.cls is not None and module.open_base and forward is None:
                result = self.unknown_call(args, kwargs, place)
            else:
                result = self.torch_forward(module, args, kwargs, place)
        finally:
            self.in_forward -= 1
            self.repeat = outer_repeat
        if top and module.cls is not None:
            self.mark_output(result, place)  # a model's output (torch layers: see close_graph)
        return result

    def carried(self: "Evaluator", signals: list[Signal]) -> bool:
        """Some signal comes from before the innermost repeated region began (``x = model(x)``
        in a loop feeds each pass into the next); signals made within one pass of it do not."""
        if not signals or not self.repeat_marks:
            return bool(signals)
        earlier = {id(node) for node in self.graph[:self.repeat_marks[-1]]}
        stack = [s.node for s in signals]
        seen: set[int] = set()
        while stack:
            node = stack.pop()
            if id(node) in earlier:
                return True
            if id(node) not in seen:
                seen.add(id(node))
                stack.extend(node.inputs)
        return False

    def close_graph(self: "Evaluator") -> None:
        """Code outside a model applied layers itself (a script's loop over a list of layers):
        whatever it computed last, and nothing consumed, is its output."""
        for node in list(self.graph):
            if not node.consumers and node.op not in ("output", "input"):
                self.node("output", (node,), node.place)

    def mark_output(self: "Evaluator", value: Any, place: Place) -> None:
        """Whatever a model returns to the code that called it is the model's output."""
        for signal in _signals(value):
            self.node("output", (signal.node,), place)

    def torch_forward(self: "Evaluator", module: Module, args: list[Any], kwargs: dict[str, Any], place: Place) -> Any:
        """A torch layer's own forward on its input (the first argument)."""
        value = args[0] if args else kwargs.get("input", UNKNOWN)
        family = module.family
        if family == "container":
            if module.kind != "Sequential":
                return self.unknown_call(args, kwargs, place)
            for child in list(module.modules.values()):
                if not isinstance(child, Module):
                    return self.unknown_call([value], {}, place)
                with self.repeated(child.repeat):
                    value = self.call_module(child, [value], {}, place)
            return value
        signal = self.as_signal(value, place)
        if signal is None:
            return UNKNOWN
        if family == "passthrough":
            return signal
        if family == "activation":
            return Signal(self.node("act", (signal.node,), place, module=module,
                                    activation=activations.of_layer(module.kind, module.args)))
        if family == "norm":
            return Signal(self.node("norm", (signal.node,), place, module=module))
        if family == "pool":
            return Signal(self.node("pool", (signal.node,), place, module=module))
        if family in ("dense", "conv"):
            weight = module.params.get("weight")
            if module.kind == "Bilinear":
                other = self.as_signal(args[1] if len(args) > 1 else UNKNOWN, place)
                inputs = (signal.node, other.node) if other else (signal.node,)
                return Signal(self.node("layer", inputs, place, module=module, tensor=weight, fan_in=_fan_in(weight)))
            return Signal(self.node("layer", (signal.node,), place, module=module, tensor=weight, fan_in=_fan_in(weight)))
        if family == "embedding":
            weight = module.params.get("weight")
            return Signal(self.node("lookup", (signal.node,), place, module=module, tensor=weight, fan_in=1))
        if family == "recurrent":
            weight = next((t for n, t in module.params.items() if n.startswith("weight_ih")), None)
            out = Signal(self.node("layer", (signal.node,), place, module=module, tensor=weight, fan_in=_fan_in(weight)))
            if module.kind in ("RNNCell", "GRUCell"):
                return out
            return (out, UNKNOWN)
        if family == "attention":
            others = [self.as_signal(a, place) for a in args[1:3]]
            inputs = (signal.node, *(o.node for o in others if o is not None))
            return (Signal(self.node("attention", inputs, place, module=module)), UNKNOWN)
        if family == "other":
            return Signal(self.node("other", (signal.node,), place, module=module))
        return Signal(self.node("unknown", (signal.node,), place, module=module))

    # ----- operations on signals
    def signal_binop(self: "Evaluator", op: type, left: Any, right: Any, place: Place) -> Any:
        if op is nodes.MatrixMultiply:
            return self.matmul(left, right, place)
        signal, other = (left, right) if isinstance(left, Signal) else (right, left)
        if isinstance(left, Signal) and isinstance(right, Signal):
            if op in (nodes.Add, nodes.Subtract):
                if left.node is right.node:
                    return Signal(self.node("scale", (left.node,), place, factor=2.0 if op is nodes.Add else 0.0))
                return Signal(self.node("add", (left.node, right.node), place))
            if op in (nodes.Multiply, nodes.Divide):
                return Signal(self.node("mul", (left.node, right.node), place))
            return Signal(self.node("other", (left.node, right.node), place))
        if op in (nodes.Add, nodes.Subtract):
            if is_number(other) or other is None:
                return signal
            return Signal(self.node("shift", (signal.node,), place, tensor=other if isinstance(other, Tensor) else None))
        if op in (nodes.Multiply, nodes.Divide):
            if is_number(other):
                factor = float(other) if op is nodes.Multiply or signal is right else (1.0 / other if other else None)
                return Signal(self.node("scale", (signal.node,), place, factor=factor))
            return Signal(self.node("mulparam", (signal.node,), place, tensor=other if isinstance(other, Tensor) else None))
        return Signal(self.node("other", (signal.node,), place))

    def matmul(self: "Evaluator", left: Any, right: Any, place: Place) -> Any:
        """``x @ W`` (W of shape (in, out)) and ``W @ x`` (W of shape (out, in)) apply a weight."""
        if isinstance(left, Signal) and isinstance(right, Tensor) and right.parameter or isinstance(right, Tensor) and right.view in ("alias", "maybe") and right.base is not None and right.base.parameter and isinstance(left, Signal):
            weight = right.root if right.view in ("alias", "maybe") else right
            fan = _dim(right.shape, 0)
            return Signal(self.node("layer", (left.node,), place, tensor=weight, fan_in=fan))
        if isinstance(right, Signal) and isinstance(left, Tensor) and left.root.parameter:
            fan = _dim(left.shape, 1)
            return Signal(self.node("layer", (right.node,), place, tensor=left.root, fan_in=fan))
        signals = [v for v in (left, right) if isinstance(v, Signal)]
        if len(signals) == 2:
            return Signal(self.node("attention", (signals[0].node, signals[1].node), place))
        return Signal(self.node("other", tuple(s.node for s in signals), place))

    def signal_method(self: "Evaluator", signal: Signal, name: str, args: list[Any], kwargs: dict[str, Any], place: Place) -> Any:
        if name in SHAPE_ONLY:
            return signal
        if name in SPLITS:
            count = args[0] if args and is_number(args[0]) and name == "chunk" else None
            return tuple([signal] * int(count)) if count and count <= 64 else signal
        if name in ("size", "dim", "numel", "item", "tolist", "numpy", "ndimension"):
            return UNKNOWN
        if name == "clamp" or name == "clamp_" or name == "clip":
            low = args[0] if args else kwargs.get("min")
            if low == 0 and (len(args) < 2 and kwargs.get("max") is None):
                return Signal(self.node("act", (signal.node,), place, activation=activations.of_function("relu")))
            return Signal(self.node("other", (signal.node,), place))
        activation = activations.of_function(name, args[0] if args else kwargs.get("negative_slope"))
        if activation is not None:
            return Signal(self.node("act", (signal.node,), place, activation=activation))
        if name in ("add", "sub", "add_", "sub_", "mul", "mul_", "div", "div_", "matmul", "mm", "bmm"):
            op = {"add": nodes.Add, "sub": nodes.Subtract, "mul": nodes.Multiply, "div": nodes.Divide}.get(name.rstrip("_"), nodes.MatrixMultiply)
            return self.binop(op, signal, args[0] if args else UNKNOWN, place.node, self.frame_for(place))
        if name in ("norm",):
            return Signal(self.node("other", (signal.node,), place))
        return Signal(self.node("other", (signal.node,), place))

    def functional(self: "Evaluator", name: str, args: list[Any], kwargs: dict[str, Any], place: Place) -> Any:
        """torch.* and torch.nn.functional.* applied to signals; None when not a flow op."""
        signals = [v for v in [*args, *kwargs.values()] if isinstance(v, Signal)]
        for value in [*args, *kwargs.values()]:
            if isinstance(value, (tuple, ListObj)):
                signals.extend(v for v in (value if isinstance(value, tuple) else value.items) if isinstance(v, Signal))
        if not signals:
            return None
        first = signals[0]
        last = name.rsplit(".", 1)[-1]
        if last in CONCAT:
            if not _all_tensors(args[0] if args else kwargs.get("tensors")):
                # torch.cat([None, x]) raises (a forward run with an optional input left at its
                # default is not what the code does), and a part the evaluator could not follow
                # may carry the input: either way, where the result goes says nothing
                return self.flow_unknown(signals, place)
            return Signal(self.node("cat", tuple(s.node for s in signals), place))
        if last in SHAPE_ONLY or last in ("flatten", "reshape", "squeeze", "unsqueeze", "transpose", "permute"):
            return first
        if last in SPLITS:
            return first
        if last in ("linear",):
            weight = args[1] if len(args) > 1 else kwargs.get("weight")
            if isinstance(weight, Tensor):
                return Signal(self.node("layer", (first.node,), place, tensor=weight.root, fan_in=_dim(weight.shape, 1)))
        if last in ("conv1d", "conv2d", "conv3d"):
            weight = args[1] if len(args) > 1 else kwargs.get("weight")
            if isinstance(weight, Tensor):
                return Signal(self.node("layer", (first.node,), place, tensor=weight.root, fan_in=fans(weight.shape)[0]))
        if last in ("matmul", "mm", "bmm") and len(args) >= 2:
            return self.matmul(args[0], args[1], place)
        if last == "embedding":
            weight = args[1] if len(args) > 1 else kwargs.get("weight")
            return Signal(self.node("lookup", (first.node,), place, tensor=weight.root if isinstance(weight, Tensor) else None, fan_in=1))
        if last in NORM_FUNCTIONS:
            return Signal(self.node("norm", (first.node,), place))
        if last in POOL_FUNCTIONS:
            return Signal(self.node("pool", (first.node,), place))
        if last in ("clamp", "clip"):
            low = args[1] if len(args) > 1 else kwargs.get("min")
            if low == 0 and kwargs.get("max") is None and len(args) < 3:
                return Signal(self.node("act", (first.node,), place, activation=activations.of_function("relu")))
        slope = args[1] if len(args) > 1 and is_number(args[1]) else kwargs.get("negative_slope")
        activation = activations.of_function(last, slope)
        if activation is not None:
            return Signal(self.node("act", (first.node,), place, activation=activation))
        if last == "scaled_dot_product_attention":
            return Signal(self.node("attention", tuple(s.node for s in signals), place))
        if last in ("add",) and len(args) >= 2:
            return self.binop(nodes.Add, args[0], args[1], place.node, self.frame_for(place))
        if last in ("mul",) and len(args) >= 2:
            return self.binop(nodes.Multiply, args[0], args[1], place.node, self.frame_for(place))
        if last in ELEMENTWISE and len(signals) == 1:
            return Signal(self.node("other", (first.node,), place))
        return Signal(self.node("unknown", tuple(s.node for s in signals), place))


def _signals(value: Any) -> list[Signal]:
    if isinstance(value, Signal):
        return [value]
    if isinstance(value, tuple):
        return [s for item in value for s in _signals(item)]
    if isinstance(value, ListObj):
        return [s for item in value.items for s in _signals(item)]
    if isinstance(value, DictObj):
        return [s for item in value.items.values() for s in _signals(item)]
    return []


def _fan_in(weight: Any) -> Any:
    if not isinstance(weight, Tensor):
        return UNKNOWN
    return fans(weight.shape)[0]


def _dim(shape: Any, index: int) -> Any:
    if isinstance(shape, tuple) and len(shape) == 2:
        return shape[index]
    return UNKNOWN
