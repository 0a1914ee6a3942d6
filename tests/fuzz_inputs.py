"""Inputs for fuzzing initlint: random model files from a small grammar of PyTorch model code,
byte-level variants that must not change a finding, and mutants of real files.

Everything is a function of a ``random.Random``, so a seed reproduces a case exactly (the
benchmark, ``benchmarks/fuzz.py``, runs tens of thousands; ``tests/test_fuzz.py`` draws the
``Random`` from hypothesis). The grammar aims at what initlint reads: layers with folded sizes,
init calls with odd arguments (huge, negative, NaN, infinite, strings, starred, keywords),
``apply``/``modules()`` loops, forward chains with activations, nesting and odd whitespace.
"""

from __future__ import annotations

import random

CLASS_NAMES = ["Net", "Encoder", "Block", "MLP", "Head", "Model", "Tower", "Gate"]
SCHEMES = [
    "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_", "dirac_", "xavier_uniform_",
    "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "trunc_normal_", "orthogonal_",
    "sparse_", "uniform", "normal", "constant", "xavier_uniform", "kaiming_normal",
]
KEYWORDS = ["a", "b", "mean", "std", "gain", "val", "mode", "nonlinearity", "generator", "sparsity", "bogus"]
ACTIVATIONS = ["relu", "tanh", "sigmoid", "gelu", "leaky_relu", "silu", "elu", "selu"]
NUMBERS = [
    "0", "1", "-1", "2", "0.5", "0.01", "0.02", "-0.02", "1e-3", "100", "-100", "1e-300", "1e308",
    "1e400", "-1e400", "1" + "0" * 400, "-" + "1" + "0" * 330, "0x10", "1_000", "00", "3.5e-7",
]
ODD = [
    "float('nan')", "float('inf')", "-float('inf')", "math.nan", "math.inf", "None", "True", "False",
    "'relu'", "'tanh'", "'fan_out'", "'x'", "''", "(1, 2)", "[1]", "{}", "...", "b'x'", "lambda: 0",
    "math.sqrt(5)", "1 / math.sqrt(HIDDEN)", "2 ** 64 ** 2", "(10 ** 64) ** 64", "HIDDEN * 4",
    "nn.init.calculate_gain('relu')", "nn.init.calculate_gain(None)", "nn.init.calculate_gain(1)",
    "nn.init.calculate_gain(3.5)", "nn.init.calculate_gain((1, 2))",
    "nn.init.calculate_gain('leaky_relu', 0.2)", "nn.init.calculate_gain('leaky_relu', 'x')",
    "self.dim", "dim", "n", "-n", "n // 0", "n / 0", "math.sqrt(-1)", "int('9' * 5000)", "[] * 10",
    "x if x else 0",
]


class _Writer:
    """Lines of source with an indentation unit that may be spaces or a tab, and odd whitespace."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.unit = rng.choice(["    ", "    ", "  ", "\t", "        "])
        self.lines: list[str] = []

    def add(self, depth: int, text: str) -> None:
        rng = self.rng
        line = self.unit * depth + text
        roll = rng.random()
        if roll < 0.04:
            line += rng.choice(["   ", "\t", "  # noqa", "  # noqa: IL2", "  # comment \u2028 odd", " # \x0c"])
        elif roll < 0.06:
            line = "\x0c" + line if depth == 0 else line
        self.lines.append(line)
        if rng.random() < 0.03:
            self.lines.append(rng.choice(["", "   ", "# a comment", self.unit * depth + "pass"]))


def value(rng: random.Random, depth: int = 0) -> str:
    """An argument: a plain number, an odd one, or an expression around one."""
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(NUMBERS)
    if roll < 0.75 or depth > 2:
        return rng.choice(ODD)
    inner = value(rng, depth + 1)
    return rng.choice(
        [
            f"-{inner}", f"({inner})", f"{inner} * {value(rng, depth + 1)}", f"{inner} / 3",
            f"math.sqrt({inner})", f"float({inner})", f"int({inner})", f"abs({inner})",
            f"min({inner}, {value(rng, depth + 1)})", "(" * 30 + inner + ")" * 30,
            " + ".join([inner] * rng.randint(2, 60)),
        ]
    )


def init_call(rng: random.Random, target: str) -> str:
    """``nn.init.scheme(target, args...)`` with random positional, starred and keyword args
    (valid Python; one call in twenty is deliberately broken)."""
    module = rng.choice(["nn.init", "torch.nn.init", "init", "nn.init"])
    scheme = rng.choice(SCHEMES)
    if rng.random() < 0.08:
        return f"{target}.data.{rng.choice(['normal_', 'uniform_', 'fill_', 'zero_'])}({value(rng)})"
    positional = [target] + [value(rng) for _ in range(rng.choice([0, 0, 1, 2, 3]))]
    if rng.random() < 0.05:
        positional.append(rng.choice(["*args", "*[1, 2]", "*()"]))
    keywords = [f"{k}={value(rng)}" for k in rng.sample(KEYWORDS, rng.choice([0, 1, 1, 2, 3]))]
    if rng.random() < 0.05:
        keywords.append(rng.choice(["**kwargs", "**{'std': 0.02}", "**{}"]))
    args = positional + keywords
    if rng.random() < 0.05:  # broken on purpose: no target, a keyword first, a stray comma
        args = rng.choice([args[1:], keywords + positional, args + [","], ["x", "=", "1"]])
    return f"{module}.{scheme}({', '.join(args)})"


def _layer(rng: random.Random, fan_in: str, fan_out: str) -> str:
    kind = rng.random()
    if kind < 0.6:
        return f"nn.Linear({fan_in}, {fan_out}{rng.choice(['', ', bias=False', ', bias=True'])})"
    if kind < 0.8:
        return f"nn.Conv2d({fan_in}, {fan_out}, {rng.choice(['1', '3', '(3, 3)', 'k'])})"
    if kind < 0.9:
        return f"nn.Embedding({fan_in}, {fan_out})"
    return f"nn.Sequential(nn.Linear({fan_in}, {fan_out}), nn.{rng.choice(['ReLU', 'Tanh', 'GELU'])}())"


def _size(rng: random.Random, params: list[str]) -> str:
    roll = rng.random()
    if roll < 0.5:
        return str(rng.choice([1, 3, 16, 64, 128, 256, 512, 784, 1024, 4096]))
    if roll < 0.8 and params:
        return rng.choice(params)
    return rng.choice(["HIDDEN", "HIDDEN * 4", "self.dim", "0", "-5", "1" + "0" * 400, "float('nan')", "'x'", "n * 2"])


def model_source(rng: random.Random) -> str:
    """A random model file: imports, constants, one to three nn.Module classes."""
    out = _Writer(rng)
    if rng.random() < 0.5:
        out.add(0, "# a generated model")
    header = [
        "import math", "import torch", "import torch.nn as nn", "from torch import nn",
        "from torch.nn import init", "import torch.nn.init as init", "import torch.nn.functional as F",
    ]
    for line in rng.sample(header, rng.randint(2, len(header))):
        out.add(0, line)
    hidden = rng.choice(["128", "256", "0", "-1", "1" + "0" * 400, "float('nan')", "2 ** 10"])
    out.add(0, f"HIDDEN = {hidden}")
    for index in range(rng.randint(1, 3)):
        _module(rng, out, rng.choice(CLASS_NAMES) + str(index))
    if rng.random() < 0.2:
        out.add(0, f"model = {rng.choice(CLASS_NAMES)}0()")
        out.add(0, init_call(rng, "model.fc0.weight"))
    if rng.random() < 0.1:  # deep nesting of one kind or another
        out.add(0, rng.choice(
            [
                "x = " + "(" * rng.randint(1, 250) + "1" + ")" * rng.randint(1, 250),
                "x = " + "+".join(["1"] * rng.randint(2, 3000)),
                "x = a" + "[0]" * rng.randint(1, 700),
                "x = " + "~" * rng.randint(1, 4000) + "1",
                "x = f(  # )\n" * rng.randint(1, 300),
            ]
        ))
    return "\n".join(out.lines) + rng.choice(["\n", "\n", "", "\n\n"])


def _module(rng: random.Random, out: _Writer, name: str) -> None:
    out.add(0, "")
    out.add(0, f"class {name}({rng.choice(['nn.Module', 'nn.Module', 'torch.nn.Module', 'Base'])}):")
    params = rng.sample(["dim", "n", "hidden", "depth", "in_features", "out_features"], rng.randint(0, 3))
    signature = ", ".join(["self"] + [f"{p}={rng.choice(['64', '0', 'None', '3.5', 'HIDDEN'])}" if rng.random() < 0.7 else p for p in params])
    out.add(1, f"def __init__({signature}):")
    out.add(2, "super().__init__()")
    out.add(2, f"self.dim = {_size(rng, params)}")
    layers = []
    width = _size(rng, params)
    for index in range(rng.randint(1, 5)):
        nxt = _size(rng, params)
        out.add(2, f"self.fc{index} = {_layer(rng, width, nxt)}")
        layers.append(f"fc{index}")
        width = nxt
    if rng.random() < 0.3:
        out.add(2, f"self.blocks = nn.ModuleList([nn.Linear({width}, {width}) for _ in range({rng.choice(['3', 'n', 'depth', '100', '-1'])})])")
        layers.append("blocks")
    for _ in range(rng.randint(0, 4)):
        target = f"self.{rng.choice(layers)}.{rng.choice(['weight', 'weight', 'bias', 'data'])}"
        _statement(rng, out, 2, init_call(rng, target))
    if rng.random() < 0.4:
        out.add(2, f"self.apply({rng.choice(['self._init_weights', '_init', 'self._init_weights()', 'lambda m: None'])})")
    if rng.random() < 0.3:
        out.add(2, "for p in self.parameters():")
        out.add(3, init_call(rng, "p"))
    if rng.random() < 0.4:
        out.add(1, "")
        out.add(1, "def _init_weights(self, m):")
        out.add(2, f"if isinstance(m, {rng.choice(['nn.Linear', '(nn.Linear, nn.Conv2d)', 'nn.Embedding'])}):")
        out.add(3, init_call(rng, "m.weight"))
        if rng.random() < 0.5:
            out.add(3, "if m.bias is not None:")
            out.add(4, init_call(rng, "m.bias"))
    out.add(1, "")
    out.add(1, "def forward(self, x):")
    for layer in layers:
        act = rng.choice(ACTIVATIONS + ["", ""])
        call = f"self.{layer}(x)" if layer != "blocks" else "self.blocks[0](x)"
        if act and rng.random() < 0.5:
            out.add(2, f"x = F.{act}({call})")
        elif act:
            out.add(2, f"x = torch.{act}({call})" if act in ("relu", "tanh", "sigmoid") else f"x = {call}.{act}()")
        else:
            out.add(2, f"x = x + {call}" if rng.random() < 0.3 else f"x = {call}")
        if rng.random() < 0.05:
            out.add(2, init_call(rng, f"self.{layer}.weight"))
    out.add(2, "return x")


def _statement(rng: random.Random, out: _Writer, depth: int, text: str) -> None:
    """``text`` at ``depth``, sometimes inside ``no_grad``, a condition or a loop."""
    roll = rng.random()
    if roll < 0.15:
        out.add(depth, "with torch.no_grad():")
        out.add(depth + 1, text)
    elif roll < 0.25:
        out.add(depth, f"if {rng.choice(['True', 'self.dim > 0', 'n', 'x'])}:")
        out.add(depth + 1, text)
        if rng.random() < 0.5:
            out.add(depth, "else:")
            out.add(depth + 1, "pass")
    elif roll < 0.3:
        out.add(depth, f"for _ in range({rng.choice(['3', 'n', '0'])}):")
        out.add(depth + 1, text)
    elif roll < 0.33:
        out.add(depth, text.replace(", ", ", \\\n" + out.unit * (depth + 1), 1))
    elif roll < 0.35:
        out.add(depth, f"{text}; {text}")
    else:
        out.add(depth, text)


# --- variants that must give the same findings -------------------------------------------------


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def bom(data: bytes) -> bytes:
    return b"\xef\xbb\xbf" + data


def coding_cookie(text: str, codec: str = "latin-1") -> bytes | None:
    """The file in ``codec`` under a coding line that replaces its first line (a comment), so
    line numbers stay; None when the first line is code or the text has no form in ``codec``."""
    first, sep, rest = text.partition("\n")
    if not first.startswith("#") or "\r" in first or first.startswith("#!"):
        return None
    try:
        return (f"# -*- coding: {codec} -*-" + sep + rest).encode(codec)
    except UnicodeEncodeError:
        return None


# --- mutants of real files ----------------------------------------------------------------------


def mutate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """One to three random mutations of ``data``, and their names."""
    names = []
    for _ in range(rng.randint(1, 3)):
        name, mutation = rng.choice(MUTATIONS)
        data = mutation(rng, data)
        names.append(name)
    return "+".join(names), data


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def _delete_lines(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    start = rng.randrange(len(lines))
    del lines[start : start + rng.randint(1, 5)]
    return b"".join(lines)


def _duplicate_lines(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    start = rng.randrange(len(lines))
    chunk = lines[start : start + rng.randint(1, 8)]
    lines[start:start] = chunk * rng.randint(1, 3)
    return b"".join(lines)


def _flip_bytes(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
    return bytes(buffer)


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _insert_init(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    at = rng.randrange(len(lines))
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip(b" \t"))]
    target = rng.choice(["self.fc.weight", "m.weight", "self.proj.bias", "p", "w", "module.weight"])
    lines.insert(at, indent + init_call(rng, target).encode("utf-8") + b"\n")
    return b"".join(lines)


def _deep_nesting(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    at = rng.randrange(len(lines))
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip(b" \t"))]
    depth = rng.choice([10, 50, 99, 101, 150, 199, 201, 300, 1000])
    shape = rng.choice(
        [
            "(" * depth + "1" + ")" * depth,
            "+".join(["1"] * depth * 3),
            "a" + "[0]" * depth,
            "~" * depth + "1",
            "f" + "(1, 2)" * depth,
            " and ".join(["a"] * depth * 3),
            "not " * depth + "x",
        ]
    )
    lines.insert(at, indent + b"x = " + shape.encode() + b"\n")
    return b"".join(lines)


def _swap_lines(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"".join(lines)


MUTATIONS = [
    ("delete", _delete_lines),
    ("duplicate", _duplicate_lines),
    ("flip", _flip_bytes),
    ("truncate", _truncate),
    ("insert-init", _insert_init),
    ("insert-init", _insert_init),
    ("deep-nesting", _deep_nesting),
    ("swap", _swap_lines),
]
