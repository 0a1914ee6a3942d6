"""Rules for init bugs real projects shipped (issue 11): exact codes, lines, messages, numbers,
and the legitimate twin of each that must stay silent."""

from __future__ import annotations

import pytest

from conftest import codes_and_lines, lint
from initlint import check_source

HEADER = """
import math
import torch
import torch.nn as nn
"""


def test_uninitialised_parameter_names_the_tensor_and_its_allocation():
    findings = lint(HEADER + """
class Bilinear(nn.Module):
    def __init__(self, n_in=64, n_out=32):
        super().__init__()
        self.weight = nn.Parameter(torch.Tensor(n_out, n_in))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.weight.t() + self.bias
""")
    assert [(f.code, f.location.line, f.location.column) for f in findings] == [("IL208", 9, 36)]
    (finding,) = findings
    assert finding.effect.value == "exploding"
    assert finding.message == (
        "`weight` is allocated by torch.Tensor and never written before the model uses it: its values are "
        "whatever memory held (zeros, huge values or NaN), not an init; no reset_parameters(), apply() or "
        "init call reaches it"
    )
    assert finding.details["tensors"] == ["weight"]
    assert finding.prediction.model == "Bilinear"
    assert finding.prediction.uninitialised is True


def test_reset_parameters_override_that_writes_nothing():
    findings = lint(HEADER + """
class MaskedLinear(nn.Linear):
    def reset_parameters(self):
        pass
""")
    assert [(f.code, f.location.line) for f in findings] == [("IL208", 7)]
    assert findings[0].message == (
        "`MaskedLinear.reset_parameters` overrides nn.Linear's and never writes `weight` and `bias`: "
        "nn.Linear.__init__ allocates them with torch.empty and relies on reset_parameters() to fill them, "
        "so the layer trains from whatever memory held (zeros, huge values or NaN)"
    )
    assert findings[0].fix.message == "write every parameter in reset_parameters() (or call super().reset_parameters() first)"


def test_override_that_writes_only_the_weight_names_the_bias():
    findings = lint(HEADER + """
class Conv(nn.Conv2d):
    def reset_parameters(self):
        nn.init.kaiming_normal_(self.weight, nonlinearity="relu")
""")
    assert [(f.code, f.location.line) for f in findings] == [("IL208", 7)]
    assert "never writes `bias`:" in findings[0].message


@pytest.mark.parametrize(
    "body",
    [
        # reset_parameters() called from __init__
        """
        self.w = nn.Parameter(torch.empty(8, 8))
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.xavier_uniform_(self.w)
""",
        # a loop over parameters()
        """
        self.w = nn.Parameter(torch.empty(8, 8))
        for p in self.parameters():
            nn.init.normal_(p, std=0.1)
""",
        # apply(fn) that writes it
        """
        self.w = nn.Parameter(torch.empty(8, 8))
        self.apply(lambda m: nn.init.orthogonal_(m.w) if isinstance(m, Model) else None)
""",
        # a write under a test the evaluator cannot decide leaves the values open
        """
        self.w = nn.Parameter(torch.empty(8, 8))
        if torch.cuda.is_available():
            nn.init.normal_(self.w, std=0.1)
""",
        # code the evaluator cannot see gets the tensor
        """
        self.w = nn.Parameter(torch.empty(8, 8))
        some_library.initialise(self.w)
""",
        # torch.randn has values
        """
        self.w = nn.Parameter(torch.randn(8, 8) / math.sqrt(8))
""",
    ],
)
def test_any_write_that_reaches_an_empty_parameter_keeps_it_silent(body):
    source = HEADER + "import some_library\n\nclass Model(nn.Module):\n    def __init__(self):\n        super().__init__()" + body + """
    def forward(self, x):
        return x @ self.w
"""
    assert codes_and_lines(source) == []


def test_empty_parameter_never_read_is_not_reported():
    assert codes_and_lines(HEADER + """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.empty(8, 8))
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(x)
""") == []


def test_truncation_in_absolute_units_that_cuts_nothing():
    findings = lint(HEADER + """
class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(256, 10)
        nn.init.trunc_normal_(self.fc.weight, std=0.01, a=-2, b=2)

    def forward(self, x):
        return self.fc(x)
""")
    assert [(f.code, f.location.line) for f in findings] == [("IL209", 10)]
    (finding,) = findings
    assert finding.effect.value == "misuse"
    assert finding.details["sigmas"] == pytest.approx(200)
    assert finding.message == (
        "trunc_normal_(std=0.01, a=-2, b=2) on `self.fc.weight` cuts at a=-2, b=2, which are absolute values: "
        "200 stds from the mean, where no draw of N(0, 0.01^2) ever lands, so nothing is truncated and this is "
        "a plain normal_; truncation at +-2 std (TensorFlow's truncated_normal, timm's trunc_normal_tf_) needs "
        "the bounds scaled with the std"
    )
    assert finding.fix.message.startswith("pass the bounds in absolute units: a=-2*std, b=2*std (here a=-0.02, b=0.02)")


def test_default_truncation_bounds_at_100_stds_are_reported_with_the_scaled_fix():
    # timm's and BERT's idiom: the default bounds a=-2, b=2 are absolute, +-100 std at std .02
    findings = lint(HEADER + """
class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(256, 10)
        nn.init.trunc_normal_(self.fc.weight, std=0.02)

    def forward(self, x):
        return self.fc(x)
""")
    assert [(f.code, f.location.line) for f in findings] == [("IL209", 10)]
    (finding,) = findings
    assert finding.details["sigmas"] == pytest.approx(100)
    assert finding.message == (
        "trunc_normal_(std=0.02, a=-2, b=2) on `self.fc.weight` cuts at the default bounds a=-2, b=2, which are "
        "absolute values: 100 stds from the mean, where no draw of N(0, 0.02^2) ever lands, so nothing is "
        "truncated and this is a plain normal_; truncation at +-2 std (TensorFlow's truncated_normal, timm's "
        "trunc_normal_tf_) needs the bounds scaled with the std"
    )
    assert finding.fix.message.startswith("pass the bounds in absolute units: a=-2*std, b=2*std (here a=-0.04, b=0.04)")


@pytest.mark.parametrize(
    "call",
    [
        "nn.init.trunc_normal_(self.fc.weight, std=2.0)",  # default bounds at 1 std: they cut (IL205)
        # timm's TensorFlow twin: its bounds are in std units (timm's trunc_normal_ in this form fires)
        "from timm.layers import trunc_normal_tf_; trunc_normal_tf_(self.fc.weight, std=0.02)",
        "nn.init.trunc_normal_(self.fc.weight, std=0.02, a=-0.04, b=0.04)",
        "nn.init.trunc_normal_(self.fc.weight, std=0.5, a=-2, b=2)",  # 4 stds: it cuts
    ],
)
def test_truncation_that_cuts_or_is_in_std_units_is_silent(call):
    assert "IL209" not in [code for code, _ in codes_and_lines(HEADER + f"""
class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 10)
        {call}

    def forward(self, x):
        return self.fc(x)
""")]


WN_HEADER = HEADER + """import torch.nn.functional as F
from torch.nn.utils import weight_norm
"""


def test_write_to_weight_norms_recomputed_weight_is_thrown_away():
    findings = lint(WN_HEADER + """
class Vocoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.ups = nn.ModuleList([weight_norm(nn.ConvTranspose1d(16, 8, 4, 2, 1)) for _ in range(2)])
        for m in self.ups:
            m.weight.data.normal_(0.0, 0.01)

    def forward(self, x):
        for up in self.ups:
            x = up(x)
        return x
""")
    assert [(f.code, f.location.line) for f in findings] == [("IL508", 13)]
    (finding,) = findings
    assert finding.effect.value == "misuse"
    assert finding.details == {"kind": "write-to-derived", "tensors": ["ups.0.weight", "ups.1.weight"]}
    assert finding.message == (
        "`m.weight.data.normal_(0.0, 0.01)` writes `ups.0.weight` and `ups.1.weight`, which weight_norm computes "
        "from `weight_g` and `weight_v` before every forward: the write is thrown away and the layers keep "
        "`weight_v`'s values (PyTorch's default kaiming_uniform_(a=sqrt(5)))"
    )


def test_write_to_the_weight_norm_parametrizations_weight_names_its_parameters():
    # torch.nn.utils.parametrizations.weight_norm: the weight is computed whenever it is read,
    # from parametrizations.weight.original0 and original1 (no weight_g, weight_v); a codec's
    # apply(init_weights) reaches every convolution, and the message names four at most
    findings = lint(HEADER + """from torch.nn.utils.parametrizations import weight_norm


def init_weights(m):
    if isinstance(m, nn.Conv1d):
        nn.init.normal_(m.weight, std=0.02)
        nn.init.constant_(m.bias, 0)


class Codec(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([weight_norm(nn.Conv1d(8, 8, 3, padding=1)) for _ in range(6)])
        self.apply(init_weights)

    def forward(self, x):
        for conv in self.convs:
            x = conv(x)
        return x
""")
    assert [(f.code, f.location.line) for f in findings] == [("IL508", 10)]
    (finding,) = findings
    assert finding.details == {"kind": "write-to-derived", "tensors": [f"convs.{i}.weight" for i in range(6)]}
    assert finding.message == (
        "`nn.init.normal_(m.weight, std=0.02)` writes `convs.0.weight`, `convs.1.weight`, `convs.2.weight`, "
        "`convs.3.weight` and 2 more, which the weight_norm parametrization computes from `parametrizations.weight.original0` and "
        "`parametrizations.weight.original1` whenever it is read: the write is thrown away and the layers keep "
        "`parametrizations.weight.original1`'s values (PyTorch's default kaiming_uniform_(a=sqrt(5)))"
    )
    assert finding.fix is not None and finding.fix.message == (
        "initialise the layer before wrapping it in weight_norm, or write `parametrizations.weight.original1` "
        "(and `parametrizations.weight.original0`) instead"
    )


def test_rebound_loop_variable_and_dropped_copy():
    findings = lint(WN_HEADER + """
class Cosine(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)
        for W in self.fc.parameters():
            W = F.normalize(W, dim=-1)
        nn.init.zeros_(self.fc.weight.detach().clone())

    def forward(self, x):
        return self.fc(x)
""")
    assert [(f.code, f.location.line) for f in findings] == [("IL508", 13), ("IL508", 14)]
    rebind, copy = findings
    assert rebind.message == (
        "`W = F.normalize(W, dim=-1)` rebinds the loop variable `W` to a new tensor (the result of F.normalize): "
        "`fc.weight` and `fc.bias` keep their values, since assigning to a name never changes the tensor it held"
    )
    assert copy.message == (
        "`nn.init.zeros_(self.fc.weight.detach().clone())` writes a copy of `fc.weight` and drops it: the "
        "parameter keeps its values (PyTorch's default kaiming_uniform_(a=sqrt(5)))"
    )


@pytest.mark.parametrize(
    "body",
    [
        # init before the wrap: weight_v holds it
        "conv = nn.Conv1d(8, 8, 3)\n        nn.init.normal_(conv.weight, std=0.1)\n        self.c = weight_norm(conv)",
        # the direction parameter itself
        "self.c = weight_norm(nn.Conv1d(8, 8, 3))\n        nn.init.normal_(self.c.weight_v, std=0.1)",
        # written back through .data
        "self.c = nn.Conv1d(8, 8, 3)\n        for W in self.c.parameters():\n            W.data = F.normalize(W.data, dim=0)",
        # a kept copy copied back
        "self.c = nn.Conv1d(8, 8, 3)\n        t = self.c.weight.data.clone()\n        t.normal_(0, 0.1)\n"
        "        self.c.weight.data.copy_(t)",
        # the rebound value becomes the parameter
        "self.c = nn.Conv1d(8, 8, 3)\n        for W in self.c.parameters():\n            W = W * 0.5\n"
        "            self.c.weight = nn.Parameter(W)",
        # a checkpoint replaces the values
        "self.c = weight_norm(nn.Conv1d(8, 8, 3))\n        self.c.weight.data.normal_(0, 0.1)\n"
        "        self.load_state_dict(torch.load('ckpt.pt'))",
    ],
)
def test_writes_that_reach_the_parameter_are_silent(body):
    source = WN_HEADER + f"""
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        {body}

    def forward(self, x):
        for W in self.c.parameters():
            W = W.clone().mul_(2.0)
        return self.c(x)
"""
    assert "IL508" not in [code for code, _ in codes_and_lines(source)]


def test_lora_with_both_factors_random_names_factors_rank_and_base():
    findings = lint(HEADER + """
class LoRALinear(nn.Module):
    def __init__(self, r=8):
        super().__init__()
        self.base = nn.Linear(256, 128)
        self.base.requires_grad_(False)
        self.lora_A = nn.Linear(256, r, bias=False)
        self.lora_B = nn.Linear(r, 128, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(self.drop(x))) * 2.0
""")
    assert [(f.code, f.location.line) for f in findings] == [("IL509", 12)]
    (finding,) = findings
    assert finding.details == {"down": "lora_A.weight", "up": "lora_B.weight", "rank": 8, "in_features": 256,
                               "out_features": 128, "base": "base.weight"}
    assert finding.message == (
        "`lora_A` (kaiming_uniform_(nonlinearity='leaky_relu', a=2.2)) and `lora_B` (PyTorch's default "
        "kaiming_uniform_(a=sqrt(5))) both start random; the forward adds lora_B(lora_A(x)) (rank 8: 256 -> 8 -> "
        "128) to `base`'s output (frozen), so the adapter changes the base model's output before any training "
        "(LoRA's standard: B = 0, A random)"
    )
    assert finding.fix.message == "zero the up factor: nn.init.zeros_(lora_B.weight) (keep lora_A.weight random)"


def test_low_rank_product_found_in_forward_whatever_the_names():
    findings = lint(HEADER + """
class Delta(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(64, 64).requires_grad_(False)
        self.p = nn.Parameter(torch.randn(64, 4) * 0.01)
        self.q = nn.Parameter(torch.randn(4, 64) * 0.01)

    def forward(self, x):
        return self.proj(x) + x @ self.p @ self.q
""")
    assert [(f.code, f.location.line, f.details["rank"]) for f in findings] == [("IL509", 11, 4)]
    assert "the forward adds q(p(x)) (rank 4: 64 -> 4 -> 64) to `proj`'s output (frozen)" in findings[0].message


@pytest.mark.parametrize(
    "init, forward",
    [
        ("nn.init.zeros_(self.lora_B.weight)", "self.base(x) + self.lora_B(self.lora_A(x))"),  # the standard
        ("nn.init.zeros_(self.lora_A.weight)", "self.base(x) + self.lora_B(self.lora_A(x))"),  # the reverse
        ("pass", "self.base(x) + self.lora_B(torch.relu(self.lora_A(x)))"),  # a nonlinear bottleneck
    ],
)
def test_standard_lora_and_other_designs_are_silent(init, forward):
    assert "IL509" not in [code for code, _ in codes_and_lines(HEADER + f"""
class LoRALinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.base = nn.Linear(64, 64)
        self.lora_A = nn.Linear(64, 4, bias=False)
        self.lora_B = nn.Linear(4, 64, bias=False)
        {init}

    def forward(self, x):
        return {forward}
""")]


def test_factorised_path_next_to_a_trained_layer_is_a_design():
    assert codes_and_lines(HEADER + """
class Factorised(nn.Module):
    def __init__(self):
        super().__init__()
        self.skip = nn.Linear(64, 64)
        self.down = nn.Linear(64, 4)
        self.up = nn.Linear(4, 64)

    def forward(self, x):
        return self.skip(x) + self.up(self.down(x))
""") == []


def test_init_method_that_no_class_defines():
    findings = lint(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.init_weights()

    def forward(self, x):
        return self.fc(x)
""")
    assert [(f.code, f.location.line, f.location.column) for f in findings] == [("IL510", 10, 9)]
    (finding,) = findings
    assert finding.message == (
        "`self.init_weights()` is called while `Net` is built, but neither `Net` nor nn.Module defines "
        "`init_weights`: constructing the model raises AttributeError"
    )
    assert finding.details == {"method": "init_weights", "class": "Net"}
    assert finding.prediction.raises == "has no attribute"


def _package(tmp_path, base: str, model: str):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text(base)
    path = package / "model.py"
    path.write_text(model)
    return path


MODEL = """import torch.nn as nn
from .base import BaseNet


class Net(BaseNet):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.init_weights()

    def forward(self, x):
        return self.fc(x)
"""


def test_a_base_class_in_another_file_defines_the_init_method(tmp_path):
    from initlint import check_source

    base = "import torch.nn as nn\n\n\nclass BaseNet(nn.Module):\n    def init_weights(self):\n        pass\n"
    path = _package(tmp_path, base, MODEL)
    assert check_source(MODEL, str(path)) == []


def test_a_base_class_in_another_file_that_lacks_it(tmp_path):
    from initlint import check_source

    base = "import torch.nn as nn\n\n\nclass BaseNet(nn.Module):\n    def reset(self):\n        pass\n"
    path = _package(tmp_path, base, MODEL)
    findings = check_source(MODEL, str(path))
    assert [(f.code, f.location.line) for f in findings] == [("IL510", 9)]
    assert "neither `Net`, its bases (BaseNet), nor nn.Module defines `init_weights`" in findings[0].message


def test_a_library_base_class_leaves_the_method_open():
    assert codes_and_lines(HEADER + """
from mmcv.runner import BaseModule


class Net(BaseModule):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.init_weights()

    def forward(self, x):
        return self.fc(x)
""") == []


def _stack(call: str, depth: int = 6, act: str = ".tanh()") -> str:
    return HEADER + f"""
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(256, 256) for _ in range({depth})])
        for layer in self.layers:
            {call}

    def forward(self, x):
        for layer in self.layers:
            x = layer(x){act}
        return x
"""


def test_gain_read_as_a_std_vanishes_over_the_stack():
    findings = lint(_stack("nn.init.xavier_normal_(layer.weight, gain=0.02)"))
    assert [(f.code, f.location.line, f.effect.value) for f in findings] == [("IL210", 11, "vanishing")]
    (finding,) = findings
    assert finding.details["gain"] == 0.02
    assert finding.details["predicted_gain"] == pytest.approx(256 * 0.02**2 * 2 / 512)
    assert finding.details["stack_gain"] == pytest.approx((0.02**2) ** 6)
    assert finding.message == (
        "xavier_normal_(gain=0.02) on `layer.weight` (`layers.0.weight`) gives E[W^2] = 1.6e-6; at fan-in 256 the "
        "variance gain is 4e-4 per layer, x4.1e-21 over 6 layers (`layers.*` x6) with no normalization or residual "
        "between them: the signal vanishes (std x6.4e-11); a gain of 0.02 is no activation's (calculate_gain gives 1 "
        "for linear/sigmoid, 5/3 for tanh, sqrt(2) for ReLU), and reads like a std (xavier multiplies its own "
        "fan-based std by it)"
    )


def test_huge_orthogonal_gain_explodes():
    findings = lint(_stack("nn.init.orthogonal_(layer.weight, gain=10)", depth=4, act=""))
    assert [(f.code, f.effect.value) for f in findings] == [("IL210", "exploding")]
    assert findings[0].details["predicted_gain"] == pytest.approx(100)
    assert findings[0].details["stack_gain"] == pytest.approx(1e8)


@pytest.mark.parametrize(
    "call",
    [
        "nn.init.xavier_normal_(layer.weight, gain=nn.init.calculate_gain('tanh'))",
        "nn.init.orthogonal_(layer.weight, gain=5 / 3)",
        "nn.init.xavier_uniform_(layer.weight)",
    ],
)
def test_gains_an_activation_has_are_silent(call):
    assert codes_and_lines(_stack(call)) == []


def test_one_small_gain_head_is_a_design():
    assert codes_and_lines(_stack("nn.init.orthogonal_(layer.weight, gain=0.01)", depth=1)) == []


GUARDED = HEADER + """
def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        {write}


class ConvBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return self.conv(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = ConvBlock()
        self.apply(weights_init)

    def forward(self, x):
        return self.block(x)
"""


def test_class_name_guard_that_hits_a_block_without_weight():
    findings = lint(GUARDED.format(write="nn.init.normal_(m.weight, 0.0, 0.02)"))
    assert [(f.code, f.location.line, f.location.column) for f in findings] == [("IL511", 9, 25)]
    (finding,) = findings
    assert finding.message == (
        "`m.weight` is read on `block` (ConvBlock: a class of this project with no `weight`); the class-name test "
        "matched it ('Conv' is in 'ConvBlock'): init raises AttributeError when the model is built"
    )
    assert finding.details == {"attribute": "weight", "classes": ["ConvBlock"], "modules": ["block"]}
    assert finding.prediction.model == "Net"


def test_two_models_built_from_the_same_block_name_its_path_once():
    text = GUARDED.format(write="nn.init.normal_(m.weight, 0.0, 0.02)") + """

class Twin(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = ConvBlock()
        self.apply(weights_init)

    def forward(self, x):
        return self.block(x)
"""
    (finding,) = lint(text)
    assert finding.message.startswith("`m.weight` is read on `block` (ConvBlock: a class of this project with no `weight`)")
    assert finding.details["modules"] == ["block", "block"]  # one per model


@pytest.mark.parametrize(
    "write",
    [
        "if hasattr(m, 'weight'):\n            nn.init.normal_(m.weight, 0.0, 0.02)",
        "try:\n            nn.init.normal_(m.weight, 0.0, 0.02)\n        except AttributeError:\n            pass",
        "nn.init.normal_(m.conv.weight, 0.0, 0.02) if isinstance(m, ConvBlock) else nn.init.normal_(m.weight)",
    ],
)
def test_guarded_reads_and_type_tests_are_silent(write):
    assert "IL511" not in [code for code, _ in codes_and_lines(GUARDED.format(write=write))]


EXPERTS = HEADER + """
class Experts(nn.Module):
    def __init__(self, n=4, dim=16):
        super().__init__()
        self.gate_up_proj = nn.Parameter(torch.empty(n, 2 * dim, dim))

    def forward(self, x):
        return x @ self.gate_up_proj[0].t()


class MoE(nn.Module):
    def __init__(self):
        super().__init__()
        self.experts = Experts()
{parent_init}
    def forward(self, x):
        return self.experts(x)
"""


def test_a_block_is_reported_when_its_parent_leaves_it_empty_too():
    findings = lint(EXPERTS.format(parent_init=""))
    assert [(f.code, f.location.line) for f in findings] == [("IL208", 9)]


@pytest.mark.parametrize(
    "parent_init",
    [
        "        self.apply(lambda m: nn.init.normal_(m.gate_up_proj, std=0.02) if isinstance(m, Experts) else None)\n",
        "        self.post_init()\n",  # a library base class's hook (HF PreTrainedModel)
    ],
)
def test_a_block_whose_parent_initialises_it_or_may_is_silent(parent_init):
    source = EXPERTS.format(parent_init=parent_init)
    if "post_init" in parent_init:
        source = source.replace("class MoE(nn.Module):", "from transformers import PreTrainedModel\n\n\nclass MoE(PreTrainedModel):")
    assert codes_and_lines(source) == []


def test_an_init_function_that_names_the_class_and_did_not_run_leaves_it_open():
    # transformers' _init_weights, run by post_init of a library base: the entry cannot see it
    source = EXPERTS.format(parent_init="") + """

def _init_weights(module):
    if isinstance(module, Experts):
        nn.init.normal_(module.gate_up_proj, std=0.02)
"""
    assert codes_and_lines(source) == []


def test_truncation_is_reported_where_the_call_is_written_not_in_each_subclass_file(tmp_path):
    # transformers' modular files: `_init_weights` overrides run `super()._init_weights(module)`
    (tmp_path / "LICENSE").write_text("")
    base = tmp_path / "base.py"
    base.write_text(HEADER + """
class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)

    def forward(self, x):
        return self.fc(x)
""")
    sub = tmp_path / "sub.py"
    sub.write_text(HEADER + """
from base import Base


class Sub(Base):
    def __init__(self):
        super().__init__()
        self.out = nn.Linear(64, 10)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.bias, std=0.02, a=-0.04, b=0.04)
""")
    assert [(f.code, f.location.line) for f in check_source(base.read_text(), str(base))] == [("IL209", 14)]
    assert check_source(sub.read_text(), str(sub)) == []


SCRIPT = """
import torch.nn as nn
from timm.models.layers import trunc_normal_
from .layers import trunc_normal_ as project_trunc_normal_


def finetune(model, args):
    {call}
"""


@pytest.mark.parametrize("call, expected", [
    # MAE's fine-tuning script: a function nothing in the file runs, literal arguments
    ("trunc_normal_(model.head.weight, std=2e-5)", [("IL209", 8)]),
    ("nn.init.trunc_normal_(tensor=model.fc.weight, std=0.01, a=-2, b=2)", [("IL209", 8)]),
    ("nn.init.trunc_normal_(model.fc.weight, 0.0, 0.02)", [("IL209", 8)]),
    # not established: a std from the command line, bounds from a variable, a project's own function
    ("trunc_normal_(model.head.weight, std=args.init_std)", []),
    ("nn.init.trunc_normal_(model.fc.weight, std=0.02, a=-args.cut, b=args.cut)", []),
    ("project_trunc_normal_(model.head.weight, std=0.02)", []),
    ("nn.init.trunc_normal_(model.fc.weight, std=0.02, a=-0.04, b=0.04)", []),
])
def test_truncation_in_code_no_entry_runs_is_judged_from_literal_arguments(call, expected):
    assert codes_and_lines(SCRIPT.format(call=call)) == expected


def test_truncation_found_from_literals_says_what_it_read():
    (finding,) = lint(SCRIPT.format(call="trunc_normal_(model.head.weight, std=2e-5)"))
    assert finding.message.startswith(
        "trunc_normal_(std=2e-5, a=-2, b=2) on `model.head.weight` cuts at the default bounds a=-2, b=2, which are "
        "absolute values: 1e5 stds from the mean"
    )
