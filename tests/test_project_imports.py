"""Helpers in other files of the project, reached the way Python would reach them."""

from __future__ import annotations

from initlint import check_source

WALK = '''
def named_apply(fn, module, name="", include_root=False):
    for child_name, child in module.named_children():
        named_apply(fn, child, ".".join((name, child_name)) if name else child_name, include_root=True)
    if include_root:
        fn(module, name)
    return module
'''

MODEL = '''
import torch
import torch.nn as nn
from proj.utils.walk import named_apply


def init_fn(module, name):
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=1.0)


class Block(nn.Module):
    def __init__(self, dim=512):
        super().__init__()
        self.inner = nn.Sequential(nn.Sequential(nn.Linear(dim, dim), nn.ReLU()), nn.Linear(dim, dim))

    def forward(self, x):
        return self.inner(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(), Block())
        named_apply(init_fn, self)

    def forward(self, x):
        return self.blocks(x)
'''


def test_a_recursive_tree_walk_in_a_namespace_package_reaches_the_leaves(tmp_path):
    # proj/ has no __init__.py (a namespace package, run from its parent); the walk recurses
    # four levels deep to reach the Linear layers
    (tmp_path / "proj" / "utils").mkdir(parents=True)
    (tmp_path / "proj" / "models").mkdir()
    (tmp_path / "proj" / "utils" / "__init__.py").write_text("")
    (tmp_path / "proj" / "utils" / "walk.py").write_text(WALK)
    (tmp_path / "proj" / "models" / "__init__.py").write_text("")
    model = tmp_path / "proj" / "models" / "net.py"
    model.write_text(MODEL)
    found = check_source(MODEL, str(model))
    assert [(f.code, f.location.line) for f in found] == [("IL202", 9)]
    assert "at fan-in 512" in found[0].message and "`blocks.0.inner.0.0.weight`" in found[0].message


def test_without_the_helper_file_the_walk_is_unknown_and_nothing_is_said(tmp_path):
    (tmp_path / "proj" / "models").mkdir(parents=True)
    (tmp_path / "proj" / "models" / "__init__.py").write_text("")
    model = tmp_path / "proj" / "models" / "net.py"
    model.write_text(MODEL)
    assert check_source(MODEL, str(model)) == []


def test_a_layer_class_passed_as_argument_survives_isinstance_str_and_issubclass_checks():
    # timm's `if isinstance(attn_layer, str): attn_layer = LAYERS.get(attn_layer)` and
    # `issubclass(attn_layer, Other)` decide for a class of the code: the layer is built
    text = '''
import torch.nn as nn


class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.qkv = nn.Linear(dim, dim * 3)
        nn.init.normal_(self.qkv.weight, std=1.0)

    def forward(self, x):
        return self.qkv(x)


class Other(nn.Module):
    pass


LAYERS = {"attn": Attention}


def create(layer, dim):
    if isinstance(layer, str):
        layer = LAYERS.get(layer)
    if issubclass(layer, Other):
        dim = dim * 2
    return layer(dim)


class Block(nn.Module):
    def __init__(self, dim=384, attn_layer=Attention):
        super().__init__()
        self.attn = create(attn_layer, dim)
        self.out = nn.Linear(dim * 3, dim)

    def forward(self, x):
        return self.out(self.attn(x).relu())
'''
    found = check_source(text, "block.py")
    assert [(f.code, f.location.line) for f in found] == [("IL202", 9)]
    assert "at fan-in 384" in found[0].message


WEIGHTS_API = '''
from enum import Enum
from typing import Any


class WeightsEnum(Enum):
    @classmethod
    def verify(cls, obj: Any) -> Any:
        if obj is not None:
            if type(obj) is str:
                obj = cls[obj.replace(cls.__name__ + ".", "")]
            elif not isinstance(obj, cls):
                raise TypeError(f"Expected type {cls} but got {type(obj)} instead.")
        return obj
'''

FACTORY_MODEL = '''
from typing import Any, Optional, Union, cast

import torch.nn as nn

from .api import WeightsEnum


class Net(nn.Module):
    def __init__(self, features: nn.Module, num_classes: int = 10, init_weights: bool = True) -> None:
        super().__init__()
        self.features = features
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(256, num_classes)
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.normal_(m.weight, 0, 1)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))


def make_layers(cfg: list[Union[str, int]], batch_norm: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        v = cast(int, v)
        conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
        if batch_norm:
            layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
        else:
            layers += [conv2d, nn.ReLU(inplace=True)]
        in_channels = v
    return nn.Sequential(*layers)


class Net_Weights(WeightsEnum):
    IMAGENET = "https://example.com/net.pth"


def _net(cfg: list[int], batch_norm: bool, weights: Optional[WeightsEnum], **kwargs: Any) -> Net:
    if weights is not None:
        kwargs["init_weights"] = False
    model = Net(make_layers(cfg, batch_norm=batch_norm), **kwargs)
    if weights is not None:
        model.load_state_dict(weights.get_state_dict())
    return model


def net_small(*, weights: Optional[Net_Weights] = None, **kwargs: Any) -> Net:
    weights = Net_Weights.verify(weights)
    return _net([64, 128, 256], False, weights, **kwargs)


def net_small_bn(*, weights: Optional[Net_Weights] = None, **kwargs: Any) -> Net:
    weights = Net_Weights.verify(weights)
    return _net([64, 128, 256], True, weights, **kwargs)
'''


def test_a_factory_with_a_weights_enum_builds_the_model_the_class_alone_leaves_open(tmp_path):
    # torchvision's builders: the class takes its convolutions as an argument, the factory makes
    # them (``cast(int, v)`` sizes) after ``Weights.verify(weights)``, a classmethod of a base in
    # another file, returns the default None; the class entry alone cannot know the convs' fan-in
    from initlint.engine import coverage_of
    from initlint.model.coverage import Coverage

    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "api.py").write_text(WEIGHTS_API)
    model = tmp_path / "proj" / "net.py"
    model.write_text(FACTORY_MODEL)
    found = check_source(FACTORY_MODEL, str(model))
    assert [(f.code, f.location.line) for f in found] == [("IL202", 18)]
    assert found[0].message == (
        "N(0, 1^2) on `m.weight` (`features.4.weight`) gives E[W^2] = 1; at fan-in 1152 (in_channels) the "
        "variance gain is 1152 per layer (std x34), x2.2e6 over 3 layers (`net_small.features.0`, "
        "`net_small.features.2`, `net_small.features.4`) with no normalization between them; PyTorch's default gives 0.33"
    )
    # every init call reached a tensor of known size: the convs, their biases, the norms' scale
    # and shift (no fan-in: their size counts; net_small_bn), the classifier
    assert coverage_of(model) == Coverage(calls=6, known=6)


WIDE_NET = '''
import torch.nn as nn
from .{module} import WIDTH


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(WIDTH, WIDTH)
        nn.init.normal_(self.fc.weight, std=1.0)

    def forward(self, x):
        return self.fc(x)
'''


def _package(tmp_path, files: dict[str, str]):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    for name, text in files.items():
        (tmp_path / "pkg" / name).write_text(text)
    return tmp_path / "pkg" / "net.py"


def test_a_file_named_like_a_library_module_imports_the_library_not_itself(tmp_path):
    # pkg/typing.py's own ``from typing import cast`` is the standard library's typing (an
    # absolute import never names the importing file), whose cast returns its value
    typing_py = "from typing import Union, cast\n\nDim = Union[int, None]\nWIDTH = cast(int, 512)\n"
    model = _package(tmp_path, {"typing.py": typing_py, "net.py": WIDE_NET.format(module="typing")})
    found = check_source(model.read_text(), str(model))
    assert [(f.code, f.location.line) for f in found] == [("IL202", 10)]
    assert "at fan-in 512" in found[0].message


def test_files_that_import_a_name_from_each_other_leave_it_unknown_and_go_on(tmp_path):
    # a.py and b.py import X from each other (Python raises ImportError): X is unknown, and the
    # rest of b.py, WIDTH included, is still evaluated
    files = {
        "a.py": "from .b import X\n",
        "b.py": "from .a import X\n\nY = X\nWIDTH = 512\n",
        "net.py": WIDE_NET.format(module="b"),
    }
    model = _package(tmp_path, files)
    found = check_source(model.read_text(), str(model))
    assert [(f.code, f.location.line) for f in found] == [("IL202", 10)]
    assert "at fan-in 512" in found[0].message


HEAVY = '''
WIDTH = 512
PAIRS = [(a, b) for a in range(64) for b in range(64)]
LATE = 512
'''

TWO_LAYERS = '''
import torch.nn as nn
from .heavy import LATE, WIDTH


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(WIDTH, WIDTH)
        self.second = nn.Linear(LATE, LATE)
        nn.init.normal_(self.first.weight, std=1.0)
        nn.init.normal_(self.second.weight, std=1.0)

    def forward(self, x):
        return self.second(self.first(x))
'''


def test_a_dependency_body_past_its_budget_leaves_the_rest_unknown_and_the_entry_goes_on(tmp_path, monkeypatch):
    # heavy.py's comprehension takes more steps than a dependency's body may: WIDTH, bound
    # before it, is known; LATE, after it, is unknown. The class entry goes on with both
    # (it used to fail whole when the body took more steps than the entry may)
    from initlint.model import entries
    from initlint.model.interp import namespaces

    monkeypatch.setattr(namespaces, "DEPENDENCY_BUDGET", 2000)
    monkeypatch.setattr(entries, "CLASS_BUDGET", 8000)
    model = _package(tmp_path, {"heavy.py": HEAVY, "net.py": TWO_LAYERS})
    found = check_source(model.read_text(), str(model))
    assert [(f.code, f.location.line) for f in found] == [("IL202", 11)]
    assert "at fan-in 512" in found[0].message and "`self.first.weight`" in found[0].message


CONSTANTS = '''
WIDTH = 512


def scaled(width):
    return width * 2
'''

CLASS_BODY_IMPORT = '''
import torch.nn as nn
from .constants import WIDTH


class Net(nn.Module):
    width = WIDTH  # the class body is what loads constants.py

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(self.width, self.width)
'''


def test_a_file_loaded_from_a_class_body_defines_plain_functions_not_methods_of_that_class(tmp_path):
    # constants.py's body runs in a context of its own (as Python's import runs it): its
    # top-level functions are not methods of the class whose body happened to load it
    from initlint.engine import load_source, source_file
    from initlint.model.entries import evaluate_file
    from initlint.model.project import Project
    from initlint.parsing import parse

    model = _package(tmp_path, {"constants.py": CONSTANTS, "net.py": CLASS_BODY_IMPORT})
    text = model.read_text()
    project = Project(load_source)
    facts = evaluate_file(source_file(str(model), parse(text), text), project)
    constants = project.namespaces[(tmp_path / "pkg" / "constants.py").resolve()]
    assert constants.names["WIDTH"] == 512
    assert constants.names["scaled"].cls is None
    assert facts.entries[1].models["Net"].modules["fc"].params["weight"].shape == (512, 512)


NETS = '''
from typing import Any, Generic, TypeVar

import torch
from torch import nn

T = TypeVar("T")


class ReprNet(Generic[T], nn.Module):
    """A generic base the way RL libraries write one: subclasses subscript it."""


class Net(ReprNet[Any]):
    def __init__(self, obs_dim=17, hidden=256):
        super().__init__()
        self.fc1 = nn.Linear(obs_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
'''

SCRIPT = '''
import torch
from torch import nn

from rlpkg.nets import Net


def main(hidden=256):
    net = Net(hidden=hidden)
    for m in net.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=1.0)
    return net
'''


def _repository(root, marker=True):
    (root / "rlpkg").mkdir(parents=True)
    (root / "rlpkg" / "__init__.py").write_text("")
    (root / "rlpkg" / "nets.py").write_text(NETS)
    (root / "examples").mkdir()
    if marker:
        (root / "LICENSE").write_text("MIT\n")
    script = root / "examples" / "train.py"
    script.write_text(SCRIPT)
    return script


def test_a_script_beside_the_repository_package_imports_that_package(tmp_path):
    # examples/train.py imports rlpkg as installed for development (pip install -e .): the
    # package folder at the repository's root; Net subscripts its generic base
    script = _repository(tmp_path / "repo")
    found = check_source(SCRIPT, str(script))
    assert [(f.code, f.location.line) for f in found] == [("IL202", 12)]
    assert "at fan-in 256" in found[0].message and "`fc2.weight`" in found[0].message


def test_without_a_repository_root_the_package_stays_outside_and_nothing_is_said(tmp_path):
    script = _repository(tmp_path / "loose", marker=False)
    assert check_source(SCRIPT, str(script)) == []
