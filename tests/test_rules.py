"""Each rule on small snippets: exact codes, lines, messages and predicted numbers."""

from __future__ import annotations

import math

import pytest

from conftest import ROOT, codes_and_lines, lint
from initlint import check_source


def test_seed_unstable_model_gain_per_layer_at_hidden_128():
    text = (ROOT / "examples" / "seed_models.py").read_text()
    findings = check_source(text)
    assert [(f.code, f.location.line, f.location.column) for f in findings] == [
        ("IL201", 34, 9),
        ("IL201", 36, 9),
    ]
    layer1, layer2 = findings
    assert layer2.details["predicted_gain"] == pytest.approx(128 * 100**2 / 3)
    assert layer2.message == (
        "U(-100, 100) on `self.layer2.weight` gives E[W^2] = 3.3e3; at fan-in 128 (hidden_dim) "
        "the variance gain is 4.3e5 per layer (std x650); PyTorch's default gives 0.33"
    )
    # layer1's fan-in is the argument input_dim, which has no default: the message says so
    assert layer1.details["fan_in"] is None
    assert layer1.details["gain_per_fan_in"] == pytest.approx(10000 / 3)
    assert "fan-in `input_dim`" in layer1.message
    assert "above 10 for every n >= 1" in layer1.message
    assert layer1.effect.value == "exploding"


def test_simple_model_with_default_init_is_silent():
    text = (ROOT / "examples" / "seed_models.py").read_text()
    assert all(f.location.line > 28 for f in check_source(text))


@pytest.mark.parametrize(
    "imports, call",
    [
        ("import torch.nn as nn", "nn.init.uniform_(self.fc.weight, -1, 1)"),
        ("import torch", "torch.nn.init.uniform_(self.fc.weight, -1, 1)"),
        ("from torch import nn", "nn.init.uniform_(self.fc.weight, -1, 1)"),
        ("from torch.nn import init", "init.uniform_(self.fc.weight, -1, 1)"),
        ("import torch.nn.init as I", "I.uniform_(self.fc.weight, -1, 1)"),
        ("from torch.nn.init import uniform_", "uniform_(self.fc.weight, -1, 1)"),
        ("from torch.nn.init import uniform_ as u", "u(self.fc.weight, -1, 1)"),
        ("from ... import initialization as init", "init.uniform_(self.fc.weight, -1, 1)"),
        ("", "self.fc.weight.data.uniform_(-1, 1)"),
        ("", "self.fc.weight.uniform_(-1, 1)"),
    ],
)
def test_every_alias_spelling_resolves(imports, call):
    source = f"""
import torch.nn as nn
{imports}

class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1024, 1024)
        {call}
"""
    findings = [f for f in check_source(source) if f.code != "IL502"]
    assert [(f.code, f.location.line) for f in findings] == [("IL201", 9)]
    # U(-1, 1): E[W^2] = 1/3, fan-in 1024 -> 341
    assert findings[0].details["predicted_gain"] == pytest.approx(1024 / 3)


def test_unrelated_uniform_is_not_an_init():
    assert codes_and_lines(
        """
        import numpy as np
        import torch.nn as nn

        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(1024, 1024)
                noise = np.random.uniform(-100, 100)
                self.scale = self.fc.weight.new_empty(3).uniform_(-100, 100)
        """
    ) == []


def test_normal_default_std_on_wide_layer_and_embedding():
    findings = lint(
        """
        import torch.nn as nn

        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(30000, 512)
                self.fc = nn.Linear(4 * 512, 512)
                nn.init.normal_(self.emb.weight)
                nn.init.normal_(self.fc.weight, 0.0, 1.0)
        """
    )
    assert [(f.code, f.location.line) for f in findings] == [("IL202", 10)]
    assert findings[0].details["predicted_gain"] == 2048
    assert findings[0].message == (
        "N(0, 1^2) on `self.fc.weight` gives E[W^2] = 1; at fan-in 2048 (4 * 512) the variance "
        "gain is 2048 per layer (std x45); PyTorch's default gives 0.33"
    )


def test_conv_fan_in_counts_kernel_and_groups():
    findings = lint(
        """
        import torch.nn as nn

        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.dw = nn.Conv2d(64, 64, kernel_size=(3, 3), groups=64)
                self.pw = nn.Conv2d(64, 128, 1)
                nn.init.uniform_(self.dw.weight, -2, 2)
                nn.init.uniform_(self.pw.weight, -2, 2)
        """
    )
    # E[W^2] = 4/3; depthwise fan-in 9 -> 12; pointwise fan-in 64 -> 85.3
    assert [round(f.details["predicted_gain"], 1) for f in findings] == [12.0, 85.3]


def test_bias_and_small_ranges_are_not_scale_findings():
    assert codes_and_lines(
        """
        import math
        import torch.nn as nn

        class M(nn.Module):
            def __init__(self, hidden=256):
                super().__init__()
                self.fc = nn.Linear(hidden, hidden)
                bound = 1 / math.sqrt(hidden)
                nn.init.uniform_(self.fc.weight, -bound, bound)
                nn.init.uniform_(self.fc.bias, -100, 100)
        """
    ) == []


def test_threshold_is_configurable():
    from initlint.config import Settings
    from initlint.rules.base import Thresholds

    source = """
import torch.nn as nn

class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(100, 100)
        nn.init.normal_(self.fc.weight, std=0.2)
"""
    assert [f.code for f in check_source(source)] == []  # gain 4 <= 10
    strict = Settings(thresholds=Thresholds(max_gain=2.0))
    assert [f.code for f in check_source(source, settings=strict)] == ["IL202"]


def test_constant_hidden_layer_message():
    findings = lint(
        """
        import torch.nn as nn
        import torch.nn.functional as F

        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(100, 64)
                self.fc2 = nn.Linear(64, 10)
                nn.init.constant_(self.fc1.weight, 0.5)

            def forward(self, x):
                return self.fc2(F.relu(self.fc1(x)))
        """
    )
    assert len(findings) == 1
    assert findings[0].message == (
        "`self.fc1.weight` is set to the constant 0.5: all 64 units of `fc1` compute the same "
        "output and get the same gradient, and its output feeds only other layers, so they stay "
        "(nearly) identical; variance gain 25 per layer"
    )
    assert findings[0].details["predicted_gain"] == 25.0


@pytest.mark.parametrize(
    "body, forward",
    [
        ("self.norm = nn.LayerNorm(64)\n        self.fc = nn.Linear(64, 64)\n"
         "        nn.init.ones_(self.norm.weight)", "self.fc(self.norm(x))"),
        ("self.bn1 = norm_layer(64)\n        self.conv = nn.Conv2d(64, 64, 3)\n"
         "        nn.init.constant_(self.bn1.weight, 1.0)", "self.conv(self.bn1(x))"),
        ("self.base = nn.Linear(64, 64)\n        self.lora_A = nn.Linear(64, 8)\n"
         "        self.lora_B = nn.Linear(8, 64)\n        nn.init.zeros_(self.lora_B.weight)",
         "self.base(x) + self.lora_B(self.lora_A(x))"),
        ("self.proj = nn.Linear(64, 64)\n        self.out_proj = nn.Linear(64, 64)\n"
         "        nn.init.zeros_(self.out_proj.weight)", "x + self.out_proj(torch.relu(self.proj(x)))"),
        ("self.fc1 = nn.Linear(64, 256)\n        self.fc2 = nn.Linear(256, 64)\n"
         "        nn.init.zeros_(self.fc2.weight)", "self.fc2(torch.relu(self.fc1(x)))"),
        ("self.fc = nn.Linear(64, 64)\n        self.gate = nn.Parameter(torch.zeros(1))\n"
         "        nn.init.zeros_(self.gate)", "x + self.gate * self.fc(x)"),
        ("self.fc = nn.Linear(64, 64)\n        self.film = nn.Linear(16, 128)\n"
         "        nn.init.zeros_(self.film.weight)",
         "self.fc(x) * (1 + self.film(c)[:, :64]) + self.film(c)[:, 64:]"),
    ],
)
def test_legitimate_constant_inits_are_silent(body, forward):
    """Norm scales; zeros whose output feeds a residual sum, a gate or the model's output."""
    source = f"""
import torch
import torch.nn as nn

class Block(nn.Module):
    def __init__(self, norm_layer=nn.BatchNorm2d):
        super().__init__()
        {body}

    def forward(self, x, c):
        return {forward}
"""
    assert check_source(source) == []


def test_the_same_zero_on_a_hidden_layer_is_a_finding():
    source = """
import torch
import torch.nn as nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 256)
        self.fc2 = nn.Linear(256, 64)
        nn.init.zeros_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""
    assert [(f.code, f.location.line) for f in check_source(source)] == [("IL101", 10)]


def test_parameter_loop_with_filter_is_not_all_parameters():
    assert codes_and_lines(
        """
        import torch.nn as nn

        def init(model):
            for name, p in model.named_parameters():
                if "bias" in name:
                    nn.init.zeros_(p)
            for p in model.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)
                else:
                    p.data.zero_()
        """
    ) == []


def test_seed_zero_initialization_is_all_parameters():
    findings = lint(
        """
        import torch
        import torch.nn as nn

        def zero_initialization(model):
            with torch.no_grad():
                for param in model.parameters():
                    param.zero_()

        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        zero_initialization(model)
        """
    )
    assert [(f.code, f.location.line, f.effect.value) for f in findings] == [
        ("IL102", 8, "symmetry")
    ]
    assert findings[0].message.startswith("every parameter of `model` (4 tensors) is set to 0 here")


def test_deprecated_alias_message_and_every_alias():
    from initlint.model.torchlib.init_fns import DEPRECATED

    lines = "\n".join(f"nn.init.{name}(w)" for name in sorted(DEPRECATED))
    findings = check_source("import torch.nn as nn\n" + lines + "\n")
    assert [f.code for f in findings] == ["IL501"] * 11
    assert findings[0].message == (
        "`nn.init.constant` is deprecated in favour of `nn.init.constant_` and warns on every call"
    )


def test_suppression_by_code_prefix_and_bare_noqa():
    source = """
import torch.nn as nn
nn.init.normal(w)  # noqa: IL5
nn.init.uniform(w)  # NOQA
nn.init.eye(w)  # noqa: IL201
"""
    assert [(f.code, f.location.line) for f in check_source(source)] == [("IL501", 5)]


def test_file_level_noqa_skips_the_file():
    assert check_source("# initlint: noqa\nimport torch.nn as nn\nnn.init.normal(w)\n") == []


def test_syntax_error_raises_value_error_from_api():
    with pytest.raises(ValueError, match=r"^<string>: syntax error at line 1, column 7: invalid syntax$"):
        check_source("def f(:\n  nn.init.zeros_(w)\n")


def test_finding_spans_the_call():
    (finding,) = lint(
        """
        import torch.nn as nn
        nn.init.normal(
            w,
        )
        """
    )
    loc = finding.location
    assert (loc.line, loc.column, loc.end_line, loc.end_column) == (3, 1, 5, 2)


def test_inplace_tensor_init_outside_no_grad_is_il502_only_without_data():
    source = """
import torch.nn as nn

class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1024, 1024)
        self.fc.weight.uniform_(-1, 1)
        self.fc.weight.data.uniform_(-1, 1)
"""
    assert [(f.code, f.location.line) for f in check_source(source) if f.code == "IL502"] == [
        ("IL502", 8)
    ]


def test_a_cut_truncation_that_still_explodes_is_exploding_not_vanishing():
    """trunc_normal_(std=3) cut at +-2 draws std 1.1: smaller than asked, yet at fan-in 384 the
    signal explodes; the effect is what happens to the signal."""
    text = (
        "import torch.nn as nn\n\n\nclass Mix(nn.Module):\n    def __init__(self, dim=384):\n"
        "        super().__init__()\n        self.mix = nn.Linear(dim, dim)\n        self.out = nn.Linear(dim, dim)\n"
        "        nn.init.trunc_normal_(self.mix.weight, std=3.0)\n\n    def forward(self, x):\n"
        "        return self.out(self.mix(x).relu())\n"
    )
    (finding,) = check_source(text)
    assert (finding.code, finding.effect.value, finding.location.line) == ("IL205", "exploding", 9)
    assert finding.message == (
        "trunc_normal_(std=3, a=-2, b=2) on `self.mix.weight` keeps only values in [-2, 2]; these bounds are "
        "absolute, not in std units, so the drawn std is 1.1, x0.37 of the requested 3; at fan-in 384 that is "
        "still a variance gain of 480 per layer (std x22): the signal explodes"
    )


@pytest.mark.parametrize(
    "names, text",
    [
        (["fc.weight"], "`fc.weight`"),
        (["a", "b"], "`a` and `b`"),
        (["a", "b", "c", "d"], "`a`, `b`, `c` and `d`"),
        ([f"convs.{i}.weight" for i in range(74)],
         "`convs.0.weight`, `convs.1.weight`, `convs.2.weight`, `convs.3.weight` and 70 more"),
    ],
)
def test_a_message_names_four_tensors_at_most(names, text):
    from initlint.rules.support import listed

    assert listed(names) == text
