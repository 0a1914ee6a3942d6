"""Building models and fitting inputs, in this process (no workers): constructor values from
use, configs, factories, and inputs from forward's signature and traced trials."""

from __future__ import annotations

import ast
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from initlint.probe.options import parse_input_text
from initlint.probe.usage import parameter_uses

torch = pytest.importorskip("torch")
nn = torch.nn
pytestmark = pytest.mark.probe

sys.path.insert(0, str(Path(__file__).parent / "probe_models"))
import legit_zoo  # noqa: E402

from initlint.probe.construct import BuildError, InferredConfig, build  # noqa: E402
from initlint.probe.shrink import shrink_config  # noqa: E402
from initlint.probe.fitting import fit_inputs  # noqa: E402
from initlint.probe.inputs import InputError  # noqa: E402


def uses(source: str):
    return parameter_uses(ast.parse(textwrap.dedent(source)).body[0])


def test_parameter_uses_tell_sizes_counts_configs_and_stored_values():
    found = uses(
        """
        def __init__(self, state_dim, action_dim, seed, config, block, k, n, act, hidden):
            self.seed = seed
            self.l1 = nn.Linear(state_dim + action_dim, 256)
            self.h = config.hidden_size
            self.blocks = nn.Sequential(*[block(64) for _ in range(n)])
            self.conv = nn.Conv2d(3, 8, kernel_size=k)
            if act == "relu":
                pass
            self.hidden = hidden
            self.fc = nn.Linear(self.hidden * 2, 10)
        """
    )
    assert found["state_dim"].passed_to == [("nn.Linear", 0)] == found["action_dim"].passed_to
    assert found["seed"].stored_only
    assert found["config"].attributes == {"hidden_size"}
    assert found["block"].called and found["n"].as_count
    assert found["k"].passed_to == [("nn.Conv2d", "kernel_size")]
    assert found["act"].compared_to == ["relu"]
    assert found["hidden"].passed_to == [("nn.Linear", 0)]  # through self.hidden


def _build(cls, **overrides):
    torch.manual_seed(0)
    return build(cls, overrides, cls.__name__)


def test_constructor_values_come_from_how_parameters_are_used():
    built = _build(legit_zoo.WN)  # WaveGlow asserts an odd kernel: kernel_size keeps its default 3
    assert built.assumed == {"n_in_channels": 64, "n_mel_channels": 64}
    seeded = _build(legit_zoo.SeededQNetwork)
    assert seeded.assumed == {"state_size": 64, "action_size": 10, "seed": 0}
    critic = _build(legit_zoo.Critic)
    assert critic.values == {"state_dim": 64, "action_dim": 10} and critic.model.l1.in_features == 74
    assert critic.notes == ["built with assumed state_dim=64, action_dim=10 (--probe-arg Critic.NAME=VALUE to change)"]


class StagedNet(nn.Module):
    """Sizes the constructor indexes, unpacks and reverses (kuangliu's ResNet, Swin, a VAE)."""

    def __init__(self, num_blocks, input_resolution, hidden_dims):
        super().__init__()
        self.resolution = input_resolution
        height, width = self.resolution
        hidden_dims.reverse()
        counts = [num_blocks[0], num_blocks[1], num_blocks[2], num_blocks[3]]
        self.stages = nn.ModuleList(nn.Sequential(*[nn.Linear(8, 8) for _ in range(n)]) for n in counts)
        self.head = nn.Linear(8, hidden_dims[0])

    def forward(self, x):
        for stage in self.stages:
            x = stage(x)
        return self.head(x)


def test_a_size_used_as_a_sequence_is_a_list_as_long_as_its_uses_need():
    found = uses(
        """
        def __init__(self, num_blocks, input_resolution, hidden_dims):
            self.resolution = input_resolution
            height, width = self.resolution
            hidden_dims.reverse()
            self.stages = [num_blocks[i] for i in range(4)] + [num_blocks[3]]
        """
    )
    assert (found["num_blocks"].as_sequence, found["num_blocks"].length) == (True, 4)
    assert (found["input_resolution"].as_sequence, found["input_resolution"].length) == (True, 2)
    assert found["hidden_dims"].as_sequence and not found["hidden_dims"].config_like
    built = _build(StagedNet)
    assert built.assumed == {"num_blocks": [2, 2, 2, 2], "input_resolution": [32, 32], "hidden_dims": [64, 64]}
    assert [len(stage) for stage in built.model.stages] == [2, 2, 2, 2]


class LambdaLayer(nn.Module):
    """A shortcut that calls what it was given (resnet_cifar10's option A): a callable, never 0."""

    def __init__(self, lambd):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return self.lambd(x)


def test_an_argument_another_method_calls_is_a_pass_through_module_never_a_number():
    assert uses(LAMBDA_INIT)["lambd"].stored_as == {"lambd"}
    built = _build(LambdaLayer)
    assert built.assumed == {"lambd": "PassThrough"}
    assert "`lambd` is a pass-through stand-in module (it returns its input; attributes get sizes by name): only " \
        "the class's own layers are measured" in built.notes
    x = torch.randn(2, 3)
    assert built.model(x) is x


LAMBDA_INIT = """
def __init__(self, lambd):
    self.lambd = lambd
"""


def test_a_value_that_sets_the_init_is_never_guessed():
    class Scaled(nn.Module):
        def __init__(self, init_std):
            super().__init__()
            self.fc = nn.Linear(8, 8)
            nn.init.normal_(self.fc.weight, std=init_std)

    with pytest.raises(BuildError, match=r"needs `init_std`.*pass --probe-arg Scaled.init_std=VALUE or a factory"):
        _build(Scaled)


def test_configs_come_from_the_module_and_are_scaled_down_with_layers_kept():
    built = _build(legit_zoo.NanoGPT)
    assert isinstance(built.model.wte, nn.Embedding) and built.model.wte.weight.shape == (50304, 128)
    assert built.notes[-1] == "built with a default GPTConfig()"  # n_embd 128 is already small

    @dataclass
    class BigConfig:
        hidden_size: int = 768
        intermediate_size: int = 3072
        num_attention_heads: int = 12
        num_hidden_layers: int = 12

    config = BigConfig()
    assert shrink_config(config) == (
        "built from a small BigConfig: hidden_size 768->192, intermediate_size 3072->768; "
        "layers kept (num_hidden_layers 12)"
    )
    assert (config.hidden_size, config.intermediate_size, config.num_hidden_layers) == (192, 768, 12)


def test_a_stand_in_config_gets_sizes_by_name_and_names_what_it_cannot_tell():
    config = InferredConfig("Net.args")
    assert (config.hidden_dim, config["num_layers"], config.get("activation", "gelu")) == (64, 2, "gelu")
    with pytest.raises(AttributeError, match=r"Net.args.activation has no value the probe can infer; pass --probe-arg Net.args=VALUE"):
        config.activation


def fitted(model, **user):
    specs = {}
    for text in user.values():
        from initlint.probe.inputs import parse_input_option

        name, spec = parse_input_option(text)
        specs[name] = spec
    fit = fit_inputs(model, specs, getattr(model, "_built_with", {}), type(model).__name__, 0, time.monotonic() + 60)
    return {spec.name: spec.describe() for spec in fit.specs}


@pytest.mark.slow
def test_inputs_for_conditioning_arguments_tuples_and_distributions():
    torch.manual_seed(0)
    assert fitted(legit_zoo.DiT()) == {"x": "Bx4x16x16 float32", "t": "B steps", "y": "B ids<10"}
    assert fitted(legit_zoo.ControlNetBlock()) == {"x": "Bx32x32x32 float32", "hint": "Bx3x32x32 float32"}
    assert fitted(legit_zoo.WN(8, 16)) == {"forward_input": "(Bx8x128 float32, Bx16x128 float32)"}
    assert fitted(legit_zoo.EmbeddingBagClassifier(100)) == {"text": "B*32 ids<100", "offsets": "B offsets"}
    assert fitted(legit_zoo.GCNLayer()) == {"x": "Bx32 float32", "adj": "BxB float32"}
    assert fitted(legit_zoo.CausalSelfAttention(legit_zoo.GPTConfig())) == {"x": "Bx16x128 float32"}
    assert fitted(legit_zoo.BareMatrix()) == {"x": "Bx48 float32"}
    assert fitted(legit_zoo.PatchViT()) == {"x": "Bx3x64x64 float32"}  # its own img_size


def test_forward_arguments_named_after_constructor_sizes():
    built = _build(legit_zoo.Critic)
    built.model._built_with = built.values
    assert fitted(built.model) == {"state": "Bx64 float32", "action": "Bx10 float32"}


def test_user_inputs_are_kept_and_a_failure_names_the_argument():
    assert fitted(legit_zoo.ConditionalMLP(), x="x=32", c="c=8") == {"x": "Bx32 float32", "c": "Bx8 float32"}

    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(100, 16)

        def forward(self, input_ids=None, attention_mask=None):
            x = self.embed(input_ids)
            return x if attention_mask is None else x * attention_mask[..., None]

    # an optional keyword is fed only when the user names it (Hugging Face's attention_mask)
    assert fitted(Masked()) == {"input_ids": "Bx32 ids<100"}
    assert fitted(Masked(), mask="attention_mask=32") == {"input_ids": "Bx32 ids<100", "attention_mask": "Bx32 float32"}

    class Picky(nn.Module):
        def forward(self, x, mask):
            raise RuntimeError(f"mask must be 3-D, got {mask.dim()}")

    with pytest.raises(InputError, match=r"RuntimeError: mask must be 3-D, got 2 \(at test_probe_build.py:\d+\); "
                                         r"the probe fed x=Bx64 float32, mask=Bx64 float32; pass --probe-input mask=SHAPE\[:dtype\]"):
        fitted(Picky())


@pytest.mark.parametrize("text, expected", [
    ("x=3x224x224", ("x", (3, 224, 224), "float32")),
    ("Net.t=:long", ("Net.t", (), "long")),
    ("ids=16:int", ("ids", (16,), "int")),
    ("h=4,64:bfloat16", ("h", (4, 64), "bfloat16")),
])
def test_probe_input_option(text, expected):
    assert parse_input_text(text) == expected


@pytest.mark.parametrize("text, message", [
    ("x", "expects NAME=SHAPE[:dtype]"),
    ("x=3xa", "SHAPE must be positive integers"),
    ("x=0x3", "SHAPE must be positive integers"),
    ("x=3:complex", "dtype must be one of float32"),
])
def test_probe_input_option_errors(text, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        parse_input_text(text)


@pytest.mark.slow
def test_an_argument_nothing_can_size_comes_from_what_the_modules_own_calls_pass():
    import spinning_core

    built = _build(spinning_core.MLPActor)
    assert built.assumed["activation"] == "Tanh" and built.assumed["hidden_sizes"] == [64, 64]
    assert "`activation` is what MLPActorCritic.__init__ passes at line 27" in built.notes
    assert isinstance(built.model.pi[1], nn.Tanh)
    with pytest.raises(BuildError, match=r"needs `block`"):  # only ever passed a local: unknown
        _build(spinning_core.Stage)


class MaskedScores(nn.Module):
    """Scores with a per-sample mask fed to masked_fill (a boolean tensor), broadcast over them."""

    def __init__(self):
        super().__init__()
        self.q = nn.Linear(16, 16)

    def forward(self, x, pad_mask):
        scores = self.q(x)
        return scores.unsqueeze(1).masked_fill(pad_mask.unsqueeze(-1), -1e9)


def test_a_forward_argument_masked_fill_reads_becomes_a_boolean_mask_with_nothing_masked():
    torch.manual_seed(0)
    assert fitted(MaskedScores()) == {"x": "Bx16 float32", "pad_mask": "Bx64 bool"}
    fit = fit_inputs(MaskedScores(), {}, {}, "MaskedScores", 0, time.monotonic() + 60)
    args, _ = fit.make(4, 0)
    assert args[1].dtype == torch.bool and not args[1].any()
