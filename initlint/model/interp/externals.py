"""Calls to code outside the evaluated files, by qualified name: torch, its init wrappers, math.

torch.nn layers are built with their parameters (torchlib/construct.py), init functions write
their distributions, tensor factories make tensors, functional ops add flow nodes. Wrappers that
real code uses resolve as the schemes they are: transformers' ``initialization`` module and
timm's ``trunc_normal_``, ``trunc_normal_tf_``, ``lecun_normal_``, ``variance_scaling_``.
Anything else is an unknown call (calls.py): its result is open and its arguments tainted,
except for a short list of functions known to change nothing they are given (logging, print).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from initlint.model.dists import Constant, Dist, Eye, Normal, Opaque, Uniform, Uninitialised, WeightNormed
from initlint.model.interp.context import Frame, InitRecord
from initlint.model.interp.copies import deep_copy
from initlint.model.interp.timm_models import timm_constructor
from initlint.model.interp.hf import is_config_base, is_pretrained_base, library_config_post_init, library_init_call
from initlint.model.interp.visits import tensors_in
from initlint.model.torchlib.classes import torch_class
from initlint.model.torchlib.sizes import range_shape, size_shape
from initlint.model.torchlib.init_fns import DEPRECATED, INIT_SIGNATURES, bind_init, distribution
from initlint.model.tensors import Tensor
from initlint.model.values import (
    UNKNOWN,
    External,
    KnownSet,
    ListObj,
    Module,
    PartialValue,
    Place,
    Signal,
    Sym,
    derived,
    is_number,
)

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

_TIMM_INITS = frozenset({"trunc_normal_", "trunc_normal_tf_", "lecun_normal_", "variance_scaling_"})
_INIT_NAMES = frozenset(INIT_SIGNATURES) | DEPRECATED
_FACTORIES: dict[str, Dist | None] = {
    "zeros": Constant(0.0), "ones": Constant(1.0), "empty": Uninitialised("torch.empty"),
    "randn": Normal(0.0, 1.0), "rand": Uniform(0.0, 1.0), "Tensor": None, "FloatTensor": None,
    "DoubleTensor": None, "HalfTensor": None, "cuda.FloatTensor": None,
}
_LIKE = {"zeros_like": Constant(0.0), "ones_like": Constant(1.0), "randn_like": Normal(0.0, 1.0),
         "rand_like": Uniform(0.0, 1.0), "empty_like": Uninitialised("torch.empty_like")}
_MATH = {
    "sqrt": math.sqrt, "log": math.log, "exp": math.exp, "pow": math.pow, "floor": math.floor,
    "ceil": math.ceil, "log2": math.log2, "log10": math.log10, "fabs": math.fabs, "prod": None,
    "isqrt": math.isqrt, "cos": math.cos, "sin": math.sin, "tanh": math.tanh, "erf": math.erf,
}
#: calls known not to change what they are given
_PURE_PREFIXES = (
    "logging.", "warnings.", "print", "builtins.print", "os.path.", "time.", "json.", "sys.",
    "torch.manual_seed", "random.seed", "numpy.random.seed", "torch.cuda.manual_seed",
    "torch.save", "torch.cuda.is_available", "torch.is_tensor", "torch.is_grad_enabled",
    "typing.", "re.", "inspect.", "torch.jit.is_scripting", "torch.jit.is_tracing",
    "torch.device", "torch.get_default_dtype", "torch.set_default_dtype", "einops.",
    "torch.backends.", "torch.distributed.is_initialized", "torch.distributed.get_rank",
)
GRAD_CONTEXTS = {
    "torch.no_grad": "off", "torch.inference_mode": "off", "torch.enable_grad": "on",
    "torch.autograd.no_grad": "off", "torch.autograd.grad_mode.no_grad": "off",
}


@lru_cache(maxsize=8192)
def library_module(dotted: str) -> bool:
    """Modules whose functions are modelled here instead of evaluated from their source."""
    return (
        dotted == "torch" or dotted.startswith("torch.")
        or dotted.endswith(".initialization") and dotted.startswith("transformers")
        or dotted.startswith(("timm.layers.weight_init", "timm.models.layers.weight_init"))
    )


def library_name(dotted: str, name: str) -> bool:
    """``from timm.layers import trunc_normal_``: one init function of a package we model; a
    modelled module imported by name from its package (``from ... import initialization as
    init``); or transformers' model and configuration bases, whose protocol hf.py models (``post_init``,
    the configuration's dataclass fields and ``attribute_map``), also where their source is in
    the linted tree (a checkout of transformers): run from source, their constructors go
    through the library's machinery (attention backends, hub and generation settings) far
    beyond a build's budget, and every model of the checkout failed to evaluate."""
    if library_module(f"{dotted}.{name}"):
        return True
    if dotted.startswith("timm"):
        return name in _TIMM_INITS
    return dotted.startswith("transformers") and (is_pretrained_base(f"{dotted}.{name}") or is_config_base(f"{dotted}.{name}"))


class Externals:
    """Calls to External names."""

    def call_external(self: "Evaluator", name: str, args: list[Any], kwargs: dict[str, Any], place: Place, frame: Frame | None, open_: bool) -> Any:
        if self.visit_logs:
            used = tensors_in([*args, *kwargs.values()])
            for log in self.visit_logs:
                log.used.extend(used)
        last = name.rsplit(".", 1)[-1]
        if name.endswith(".__init__"):
            return self.base_init(name[: -len(".__init__")], args, kwargs, place, open_)
        if kwargs.get("weight_init") == "skip" and timm_constructor(name):
            return self.timm_model(name, args, kwargs, place)
        if library_init_call(name):
            self.hf_library_init(args[1] if len(args) > 1 else kwargs.get("module"), place)
            return None
        if last == "__post_init__" and args and library_config_post_init(name):
            self.hf_config_post_init(args[0], kwargs, place)  # the config's own part of it; the rest as below
        if last in ("reset_parameters", "_reset_parameters") and torch_class(name.rpartition(".")[0]) and args:
            if isinstance(args[0], Module):  # ``super().reset_parameters()`` in a torch layer's subclass
                self._reset_default(args[0], place)
            return None
        if last == "forward" and torch_class(name.rpartition(".")[0]) and args and isinstance(args[0], Module):
            return self.torch_forward(args[0], args[1:], kwargs, place)  # ``super().forward(x)`` likewise
        if name in GRAD_CONTEXTS or name == "torch.set_grad_enabled":
            return External(name) if name != "torch.set_grad_enabled" else External(f"torch.set_grad_enabled:{args[0] if args else UNKNOWN}")
        if name.startswith("torch.nn.init.") and last in ("calculate_gain", "_calculate_fan_in_and_fan_out", "_calculate_correct_fan"):
            return _init_helper(last, args, kwargs)
        init = self._init_function(name)
        if init is not None:
            return self._init_call(init, name, args, kwargs, place, open_)
        if last in ("Parameter", "UninitializedParameter") and name.startswith("torch.nn"):
            value = args[0] if args else kwargs.get("data", UNKNOWN)
            flag = args[1] if len(args) > 1 else kwargs.get("requires_grad", True)
            return self.parameter(value, flag, place)
        if name in ("builtins.set", "builtins.frozenset"):
            return _known_set(self, args, kwargs)
        if last == "Buffer" and name.startswith("torch.nn"):
            value = args[0] if args else UNKNOWN
            if isinstance(value, Tensor):
                value.buffer = True
            return value
        torch_kind = torch_class(name)
        if torch_kind is not None and torch_kind not in ("Module",):
            return self.torch_module(torch_kind, args, kwargs, place, open_)
        if name.startswith("torch.nn.utils.") or name.startswith("torch.nn.utils"):
            return self._nn_utils(name, last, args, kwargs, place)
        if name.startswith("torch.") or name.startswith("torch.nn.functional."):
            made = self._torch_function(name, last, args, kwargs, place, open_)
            if made is not _NOT:
                return made
        if name.startswith(("math.", "numpy.", "np.")):
            return _math(last, args)
        if name in ("functools.partial",):
            return PartialValue(args[0], tuple(args[1:]), dict(kwargs)) if args else UNKNOWN
        if name in ("copy.deepcopy", "copy.copy"):
            return self.clone(args[0]) if args else UNKNOWN
        if name in ("typing.cast", "typing_extensions.cast"):  # returns its value unchanged
            return args[1] if len(args) == 2 and not kwargs else UNKNOWN
        if name in ("collections.OrderedDict", "typing.OrderedDict"):
            return self.builtin("dict").function(self, args, kwargs, place, frame, open_)
        if name.startswith(_PURE_PREFIXES):
            return UNKNOWN
        if name.startswith("torch."):
            # torch's own functions write a module's parameters only where modelled above
            # (nn.init, reset_parameters, load_state_dict, weight_norm): the rest read them
            signals = [v for v in [*args, *kwargs.values()] if isinstance(v, Signal)]
            return self.flow_unknown(signals, place) if signals else UNKNOWN
        return self.unknown_call([*args, *kwargs.values()], {}, place)

    # ----- construction
    # ----- init functions
    def _init_function(self, name: str) -> str | None:
        return init_function_named(name)


    def _init_call(self: "Evaluator", scheme: str, name: str, args: list[Any], kwargs: dict[str, Any], place: Place, open_: bool) -> Any:
        tensor = args[0] if args else kwargs.get("tensor", UNKNOWN)
        bound = bind_init(scheme, list(args[1:]), {k: v for k, v in kwargs.items() if k != "tensor"}, open_ or (not args and "tensor" not in kwargs))
        origin = None
        if scheme == "copy_" and bound is not None:
            dist = self.values_of(bound.get("other"))
            other = bound.get("other")
            origin = other.storage.state[0] if isinstance(other, Tensor) and len(other.storage.state) == 1 else None
        else:
            shape = tensor.root.shape if isinstance(tensor, Tensor) else UNKNOWN
            dist = distribution(scheme, bound, shape)
        spelled = _spelled(name)
        self.write(tensor, dist, place, spelled, autograd_free=True, origin=origin)
        node = place.node
        target = place.source.code(node.args[0].value) if getattr(node, "args", None) else "?"
        self.init_calls.append(InitRecord(
            place, self.frames_to(place), scheme, spelled, dist,
            tensor.root if isinstance(tensor, Tensor) else None, target,
            deprecated=name.rsplit(".", 1)[-1] in DEPRECATED,
            given=bound.get("__given__", frozenset()) if bound is not None else frozenset(),
        ))
        return tensor

    # ----- torch.nn.utils
    def _nn_utils(self: "Evaluator", qualified: str, last: str, args: list[Any], kwargs: dict[str, Any], place: Place) -> Any:
        module = args[0] if args else kwargs.get("module", UNKNOWN)
        if last == "weight_norm" and isinstance(module, Module):
            name = args[1] if len(args) > 1 and isinstance(args[1], str) else kwargs.get("name", "weight")
            weight = module.params.get(name) if isinstance(name, str) else None
            if isinstance(weight, Tensor):
                g = self.new_tensor(_g_shape(weight.shape), Opaque("the norms of the weight's rows", random=True), place, "weight_norm", parameter=True)
                v = Tensor(weight.shape, weight.storage, parameter=True, requires_grad=True, made=place)
                module.params.pop(name, None)
                self.adopt_tensor(module, f"{name}_g", g)
                self.adopt_tensor(module, f"{name}_v", v)
                module.params[f"{name}_g"] = g
                module.params[f"{name}_v"] = v
                # ``module.weight`` is now a plain tensor computed from g and v, and computed again
                # before every forward: writes to it never reach the parameters
                derived = self.new_tensor(weight.shape, Opaque("g * v / |v| (weight_norm)"), place, "weight_norm")
                derived.owner, derived.name = module, name
                derived.derived = WeightNormed(Opaque(), parametrized=".parametrizations." in qualified)
                derived.base = v
                module.attrs[name] = derived
            return module
        if last == "remove_weight_norm" and isinstance(module, Module):
            name = args[1] if len(args) > 1 and isinstance(args[1], str) else kwargs.get("name", "weight")
            v = module.params.get(f"{name}_v") if isinstance(name, str) else None
            if isinstance(v, Tensor) and isinstance(module.attrs.get(name), Tensor):
                module.attrs.pop(name)
                module.params.pop(f"{name}_g", None)
                module.params.pop(f"{name}_v", None)
                weight = Tensor(v.shape, v.storage, parameter=True, requires_grad=True, made=place)
                self.adopt_tensor(module, name, weight)
                module.params[name] = weight
            return module
        if last in ("spectral_norm", "remove_spectral_norm", "clip_grad_norm_", "clip_grad_value_"):
            return module
        if last == "parameters_to_vector":
            return UNKNOWN
        return self.unknown_call(args, kwargs, place)

    # ----- torch functions
    def _torch_function(self: "Evaluator", name: str, last: str, args: list[Any], kwargs: dict[str, Any], place: Place, open_: bool) -> Any:
        flow = self.functional(name, args, kwargs, place)
        if flow is not None:
            return flow
        if last in _FACTORIES and name.count(".") <= 2:
            return self._factory(last, args, kwargs, place, open_)
        if last in _LIKE:
            like = args[0] if args else UNKNOWN
            return self.new_tensor(like.shape if isinstance(like, Tensor) else UNKNOWN, _LIKE[last], place, f"torch.{last}")
        if last == "full":
            size = args[0] if args else kwargs.get("size", UNKNOWN)
            fill = args[1] if len(args) > 1 else kwargs.get("fill_value", UNKNOWN)
            dist = Constant(float(fill)) if is_number(fill) else Opaque("a fill value", random=False)
            return self.new_tensor(size_shape(size, []), dist, place, "torch.full")
        if last == "normal" and (len(args) >= 3 or "size" in kwargs):
            # the overload with float mean and std and a ``size`` (positional or keyword)
            mean = args[0] if args else kwargs.get("mean", UNKNOWN)
            std = args[1] if len(args) > 1 else kwargs.get("std", UNKNOWN)
            size = args[2] if len(args) >= 3 else kwargs["size"]
            dist = Normal(float(mean), float(std)) if is_number(mean) and is_number(std) else Opaque("torch.normal values")
            return self.new_tensor(size_shape(size, []), dist, place, "torch.normal")
        if last == "eye":
            size = args[0] if args else UNKNOWN
            cols = args[1] if len(args) > 1 and is_number(args[1]) else size
            return self.new_tensor((size, cols), Eye("torch.eye"), place, "torch.eye")
        if last in ("tensor", "as_tensor", "from_numpy", "arange", "linspace", "logspace"):
            data = args[0] if args else UNKNOWN
            dist = Constant(float(data)) if is_number(data) and last in ("tensor", "as_tensor") else Opaque(f"values from torch.{last}", random=False)
            shape = () if is_number(data) and last in ("tensor", "as_tensor") else range_shape(last, args, kwargs)
            if "out" in kwargs and isinstance(kwargs["out"], Tensor):
                self.write(kwargs["out"], dist, place, f"torch.{last}(out=)")
                return kwargs["out"]
            return self.new_tensor(shape, dist, place, f"torch.{last}")
        if last in _PURE_OPS and not last.endswith("_") and kwargs.get("inplace") is not True and "out" not in kwargs:
            tensors = [a for a in [*args, *kwargs.values()] if isinstance(a, Tensor)]
            if tensors:  # a new tensor computed from others: they are not changed
                shape = tensors[0].shape if last in _SAME_SHAPE else UNKNOWN
                random = any(w.dist.random for t in tensors for w in t.storage.state)
                return self.new_tensor(shape, Opaque(f"the result of {_spelled_op(name)}", random=random), place, _spelled_op(name))
        if last in ("randint", "randperm", "bernoulli", "multinomial", "poisson"):
            return self.new_tensor(UNKNOWN, Opaque(f"torch.{last} values", random=True), place, f"torch.{last}")
        if last in ("no_grad", "enable_grad", "inference_mode"):
            return External(name)
        return _NOT

    def _factory(self: "Evaluator", last: str, args: list[Any], kwargs: dict[str, Any], place: Place, open_: bool) -> Any:
        dist = _FACTORIES[last]
        if dist is None:  # torch.Tensor(n, m): uninitialised; torch.Tensor([1, 2]): data
            if len(args) == 1 and isinstance(args[0], (ListObj, tuple)) and not all(is_number(a) or isinstance(a, Sym) for a in (args[0] if isinstance(args[0], tuple) else [])):
                return self.new_tensor(UNKNOWN, Opaque("values given as data", random=False), place, f"torch.{last}")
            # one argument read from an open value may be the data itself (an array)
            sizes = args and not (len(args) == 1 and derived(args[0]))
            if sizes and all(is_number(a) or isinstance(a, Sym) for a in args) and not open_:
                return self.new_tensor(tuple(args), Uninitialised(f"torch.{last}"), place, f"torch.{last}")
            if args and isinstance(args[0], Tensor):
                return args[0]
            return self.new_tensor(UNKNOWN, Opaque(f"torch.{last} of values the evaluator cannot name"), place, f"torch.{last}")
        shape = size_shape(args[0] if len(args) == 1 else tuple(args), [])
        if open_:
            shape = UNKNOWN
        return self.new_tensor(shape, dist, place, f"torch.{last}")

    # ----- copies
    def clone(self: "Evaluator", value: Any) -> Any:
        """``copy.deepcopy`` (copies.py)."""
        return deep_copy(value)


_NOT = object()
#: torch and torch.nn.functional functions that return a new tensor and change none of their
#: arguments (views are not here: they share their input's storage)
_SAME_SHAPE = frozenset(
    {
        "normalize", "softmax", "log_softmax", "tanh", "sigmoid", "relu", "gelu", "silu", "elu", "leaky_relu",
        "exp", "log", "abs", "sqrt", "rsqrt", "sign", "clamp", "clip", "neg", "erf", "erfinv", "square", "sin",
        "cos", "round", "floor", "ceil", "mul", "add", "sub", "div", "pow", "where", "softplus",
    }
)
_PURE_OPS = _SAME_SHAPE | frozenset({"matmul", "mm", "bmm", "outer", "einsum", "kron"})


def _spelled_op(name: str) -> str:
    return name.replace("torch.nn.functional.", "F.")


def _init_helper(last: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """torch.nn.init.calculate_gain and the fan helpers, on evaluated arguments."""
    from initlint import theory
    from initlint.model.dists import fans

    if last == "calculate_gain":
        name = args[0] if args else kwargs.get("nonlinearity")
        param = args[1] if len(args) > 1 else kwargs.get("param")
        if not isinstance(name, str) or param is not None and not is_number(param):
            return UNKNOWN
        gain = theory.calculate_gain(name, param)
        return UNKNOWN if gain is None else gain  # None: torch would raise
    tensor = args[0] if args else kwargs.get("tensor")
    if not isinstance(tensor, Tensor):
        return UNKNOWN
    fan_in, fan_out = fans(tensor.root.shape)
    if last == "_calculate_fan_in_and_fan_out":
        return (fan_in, fan_out)
    mode = args[1] if len(args) > 1 else kwargs.get("mode", "fan_in")
    return fan_in if mode == "fan_in" else fan_out if mode == "fan_out" else UNKNOWN


def _spelled(name: str) -> str:
    """``nn.init.normal_`` for messages, however the code imported it."""
    module, _, last = name.rpartition(".")
    if module == "torch.nn.init":
        return f"nn.init.{last}"
    if module.startswith("timm"):
        return last
    if module.endswith("initialization"):
        return f"init.{last}"
    return last


def _g_shape(shape: Any) -> Any:
    if isinstance(shape, tuple) and shape:
        return (shape[0], *([1] * (len(shape) - 1)))
    return UNKNOWN


def _math(last: str, args: list[Any]) -> Any:
    function = _MATH.get(last)
    if function is None or not args or not all(is_number(a) for a in args):
        if args and any(isinstance(a, Sym) for a in args) and all(is_number(a) or isinstance(a, Sym) for a in args):
            return Sym(f"{last}(...)", derived=any(derived(a) for a in args))
        return UNKNOWN
    try:
        value = function(*args)
    except (ValueError, TypeError, OverflowError, ZeroDivisionError):
        return UNKNOWN
    return value if not isinstance(value, float) or math.isfinite(value) else UNKNOWN


@lru_cache(maxsize=8192)
def init_function_named(name: str) -> str | None:
    """The init scheme a qualified name calls (``torch.nn.init.normal_`` -> ``normal_``), or None."""
    module, _, last = name.rpartition(".")
    # transformers' ``from ... import initialization as init``; a relative import the file's
    # location cannot resolve keeps its dots (a snippet, a file outside its package)
    wrapper = module.endswith("initialization") and module.startswith(("transformers", "."))
    if module in ("torch.nn.init",) or wrapper:
        if last in INIT_SIGNATURES:
            return last
        if last in DEPRECATED:
            return last + "_"
        if last.startswith("_no_grad_") and last[len("_no_grad"):] in INIT_SIGNATURES:
            return last[len("_no_grad"):]
        return None
    if module.startswith("timm") and last in _TIMM_INITS:
        return last
    return None


__all__ = ["Externals", "GRAD_CONTEXTS", "Signal", "library_module", "library_name"]


def _known_set(ev: "Evaluator", args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``set(items)`` of known hashable plain values (None, bools, numbers, strings)."""
    if kwargs or len(args) > 1:
        return UNKNOWN
    if args and isinstance(args[0], KnownSet):
        return args[0]
    items = ev.iterate(args[0]) if args else []
    if items is None or not all(item is None or isinstance(item, (bool, int, float, str)) for item in items):
        return UNKNOWN
    return KnownSet(frozenset(items))
