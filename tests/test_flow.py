"""The evaluated forward: which activation follows each layer, what ends a chain, the depth rules."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, evaluate, lint
from initlint.model.graph import chains, following_activation, role


def chain(source: str, name: str) -> list[tuple[str, str | None]]:
    """(layer path, activation after it) for every layer node of the named class's entry."""
    entry = next(e for e in evaluate(source).entries if e.name == name)
    return [
        (node.module.path, getattr(following_activation(node), "name", None))
        for node in entry.graph
        if node.op == "layer"
    ]


def runs(source: str, name: str) -> list[list[str]]:
    entry = next(e for e in evaluate(source).entries if e.name == name)
    return [[node.module.path for node in run] for run in chains(entry.graph)]


HEADER = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn import functional
"""


@pytest.mark.parametrize(
    "body, activation",
    [
        ("return self.fc2(F.relu(self.fc1(x)))", "relu"),
        ("return self.fc2(self.fc1(x).relu())", "relu"),
        ("return self.fc2(torch.tanh(self.fc1(x)))", "tanh"),
        ("h = self.fc1(x)\n        h = self.act(h)\n        return self.fc2(h)", "leaky_relu"),
        ("return self.fc2(functional.gelu(self.drop(self.fc1(x))))", "gelu"),
        ("return self.fc2(self.fc1(x).clamp(min=0))", "relu"),
        ("return self.fc2(torch.sigmoid(self.fc1(x).view(-1, 64)))", "sigmoid"),
    ],
)
def test_activation_after_a_layer_in_every_spelling(body, activation):
    source = HEADER + f"""
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.act = nn.LeakyReLU(0.2)
        self.drop = nn.Dropout(0.1)
        self.fc2 = nn.Linear(64, 1)

    def forward(self, x):
        {body}
"""
    assert chain(source, "M") == [("fc1", activation), ("fc2", None)]


def test_sequential_built_from_an_append_loop_unrolls_with_its_default_depth():
    source = HEADER + """
class M(nn.Module):
    def __init__(self, width=32, depth=5, act_layer=nn.GELU):
        super().__init__()
        layers = []
        for _ in range(depth):
            layers.append(nn.Linear(width, width))
            layers.append(act_layer())
        self.body = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x):
        return self.body(x)
"""
    assert chain(source, "M") == [(f"body.{i}", "gelu") for i in range(0, 10, 2)] + [("body.10", None)]
    assert runs(source, "M") == [[f"body.{i}" for i in range(0, 11, 2)]]


def test_norm_and_residual_end_a_chain():
    source = HEADER + """
class Block(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.bn = nn.BatchNorm1d(dim)
        self.fc2 = nn.Linear(dim, dim)
        self.fc3 = nn.Linear(dim, dim)

    def forward(self, x):
        x = F.relu(self.bn(self.fc1(x)))
        x = x + self.fc2(x)
        return self.fc3(x)
"""
    assert runs(source, "Block") == [["fc1"], ["fc2"], ["fc3"]]
    entry = next(e for e in evaluate(source).entries if e.name == "Block")
    roles = {node.module.path: role(node) for node in entry.graph if node.op == "layer"}
    assert roles == {"fc1": "hidden", "fc2": "residual", "fc3": "output"}


SEEDS = (FIXTURES / "seeds_signal.py").read_text()


def test_seed_ten_layers_at_std_001_vanish_1e_minus_20():
    (finding,) = [f for f in lint(SEEDS) if f.code == "IL203"]
    assert finding.location.line == 10
    assert finding.details["predicted_gain"] == pytest.approx(0.01)
    assert finding.details["stack_gain"] == pytest.approx(1e-20)
    assert finding.details["depth"] == 10
    assert "the variance gain is 0.01 per layer, x1e-20 over 10 layers (`layers.*` x10)" in finding.message


def test_seed_xavier_before_deep_relu_halves_per_layer():
    (finding,) = [f for f in lint(SEEDS) if f.code == "IL301"]
    assert finding.details["predicted_gain"] == pytest.approx(0.5)
    assert finding.details["depth"] == 8
    assert finding.details["stack_gain"] == pytest.approx(0.5**8)
    assert "0.5 per layer, x3.9e-3 over 8 layers (`blocks.*` x8)" in finding.message


def test_seed_he_before_tanh_doubles_the_pre_activation_variance():
    (finding,) = [f for f in lint(SEEDS) if f.code == "IL302"]
    assert finding.location.line == 48
    assert finding.details["predicted_gain"] == pytest.approx(2.0)
    assert finding.details["depth"] == 8
    assert "grows x2 per layer (std x1.4)" in finding.message


DEEP = HEADER + """
class Net(nn.Module):
    def __init__(self, width=128, depth=8):
        super().__init__()
        self.fcs = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.bns = nn.ModuleList([nn.BatchNorm1d(width) for _ in range(depth)])
        for fc in self.fcs:
            nn.init.xavier_uniform_(fc.weight)

    def forward(self, x):
        for fc, bn in zip(self.fcs, self.bns):
            x = F.relu(NORM)
        return x
"""


def test_batchnorm_makes_xavier_before_relu_moot():
    assert [f.code for f in lint(DEEP.replace("NORM", "bn(fc(x))"))] == []
    assert [f.code for f in lint(DEEP.replace("NORM", "fc(x)"))] == ["IL301"]


@pytest.mark.parametrize(
    "apply",
    [
        "self.apply(self._init)",
        "self.apply(lambda m: self._init(m))",
        "self.apply(functools.partial(self._init, std=0.01))",
        "for m in self.modules():\n            self._init(m)",
        "for layer in self.layers:\n            self._init(layer)",
        "[self._init(m) for m in self.modules()]",
        "initializer = self._init\n        self.apply(initializer)",
    ],
)
def test_every_way_of_reaching_the_layers_reaches_them(apply):
    source = HEADER + f"""
import functools

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(100, 100) for _ in range(6)])
        {apply}

    def _init(self, m, std=0.01):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
            nn.init.zeros_(m.bias)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
"""
    (finding,) = lint(source)
    assert finding.code == "IL203"
    assert finding.details["stack_gain"] == pytest.approx(1e-12)


def test_a_two_layer_residual_branch_at_std_002_is_not_vanishing():
    # nanoGPT's MLP: c_fc then c_proj at 0.02/sqrt(2 n_layer) = 0.051 over two layers
    assert [f.code for f in lint((FIXTURES / "nanogpt.py").read_text())] == []


LEGIT = (FIXTURES / "legit_flow.py").read_text()


def test_a_module_picked_by_class_name_is_not_taken_for_a_conv():
    # `elif "BatchNorm" in module.__class__.__name__: ones_(module.weight)` is a norm layer
    assert [f.code for f in lint(LEGIT)] == []


def test_parallel_branches_are_not_a_chain():
    source = HEADER + """
class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.policy = nn.Linear(64, 64)
        self.value = nn.Linear(64, 64)
        self.out = nn.Linear(64, 1)
        nn.init.zeros_(self.policy.weight)
        nn.init.zeros_(self.value.weight)

    def forward(self, x):
        return self.out(self.policy(x)), self.value(x)
"""
    assert runs(source, "TwoHeads") == [["policy", "out"], ["value"]]
    assert "IL103" not in {f.code for f in lint(source)}
    chained = source.replace("self.value(x)", "self.value(self.policy(x))")
    assert [f.code for f in lint(chained) if f.code.startswith("IL10")] == ["IL103"]


def roles(source: str, name: str) -> dict[str, str]:
    """The role of each layer node of the named class's entry, by module path."""
    entry = next(e for e in evaluate(source).entries if e.name == name)
    return {node.module.path: role(node) for node in entry.graph if node.op == "layer"}


CONCAT = HEADER + """
class Concat(nn.Module):
    def __init__(self):
        super().__init__()
        self.side = nn.Linear(8, 8)
        self.main = nn.Linear(8, 8)
        self.head = nn.Linear(16, 1)

    def forward(self, x, extra=None):
        h = self.side(x)
        return self.head(torch.cat(PARTS, dim=-1))
"""


@pytest.mark.parametrize(
    "parts, side_role",
    [
        # the main path carries the input: the side branch joins it, as in a residual sum
        ("[self.main(x), h]", "residual"),
        # both parts come from the side layer: the concatenation is looked through
        ("[h, torch.relu(h)]", "hidden"),
        # torch.cat([None, ...]) raises: the optional input left at its default says nothing
        ("[extra, h]", "unknown"),
    ],
)
def test_a_concatenation_is_a_residual_join_only_with_a_signal_of_its_own(parts, side_role):
    assert roles(CONCAT.replace("PARTS", parts), "Concat")["side"] == side_role


def test_exploding_layers_compound_across_inits():
    source = HEADER + """
class UnstableModel(nn.Module):
    def __init__(self, input_dim=128, hidden_dim=128, output_dim=2):
        super().__init__()
        self.layer1 = nn.Linear(input_dim, hidden_dim)
        self.layer2 = nn.Linear(hidden_dim, output_dim)
        nn.init.uniform_(self.layer1.weight, -100, 100)
        nn.init.uniform_(self.layer2.weight, -100, 100)

    def forward(self, inputs):
        return self.layer2(self.layer1(inputs))
"""
    first, second = lint(source)
    assert (first.code, second.code) == ("IL201", "IL201")
    gain = 128 * 100**2 / 3
    assert first.details["predicted_gain"] == pytest.approx(gain)
    assert first.details["stack_gain"] == pytest.approx(gain**2)
    assert "gain is 4.3e5 per layer (std x650), x1.8e11 over 2 layers (`layer1`, `layer2`)" in first.message


def test_min_stack_gain_is_configurable(tmp_path, cli):
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\nmin-stack-gain = 1e-30\n")
    (tmp_path / "seeds.py").write_text(SEEDS)
    result = cli(["--format", "json", "--select", "IL203,IL301", "seeds.py"], tmp_path)
    # 1e-20 over ten layers is above 1e-30 now, and so is 0.5^8 = 3.9e-3
    assert (result.exit_code, result.stdout.strip()) == (0, "[]")
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\nmin-stack-gain = 0.01\n")
    result = cli(["--format", "json", "--select", "IL203,IL301", "seeds.py"], tmp_path)
    assert [f["code"] for f in json.loads(result.stdout)] == ["IL203", "IL301"]
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\nmin-stack-gain = 2\n")
    bad = cli(["seeds.py"], tmp_path)
    assert bad.exit_code == 2
    assert "'min-stack-gain' must be a number in (0, 1), got 2" in bad.output


VGG_WIDTHS = HEADER + """
class Net(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        widths = [3, 64, 128, 256, 512, 512]
        self.convs = nn.ModuleList(
            [nn.Conv2d(a, b, 3, padding=1) for a, b in zip(widths, widths[1:])]
        )
        self.fc = nn.Linear(512 * 4 * 4, 2048)
        self.head = nn.Linear(2048, num_classes)
        for conv in self.convs:
            nn.init.normal_(conv.weight, std=0.01)
        nn.init.normal_(self.fc.weight, std=0.01)

    def forward(self, x):
        for index, conv in enumerate(self.convs):
            x = F.relu(conv(x))
        x = F.adaptive_avg_pool2d(x, 4)
        x = F.relu(self.fc(x.flatten(1)))
        return self.head(x)
"""


def test_a_comprehension_over_zip_of_widths_makes_one_layer_per_pair():
    """Each conv has its own fan-in (3*9, 64*9, ...): the forward loop applies them in turn."""
    model = evaluate(VGG_WIDTHS).entries[1].models["Net"]
    convs = list(model.modules["convs"].modules.values())
    assert [(c.path, c.args["in_channels"], c.args["out_channels"], c.repeat) for c in convs] == [
        ("convs.0", 3, 64, 1),
        ("convs.1", 64, 128, 1),
        ("convs.2", 128, 256, 1),
        ("convs.3", 256, 512, 1),
        ("convs.4", 512, 512, 1),
    ]
    assert chain(VGG_WIDTHS, "Net") == [
        ("convs.0", "relu"), ("convs.1", "relu"), ("convs.2", "relu"), ("convs.3", "relu"),
        ("convs.4", "relu"), ("fc", "relu"), ("head", None),
    ]
    assert runs(VGG_WIDTHS, "Net") == [[f"convs.{i}" for i in range(5)], ["fc", "head"]]


def test_std_001_through_convs_of_growing_width_vanishes():
    """0.5 * fan_in * 1e-4 per conv: 1.35e-3, 0.029, 0.058, 0.12, 0.23: x5.9e-8 over the five
    (the fc's own init is another stack: a pooling between them ends the chain)."""
    (finding,) = [f for f in lint(VGG_WIDTHS) if f.code == "IL203"]
    expected = 1.0
    for fan_in in (27, 576, 1152, 2304, 4608):
        expected *= 0.5 * fan_in * 1e-4
    assert finding.location.line == 17
    assert finding.details["stack_gain"] == pytest.approx(expected)
    assert finding.details["depth"] == 5
    assert finding.prediction.layers == ("convs.0", "convs.1", "convs.2", "convs.3", "convs.4")
    assert (
        "at fan-in 27 the variance gain is 1.4e-3 to 0.23 per layer, x5.9e-8 over 5 layers "
        "(`convs.*` x5)" in finding.message
    )


def test_loops_with_a_known_count_unroll_and_open_ones_stay_open():
    source = HEADER + """
class Net(nn.Module):
    def __init__(self, m, dims=(8, 16), n=4):
        super().__init__()
        self.same = nn.ModuleList([nn.Linear(32, 32) for _ in [1, 2, 3]])
        self.deep = nn.ModuleList([nn.Linear(32, 32) for _ in range(n)])
        self.open = nn.ModuleList([nn.Linear(32, 32) for _ in range(m)])
        self.unknown = nn.ModuleList([nn.Linear(a, b) for a, b in zip(dims, self.widths)])
"""
    model = evaluate(source).entries[1].models["Net"]
    assert list(model.modules["same"].modules) == ["0", "1", "2"]
    assert list(model.modules["deep"].modules) == ["0", "1", "2", "3"]
    (template,) = model.modules["open"].modules.values()
    assert template.repeat != 1 and not isinstance(template.repeat, int)
    (unknown,) = model.modules["unknown"].modules.values()
    assert not isinstance(unknown.args["in_features"], int)
