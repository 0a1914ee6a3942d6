"""Fixtures written the way real code bases write init: exactly the marked findings, no others.

The legitimate files (torchvision, timm, transformers, nanoGPT, DiT/LoRA/ControlNet, RL, DCGAN)
have no markers, so any finding there is a false positive and fails the test.
"""

from __future__ import annotations

import pytest

from conftest import FIXTURES, expected_markers
from initlint import check_source

FILES = sorted(p.name for p in FIXTURES.glob("*.py"))


@pytest.mark.parametrize("name", FILES)
def test_fixture_gives_exactly_its_marked_findings(name):
    text = (FIXTURES / name).read_text(encoding="utf-8")
    found = sorted((f.code, f.location.line) for f in check_source(text, name))
    assert found == expected_markers(text)


def test_legitimate_fixtures_exist_and_are_silent():
    # IL209 is the one finding a legitimate file may carry: timm's own `trunc_normal_(w, std=.02)`
    # truncates at +-100 std, i.e. not at all (a misuse note, its own code so projects can ignore it)
    clean = [n for n in FILES if {code for code, _ in expected_markers((FIXTURES / n).read_text())} <= {"IL209"}]
    assert set(clean) >= {
        "torchvision_resnet.py",
        "timm_vit.py",
        "hf_init_weights.py",
        "nanogpt.py",
        "dit_lora_controlnet.py",
        "rl_and_gan.py",
    }
