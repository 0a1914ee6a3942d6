"""What counts as an evaluated init call (model/coverage.py): a target tensor the engine
established, with a fan-in that is a number, or no fan-in at all (below two dimensions) and a
size that is a number. A size the code leaves open is not known."""

from __future__ import annotations

from initlint.engine import coverage_of
from initlint.model.coverage import Coverage

VECTORS = '''
import torch
import torch.nn as nn


class RMSNorm(nn.Module):
    def __init__(self, dim=256):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(dim))


class Block(nn.Module):
    def __init__(self, dim=256, max_positions=128):
        super().__init__()
        self.norm = RMSNorm(dim)
        self.proj = nn.Linear(dim, dim)
        self.gamma = nn.Parameter(torch.empty(dim))
        self.temperature = nn.Parameter(torch.tensor(1.0))
        self.offsets = nn.Parameter(torch.arange(0, max_positions, 2).float())
        nn.init.ones_(self.norm.weight)
        nn.init.constant_(self.gamma, 1e-4)
        nn.init.constant_(self.temperature, 0.07)
        nn.init.zeros_(self.proj.bias)
        nn.init.zeros_(self.offsets)

    def forward(self, x):
        return x + self.gamma * self.proj(x)
'''


def test_vectors_and_scalars_of_known_size_are_evaluated(tmp_path):
    # an RMSNorm's weight, a layer scale, a scalar temperature, a Linear's bias (its weight's
    # fan-in is 256) and a vector of torch.arange(0, 128, 2): all five targets and sizes are known
    path = tmp_path / "block.py"
    path.write_text(VECTORS)
    assert coverage_of(path) == Coverage(calls=5, known=5)


def test_a_vector_whose_size_or_layer_fan_in_is_open_is_not_evaluated(tmp_path):
    # the sizes are parameters without a default: symbols, so only the scalar (whose size is
    # no parameter's) is known
    path = tmp_path / "block.py"
    path.write_text(VECTORS.replace("dim=256, max_positions=128", "dim, max_positions").replace("dim=256", "dim"))
    assert coverage_of(path) == Coverage(calls=5, known=1)


BATCH_NORM_RESET = '''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, channels=16, track=True):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, track_running_stats=track)

    def reset(self):
        nn.init.zeros_(self.bn.running_mean)
        nn.init.ones_(self.bn.running_var)
        if getattr(self.bn, "num_batches_tracked", None) is not None:
            nn.init.zeros_(self.bn.num_batches_tracked)

    def forward(self, x):
        return self.bn(x)


net = Net()
net.reset()
'''


def test_a_batch_norm_tracking_running_stats_has_its_step_counter(tmp_path):
    # torch's BatchNorm registers num_batches_tracked (a 0-d tensor) next to the running stats
    path = tmp_path / "bn.py"
    path.write_text(BATCH_NORM_RESET)
    assert coverage_of(path) == Coverage(calls=3, known=3)


def test_a_batch_norm_without_running_stats_has_no_step_counter(tmp_path):
    # track_running_stats=False: torch registers all three buffers as None, so none is a tensor
    path = tmp_path / "bn.py"
    path.write_text(BATCH_NORM_RESET.replace("track=True", "track=False"))
    assert coverage_of(path) == Coverage(calls=3, known=0)


WEIGHT_INIT = '''
import torch


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    with torch.no_grad():
        tensor.normal_(mean, std)
        return tensor.clamp_(min=a, max=b)
'''

USES_WEIGHT_INIT = '''
import torch.nn as nn
from .weight_init import trunc_normal_


class Net(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        trunc_normal_(self.fc.weight, std=0.02)

    def forward(self, x):
        return self.fc(x)
'''


def _package(tmp_path, model):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "weight_init.py").write_text(WEIGHT_INIT)
    (package / "net.py").write_text(model)
    return package / "net.py"


def test_an_init_function_of_the_project_counts_through_the_write_it_makes(tmp_path):
    # timm's own trunc_normal_ is evaluated code: the record is its normal_ on the tensor passed
    # in; the call in net.py is the frame that reached it, with fan-in 64
    assert coverage_of(_package(tmp_path, USES_WEIGHT_INIT)) == Coverage(calls=1, known=1)


def test_an_init_function_of_the_project_on_an_open_size_is_not_evaluated(tmp_path):
    path = _package(tmp_path, USES_WEIGHT_INIT.replace("dim=64", "dim"))
    assert coverage_of(path) == Coverage(calls=1, known=0)


ROPE_PER_LAYER_TYPE = '''
import torch
import torch.nn as nn


class Rope(nn.Module):
    def __init__(self, dim=64, kinds=("full", "sliding", "full")):
        super().__init__()
        self.layer_types = sorted(set(kinds))
        for layer_type in self.layer_types:
            inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
            setattr(self, f"{layer_type}_inv_freq", nn.Buffer(inv_freq, persistent=False))
        for layer_type in self.layer_types:
            nn.init.zeros_(getattr(self, f"{layer_type}_inv_freq"))

    def forward(self, x):
        return x
'''


def test_sorted_of_a_set_of_known_strings_is_a_known_list(tmp_path):
    # sorted(set(...)) is ["full", "sliding"]: both buffers are built and zeroed, each of size 32
    path = tmp_path / "rope.py"
    path.write_text(ROPE_PER_LAYER_TYPE)
    assert coverage_of(path) == Coverage(calls=1, known=1)


def test_a_loop_over_a_set_itself_has_no_known_order(tmp_path):
    # iterating set(...) visits its members in an order string hashing decides per process: the
    # loop's items are not known, so neither is the buffer each getattr names
    path = tmp_path / "rope.py"
    path.write_text(ROPE_PER_LAYER_TYPE.replace("sorted(set(kinds))", "set(kinds)"))
    assert coverage_of(path) == Coverage(calls=1, known=0)


TORCH_NORMAL_SIZE = '''
import torch
import torch.nn as nn


class Attention(nn.Module):
    def __init__(self, head_dim=64, lambda_std=0.1):
        super().__init__()
        self.lambda_q = nn.Parameter(torch.normal(0, lambda_std, size=(head_dim,)))
        self.lambda_k = nn.Parameter(torch.normal(mean=0.0, std=lambda_std, size=(head_dim,)))
        self.lambda_v = nn.Parameter(torch.normal(0.0, lambda_std, (head_dim,)))
        nn.init.normal_(self.lambda_q, 0, lambda_std)
        nn.init.normal_(self.lambda_k, 0, lambda_std)
        nn.init.normal_(self.lambda_v, 0, lambda_std)

    def forward(self, x):
        return x * (self.lambda_q * self.lambda_k + self.lambda_v).sum()
'''


def test_torch_normal_with_a_size_keyword_has_that_size(tmp_path):
    # torch.normal(mean, std, size=...) (transformers' DiffLlama): the size may be a keyword
    path = tmp_path / "attention.py"
    path.write_text(TORCH_NORMAL_SIZE)
    assert coverage_of(path) == Coverage(calls=3, known=3)
