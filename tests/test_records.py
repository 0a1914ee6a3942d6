"""records.py: a build's pickle copies what the build made, refers to the rest, and stays small.

builds.py and test_builds.py check that a copied build gives the facts an evaluated one gives;
these tests check the record itself: which fields a copy leaves to the class, and that writes
made in the same call share one call stack in the copy.
"""

from __future__ import annotations

from initlint.model.dists import Normal
from initlint.model.interp import records
from initlint.model.interp.context import Event
from initlint.model.tensors import Storage, Tensor, Write
from initlint.model.values import Module, Place, next_serial


class _Source:
    """Stands for a parsed file: a place only needs an object to point at."""

    path = "models.py"


SOURCE = _Source()


def _place(name: str) -> Place:
    return Place(SOURCE, name)


def _build() -> tuple[int, Module, list[Write]]:
    """What a build made: a layer whose weight two writes of one call stack wrote."""
    floor = next_serial()
    layer = Module("Linear", "dense", args={"in_features": 4, "out_features": 4}, path="fc")
    storage = Storage()
    weight = Tensor((4, 4), storage, parameter=True, requires_grad=True, owner=layer, name="weight")
    layer.params["weight"] = weight
    stack = (_place("caller"), _place("Base.__init__"), _place("init_helper"))
    writes = []
    for dist in (Normal(0.0, 1.0), Normal(0.0, 0.02)):
        # the evaluator makes a new frames tuple for each write (machine.frames_to)
        write = Write(dist, stack[-1], (*stack[:-1], stack[-1]), tensor=weight, spelled="nn.init.normal_")
        storage.writes.append(write)
        writes.append(write)
    storage.state = [writes[-1]]
    return floor, layer, writes


def _copy(payload, floor: int, caller: tuple[Place, ...], writes_before: int = 0):
    data, shared = records.dump(payload, floor, prefix=1, writes=writes_before, entry=floor, arguments=set())
    return records.load(data, shared, caller), data


def test_a_copy_reads_default_fields_from_the_class_and_keeps_the_others():
    floor, layer, writes = _build()
    (copy, copied_writes), data = _copy((layer, writes), floor, (_place("other caller"),))
    assert copy is not layer and copy.params["weight"] is not layer.params["weight"]
    # fields that hold their class's default are not in the pickle: read from the class
    assert b"tainted" not in data and b"open_base" not in data and b"init_skipped" not in data
    assert "tainted" not in vars(copy) and copy.tainted is False and copy.repeat == 1
    # the others are
    assert (copy.kind, copy.family, copy.path) == ("Linear", "dense", "fc")
    assert copy.args == {"in_features": 4, "out_features": 4}
    weight = copy.params["weight"]
    assert (weight.parameter, weight.requires_grad, weight.owner, weight.name) == (True, True, copy, "weight")
    assert weight.view == "" and weight.base is None and weight.root is weight
    assert [write.dist for write in weight.storage.writes] == [Normal(0.0, 1.0), Normal(0.0, 0.02)]
    assert weight.storage.state == [weight.storage.writes[-1]] and copied_writes == weight.storage.writes
    # a field set after loading is the copy's own, not the class's
    copy.tainted = True
    assert Module.tainted is False and layer.tainted is False


def test_writes_of_one_call_stack_share_it_in_the_copy_behind_the_new_callers_frames():
    floor, layer, writes = _build()
    assert writes[0].frames is not writes[1].frames
    caller = (_place("Head.__init__"), _place("Head's call of Base"))
    (_, copied_writes), _ = _copy((layer, writes), floor, caller)
    first, second = copied_writes
    assert first.frames is second.frames
    assert first.frames == (*caller, writes[0].frames[1], writes[0].frames[2])
    # a second copy gets its own caller in front
    other = (_place("OtherHead.__init__"),)
    (_, again), _ = _copy((layer, writes), floor, other)
    assert again[0].frames == (*other, *writes[0].frames[1:])


def test_an_event_keeps_its_place_among_the_writes_when_it_holds_the_default():
    floor, layer, _ = _build()
    # the build started after 3 writes of the entry; an event at write 0 came before them
    early = Event("init-call", _place("early"), (_place("caller"), _place("early")), subject=layer, at_write=0)
    late = Event("init-call", _place("late"), (_place("caller"), _place("late")), subject=layer, at_write=5)
    (copy, events), _ = _copy((layer, [early, late]), floor, (_place("c"),), writes_before=3)
    assert [event.at_write for event in events] == [-3, 2]
    assert events[0].subject is copy and events[0].other is None
