"""Issue 11, kinds 6 and 10: init defined and never applied (public names, searched across the
project), and switches that skip the intended init (timm's weight_init='skip', an HF
_init_weights that does nothing, a reset_parameters override that writes nothing). Exact codes,
lines and messages, and the legitimate twins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES
from initlint import check_source

NET = '''import torch.nn as nn


class Discriminator(nn.Module):
    def __init__(self, channels=3, features=64):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(channels, features, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(features, 1, 4, 1, 0),
        )

    def weight_init(self, mean=0.0, std=0.02):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.data.normal_(mean, std)
                m.bias.data.zero_()

    def forward(self, x):
        return self.main(x)
'''

TRAIN = '''import torch
from models.networks import Discriminator

D = Discriminator()
{call}
optimizer = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
'''


def _project(tmp_path: Path, call: str, marker: str = "LICENSE", net: str = NET) -> Path:
    (tmp_path / marker).write_text("")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "networks.py").write_text(net)
    (tmp_path / "train.py").write_text(TRAIN.format(call=call))
    return tmp_path / "models" / "networks.py"


def _lint(path: Path):
    return check_source(path.read_text(), str(path))


def test_public_init_method_nothing_in_the_project_calls(tmp_path):
    path = _project(tmp_path, "# D.weight_init(mean=0.0, std=0.02)")
    found = _lint(path)
    assert [(f.code, f.location.line, f.location.column) for f in found] == [("IL505", 13, 9)]
    assert found[0].message == (
        "`Discriminator.weight_init` initialises weights, but nothing calls or applies it: not this file, "
        f"and no other file of the project under `{tmp_path.name}/` names it (2 other Python files read, with "
        "its notebooks, configs and docs); `main.0.weight`, `main.0.bias`, `main.2.weight` and 1 more tensor keep "
        "PyTorch's default init"
    )
    assert found[0].details["searched"] == 2


@pytest.mark.parametrize("call", ["D.weight_init(mean=0.0, std=0.02)", "D.apply(lambda m: None)\nD.weight_init()"])
def test_a_call_in_another_file_of_the_project_keeps_it_silent(tmp_path, call):
    assert _lint(_project(tmp_path, call)) == []


@pytest.mark.parametrize(
    "name, text",
    [("demo.ipynb", '{"cells": [{"source": ["D.weight_init()"]}]}'),
     ("configs/gan.yaml", "model:\n  init: weight_init\n"),
     ("README.md", "Call `D.weight_init()` before training.\n")],
)
def test_a_notebook_config_or_doc_that_names_it_keeps_it_silent(tmp_path, name, text):
    path = _project(tmp_path, "")
    (tmp_path / name).parent.mkdir(exist_ok=True)
    (tmp_path / name).write_text(text)
    assert _lint(path) == []


@pytest.mark.parametrize("marker", ["setup.py", "pyproject.toml"])
def test_a_packaged_library_is_not_searched(tmp_path, marker):
    # its users call public methods from code that is not here
    path = _project(tmp_path, "", marker=marker)
    (tmp_path / "LICENSE").write_text("")
    assert _lint(path) == []


def test_no_repository_root_no_answer(tmp_path):
    path = _project(tmp_path, "", marker="notes.txt")
    assert _lint(path) == []


def test_a_base_class_in_another_file_that_calls_the_hook(tmp_path):
    (tmp_path / "LICENSE").write_text("")
    (tmp_path / "base.py").write_text('''import torch.nn as nn


class BaseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.build()
        self.init_weights()
''')
    net = tmp_path / "net.py"
    net.write_text('''import torch.nn as nn
from base import BaseNet


class Net(BaseNet):
    def build(self):
        self.fc = nn.Linear(64, 10)

    def init_weights(self):
        nn.init.xavier_uniform_(self.fc.weight)

    def forward(self, x):
        return self.fc(x)
''')
    assert _lint(net) == []


@pytest.mark.parametrize("base", ["BaseModule", "pl.LightningModule"])
def test_a_library_base_may_call_public_methods(tmp_path, base):
    net = NET.replace("import torch.nn as nn", "import torch.nn as nn\nimport pytorch_lightning as pl\nfrom mmengine.model import BaseModule")
    net = net.replace("class Discriminator(nn.Module)", f"class Discriminator({base})")
    assert _lint(_project(tmp_path, "", net=net)) == []


def test_an_override_of_a_base_method_is_a_hook(tmp_path):
    net = NET + '''

class PatchDiscriminator(Discriminator):
    def weight_init(self, mean=0.0, std=0.02):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, mean, std)
'''
    # the base's own weight_init is named twice in the file now: both are out of the rule's reach
    assert [f.code for f in _lint(_project(tmp_path, "", net=net))] == []


def test_hf_init_weights_that_does_nothing():
    text = (FIXTURES / "shipped_hf_init_pass.py").read_text()
    found = check_source(text, "shipped_hf_init_pass.py")
    assert [(f.code, f.location.line) for f in found] == [("IL513", 26)]
    assert found[0].message == (
        "`RetrieverPreTrainedModel._init_weights` overrides PreTrainedModel's and does nothing: post_init() "
        "calls it on every module of `RetrieverModel`, so `embeddings`, `encoder` and `projection` keep "
        "PyTorch's default init instead of the one the library's _init_weights gives "
        "(normal(0, config.initializer_range) weights, zero biases)"
    )
    assert found[0].details["layers"] == ["embeddings", "encoder", "projection"]


def test_hf_hook_overriding_a_project_base_names_it():
    text = '''
from torch import nn
from transformers import PreTrainedModel


class BasePreTrained(PreTrainedModel):
    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)


class Head(BasePreTrained):
    def __init__(self, config):
        super().__init__(config)
        self.fc = nn.Linear(64, 2)
        self.post_init()

    def _init_weights(self, module):
        return

    def forward(self, x):
        return self.fc(x)
'''
    found = check_source(text)
    assert [(f.code, f.location.line) for f in found] == [("IL513", 18)]
    assert found[0].message.startswith(
        "`Head._init_weights` overrides `BasePreTrained._init_weights` and does nothing: post_init() calls it "
        "on every module of `Head`, so `fc` keeps PyTorch's default init"
    )


def test_hf_hook_without_post_init_is_not_reported():
    text = (FIXTURES / "shipped_hf_init_pass.py").read_text().replace("        self.post_init()\n", "")
    assert [f.code for f in check_source(text)] == []


def test_timm_weight_init_skip_through_a_kwargs_dict():
    text = (FIXTURES / "shipped_timm_skip.py").read_text()
    found = check_source(text, "shipped_timm_skip.py")
    assert [(f.code, f.location.line, f.location.column) for f in found] == [("IL512", 8, 9)]
    assert found[0].message == (
        "`timm.create_model(\"vit_small_patch16_224\", **model_kwargs)` builds `vit_small_patch16_224` with "
        "weight_init='skip', which skips the architecture's init_weights(): pos_embed (trunc_normal, std .02) "
        "and cls_token (normal, std 1e-6), which timm 1.0 allocates with torch.empty, keep whatever memory held, "
        "and every Linear keeps PyTorch's default instead of trunc_normal(std .02) weights and zero biases; "
        "nothing loads weights into it afterwards (no pretrained=True, checkpoint_path or load_state_dict) "
        "and no init of this file reaches it"
    )


@pytest.mark.parametrize(
    "after",
    [
        "model.load_state_dict(torch.load('ckpt.pth'))",
        "model.apply(my_init)",
        "load_checkpoint(model, 'ckpt.pth')",
        "model.reset_classifier(10)",
        "for p in model.parameters():\n    torch.nn.init.normal_(p, std=0.02)",
    ],
)
def test_timm_skip_followed_by_weights_is_silent(after):
    text = f'''
import timm
import torch
from utils import my_init, load_checkpoint

model = timm.create_model("vit_small_patch16_224", num_classes=10, weight_init="skip")
{after}
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
'''
    assert check_source(text) == []


@pytest.mark.parametrize(
    "call",
    [
        'timm.create_model("vit_small_patch16_224", pretrained=True, weight_init="skip")',
        'timm.create_model("vit_small_patch16_224", pretrained=args.pretrained, weight_init="skip")',
        'timm.create_model("vit_small_patch16_224", checkpoint_path="vit.pth", weight_init="skip")',
        'timm.create_model("vit_small_patch16_224", weight_init=args.init)',
    ],
)
def test_timm_skip_with_loaded_or_unknown_values_is_silent(call):
    text = f"import timm\nimport argparse\nargs = argparse.ArgumentParser().parse_args()\nmodel = {call}\n"
    assert check_source(text) == []


def test_timm_skip_in_a_factory_or_a_class_is_the_callers_business():
    text = '''
import timm
import torch.nn as nn


def build(num_classes):
    return timm.create_model("vit_small_patch16_224", num_classes=num_classes, weight_init="skip")


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = timm.create_model("vit_small_patch16_224", num_classes=0, weight_init="skip")

    def forward(self, x):
        return self.backbone(x)
'''
    assert check_source(text) == []


def test_timm_model_class_with_skip_is_reported():
    text = '''
from timm.models.vision_transformer import VisionTransformer

model = VisionTransformer(embed_dim=192, depth=12, num_heads=3, weight_init="skip")
'''
    found = check_source(text)
    assert [(f.code, f.location.line) for f in found] == [("IL512", 4)]
    assert found[0].message.startswith(
        "`VisionTransformer(embed_dim=192, depth=12, num_heads=3, weight_init=\"skip\")` builds `VisionTransformer` "
        "with weight_init='skip', which skips the architecture's init_weights(): pos_embed"
    )


def test_reset_parameters_override_on_a_project_layer():
    text = (FIXTURES / "shipped_reset_noop.py").read_text()
    found = check_source(text, "shipped_reset_noop.py")
    assert [(f.code, f.location.line) for f in found] == [("IL208", 37)]
    (finding,) = found
    assert finding.effect.value == "exploding"
    assert finding.message == (
        "`PretrainedMaskedLinear.reset_parameters` overrides `MaskedLinear.reset_parameters` and never writes "
        "`weight` and `bias`: they are allocated by torch.empty and the constructor's reset_parameters() "
        "call now runs the override, so nothing fills them and the layer trains from whatever memory held "
        "(zeros, huge values or NaN)"
    )
    assert finding.prediction.model == "PretrainedMaskedLinear"
    assert finding.prediction.uninitialised is True


def test_reset_parameters_override_that_writes_is_silent():
    text = (FIXTURES / "shipped_reset_noop.py").read_text().replace(
        "    def reset_parameters(self):  # expect: IL208\n        pass\n",
        "    def reset_parameters(self):\n        nn.init.zeros_(self.bias)\n        nn.init.orthogonal_(self.weight)\n",
    )
    assert check_source(text) == []


def test_a_caller_file_added_later_makes_the_cached_finding_stale(tmp_path, cli):
    """The cache keys a result by the files it read; a project search also depends on which files
    exist, so a new script that calls the method must not be answered from the cache."""
    path = _project(tmp_path, "# D.weight_init(mean=0.0, std=0.02)")
    args = ["--cache-dir", str(tmp_path / ".cache"), "--format", "json", str(path)]
    first = json.loads(cli(args, tmp_path).stdout)
    assert [f["code"] for f in first] == ["IL505"]
    assert [f["code"] for f in json.loads(cli(args, tmp_path).stdout)] == ["IL505"]  # cached
    (tmp_path / "finetune.py").write_text("from models.networks import Discriminator\nDiscriminator().weight_init()\n")
    assert json.loads(cli(args, tmp_path).stdout) == []


def test_uncommenting_the_call_in_a_searched_file_makes_the_cached_finding_stale(tmp_path, cli):
    path = _project(tmp_path, "# D.weight_init(mean=0.0, std=0.02)")
    args = ["--cache-dir", str(tmp_path / ".cache"), "--format", "json", str(path)]
    assert [f["code"] for f in json.loads(cli(args, tmp_path).stdout)] == ["IL505"]
    train = tmp_path / "train.py"
    train.write_text(train.read_text().replace("# D.weight_init", "D.weight_init"))
    assert json.loads(cli(args, tmp_path).stdout) == []


ROUTER = '''import torch
import torch.nn as nn


class Router(nn.Module):
    def __init__(self, n_tasks=4, n_skills=8):
        super().__init__()
        self.logits = nn.Parameter(torch.empty(n_tasks, n_skills))

    def reset(self):
        nn.init.uniform_(self.logits, -1e-3, 1e-3)

    def forward(self, task_ids):
        return torch.sigmoid(self.logits[task_ids])
'''


def _router_project(tmp_path: Path, layer: str) -> Path:
    (tmp_path / "LICENSE").write_text("")
    (tmp_path / "router.py").write_text(ROUTER)
    (tmp_path / "layer.py").write_text(layer)
    return tmp_path / "router.py"


def test_a_reset_method_the_owner_calls_from_another_file_fills_the_tensor(tmp_path):
    # peft's Poly router: allocated with torch.empty, filled by reset(), which the layer that
    # builds the router calls right after building it
    path = _router_project(tmp_path, (
        "from router import Router\n\n\n"
        "class PolyLayer:\n"
        "    def update_layer(self):\n"
        "        self.router = Router()\n"
        "        self.router.reset()\n"
    ))
    assert _lint(path) == []


def test_a_reset_method_nothing_names_leaves_the_tensor_unwritten(tmp_path):
    path = _router_project(tmp_path, "from router import Router\n\nrouter = Router()\n")
    found = _lint(path)
    assert [(f.code, f.location.line) for f in found] == [("IL208", 8), ("IL505", 10)]
    assert found[0].message.startswith("`logits` is allocated by torch.empty and never written before the model uses it")
    assert found[1].message.endswith("names it (1 other Python file read, with its notebooks, configs and docs); "
                                     "`logits` keeps the memory torch.empty left")


def test_an_uncalled_private_helper_names_the_tensors_that_keep_their_default():
    source = (
        "import torch.nn as nn\n\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, dim=256):\n"
        "        super().__init__()\n"
        "        self.encoder = nn.Linear(dim, dim)\n"
        "        self.decoder = nn.Linear(dim, dim)\n"
        "        nn.init.xavier_uniform_(self.decoder.weight)\n\n"
        "    def _init_weights_here(self):\n"
        "        for layer in (self.encoder, self.decoder):\n"
        "            nn.init.orthogonal_(layer.weight)\n"
        "            nn.init.zeros_(layer.bias)\n\n"
        "    def forward(self, x):\n"
        "        return self.decoder(self.encoder(x))\n"
    )
    found = check_source(source, "net.py")
    assert [(f.code, f.location.line, f.location.column) for f in found] == [("IL505", 11, 9)]
    assert found[0].message == (
        "`Net._init_weights_here` initialises weights, but nothing in this file calls or applies it: "
        "`encoder.weight`, `encoder.bias` and `decoder.bias` keep PyTorch's default init"
    )


def test_an_uncalled_helper_whose_tensors_are_drawn_where_they_are_made_is_dead_code():
    # peft's TinyLoRA: the shared vectors get their uniform draw when created; the helper that
    # would redraw them is never called, and nothing keeps a default because of it
    source = (
        "import torch\nimport torch.nn as nn\n\n\n"
        "class Adapter(nn.Module):\n"
        "    def __init__(self, groups=4, rank=8, bound=0.02):\n"
        "        super().__init__()\n"
        "        self.vectors = nn.ParameterDict()\n"
        "        for group in range(groups):\n"
        "            vector = nn.Parameter(torch.empty(rank))\n"
        "            nn.init.uniform_(vector, -bound, bound)\n"
        "            self.vectors[str(group)] = vector\n\n"
        "    def _init_vectors(self, bound):\n"
        "        for vector in self.vectors.values():\n"
        "            nn.init.uniform_(vector, -bound, bound)\n\n"
        "    def forward(self, x):\n"
        "        return x * self.vectors['0']\n"
    )
    assert check_source(source, "adapter.py") == []


def test_an_uncalled_helper_of_a_class_that_cannot_be_built_says_nothing():
    # what the helper would miss is unknown when the class raises with its defaults
    source = (
        "import torch.nn as nn\n\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, dim=None):\n"
        "        super().__init__()\n"
        "        if dim is None:\n"
        "            raise ValueError('dim is required')\n"
        "        self.encoder = nn.Linear(dim, dim)\n\n"
        "    def _init_encoder(self):\n"
        "        nn.init.orthogonal_(self.encoder.weight)\n\n"
        "    def forward(self, x):\n"
        "        return self.encoder(x)\n"
    )
    assert check_source(source, "net.py") == []


FORGOTTEN_HOOK = (
    "import torch.nn as nn\n\n\n"
    "{base}"
    "class UNet({parent}):\n"
    "    def __init__(self, channels=64):\n"
    "        super().__init__()\n"
    "        self.stem = nn.Conv2d(3, channels, 3, padding=1)\n"
    "        self.head = nn.Conv2d(channels, 3, 1)\n\n"
    "    def _init_weights(self, m):\n"
    "        if isinstance(m, nn.Conv2d):\n"
    "            nn.init.xavier_uniform_(m.weight)\n"
    "        nn.init.constant_(self.head.weight, 0)\n\n"
    "    def forward(self, x):\n"
    "        return self.head(self.stem(x).relu())\n"
)


def test_an_init_weights_hook_no_base_calls_is_reported_as_never_applied():
    # diffusers' StableCascadeUNet keeps Wuerstchen's _init_weights but drops its
    # ``self.apply(self._init_weights)``; nn.Module calls no such hook
    found = check_source(FORGOTTEN_HOOK.format(base="", parent="nn.Module"), "unet.py")
    assert [(f.code, f.location.line, f.location.column) for f in found] == [("IL505", 10, 9)]
    assert found[0].message == (
        "`UNet._init_weights` initialises weights, but nothing in this file calls or applies it: "
        "`head.weight` and `stem.weight` keep PyTorch's default init"
    )


def test_an_init_weights_hook_a_base_of_the_project_calls_is_applied():
    base = (
        "class PreTrained(nn.Module):\n"
        "    def post_init(self):\n"
        "        self.apply(self._init_weights)\n\n\n"
    )
    assert check_source(FORGOTTEN_HOOK.format(base=base, parent="PreTrained"), "unet.py") == []


def test_an_init_weights_hook_of_a_class_with_a_library_base_may_be_called_by_it():
    text = "from mmengine.model import BaseModule\n" + FORGOTTEN_HOOK.format(base="", parent="BaseModule")
    assert check_source(text, "unet.py") == []


def test_an_init_hook_whose_call_its_file_comments_out_was_switched_off_on_purpose():
    # SCUNet (as spandrel ships it): ``# self.apply(self._init_weights)`` in __init__; the model's
    # author chose PyTorch's defaults, and the rule does not second-guess a call switched off by hand
    text = FORGOTTEN_HOOK.format(base="", parent="nn.Module").replace(
        "        self.head = nn.Conv2d(channels, 3, 1)\n",
        "        self.head = nn.Conv2d(channels, 3, 1)\n        # self.apply(self._init_weights)\n",
    )
    assert check_source(text, "unet.py") == []
    # the name in a comment that calls nothing is no such switch
    text = text.replace("# self.apply(self._init_weights)", "# _init_weights is kept for reference")
    assert [f.code for f in check_source(text, "unet.py")] == ["IL505"]


def test_an_uncalled_method_of_a_part_whose_model_inits_its_tensors_says_nothing():
    # transformers' MiniCPM-o window merger: its own block-diagonal _init_weights() is called by
    # nothing, but inside the model the generic init reaches every Linear: nothing keeps a default
    source = (
        "import torch.nn as nn\n\n\n"
        "class Merger(nn.Module):\n"
        "    def __init__(self, dim=64):\n"
        "        super().__init__()\n"
        "        self.proj = nn.Linear(dim, dim)\n\n"
        "    def _init_weights(self):\n"
        "        nn.init.eye_(self.proj.weight)\n\n"
        "    def forward(self, x):\n"
        "        return self.proj(x)\n\n\n"
        "class Model(nn.Module):\n"
        "    def __init__(self, dim=64):\n"
        "        super().__init__()\n"
        "        self.merger = Merger(dim)\n"
        "        for m in self.modules():\n"
        "            if isinstance(m, nn.Linear):\n"
        "                nn.init.normal_(m.weight, std=0.02)\n\n"
        "    def forward(self, x):\n"
        "        return self.merger(x)\n"
    )
    assert check_source(source, "model.py") == []
    # without the model's loop, the merger's tensor keeps PyTorch's default everywhere
    alone = source.replace("        for m in self.modules():\n            if isinstance(m, nn.Linear):\n"
                           "                nn.init.normal_(m.weight, std=0.02)\n", "")
    (finding,) = check_source(alone, "model.py")
    assert finding.message == (
        "`Merger._init_weights` initialises weights, but nothing in this file calls or applies it: "
        "`proj.weight` keeps PyTorch's default init"
    )
