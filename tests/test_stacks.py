"""builds.py and slots.py: the layers of a stack, built again and again with another int, are
copies of one recorded build when that build only moved its int.

Each test lints a file with the memo and without it and asserts the same findings and the same
facts (every write with its layer path, distribution and frames; every event; every module);
then how many layers were copies, and why a stack was not copied.
"""

from __future__ import annotations

import textwrap

import pytest

from conftest import entry_facts
from initlint import check_source
from initlint.model.interp import builds, slots

MODEL = '''
import math

import torch
import torch.nn as nn


class Config:
    def __init__(self, hidden=64, depth=6):
        self.hidden = hidden
        self.depth = depth
        self.kinds = ["dense", "dense", "gated", "dense", "dense", "gated"]


class Attention(nn.Module):
    def __init__(self, config, layer_idx):
        super().__init__()
        self.layer_idx = layer_idx
        self.qkv = nn.Linear(config.hidden, 3 * config.hidden)
        self.proj = nn.Linear(config.hidden, config.hidden)


class Block(nn.Module):
    def __init__(self, config, layer_idx):
        super().__init__()
        {block}
        self.attn = Attention(config, layer_idx=layer_idx)
        self.fc = nn.Linear(config.hidden, config.hidden)
        nn.init.normal_(self.fc.weight, std=1.0)
        self.norm = nn.LayerNorm(config.hidden)

    def forward(self, x):
        return self.norm(x + self.fc(torch.relu(self.attn.proj(x))))


class Stack(nn.Module):
    def __init__(self, config=Config()):
        super().__init__()
        self.blocks = nn.ModuleList([Block(config, i) for i in range(config.depth)])
        self.head = nn.Linear(config.hidden, 10)
        {after}

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(x)
'''


def _file(block: str = "pass", after: str = "pass") -> str:
    return textwrap.dedent(MODEL).replace("{block}", block).replace("{after}", after)


def _findings(text: str) -> list[tuple]:
    return [(f.code, f.location.line, f.location.column, f.message) for f in check_source(text, "models.py")]


def _same_without_memo(text: str, monkeypatch) -> list[tuple]:
    """The findings, after asserting that evaluating every build gives the same findings and facts."""
    found, facts = _findings(text), entry_facts(text)
    with monkeypatch.context() as patch:
        patch.setattr(builds.BuildMemo, "build", lambda self, evaluator, cls, args, kwargs, place, open_: (
            evaluator.make_instance(cls, args, kwargs, place, open_)))
        assert _findings(text) == found
        assert entry_facts(text) == facts
    return found


def _stack_memo(memos: list[builds.BuildMemo]) -> builds.BuildMemo:
    """The memo of the lint (the first file evaluated; the others are the facts' evaluations)."""
    return memos[0]


def test_layers_that_only_store_their_index_are_copies_with_their_own_index(memos, monkeypatch):
    text = _file(block="self.index = layer_idx")
    found = _same_without_memo(text, monkeypatch)
    memo = _stack_memo(memos)
    # Stack's entry: block 0 evaluated, block 1 tracked and recorded, blocks 2-5 copied; Block's
    # own entry builds one Attention, with a symbol for the open layer_idx: nothing to copy
    assert memo.replayed == 4
    assert [type(value).__name__ for value in memo.stacks.values()].count("Stacked") == 1
    # std 1 at fan-in 64, in every block: the finding names the first, from the evaluated build
    assert [(code, line) for code, line, _, _ in found] == [("IL202", 29)]
    attributes = entry_facts(text)["Stack"][4]
    # each copy holds its own int, in the block and in its attention
    assert [(path, value) for path, name, value in attributes if name in ("index", "layer_idx")] == [
        (f"blocks.{i}{part}", str(i)) for i in range(6) for part in ("", ".attn")
    ]


def test_an_index_tested_only_for_none_is_not_a_use(memos, monkeypatch):
    text = _file(block="if layer_idx is None:\n            raise ValueError('layer_idx')")
    _same_without_memo(text, monkeypatch)
    assert _stack_memo(memos).replayed == 4


@pytest.mark.parametrize(
    "block",
    [
        # arithmetic, a comparison, a list indexed by the int, %-formatting, an f-string, a
        # builtin, type(), a dict keyed by it, its truth, a list item it names
        "self.scale = 1.0 / math.sqrt(layer_idx + 1)",
        "self.last = layer_idx == 5",
        "self.kind = config.kinds[layer_idx]",
        "self.tag = 'layer_%d' % layer_idx",
        "self.tag = f'layer{layer_idx}'",
        "self.steps = list(range(layer_idx))",
        "self.kind = type(layer_idx)",
        "self.table = {layer_idx: 1}",
        "self.first = not layer_idx",
        "self.slots = [0, 0, 0, 0, 0, 0]\n        self.slots[layer_idx] = 1",
    ],
)
def test_a_build_that_uses_its_int_is_evaluated_for_each_layer(memos, monkeypatch, block):
    text = _file(block=block)
    _same_without_memo(text, monkeypatch)
    memo = _stack_memo(memos)
    assert memo.refusals.get("the build used the value of an int argument") == 1
    assert not any(isinstance(value, builds.Stacked) and value.snapshot.called[0].cls.name == "Block"
                   for value in memo.stacks.values())
    # the attentions inside only store it: block 2's is tracked, those of blocks 3-5 are copies
    assert memo.replayed == 3


def test_a_build_that_branches_on_its_int_gets_each_layer_right(memos, monkeypatch):
    # every third layer gets a gate: a copy of layer 1 would give layers 2 and 5 no gate
    text = _file(block="if config.kinds[layer_idx] == 'gated':\n            self.gate = nn.Linear(config.hidden, 1)\n"
                       "            nn.init.zeros_(self.gate.weight)")
    _same_without_memo(text, monkeypatch)
    modules = entry_facts(text)["Stack"][2]
    assert [path for path, kind in modules if path.endswith(".gate")] == ["blocks.2.gate", "blocks.5.gate"]
    assert _stack_memo(memos).replayed == 3  # the attentions only


def test_the_copies_carry_the_index_that_later_init_reads(memos, monkeypatch):
    # depth-scaled init after the stack is built reads each block's own index: std 1/sqrt(i+1)
    text = _file(
        block="self.index = layer_idx",
        after="for block in self.blocks:\n            nn.init.normal_(block.fc.weight, std=1.0 / math.sqrt(block.index + 1))",
    )
    _same_without_memo(text, monkeypatch)
    assert _stack_memo(memos).replayed == 4
    writes = entry_facts(text)["Stack"][0]
    after_line = text.splitlines().index("            nn.init.normal_(block.fc.weight, std=1.0 / math.sqrt(block.index + 1))") + 1
    stds = [(path, dist) for path, dist, line, *_ in writes if line == after_line]
    expected = ["N(0, 1^2)", "N(0, 0.71^2)", "N(0, 0.58^2)", "N(0, 0.5^2)", "N(0, 0.45^2)", "N(0, 0.41^2)"]
    assert stds == [(f"blocks.{i}.fc.weight", dist) for i, dist in enumerate(expected)]


def test_a_stack_of_builds_equal_in_everything_is_evaluated_once_and_not_tracked(memos, monkeypatch):
    # the same int each time: nothing varies, no build is tracked; each is evaluated (the
    # exact-argument records are for the entries' own builds)
    text = _file(block="self.index = layer_idx").replace("Block(config, i) for i in", "Block(config, 0) for i in")
    _same_without_memo(text, monkeypatch)
    memo = _stack_memo(memos)
    assert memo.replayed == 0
    assert not any(isinstance(value, builds.Stacked) for value in memo.stacks.values())


def test_a_tracked_int_acts_as_its_value_and_notes_each_use():
    log = slots.SlotLog()
    value = slots.SlotInt(3, 0, log)
    assert isinstance(value, int) and value is not None
    assert not log.used
    assert value + 1 == 4 and log.used
    log.used = False
    slots.touch((1, slice(0, value)))  # indexing a sequence reads it in C: the evaluator says so
    assert log.used
    log.active, log.used = False, False
    assert str(value) == "3" and not log.used  # after its build, uses are no longer noted
    assert type(slots.plain(value)) is int


def test_a_tracked_int_copies_and_pickles_as_a_plain_int():
    import copy
    import pickle

    log = slots.SlotLog()
    value = slots.SlotInt(7, 0, log)
    log.active = False  # after its build: a finding's detail may hold it, the parent unpickles it
    for copied in (pickle.loads(pickle.dumps(value)), copy.copy(value), copy.deepcopy(value)):
        assert type(copied) is int and copied == 7
    log.active = True
    copy.copy(value)
    assert log.used


def test_a_factory_function_copies_the_layers_of_its_stack_as_a_class_entry_does(memos, monkeypatch):
    text = _file(block="self.index = layer_idx") + "\n\ndef make_stack():\n    return Stack(Config(depth=6))\n"
    found = _same_without_memo(text, monkeypatch)
    # Stack's entry copies blocks 2-5, and so does make_stack's (autograd not known there: its
    # own records, never Stack's)
    assert _stack_memo(memos).replayed == 8
    assert [(code, line) for code, line, _, _ in found] == [("IL202", 29)]
    facts = entry_facts(text)
    assert [path for path, name, _ in facts["make_stack"][4] if name == "index"] == [f"blocks.{i}" for i in range(6)]


def test_a_stack_of_a_class_no_call_names_is_copied_too(memos, monkeypatch):
    # Stack builds its blocks through a class attribute (as a model whose constructor another
    # file writes, in transformers' modular files): Block's own entry build (its defaults) is
    # noted, so Block's builds come to the memo; the stack's are not that build (they pass
    # config and an index): block 0 evaluated, block 1 tracked and recorded, blocks 2-5 copied
    text = _file(block="self.index = layer_idx").replace(
        "    def __init__(self, config, layer_idx):\n        super().__init__()\n        self.index",
        "    def __init__(self, config=Config(), layer_idx=0):\n        super().__init__()\n        self.index",
    ).replace("class Stack(nn.Module):\n", "class Stack(nn.Module):\n    block_class = Block\n\n").replace(
        "[Block(config, i)", "[self.block_class(config, i)"
    )
    assert "Block(config" not in text
    _same_without_memo(text, monkeypatch)
    assert _stack_memo(memos).replayed == 4
