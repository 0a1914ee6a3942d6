"""classes_run.py: the user classes a measured forward ran, and the user bases they derive from."""

from __future__ import annotations

import pytest

from initlint.probe.classes_run import ClassRun

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.probe

from torch import nn  # noqa: E402

from initlint.probe.classes_run import classes_run, forwards_seen  # noqa: E402


class Base(nn.Module):
    pass


class Block(Base):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.spare = Block()  # built, never called
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.block(x).relu())


def test_the_forward_calls_are_seen_and_torch_classes_left_out():
    called: set[type] = set()
    with forwards_seen(called):
        Net()(torch.zeros(2, 4))
    assert called == {Net, Block, nn.Linear}
    assert classes_run(called) == [ClassRun("Base", __file__, base=True), ClassRun("Block", __file__), ClassRun("Net", __file__)]
    Net()(torch.zeros(2, 4))
    assert called == {Net, Block, nn.Linear}  # the hook is gone after the block


def test_a_class_called_itself_is_not_marked_a_base_when_a_subclass_also_ran():
    assert classes_run({Block, Base}) == [ClassRun("Base", __file__), ClassRun("Block", __file__)]


def test_the_record_crosses_as_plain_data():
    run = ClassRun("Block", "/p/m.py", base=True)
    assert ClassRun.from_dict(run.to_dict()) == run
    assert ClassRun.from_dict({"name": "A", "file": "f.py"}) == ClassRun("A", "f.py", base=False)
