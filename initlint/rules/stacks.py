"""What an init does to the layers it reaches: E[W^2] per layer, and gains through a stack.

A stack is a run of consecutive layers in forward order that the same init reaches with no norm
layer or residual add between them (network.py). Its gain is the product of the per-layer gains
G = fan_in * E[W^2] * c (theory.py), each to the power of how often the layer repeats.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import libcst as cst

from initlint import theory
from initlint.model.facts import FileFacts
from initlint.model.flow import Step
from initlint.model.fold import is_number, string_value
from initlint.model.inits import InitCall
from initlint.model.layers import Layer
from initlint.model.network import Network, placements
from initlint.model.network import networks as networks_of

fmt = theory.format_number
_GAIN_NAME = re.compile(r"""calculate_gain\(\s*['"](\w+)['"]""")


def second_moment(init: InitCall, layer: Layer) -> float | None:
    """E[W^2] the init gives this layer's weight, or None when it cannot be folded."""
    value = init.value
    fan_in, fan_out = layer.fan_in, layer.fan_out
    scheme = init.scheme
    if scheme == "uniform_":
        low, high = value("a"), value("b")
        return theory.uniform_second_moment(low, high) if _numbers(low, high) else None
    if scheme == "normal_":
        mean, std = value("mean"), value("std")
        return theory.normal_second_moment(mean, std) if _numbers(mean, std) else None
    if scheme in {"trunc_normal_", "trunc_normal_tf_"}:
        mean, std, low, high = value("mean"), value("std"), value("a"), value("b")
        if not _numbers(mean, std, low, high):
            return None
        if scheme == "trunc_normal_tf_":  # timm: bounds in std units around 0, then scaled
            return theory.trunc_normal_second_moment(0.0, 1.0, low, high) * std * std + mean * mean
        return theory.trunc_normal_second_moment(mean, std, low, high)
    gain = value("gain")
    if scheme in {"xavier_uniform_", "xavier_normal_"}:
        if _numbers(gain, fan_in, fan_out) and fan_in + fan_out > 0:
            return theory.xavier_second_moment(fan_in, fan_out, gain)
        return None
    if scheme in {"kaiming_uniform_", "kaiming_normal_"}:
        fan = fan_out if value("mode") == "fan_out" else fan_in
        slope = value("a")
        nonlinearity = nonlinearity_of(init)
        if nonlinearity is None or not (_numbers(fan, slope) and fan > 0):
            return None  # ``nonlinearity=activation``: whatever the callers pass
        try:
            return theory.kaiming_second_moment(fan, slope, nonlinearity)
        except ValueError:
            return None
    if scheme == "orthogonal_" and _numbers(gain, fan_in, fan_out) and max(fan_in, fan_out) > 0:
        return theory.orthogonal_second_moment(fan_in, fan_out, gain)
    return None


def nonlinearity_of(init: InitCall) -> str | None:
    """The activation the init was written for: ``nonlinearity=`` or ``calculate_gain('x')``."""
    if init.scheme.startswith("kaiming"):
        node = init.arg_nodes.get("nonlinearity")
        if node is None:
            return "leaky_relu"
        # a literal only: a parameter (``nonlinearity=activation``) is whatever callers pass
        return string_value(node) if isinstance(node, cst.SimpleString) else None
    node = init.arg_nodes.get("gain")
    if node is None:
        return None
    match = _GAIN_NAME.search(cst.Module([]).code_for_node(node))
    return match.group(1) if match else None


def _numbers(*values: Any) -> bool:
    return all(is_number(v) for v in values)


@dataclass
class Stack:
    """A run of layers one init reaches, with the gain of each and of the whole run."""

    network: Network
    steps: list[Step]
    gains: list[float]  # per step, activation factor included
    depth: int
    total: float

    @property
    def names(self) -> str:
        return ", ".join(_step_name(s) for s in self.steps)

    def per_layer(self) -> str:
        low, high = min(self.gains), max(self.gains)
        if math.isclose(low, high, rel_tol=0.05):
            return fmt(low)
        return f"{fmt(low)} to {fmt(high)}"


def _step_name(step: Step) -> str:
    """``fc1``; a repeated template ``layers.0`` x10 reads ``layers.*`` x10."""
    name = step.layer.name
    if step.repeat == 1:
        return f"`{name}`"
    base, _, last = name.rpartition(".")
    return f"`{base}.*` x{step.repeat}" if base and last.isdigit() else f"`{name}` x{step.repeat}"


def layer_gain(step: Step, moment: float, last: bool) -> float | None:
    """G of one step: fan-in x E[W^2] x the activation factor (none after the output layer)."""
    layer = step.layer
    fan = 1 if layer.family == "embedding" else layer.fan_in
    if not is_number(fan) or fan <= 0:
        return None
    factor = step.activation.factor if step.activation is not None and not last else 1.0
    return theory.layer_gain(fan, moment, factor)


def stacks(facts: FileFacts, init: InitCall, keep=lambda step: True) -> list[Stack]:
    """Every stack the init reaches in which ``keep`` holds for each step, gains folded."""
    placed = [(n, s) for n, s in placements(facts, init) if keep(s)]
    members = {id(step.layer) for _, step in placed}
    found: list[Stack] = []
    seen: set[int] = set()
    for network, step in placed:
        if id(step) in seen:
            continue
        run = network.run(step, members)
        seen.update(id(s) for s in run)
        gains: list[float] = []
        for item in run:
            moment = second_moment(init, item.layer)
            gain = layer_gain(item, moment, last=False) if moment is not None else None
            if gain is None or not isinstance(item.repeat, int):
                break
            gains.append(gain)
        else:
            # a norm or residual after a repeated layer resets the stack after every copy
            repeats = [1 if item.reset else item.repeat for item in run]
            depth = sum(repeats)
            total = math.prod(theory.compound(g, r) for g, r in zip(gains, repeats))
            found.append(Stack(network, run, gains, depth, total))
    return found


def _layer_moments(facts: FileFacts) -> dict[int, float]:
    """E[W^2] of each layer's weight after every init of the file (the last init wins)."""
    return facts.derived("moments", lambda: _moments(facts))


def _moments(facts: FileFacts) -> dict[int, float]:
    moments: dict[int, float] = {}
    for init in sorted(facts.inits, key=lambda item: item.sequence):
        if init.target is None or init.target.role != "weight":
            continue
        for layer in facts.reach(init):
            moment = second_moment(init, layer)
            if moment is not None:
                moments[id(layer)] = moment
    return moments


def exploding_chain(facts: FileFacts, layer: Layer, max_gain: float) -> Stack | None:
    """The run of consecutive layers around ``layer``, each above ``max_gain``, across inits."""
    moments = _layer_moments(facts)

    def gain(step: Step) -> float | None:
        moment = moments.get(id(step.layer))
        if moment is None:
            return None
        value = layer_gain(step, moment, last=False)
        return value if value is not None and value > max_gain and isinstance(step.repeat, int) else None

    for network in networks_of(facts):
        step = network.step_of(layer)
        if step is None or gain(step) is None:
            continue
        members = {id(s.layer) for s in network.steps if gain(s) is not None}
        run = network.run(step, members)
        repeats = [1 if s.reset else s.repeat for s in run]
        if sum(repeats) < 2:
            continue
        gains = [gain(s) or 0.0 for s in run]
        total = math.prod(theory.compound(g, r) for g, r in zip(gains, repeats))
        return Stack(network, run, gains, sum(repeats), total)
    return None
