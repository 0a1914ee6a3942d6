"""transformers' PreTrainedModel protocol: config defaults, post_init's walk, the library's init."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES
from initlint import check_source
from initlint.engine import coverage_of
from initlint.model.coverage import Coverage


def test_a_std_read_from_the_config_is_judged_with_the_config_defaults_and_says_so():
    text = (FIXTURES / "hf_post_init.py").read_text()
    (finding,) = check_source(text, "hf_post_init.py")
    assert (finding.code, finding.location.line) == ("IL202", 78)
    assert finding.message == (
        "N(0, 1^2) on `module.weight` (`layers.0.weight`) gives E[W^2] = 1; at fan-in 512 (config.hidden_size) "
        "the variance gain is 512 per layer (std x23), x2.8e14 over 6 layers (`layers.*` x6) with no "
        "normalization between them; PyTorch's default gives 0.33 (model built with config = WideConfig())"
    )
    assert finding.prediction.model == "WideModel"


def test_post_init_reaches_every_init_call_of_init_weights():
    # TinyPreTrainedModel: normal_ (Linear), zeros_ (bias), normal_ (Embedding); Wide: normal_, zeros_
    assert coverage_of(FIXTURES / "hf_post_init.py") == Coverage(calls=5, known=5)


def test_without_post_init_the_init_weights_never_runs():
    text = (FIXTURES / "hf_post_init.py").read_text().replace(
        "        self.post_init()\n\n    def forward(self, x):", "\n    def forward(self, x):"
    )
    assert check_source(text, "hf_post_init.py") == []


def test_the_library_init_overwrites_what_init_wrote_before_post_init_with_an_unknown_value():
    # only the library's _init_weights runs after the author's normal_: what it writes depends
    # on transformers' version, so neither the author's N(0, 1) nor a guess is judged
    text = '''
import torch
from torch import nn
from transformers import PreTrainedModel


class Config:
    hidden_size = 512


class Deep(PreTrainedModel):
    config_class = Config

    def __init__(self, config):
        super().__init__(config)
        self.layers = nn.ModuleList([nn.Linear(config.hidden_size, config.hidden_size) for _ in range(6)])
        for layer in self.layers:
            nn.init.normal_(layer.weight, std=1.0)
        self.post_init()

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x
'''
    assert check_source(text, "deep.py") == []
    without = check_source(text.replace("        self.post_init()\n", ""), "deep.py")
    assert [(f.code, f.location.line) for f in without] == [("IL202", 18)]
    assert without[0].message.endswith("(model built with config = Config())")


def test_init_weights_runs_under_no_grad():
    text = (FIXTURES / "hf_post_init.py").read_text().replace(
        "            init.normal_(module.weight, mean=0.0, std=std)\n            if module.bias",
        "            module.weight.div_(2.0)\n            if module.bias",
    )
    assert [f.code for f in check_source(text, "hf_post_init.py")] == ["IL202"]  # no IL502


DATACLASS_CONFIG = '''
import torch.nn as nn
from transformers import PreTrainedConfig, PreTrainedModel


class TinyConfig(PreTrainedConfig):
    hidden_size: int = 512
    num_layers: int = 4
    layer_types: list[str] | None = None

    def __post_init__(self, **kwargs):
        if self.layer_types is None:
            self.layer_types = ["dense" for _ in range(self.num_layers)]
        super().__post_init__(**kwargs)


class TinyModel(PreTrainedModel):
    config_class = TinyConfig

    def __init__(self, config):
        super().__init__(config)
        self.layers = nn.ModuleList(
            [nn.Linear(config.hidden_size, config.hidden_size) for kind in config.layer_types if kind == "dense"]
        )
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=1.0)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x).relu()
        return x
'''


def test_a_transformers_5_config_is_a_dataclass_whose_post_init_runs():
    # PreTrainedConfig's __init_subclass__ makes each subclass a keyword-only dataclass: TinyConfig()
    # binds the fields and runs __post_init__, so layer_types is four "dense" and the depth is known
    (finding,) = check_source(DATACLASS_CONFIG, "tiny.py")
    assert (finding.code, finding.location.line) == ("IL202", 29)
    assert finding.message == (
        "N(0, 1^2) on `module.weight` (`layers.0.weight`) gives E[W^2] = 1; at fan-in 512 (config.hidden_size) "
        "the variance gain is 512 per layer (std x23), x4.3e9 over 4 layers (`layers.*` x4) with no "
        "normalization between them; PyTorch's default gives 0.33 (model built with config = TinyConfig())"
    )


def test_a_transformers_4_config_runs_no_post_init():
    # PretrainedConfig (transformers 4) is a plain class: nothing runs __post_init__, layer_types
    # stays None and the depth is not known; the layer's own numbers still are
    text = DATACLASS_CONFIG.replace("PreTrainedConfig", "PretrainedConfig")
    (finding,) = check_source(text, "tiny.py")
    assert finding.message == (
        "N(0, 1^2) on `module.weight` (`layers.0.weight`) gives E[W^2] = 1; at fan-in 512 (config.hidden_size) "
        "the variance gain is 512 per layer (std x23); PyTorch's default gives 0.33 (model built with config = TinyConfig())"
    )


def test_a_config_with_its_own_init_is_built_by_it():
    # dataclass() keeps an __init__ the class defines: no fields bound, no __post_init__ run
    text = DATACLASS_CONFIG.replace(
        "    def __post_init__(self, **kwargs):",
        "    def __init__(self, **kwargs):\n        super().__init__(**kwargs)\n\n    def __post_init__(self, **kwargs):",
    )
    (finding,) = check_source(text, "tiny.py")
    assert "over 4 layers" not in finding.message


ATTRIBUTE_MAP = '''
import torch
import torch.nn as nn
from transformers import PreTrainedConfig, PreTrainedModel


class MoeConfig(PreTrainedConfig):
    attribute_map = {"num_experts": "moe_num_experts", "hidden_size": "d_model"}

    d_model: int = 64
    moe_num_experts: int = 8
    moe_intermediate_size: int = 32


class Experts(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.gate_up_proj = nn.Parameter(torch.empty(config.num_experts, 2 * config.moe_intermediate_size, config.hidden_size))


class MoeModel(PreTrainedModel):
    config_class = MoeConfig

    def __init__(self, config):
        super().__init__(config)
        self.experts = Experts(config)
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, Experts):
            nn.init.normal_(module.gate_up_proj, std=0.02)

    def forward(self, x):
        return x @ self.experts.gate_up_proj[0].T
'''


def test_a_config_reads_an_attribute_map_key_as_the_attribute_it_names(tmp_path):
    # the library's __getattribute__ sends config.num_experts to moe_num_experts (8) and
    # config.hidden_size to d_model (64): the experts' tensor is (8, 64, 64), fan-in 64 * 64
    path = tmp_path / "moe.py"
    path.write_text(ATTRIBUTE_MAP)
    assert coverage_of(path) == Coverage(calls=1, known=1)


def test_an_attribute_map_of_a_class_that_is_no_transformers_config_maps_nothing(tmp_path):
    # a plain class's attribute_map is a dict like any other: config.num_experts is not set,
    # so the size stays open
    path = tmp_path / "moe.py"
    path.write_text(ATTRIBUTE_MAP.replace("class MoeConfig(PreTrainedConfig):", "class MoeConfig:"))
    assert coverage_of(path) == Coverage(calls=1, known=0)


def test_the_audio_tokenizer_base_is_a_pretrained_model_whose_post_init_walks(tmp_path):
    # transformers' PreTrainedAudioTokenizerBase derives from PreTrainedModel (it adds encode and
    # decode): post_init reaches _init_weights as for any model
    text = (FIXTURES / "hf_post_init.py").read_text()
    path = tmp_path / "hf_post_init.py"
    path.write_text(text.replace("import PreTrainedModel\n", "import PreTrainedAudioTokenizerBase as PreTrainedModel\n", 1))
    assert coverage_of(path) == Coverage(calls=5, known=5)


def test_a_base_of_modeling_utils_that_is_no_pretrained_model_walks_nothing(tmp_path):
    text = (FIXTURES / "hf_post_init.py").read_text()
    path = tmp_path / "hf_post_init.py"
    path.write_text(text.replace("import PreTrainedModel\n", "import EmbeddingAccessMixin as PreTrainedModel\n", 1))
    assert coverage_of(path) == Coverage(calls=5, known=0)


def test_a_config_field_declared_under_an_attribute_map_key_is_stored_under_the_attribute_it_names(tmp_path):
    # the dataclass __init__ sets self.num_experts = 8, which the library's __setattr__ stores as
    # moe_num_experts; reading config.num_experts goes the same way and finds it
    text = ATTRIBUTE_MAP.replace("    moe_num_experts: int = 8\n", "    num_experts: int = 8\n")
    path = tmp_path / "moe.py"
    path.write_text(text)
    assert coverage_of(path) == Coverage(calls=1, known=1)


ROPE_CONFIG = '''
import torch.nn as nn
from torch.nn import init
from transformers import PreTrainedConfig, PreTrainedModel


class NetConfig(PreTrainedConfig):
    hidden_size: int = 256
    rope_parameters: dict | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)

    def convert_rope_params_to_dict(self, **kwargs):
        if self.rope_parameters is None:
            self.rope_parameters = {"rope_type": "default", "width": 512}
        return kwargs


class Net(PreTrainedModel):
    config_class = NetConfig

    def __init__(self, config):
        super().__init__(config)
        self.proj = nn.Linear(config.rope_parameters["width"], config.hidden_size)
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, std=1.0)

    def forward(self, x):
        return self.proj(x)
'''


def test_the_library_post_init_runs_the_configs_own_convert_rope_params_to_dict():
    # transformers 5's PreTrainedConfig.__post_init__ calls self.convert_rope_params_to_dict(**kwargs)
    # when the config has rope_parameters: gemma3's fills its per-layer-type parameters there
    (finding,) = check_source(ROPE_CONFIG, "net.py")
    assert (finding.code, finding.location.line) == ("IL202", 30)
    assert finding.message == (
        "N(0, 1^2) on `module.weight` (`proj.weight`) gives E[W^2] = 1; at fan-in 512 "
        '(config.rope_parameters["width"]) the variance gain is 512 per layer (std x23); PyTorch\'s default '
        "gives 0.33 (model built with config = NetConfig())"
    )
    # the same when the config leaves __post_init__ to the library
    text = ROPE_CONFIG.replace("    def __post_init__(self, **kwargs):\n        super().__post_init__(**kwargs)\n\n", "")
    assert [f.message for f in check_source(text, "net.py")] == [finding.message]


@pytest.mark.parametrize("change", [
    # no override: the library's own version runs, which is not modelled
    ("def convert_rope_params_to_dict", "def other_hook"),
    # no rope_parameters attribute the code sets: whether the library calls it is not known
    ("    rope_parameters: dict | None = None\n", ""),
    # transformers 4's PretrainedConfig is a plain class with no __post_init__ of this kind
    ("PreTrainedConfig", "PretrainedConfig"),
])
def test_without_the_hook_the_fan_in_stays_open(change):
    text = ROPE_CONFIG.replace(*change)
    assert all("at fan-in 512" not in f.message for f in check_source(text, "net.py"))


#: transformers' own sources as a checkout of the library has them beside its models: bases
#: whose constructors run the library's machinery (here, a loop as long as its many settings)
_LIBRARY_SOURCES = {
    "modeling_utils.py": '''
from torch import nn


class PreTrainedModel(nn.Module):
    def __init__(self, config, *inputs, **kwargs):
        super().__init__()
        self.config = config
        for index in range(1_000_000):  # attention backends, hub, generation, parallelism plans ...
            self.settings = index

    def post_init(self):
        self.init_weights()
''',
    "configuration_utils.py": '''
class PreTrainedConfig:
    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            setattr(self, key, value)
''',
    "initialization.py": '''
import torch


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    if not getattr(tensor, "_is_hf_initialized", False):
        with torch.no_grad():
            return tensor.normal_(mean=mean, std=std, generator=generator)
    return tensor
''',
    "utils/__init__.py": '''
def auto_docstring(obj=None, **kwargs):
    return obj if obj is not None else (lambda cls: cls)


def strict(cls):
    return cls
''',
}


@pytest.mark.parametrize("checkout", [False, True], ids=["models only", "library beside the models"])
def test_a_checkout_of_transformers_is_judged_as_its_model_folders_are(cli, tmp_path, checkout):
    """In a checkout of transformers, ``PreTrainedModel``, ``PreTrainedConfig`` and the
    ``initialization`` module are in the linted tree: they are still the library whose
    protocol is modelled (their constructors' machinery is beyond any build's budget: every
    model of bert's file failed to evaluate), so a model file gives the findings it gives
    where only the model folders are linted."""
    package = tmp_path / "transformers"
    model = package / "models" / "tiny" / "modeling_tiny.py"
    model.parent.mkdir(parents=True)
    for folder in (package, package / "models", model.parent):
        (folder / "__init__.py").write_text("")
    model.write_text((FIXTURES / "hf_post_init.py").read_text())
    if checkout:
        for name, text in _LIBRARY_SOURCES.items():
            (package / name).parent.mkdir(exist_ok=True)
            (package / name).write_text(text)

    result = cli(["--no-cache", "--format", "json", str(model.relative_to(tmp_path))], tmp_path)

    (finding,) = json.loads(result.output)
    assert (finding["code"], finding["line"], finding["path"]) == ("IL202", 78, "transformers/models/tiny/modeling_tiny.py")
    assert finding["message"].endswith("(model built with config = WideConfig())")
    assert "at fan-in 512 (config.hidden_size)" in finding["message"]
