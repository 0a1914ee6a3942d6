"""visits.py: the init walk visits an equal leaf module once and copies the visit after.

Each test lints one file with the memo and without it and asserts the same findings; then how
many visits were copies, and why a visit was not recorded.
"""

from __future__ import annotations

import textwrap
from collections import Counter

import pytest

from conftest import evaluate
from initlint import check_source
from initlint.model.interp import container_visits, visits
from initlint.model.tensors import Tensor

MODEL = '''
import math

import torch
from torch import nn
from transformers import PreTrainedModel


class Config:
    hidden_size = 512
    depth = 6


class Block(nn.Module):
    def __init__(self, config, index):
        super().__init__()
        self.index = index
        self.fc = nn.Linear(config.hidden_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size)

    def forward(self, x):
        return self.norm(torch.relu(self.fc(x)))


class Deep(PreTrainedModel):
    config_class = Config

    def __init__(self, config):
        super().__init__(config)
        self.blocks = nn.ModuleList([Block(config, index) for index in range(config.depth)])
        self.head = nn.Linear(config.hidden_size, 10)
        self.post_init()

    def _init_weights(self, module):
        {init}

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(x)
'''


def _file(init: str) -> str:
    body = textwrap.indent(textwrap.dedent(init).strip(), " " * 8).lstrip()
    return textwrap.dedent(MODEL).replace("{init}", body)


def _counted(monkeypatch, module, copied: str) -> Counter:
    """How each visit ``module`` handles went: recorded, refused, or ``copied`` (its record's
    copy was used)."""
    seen: Counter = Counter()
    record, replay = module._record, module._replay

    def recording(*args):
        result = record(*args)
        seen["refused" if result is visits.REFUSED else "recorded"] += 1
        return result

    def replaying(*args):
        seen[copied] += 1
        return replay(*args)

    monkeypatch.setattr(module, "_record", recording)
    monkeypatch.setattr(module, "_replay", replaying)
    return seen


@pytest.fixture
def outcomes(monkeypatch):
    """How each visit of a leaf went: recorded, refused (and why), or copied."""
    seen = _counted(monkeypatch, visits, "copied")

    def refusing(self, why):
        seen[why] += 1
        Exception.__init__(self, why)

    monkeypatch.setattr(visits.Unrecordable, "__init__", refusing)
    return seen


def _findings(text: str) -> list[tuple]:
    return [(f.code, f.location.line, f.message) for f in check_source(text, "deep.py")]


def _without_memo(text: str, monkeypatch) -> list[tuple]:
    with monkeypatch.context() as patch:
        _no_memo(patch)
        return _findings(text)


def _no_memo(patch) -> None:
    """Every visit evaluated: leaves and modules with children alike."""
    patch.setattr(visits, "_key", lambda evaluator, method, module: None)
    patch.setattr(container_visits, "visit", lambda evaluator, method, module, place, frame: evaluator.call(
        method, [module], {}, place, frame))


def _values(text: str) -> dict[str, list[tuple]]:
    """Each tensor of the built model: what its values are (a finding names one layer of a
    line; this shows every layer's)."""
    (entry,) = [entry for entry in evaluate(text).entries if entry.name == "Deep"]
    found: dict[str, list[tuple]] = {}

    def walk(module, path):
        for name, tensor in (*module.params.items(), *module.buffers.items()):
            if isinstance(tensor, Tensor):
                found[f"{path}{name}"] = [(write.kind, repr(write.dist), write.conditional) for write in tensor.storage.state]
        for name, child in module.modules.items():
            if child is not None:
                walk(child, f"{path}{name}.")

    walk(entry.models["Deep"], "")
    return found


def _same_values_without_memo(text: str, monkeypatch) -> dict[str, list[tuple]]:
    values = _values(text)
    with monkeypatch.context() as patch:
        _no_memo(patch)
        assert _values(text) == values
    return values


def test_equal_layers_are_visited_once_and_copied_with_the_same_findings(outcomes, monkeypatch):
    text = _file('''
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=1.0)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    ''')
    found = _findings(text)
    # six fc and six norm leaves: one of each recorded, five of each copied; the head differs
    # from the fc layers (10 outputs), so it is recorded too
    assert outcomes == {"recorded": 3, "copied": 10}
    assert found == _without_memo(text, monkeypatch)
    assert [(code, line) for code, line, _ in found] == [("IL202", 36)]
    assert "x6 with no normalization" not in found[0][2]  # a LayerNorm after each fc
    assert found[0][2].startswith(
        "N(0, 1^2) on `module.weight` (`blocks.0.fc.weight`) gives E[W^2] = 1; at fan-in 512 (config.hidden_size)"
    )


def test_a_visit_that_tells_modules_apart_by_identity_is_not_copied(outcomes, monkeypatch):
    # only the head is zeroed: a copy of a visit of blocks.0.fc would zero the head too, or
    # miss it; the visit compared the module with self.head, so none is recorded
    text = _file('''
        if module is self.head:
            nn.init.zeros_(module.weight)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=1.0)
    ''')
    found = _findings(text)
    assert outcomes["copied"] == 0
    # the first fc and the first norm (their visits asked ``is``); later equal leaves are
    # evaluated without asking again; the head is recorded on its own key and refused too
    assert outcomes == {"refused": 3, "the visit did more than write values": 3}
    assert found == _without_memo(text, monkeypatch)
    assert [(code, line) for code, line, _ in found] == [("IL202", 38)]


def test_a_visit_reads_the_leaf_attributes_it_depends_on(outcomes, monkeypatch):
    # the std shrinks with each layer's index (GPT-2's scaled init, per layer): the layers
    # differ in an attribute, so no layer's visit stands for another's
    text = _file('''
        if isinstance(module, Block):
            return
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=module.depth_scale)
    ''').replace(
        "        self.fc = nn.Linear(config.hidden_size, config.hidden_size)\n",
        "        self.fc = nn.Linear(config.hidden_size, config.hidden_size)\n"
        "        self.fc.depth_scale = 1.0 / math.sqrt(index + 1)\n",
    ).replace("        self.post_init()", "        self.head.depth_scale = 0.02\n        self.post_init()")
    found = _findings(text)
    assert outcomes["copied"] == 5  # the norms only
    assert found == _without_memo(text, monkeypatch)
    # the first layer's std 1 at fan-in 512 explodes; 1/sqrt(6) on the last is a gain of 85
    assert [(code, line) for code, line, _ in found] == [("IL202", 40)]
    assert "`blocks.0.fc.weight`" in found[0][2]


def test_a_visit_that_changes_the_model_is_not_copied(outcomes, monkeypatch):
    text = _file('''
        if isinstance(module, nn.Linear):
            self.visited = module
            nn.init.normal_(module.weight, std=1.0)
    ''')
    found = _findings(text)
    # the fc and head visits set an attribute of the model: neither is recorded, and each such
    # change makes the norms' record stale (a norm's visit might read that attribute)
    assert outcomes["copied"] == 0
    assert outcomes["the visit changed an object that is not the leaf's tensor"] == 2
    assert found == _without_memo(text, monkeypatch)
    assert [(code, line) for code, line, _ in found] == [("IL202", 37)]


def test_a_tensor_tied_to_another_module_is_not_compared(outcomes, monkeypatch):
    # the head shares the embedding's weight: its visit writes another module's tensor
    text = _file('''
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
    ''').replace(
        "        self.head = nn.Linear(config.hidden_size, 10)\n",
        "        self.embed = nn.Embedding(10, config.hidden_size)\n"
        "        self.head = nn.Linear(config.hidden_size, 10, bias=False)\n"
        "        self.head.weight = self.embed.weight\n",
    )
    assert _findings(text) == _without_memo(text, monkeypatch)
    assert outcomes["a tensor that is not the leaf's own"] == 1  # the head: never compared
    assert outcomes["copied"] == 10


def test_a_visit_that_reads_another_modules_tensor_is_not_copied(outcomes, monkeypatch):
    # whether the embedding is frozen is read on every visit, and the last block's visit
    # freezes it: no key of the visited leaf shows that, so a visit that read it is not copied
    text = _file('''
        if isinstance(module, nn.Linear) and self.embed.weight.requires_grad:
            nn.init.normal_(module.weight, std=1.0)
        if isinstance(module, Block) and module.index == 5:
            self.embed.requires_grad_(False)
    ''').replace(
        "        self.head = nn.Linear(config.hidden_size, 10)\n",
        "        self.head = nn.Linear(config.hidden_size, config.hidden_size)\n"
        "        self.embed = nn.Embedding(10, config.hidden_size)\n",
    )
    found = _findings(text)
    # the norms' visits stop at isinstance and never read the embedding: the first recorded,
    # five copied; the fc visits read the embedding's tensor, so none is recorded
    assert outcomes["copied"] == 5
    assert outcomes["the visit used a tensor that is not the leaf's"] == 1
    assert found == _without_memo(text, monkeypatch)
    assert [(code, line) for code, line, _ in found] == [("IL202", 37)]
    # N(0, 1) on the blocks' fc layers; not on the head, equal to them but visited after the
    # embedding was frozen
    values = _same_values_without_memo(text, monkeypatch)
    assert values["blocks.5.fc.weight"] == [("init", "Normal(mean_=0.0, std=1.0)", False)]
    assert values["head.weight"][0][0] == "default"


def test_a_record_made_before_the_model_changed_is_not_copied_after(outcomes, monkeypatch):
    # the fc layers' visits read the model's scale, the last block's visit changes it: the
    # head's visit, after that change, must see the new value
    text = _file('''
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=self.scale)
        if isinstance(module, Block) and module.index == 5:
            self.scale = 1.0
    ''').replace("        self.post_init()", "        self.scale = 0.02\n        self.post_init()").replace(
        "nn.Linear(config.hidden_size, 10)", "nn.Linear(config.hidden_size, config.hidden_size)"
    )  # the head now equals the blocks' fc layers: without the change, a copy of theirs
    found = _findings(text)
    assert found == _without_memo(text, monkeypatch)
    # N(0, 1) written only on the head, after blocks.5 changed the scale
    assert [(code, line, message.split(" gives")[0]) for code, line, message in found] == [
        ("IL202", 37, "N(0, 1^2) on `module.weight` (`head.weight`)")
    ]
    values = _same_values_without_memo(text, monkeypatch)
    assert values["blocks.5.fc.weight"] == [("init", "Normal(mean_=0.0, std=0.02)", False)]


@pytest.fixture
def container_outcomes(monkeypatch):
    """How each visit of a module with children went: recorded as idle, refused, or skipped."""
    return _counted(monkeypatch, container_visits, "skipped")


def test_a_block_visit_that_does_nothing_is_not_repeated(container_outcomes, monkeypatch):
    text = _file('''
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=1.0)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
    ''')
    found = _findings(text)
    # blocks.0 recorded, blocks.1-5 skipped; the ModuleList recorded on a key of its own. The
    # model's base is the library's PreTrainedModel, so ``isinstance(model, nn.Linear)`` is
    # undecided and its visit reads ``module.weight``: refused
    assert container_outcomes == {"recorded": 2, "refused": 1, "skipped": 5}
    assert found == _without_memo(text, monkeypatch)
    assert [(code, line) for code, line, _ in found] == [("IL202", 36)]


def test_a_block_visit_that_reads_the_block_is_not_skipped_for_another(container_outcomes, monkeypatch):
    # blocks differ in ``index``, which no key holds: the visit of blocks.0 read it and did
    # nothing; a skip of blocks.5 on its record would lose blocks.5's write
    text = _file('''
        if isinstance(module, Block) and module.index == 5:
            nn.init.normal_(module.fc.weight, std=1.0)
    ''')
    found = _findings(text)
    assert container_outcomes["skipped"] == 0
    assert container_outcomes["refused"] == 1  # blocks.0; later blocks are evaluated
    assert found == _without_memo(text, monkeypatch)
    values = _same_values_without_memo(text, monkeypatch)
    assert values["blocks.5.fc.weight"] == [("init", "Normal(mean_=0.0, std=1.0)", False)]
    assert values["blocks.4.fc.weight"][0][0] == "default"
    assert [(code, line) for code, line, _ in found] == [("IL202", 36)]
    assert "`blocks.5.fc.weight`" in found[0][2]


def test_the_library_init_of_a_block_with_its_own_parameter_reaches_each_block(container_outcomes, monkeypatch):
    # super()._init_weights gives a module's own tensors the library's values: a block with a
    # parameter of its own is not like another, each block's visit is evaluated; the blocks
    # without one (and the list) are skipped as before
    text = _file('''
        super()._init_weights(module)
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
    ''')
    with_gamma = text.replace(
        "        self.norm = nn.LayerNorm(config.hidden_size)\n",
        "        self.norm = nn.LayerNorm(config.hidden_size)\n"
        "        self.gamma = nn.Parameter(torch.empty(config.hidden_size))\n",
    )
    assert _findings(text) == _without_memo(text, monkeypatch)
    assert container_outcomes == {"recorded": 2, "refused": 1, "skipped": 5}
    container_outcomes.clear()
    assert _findings(with_gamma) == _without_memo(with_gamma, monkeypatch)
    assert container_outcomes == {"recorded": 1, "refused": 2}  # blocks.0 and the model
    values = _same_values_without_memo(with_gamma, monkeypatch)
    # torch.empty, or the library's values: the taint reached blocks.5 as it did blocks.0
    assert [(kind, conditional) for kind, _, conditional in values["blocks.5.gamma"]] == [("init", False), ("unknown", True)]
