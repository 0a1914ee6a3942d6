"""A guessed constructor size that forward's error contradicts is built once more (refit.py)."""

from __future__ import annotations

import textwrap

import pytest

pytest.importorskip("torch")

pytestmark = pytest.mark.probe

from initlint.probe.refit import contradicted  # noqa: E402
from initlint.probe.runner import ProbeOptions, _results  # noqa: E402

BLOCKS = '''
import torch.nn as nn


class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
        if self.downsample:
            residual = self.downsample(x)
        out += residual
        return out.relu()


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.conv3(self.conv2(self.conv1(x).relu()).relu())
        if self.downsample is not None:
            residual = self.downsample(x)
        return (out + residual).relu()
'''


def test_the_sizes_of_a_mismatch_name_the_guess_to_change():
    message = "Given groups=1, weight of size [64, 64, 1, 1], expected input[3, 256, 32, 32] to have 64 channels, but got 256 channels instead"
    assert list(contradicted(message, {"inplanes": 64, "planes": 64, "act": "ReLU"})) == [
        ("inplanes", 64, 256, "to have 64 channels, but got 256 channels"),
        ("planes", 64, 256, "to have 64 channels, but got 256 channels"),
    ]
    assert list(contradicted(message, {"inplanes": 32})) == []  # no side is a guess: nothing to change


def _probe(path, model):
    """One task through the probe's worker pool, as the CLI runs it: a task sets its process's
    working directory, sys.path and write guard (guard.py), which must not reach the test run."""
    options = ProbeOptions(device="cpu", budget=2.0, sgd_steps=1)
    return _results([options.task(str(path), model)], options)[0]


@pytest.mark.slow
def test_a_residual_block_built_with_two_widths_is_built_again_with_the_one_its_add_needs(tmp_path):
    path = tmp_path / "blocks.py"
    path.write_text(textwrap.dedent(BLOCKS))
    block = _probe(path, "ResidualBlock")
    assert block["ok"], block
    assert block["report"]["inputs"] == {"x": "Bx64x32x32 float32"}
    assert any(note.startswith("`in_channels` 3->64: forward's error with 3 said") for note in block["report"]["notes"])
    bottleneck = _probe(path, "Bottleneck")
    assert bottleneck["ok"], bottleneck
    assert bottleneck["report"]["inputs"] == {"x": "Bx256x32x32 float32"}
    assert any(note.startswith("`inplanes` 64->256: forward's error with 64 said") for note in bottleneck["report"]["notes"])
