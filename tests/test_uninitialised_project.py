"""IL208 on a block whose parent model sits in another file of the project: the parent decides
the block's init, as it does for a parent in the same file."""

from __future__ import annotations

from initlint import check_source

LAYERS = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class GRUCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.weight_ih = nn.Parameter(torch.Tensor(3 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.Tensor(3 * hidden_size, hidden_size))

    def forward(self, x, h):
        return torch.tanh(F.linear(x, self.weight_ih)[:, :h.shape[1]] + F.linear(h, self.weight_hh)[:, :h.shape[1]])


class DynamicGRU(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.rnn = GRUCell(input_size, hidden_size)

    def forward(self, x, h):
        return self.rnn(x, h)
'''

MODEL = '''
import torch.nn as nn
from recpkg.layers import DynamicGRU


class InterestEvolving(nn.Module):
    def __init__(self, input_size=16, init_std=0.001):
        super().__init__()
        self.evolution = DynamicGRU(input_size, input_size)
        for name, tensor in self.evolution.named_parameters():
            if "weight" in name:
                nn.init.normal_(tensor, mean=0, std=init_std)

    def forward(self, x, h):
        return self.evolution(x, h)
'''


LOADER = '''
import torch
from recpkg.layers import DynamicGRU


def load_model(path):
    model = DynamicGRU(16, 16)
    model.load_state_dict(torch.load(path))
    return model
'''

BUILDER = '''
from recpkg.layers import DynamicGRU

gru = DynamicGRU(16, 16)
'''


def _project(tmp_path, other: str | None):
    (tmp_path / "LICENSE").write_text("MIT\n")
    package = tmp_path / "recpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    layers = package / "layers.py"
    layers.write_text(LAYERS)
    if other is not None:
        (package / "models.py").write_text(other)
    return layers


def test_a_block_that_another_file_builds_and_initialises_is_left_to_it(tmp_path):
    layers = _project(tmp_path, MODEL)
    assert [(f.code, f.location.line) for f in check_source(LAYERS, str(layers))] == []


def test_a_model_that_another_file_loads_from_a_checkpoint_is_left_to_it(tmp_path):
    layers = _project(tmp_path, LOADER)
    assert [(f.code, f.location.line) for f in check_source(LAYERS, str(layers))] == []


def test_a_file_that_only_builds_the_block_initialises_nothing(tmp_path):
    layers = _project(tmp_path, BUILDER)
    assert [(f.code, f.location.line) for f in check_source(LAYERS, str(layers))] == [("IL208", 10), ("IL208", 11)]


def test_the_same_block_that_no_file_of_the_project_uses_is_reported(tmp_path):
    layers = _project(tmp_path, None)
    found = check_source(LAYERS, str(layers))
    assert [(f.code, f.location.line) for f in found] == [("IL208", 10), ("IL208", 11)]
    assert found[0].message.startswith("`weight_ih` is allocated by torch.Tensor and never written")


def test_a_packaged_library_s_own_loader_counts_too(tmp_path):
    # an sdist or an editable install: an .egg-info beside the package marks a library, whose
    # users are elsewhere; the loader inside it still writes the model
    layers = _project(tmp_path, LOADER)
    (tmp_path / "recpkg.egg-info").mkdir()
    assert [(f.code, f.location.line) for f in check_source(LAYERS, str(layers))] == []


def test_an_unpacked_package_without_a_repository_is_its_own_project(tmp_path):
    # a wheel unzipped: no repository root above the package, whose own files still show the
    # parent that initialises the block
    layers = _project(tmp_path, MODEL)
    (tmp_path / "LICENSE").unlink()
    assert [(f.code, f.location.line) for f in check_source(LAYERS, str(layers))] == []
