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
