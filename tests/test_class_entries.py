"""entries.py: which classes of a file are built as models. A class whose bases say its
instances are no nn.Module (a dataset, a config, an output record) is never built: its
constructor may read files or loop over data for a whole budget, and its instance would be
dropped anyway."""

from __future__ import annotations

import textwrap

from initlint import check_source
from initlint.model import entries
from initlint.model.interp.instances import Instances, makes_module
from initlint.model.project import Project
from initlint.model.source import ParsedFile
from initlint.model.syntax import read_syntax
from initlint.model.values import ClassValue
from initlint.parsing import parse

SOURCE = textwrap.dedent(
    '''
    import abc
    import typing

    import torch.nn as nn
    from torch.utils.data import Dataset
    from lightning import LightningModule
    from lightning.pytorch.callbacks import Callback


    class Corpus(typing.Generic[typing.TypeVar("T")], abc.ABC):
        """Reads every sentence up front: a long loop, as real datasets are."""

        def __init__(self, sentences=200000):
            self.rows = []
            for index in range(sentences):
                self.rows.append(index * 2)


    class TokenDataset(Dataset):
        def __init__(self, size=100000):
            self.items = [i for i in range(size)]

        def __getitem__(self, index):
            return self.items[index]


    class Settings:
        def __init__(self, hidden=64):
            self.hidden = hidden


    class Net(nn.Module):
        def __init__(self, hidden=64):
            super().__init__()
            self.fc = nn.Linear(hidden, hidden)
            nn.init.uniform_(self.fc.weight, -100, 100)

        def forward(self, x):
            return self.fc(x)


    class Task(LightningModule):
        def __init__(self):
            super().__init__()
            self.net = Net()

        def forward(self, x):
            return self.net(x)


    class EarlyStop(Callback):
        def on_train_epoch_end(self, trainer, module):
            self.epochs = getattr(self, "epochs", 0) + 1
    '''
)


def _facts(monkeypatch, text: str = SOURCE):
    built: list[str] = []
    original = Instances.make_instance

    def make_instance(self, cls, *args, **kwargs):
        built.append(cls.name)
        return original(self, cls, *args, **kwargs)

    monkeypatch.setattr(Instances, "make_instance", make_instance)
    tree = parse(text)
    facts = entries.evaluate_file(ParsedFile("models.py", tree, text, "models"), Project(lambda path: None), read_syntax(tree))
    return facts, built


def test_classes_whose_instances_are_no_module_are_not_built(monkeypatch):
    facts, built = _facts(monkeypatch)
    classes = [(entry.name, entry.failed) for entry in facts.entries if entry.kind == "class"]
    # before: Corpus and TokenDataset ran their loops until the budget and stayed as failed
    # entries; Settings was built and dropped
    assert classes == [("Net", None), ("Task", None)]
    assert "Corpus" not in built and "TokenDataset" not in built and "Settings" not in built
    assert built.count("Net") >= 2  # its own entry, and inside Task's


def test_makes_module_reads_the_bases(monkeypatch):
    facts, _ = _facts(monkeypatch)
    classes = {name: value for name, value in facts.namespace.names.items() if isinstance(value, ClassValue)}
    verdicts = {name: makes_module(cls) for name, cls in classes.items()}
    assert verdicts == {
        "Corpus": False,  # typing and abc bases are plain classes
        "TokenDataset": False,  # a base outside the evaluated code (torch's Dataset), but no forward
        "Settings": False,
        "Net": True,  # nn.Module
        "Task": True,  # a base outside the evaluated code, and a forward: it may be a model
        "EarlyStop": False,  # the same: a callback
    }


def test_a_model_beside_a_dataset_keeps_its_findings():
    findings = [(f.code, f.location.line, f.location.column, f.message) for f in check_source(SOURCE, "models.py")]
    assert findings == [(
        "IL201", 37, 9,
        ("U(-100, 100) on `self.fc.weight` gives E[W^2] = 3.3e3; at fan-in 64 (hidden) the variance gain is 2.1e5 "
         "per layer (std x460); PyTorch's default gives 0.33"),
    )]
