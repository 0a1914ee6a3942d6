"""Building a model inside a task child: constructor arguments from use, configs, factories.

Defaults stay. A required parameter gets the user's ``--probe-arg`` value, else a value from how
the constructor uses it (usage.py, sizes.py): the size of the layer argument it feeds, a repeat
count, a constant it is compared with, 0 for a value that is only stored (a seed), or a config.
A size the constructor indexes, iterates or unpacks is a list of that size, as long as its uses
need (``num_blocks[3]``: four items; ``h, w = resolution``: two; otherwise two).
A config comes from the parameter's annotation, the class's ``config_class`` (Hugging Face) or a
``*Config`` class of the module, built with its defaults and with hidden sizes scaled down (layers
kept); otherwise a stand-in whose attributes get values by name. A module the class only stores
and calls (``self.fn(x)``) comes from a caller in the project, else a pass-through stand-in
(passthrough.py). Every assumption is noted, and an error names the parameter and the
``--probe-arg`` that would fix it.
"""

from __future__ import annotations

import builtins
import inspect
import re
from dataclasses import field
from typing import Any, Callable

from initlint.lean import dataclass
from initlint.probe.asserts import not_none_parameters
from initlint.probe.callers import values_from_callers
from initlint.probe.offline import network_reason, offline_message
from initlint.probe.repairs import call_repairing
from initlint.probe.shrink import shrink_config
from initlint.probe.sizes import must_not_guess, value_by_name
from initlint.probe.usage import ParamUse, attribute_uses, attributes_called, function_tree, parameter_uses


#: the device the probe runs the model on (tasks.py sets it): a constructor's ``device``
#: argument gets it, so that tensors its forward makes meet the model's
probe_device = "cpu"


class BuildError(Exception):
    """The model cannot be built; the message says why and what would fix it."""


@dataclass
class Built:
    """A built model and what the probe assumed to build it."""

    model: Any
    notes: list[str] = field(default_factory=list)
    #: parameter -> value the probe chose (for hints when the constructor then fails)
    assumed: dict[str, Any] = field(default_factory=dict)
    #: every constructor value, defaults included
    values: dict[str, Any] = field(default_factory=dict)


class UnknownField(BuildError, AttributeError, KeyError):
    """A field of a stand-in config that nothing tells a value for (``getattr(cfg, "x", d)``
    still gets its default: this is an AttributeError)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def field_by_name(label: str, name: str) -> Any:
    """The value a stand-in's field ``name`` gets from its name (sizes.py), or UnknownField
    naming ``label.name`` and the ``--probe-arg`` that would give it."""
    known, value = value_by_name(name)
    if not known:
        raise UnknownField(f"{label}.{name} has no value the probe can infer; pass --probe-arg {label}=VALUE or a factory")
    return value


class InferredConfig:
    """Stands in for a config object (``args.hidden_dim``, ``cfg["depth"]``): each attribute that
    is read gets a value by its name; one that has none raises, naming it."""

    def __init__(self, label: str) -> None:
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_read", {})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = field_by_name(self._label, name)
        self._read[name] = value
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self._read[name] = value

    def __getitem__(self, key: str) -> Any:
        return getattr(self, str(key))

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return getattr(self, str(key))
        except AttributeError:
            return default

    def __contains__(self, key: str) -> bool:
        return value_by_name(str(key))[0]

    def __repr__(self) -> str:
        return f"<{self._label}: {self._read}>"


#: parameters that hold a config object by convention (Hugging Face, argparse, Hydra)
_CONFIG_NAMES = re.compile(r"^(config|cfg|conf|args|opt|opts|options|hparams|hp|params)$")


def _resolve(text: str, scope: dict[str, Any], owner: type | None) -> Any:
    """The object a callee's source text names, in the function's globals (or None)."""
    if text.startswith("super(") and owner is not None:
        method = text.rsplit(".", 1)[-1]
        for base in owner.__mro__[1:]:
            if method in vars(base):
                return vars(base)[method]
        return None
    value: Any
    parts = text.split(".")
    if parts[0] == "self":
        value, parts = owner, parts[1:]
    else:
        value = scope.get(parts[0], getattr(builtins, parts[0], None))
        parts = parts[1:]
    for part in parts:
        if value is None or not part.isidentifier():
            return None
        value = getattr(value, part, None)
    return value


def _parameter_name(callee: Any, where: int | str) -> str | None:
    if isinstance(where, str):
        return where
    try:
        signature = inspect.signature(callee)
    except (TypeError, ValueError):
        return None
    positional = [
        p for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if positional and positional[0].name == "self" and inspect.isfunction(callee):
        positional = positional[1:]
    return positional[where].name if where < len(positional) else None


def _owner_of(function: Callable[..., Any]) -> type | None:
    qualname = getattr(function, "__qualname__", "")
    owner_name = qualname.rsplit(".", 2)[0] if qualname.count(".") else None
    module = inspect.getmodule(function)
    return getattr(module, owner_name, None) if owner_name and module else None


def _value_from_use(use: ParamUse, function: Callable[..., Any], owner: type | None, depth: int) -> tuple[bool, Any, str]:
    """(known, value, how) for one required parameter from its uses."""
    if use.called:
        return False, None, ""  # a helper calls it (``act()``): a class or function, never a number
    scope = getattr(function, "__globals__", {})
    for callee_text, where in use.passed_to:
        callee = _resolve(callee_text, scope, owner)
        name = _parameter_name(callee, where) if callee is not None else (where if isinstance(where, str) else None)
        if name is None:
            continue
        known, value = value_by_name(name)
        if known:
            return True, value, f"as {callee_text}'s {name}"
        inner = callee.__init__ if inspect.isclass(callee) else callee
        if depth < 2 and inspect.isfunction(inner):
            tree = function_tree(inner)
            uses = parameter_uses(tree) if tree is not None else {}
            if name in uses and uses[name].called:
                return False, None, ""  # the helper calls it: a class or function, whatever else it is passed as
            if name in uses:
                known, value, how = _value_from_use(uses[name], inner, _owner_of(inner), depth + 1)
                if known:
                    return True, value, how
    if use.as_count:
        return True, 2, "a repeat count"
    strings = [c for c in use.compared_to if isinstance(c, str)]
    if strings:
        return True, strings[0], "the first value it is compared with"
    if use.stored_only:
        return True, 0, "only stored"
    return False, None, ""


def _sequence_length(use: ParamUse, function: Callable[..., Any], owner: type | None, depth: int) -> int:
    """How many items a size must have when it is used as a sequence (0: it is a number): in
    the constructor, in the other methods that read the ``self.x`` it is stored in, or in the
    layer or helper it is passed to (``Block(input_resolution=r)`` that unpacks it)."""
    lengths = [max(2, use.length)] if use.as_sequence else []
    if inspect.isclass(owner) and use.stored_as:
        stored = attribute_uses(owner, use.stored_as)
        if stored.as_sequence:
            lengths.append(max(2, stored.length))
    if depth < 2:
        scope = getattr(function, "__globals__", {})
        for callee_text, where in use.passed_whole:
            callee = _resolve(callee_text, scope, owner)
            name = _parameter_name(callee, where) if callee is not None else None
            inner = callee.__init__ if inspect.isclass(callee) else callee
            if name is None or not inspect.isfunction(inner) or _installed(inner):
                continue  # a library helper (``to_2tuple``) takes either kind; the project's own code tells
            tree = function_tree(inner)
            uses = parameter_uses(tree) if tree is not None else {}
            if name in uses:
                inner_owner = callee if inspect.isclass(callee) else _owner_of(inner)
                found = _sequence_length(uses[name], inner, inner_owner, depth + 1)
                if found:
                    lengths.append(found)
    return max(lengths, default=0)


def _installed(function: Callable[..., Any]) -> bool:
    file = getattr(getattr(function, "__code__", None), "co_filename", "")
    return not file or any(part in file for part in ("site-packages", "dist-packages", "/lib/python"))


def _config_for(name: str, annotation: Any, owner: type | None, scope: dict[str, Any], attributes: set[str]) -> tuple[Any, str]:
    """A config object for parameter ``name`` (see the module docstring) and a note."""
    candidates: list[type] = []
    if inspect.isclass(annotation):
        candidates.append(annotation)
    config_class = getattr(owner, "config_class", None) if owner is not None else None
    if inspect.isclass(config_class):
        candidates.append(config_class)
    named = [v for k, v in scope.items() if inspect.isclass(v) and re.search(r"(Config|Args|Params|Hparams|Options)$", k)]
    named.sort(key=lambda cls: -sum(1 for a in attributes if hasattr(cls, a) or a in getattr(cls, "__dataclass_fields__", {})))
    candidates.extend(c for c in named if c not in candidates)
    for candidate in candidates:
        if candidate in named and attributes and not any(
            hasattr(candidate, a) or a in getattr(candidate, "__dataclass_fields__", {}) for a in attributes
        ):
            continue
        try:
            config = candidate()
        except Exception:  # noqa: BLE001 - a config class that needs arguments: try the next
            continue
        note = shrink_config(config) or f"built with a default {candidate.__name__}()"
        return config, note
    label = f"{owner.__name__}.{name}" if owner is not None else name
    return InferredConfig(label), f"`{name}` is a stand-in config whose fields get sizes by name"


def arguments_for(function: Callable[..., Any], overrides: dict[str, Any], label: str) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """Keyword arguments to call ``function`` (a class or a factory): (kwargs, notes, assumed)."""
    target = function.__init__ if inspect.isclass(function) else function
    owner = function if inspect.isclass(function) else _owner_of(function)
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return dict(overrides), [], {}
    parameters = list(signature.parameters.values())
    if inspect.isclass(function) and parameters:
        parameters = parameters[1:]  # self
    tree = function_tree(target)
    uses = parameter_uses(tree) if tree is not None else {}
    asserted = not_none_parameters(tree)  # ``image_size=None`` then ``assert image_size is not None``: required
    scope = getattr(target, "__globals__", {})
    kwargs: dict[str, Any] = {}
    assumed: dict[str, Any] = {}
    notes: list[str] = []
    missing: list[str] = []
    passed_through: set[str] = set()
    called: set[str] | None = None

    def called_attributes() -> set[str]:
        nonlocal called
        if called is None:
            called = attributes_called(owner) if inspect.isclass(owner) else set()
        return called
    for param in parameters:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name in overrides:
            kwargs[param.name] = overrides[param.name]
            continue
        if param.default is not inspect.Parameter.empty and not (param.default is None and param.name in asserted):
            continue
        use = uses.get(param.name, ParamUse(param.name))
        annotation = param.annotation if param.annotation is not inspect.Parameter.empty else None
        if isinstance(annotation, str):
            annotation = _resolve(annotation, scope, owner)
        configured = inspect.isclass(getattr(owner, "config_class", None)) and param is parameters[0]
        if param.name == "device" or getattr(annotation, "__name__", None) == "device":
            kwargs[param.name] = assumed[param.name] = probe_device  # ``Encoder(..., device)``: where tensors go
            continue
        if not use.called and use.stored_as & called_attributes() and not use.stored_as & attributes_called(owner, "__init__"):
            missing.append(param.name)  # a module forward calls: a caller's, else a pass-through
            passed_through.add(param.name)
            continue
        if use.config_like or configured or _CONFIG_NAMES.match(param.name) or (
            inspect.isclass(annotation) and "config" in annotation.__name__.lower()
        ):
            kwargs[param.name], note = _config_for(param.name, annotation, owner, scope, use.attributes | use.keys)
            notes.append(note)
            assumed[param.name] = type(kwargs[param.name]).__name__
            continue
        if use.called or must_not_guess(param.name) or use.stored_as & called_attributes():
            missing.append(param.name)
            continue
        known, value = value_by_name(param.name)
        if not known:
            known, value, _ = _value_from_use(use, target, owner, 0)
        if not known and annotation in (int, float, bool, str) and use.stored_only:
            known, value = True, annotation()
        if known and isinstance(value, (int, float)) and not isinstance(value, bool):
            length = _sequence_length(use, target, owner, 0)
            if length:
                value = [value] * length  # ``num_blocks[3]``, ``h, w = resolution``: one per item
        if known:
            kwargs[param.name] = value
            assumed[param.name] = value
        else:
            missing.append(param.name)
    if missing:
        given = values_from_callers(function, missing)
        for name, passed in given.items():
            kwargs[name] = passed.value
            assumed[name] = getattr(passed.value, "__name__", passed.value)
            notes.append(f"`{name}` is what {passed.caller} passes at line {passed.line}")
        missing = [m for m in missing if m not in given]
    if any(m in passed_through for m in missing):
        from initlint.probe.passthrough import PASS_THROUGH_NOTE, PassThrough

        for name in [m for m in missing if m in passed_through]:
            label = f"{owner.__name__}.{name}" if owner is not None else name
            kwargs[name] = PassThrough(label)
            assumed[name] = "PassThrough"
            notes.append(f"`{name}` is {PASS_THROUGH_NOTE}")
        missing = [m for m in missing if m not in passed_through]
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        raise BuildError(
            f"the constructor needs {names}, whose value cannot be inferred from its name or use; "
            f"pass --probe-arg {label}.{missing[0]}=VALUE or a factory"
        )
    if assumed:
        shown = ", ".join(f"{k}={v!r}" for k, v in assumed.items())
        notes.insert(0, f"built with assumed {shown} (--probe-arg {label}.NAME=VALUE to change)")
    return kwargs, notes, assumed


def build(function: Callable[..., Any], overrides: dict[str, Any], label: str, extra: dict[str, Any] | None = None) -> Built:
    """Call a model class or factory with the inferred arguments; the hint of a failing call
    names what was assumed."""
    given = {**(extra or {}), **overrides}
    kwargs, notes, assumed = arguments_for(function, given, label)
    try:
        value = call_repairing(function, kwargs, given, notes, assumed, set(_all_values(function, kwargs)))
    except BuildError as error:
        if isinstance(error, UnknownField):
            raise BuildError(str(error)) from None  # a config field: the message names it
        raise
    except Exception as error:
        reason = network_reason(error)
        if reason:
            raise BuildError(offline_message(reason, "build")) from None
        if assumed:
            shown = ", ".join(f"{k}={v!r}" for k, v in assumed.items())
            error.args = (f"{error.args[0] if error.args else ''} [built with assumed {shown}; pass --probe-arg {label}.NAME=VALUE]",) + tuple(error.args[1:])
        raise
    return Built(value, notes, assumed, _all_values(function, kwargs))


def _all_values(function: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return dict(kwargs)
    values = {
        p.name: p.default for p in signature.parameters.values()
        if p.default is not inspect.Parameter.empty
    }
    values.update(kwargs)
    return values
