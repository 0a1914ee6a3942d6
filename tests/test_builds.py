"""builds.py: a model class another class of the file builds is built once and copied after.

Each test lints one file twice, with the memo and without it, and asserts the same findings;
then that the memo did (or did not) copy the build, and why not.
"""

from __future__ import annotations

import textwrap

import pytest

from conftest import entry_facts
from initlint import check_source
from initlint.model import entries
from initlint.model.interp import builds


def _findings(text: str) -> list[tuple]:
    return [(f.code, f.location.line, f.location.column, f.message) for f in check_source(text, "models.py")]


def _without_memo(text: str, monkeypatch) -> list[tuple]:
    with monkeypatch.context() as patch:
        _no_memo(patch)
        return _findings(text)


def _no_memo(patch) -> None:
    """Every build evaluated: none recorded, none copied."""
    patch.setattr(builds.BuildMemo, "build", lambda self, evaluator, cls, args, kwargs, place, open_: (
        evaluator.make_instance(cls, args, kwargs, place, open_)))


BASE = '''
import torch
import torch.nn as nn


class Config:
    def __init__(self, hidden=64, depth=3):
        self.hidden = hidden
        self.depth = depth


class Base(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(config.hidden, config.hidden) for _ in range(config.depth)])
        self.out = nn.Linear(config.hidden, config.hidden)
        for layer in self.layers:
            nn.init.normal_(layer.weight, std=1.0)
        {extra}

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return self.out(x)


class Head(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        {build}
        self.classifier = nn.Linear(config.hidden, 10)
        nn.init.zeros_(self.base.out.weight)

    def forward(self, x):
        return self.classifier(torch.relu(self.base(x)))


class OtherHead(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.base = Base(config)
        self.score = nn.Linear(config.hidden, 1)

    def forward(self, x):
        return self.score(self.base(x))
'''


def _file(extra: str = "", build: str = "self.base = Base(config)") -> str:
    return textwrap.dedent(BASE).replace("{extra}", extra).replace("{build}", build)


def test_a_head_gets_a_copy_of_the_base_its_file_built_and_the_same_findings(memos, monkeypatch):
    text = _file()
    found = _findings(text)
    assert [memo.replayed for memo in memos] == [2]  # Head and OtherHead copy Base's build
    assert found == _without_memo(text, monkeypatch)
    codes = [(code, line) for code, line, _, _ in found]
    assert ("IL202", 18) in codes  # N(0, 1) on Base's layers, written in Base.__init__
    # zeros on base.out, which feeds Head's classifier: a hidden layer there, written on the copy
    assert ("IL101", 32) in codes


def test_a_base_built_under_another_name_is_recorded_when_it_comes_again(memos, monkeypatch):
    # the heads build Base through a class attribute (as a head whose constructor another file
    # writes builds the model under that file's name): no call of this file names Base. Base's
    # own build and Head's are evaluated; OtherHead's, the third, is recorded; LastHead's (its
    # constructor is Head's) is a copy
    text = _file(build="self.base = self.base_class(config)").replace(
        "class Head(nn.Module):\n", "class Head(nn.Module):\n    base_class = Base\n\n"
    ).replace("        self.base = Base(config)\n        self.score", "        self.base = Head.base_class(config)\n        self.score")
    text += "\n\nclass LastHead(Head):\n    pass\n"
    assert "Base(config)" not in text
    found = _findings(text)
    assert [memo.replayed for memo in memos] == [1]
    assert found == _without_memo(text, monkeypatch)
    codes = [(code, line) for code, line, _, _ in found]
    assert ("IL202", 18) in codes and ("IL101", 34) in codes


def test_a_build_that_changes_its_argument_is_not_copied(memos, monkeypatch):
    text = _file(extra="config.depth = 2")
    assert _findings(text) == _without_memo(text, monkeypatch)
    assert memos[0].replayed == 0
    # Head's and OtherHead's own builds: no call repeats them, not pickled
    assert memos[0].refusals == {"the build changed an object it did not make": 1, "no other call of the file passes the same arguments": 2}


def test_a_build_that_changes_a_module_level_list_is_not_copied(memos, monkeypatch):
    text = _file(extra="REGISTRY.append(self)").replace("class Config:", "REGISTRY = []\n\n\nclass Config:")
    assert _findings(text) == _without_memo(text, monkeypatch)
    assert memos[0].replayed == 0
    # Head's and OtherHead's own builds: no call repeats them, not pickled
    assert memos[0].refusals == {"the build changed an object it did not make": 1, "no other call of the file passes the same arguments": 2}


@pytest.mark.parametrize(
    "shared, change",
    [
        ("REGISTRY = []", "REGISTRY.append(self)"),  # a module-level list filled
        ("REGISTRY = False", "global REGISTRY\n        REGISTRY = True"),  # a global rebound
    ],
)
def test_a_build_is_not_copied_after_state_every_entry_shares_changed(memos, monkeypatch, shared, change):
    # Base reads module-level state that Head changes before building it: evaluated again,
    # Head's Base takes the other branch (std 5 on `out`), so a copy of Base's own build is wrong
    text = _file(
        extra="if REGISTRY:\n            nn.init.normal_(self.out.weight, std=5.0)",
        build=change + "\n        self.base = Base(config)",
    ).replace("class Config:", shared + "\n\n\nclass Config:")
    found = _findings(text)
    assert found == _without_memo(text, monkeypatch)
    assert [(code, line) for code, line, _, message in found if "N(0, 5^2)" in message] == [("IL202", 23)]
    assert memos[0].replayed == 0


def test_a_build_that_makes_a_closure_is_not_copied(memos, monkeypatch):
    text = _file(extra="self.scale = lambda x: x * config.hidden")
    assert _findings(text) == _without_memo(text, monkeypatch)
    assert memos[0].replayed == 0
    # Head's and OtherHead's own builds: no call repeats them, not pickled
    assert memos[0].refusals == {"the build made a FunctionValue": 1, "no other call of the file passes the same arguments": 2}


def test_a_build_with_other_arguments_is_evaluated(memos, monkeypatch):
    text = _file(build="self.base = Base(Config(hidden=32))")
    assert _findings(text) == _without_memo(text, monkeypatch)
    assert memos[0].replayed == 1  # only OtherHead passes the default configuration


def test_a_build_with_other_arguments_is_recorded_for_the_next_head(memos, monkeypatch):
    third = (
        "\n\nclass ThirdHead(nn.Module):\n    def __init__(self, config: Config):\n        super().__init__()\n"
        "        self.base = Base(Config(hidden=32))\n\n    def forward(self, x):\n        return self.base(x)\n"
    )
    text = _file(build="self.base = Base(Config(hidden=32))") + third
    assert _findings(text) == _without_memo(text, monkeypatch)
    # Head records Base(Config(hidden=32)), ThirdHead copies it; OtherHead copies Base's own build
    assert memos[0].replayed == 2
    assert len(memos[0].snapshots) == 2


def test_a_build_inside_try_is_evaluated(memos, monkeypatch):
    text = _file(build="try:\n            self.base = Base(config)\n        except ValueError:\n            raise")
    assert _findings(text) == _without_memo(text, monkeypatch)
    assert memos[0].replayed == 1  # Head's build runs where a missing attribute is caught


def test_the_copy_records_what_evaluating_the_build_again_records(memos, monkeypatch):
    text = _file()
    copied = entry_facts(text)
    assert [memo.replayed for memo in memos] == [2]
    with monkeypatch.context() as patch:
        _no_memo(patch)
        evaluated = entry_facts(text)
    assert copied == evaluated
    writes, _, modules, executed, _ = copied["Head"]
    # Base's init, copied into Head: its frames run from Head (line 27) through Head's call of
    # Base (line 30) to the write (line 18), as if Base.__init__ had run there
    assert ("base.layers.0.weight", "N(0, 1^2)", 18, (27, 30, 18), False, True, "init") in writes
    assert ("base.layers.2", "Linear") in modules
    assert "__init__" in executed and "forward" in executed


def _failures_and_base_builds(text: str, monkeypatch) -> tuple[list, int]:
    """Each entry's failure, and how many times Base's constructor started."""
    from initlint.model.interp.instances import Instances

    started = []
    original = Instances.make_instance

    def make_instance(self, cls, *args, **kwargs):
        started.append(cls.name)
        return original(self, cls, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Instances, "make_instance", make_instance)
        patch.setattr(entries, "CLASS_BUDGET", 40)  # building Base takes more
        from initlint.engine import source_file
        from initlint.model.project import Project
        from initlint.model.syntax import read_syntax
        from initlint.parsing import parse

        tree = parse(text)
        facts = entries.evaluate_file(source_file("models.py", tree, text), Project(lambda path: None), read_syntax(tree))
    failures = [(entry.name, entry.failed) for entry in facts.entries if entry.kind == "class"]
    return failures, started.count("Base")


def test_a_build_that_ran_out_of_steps_fails_the_next_entry_at_once(memos, monkeypatch):
    # Base's build takes more steps than an entry may: Head and OtherHead, which build it with
    # the same arguments from as many steps in, would run out too; with the memo they fail
    # without building it again
    text = _file()
    with_memo = _failures_and_base_builds(text, monkeypatch)
    with monkeypatch.context() as patch:
        _no_memo(patch)
        without = _failures_and_base_builds(text, monkeypatch)
    too_long = "building and running the model took too long to evaluate"
    assert with_memo[0] == without[0] == [("Base", too_long), ("Head", too_long), ("OtherHead", too_long)]
    assert (with_memo[1], without[1]) == (1, 3)
    # Base's own build, and each head's (which ran out in Base's at once)
    assert len(memos[0].exhausted) == 3 and memos[0].replayed == 0


POOLED = '''
import torch.nn as nn


class Config:
    def __init__(self, hidden=64, depth=3):
        self.hidden = hidden
        self.depth = depth


class Base(nn.Module):
    def __init__(self, config: Config, pool: bool = True):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(config.hidden, config.hidden) for _ in range(config.depth)])
        for layer in self.layers:
            nn.init.normal_(layer.weight, std=1.0)
        self.pool = nn.Linear(config.hidden, config.hidden) if pool else None


class Head(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.base = Base(config, pool=False)
        self.classifier = nn.Linear(config.hidden, 10)
'''


def _pooled(*heads: str) -> str:
    """POOLED with more heads, each building Base with the given arguments."""
    text = textwrap.dedent(POOLED)
    for index, arguments in enumerate(heads):
        text += (
            f"\n\nclass Head{index}(nn.Module):\n    def __init__(self, config: Config):\n        super().__init__()\n"
            f"        self.base = Base({arguments})\n"
        )
    return text


@pytest.mark.parametrize(
    ("heads", "replayed", "refused"),
    [
        # Base's own build (config) is repeated by no call: not pickled; nor is Head's own build
        # (each entry's own build is noted, in case it comes again); Head's build (config, pool)
        # is repeated by no other call and is no build noted before: evaluated as it is
        ((), 0, {"no other call of the file passes the same arguments": 2}),
        # a second head builds Base as Head does: Head's build is recorded, the second copies
        # it; Base's and the heads' own builds are not pickled
        (("config, pool=False",), 1, {"no other call of the file passes the same arguments": 3}),
        # a head builds Base as its own entry does: the entry's build is recorded and copied;
        # Head's build with other arguments then comes once: evaluated, not pickled; nor are
        # the heads' own builds
        (("config",), 1, {"no other call of the file passes the same arguments": 3}),
    ],
)
def test_a_build_is_recorded_only_when_a_call_of_the_file_may_repeat_it(memos, monkeypatch, heads, replayed, refused):
    text = _pooled(*heads)
    assert _findings(text) == _without_memo(text, monkeypatch)
    (memo, *_) = memos
    assert memo.replayed == replayed
    assert memo.refusals == refused
