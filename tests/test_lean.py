"""initlint.lean.dataclass: the standard dataclass, with one shared ``__repr__`` that prints
what the generated one would."""

from __future__ import annotations

import dataclasses

import pytest

from initlint.lean import dataclass


def _pair(**options):
    """The same class body made by the standard decorator and by initlint's."""
    made = []
    for decorator in (dataclasses.dataclass(**options), dataclass(**options)):
        body = type("Point", (), {
            "__annotations__": {"x": "int", "label": "str", "secret": "str", "items": "list"},
            "label": "a",
            "secret": dataclasses.field(default="s", repr=False),
            "items": dataclasses.field(default_factory=list),
        })
        made.append(decorator(body))
    return made


@pytest.mark.parametrize("options", [{}, {"frozen": True}, {"eq": False}, {"frozen": True, "order": True}])
def test_repr_eq_and_hash_are_the_standard_ones(options):
    standard, lean = _pair(**options)
    assert repr(lean(1, "b", items=[2])) == repr(standard(1, "b", items=[2])) == "Point(x=1, label='b', items=[2])"
    assert (lean(1) == lean(1)) is (standard(1) == standard(1))
    assert (lean.__hash__ is None) == (standard.__hash__ is None)
    if options.get("frozen"):
        assert hash(lean(1, items=())) == hash(standard(1, items=()))
        with pytest.raises(dataclasses.FrozenInstanceError):
            lean(1).x = 2


@dataclass
class Node:
    child: object = None


@dataclass
class Own:
    x: int = 0

    def __repr__(self) -> str:
        return "own"


@dataclass(repr=False)
class Plain:
    x: int = 0


@dataclass(frozen=True)
class Base:
    x: int


@dataclass(frozen=True)
class Child(Base):
    y: int = 2


def test_recursion_prints_dots_as_the_standard_repr_does():
    node = Node()
    node.child = Node(node)
    assert repr(node) == "Node(child=Node(child=...))"


def test_a_repr_of_the_class_body_wins_and_repr_false_leaves_object_repr():
    assert repr(Own()) == "own"
    plain = Plain()
    assert repr(plain) == object.__repr__(plain)


def test_a_subclass_shows_its_own_fields():
    assert repr(Child(1)) == "Child(x=1, y=2)"


def test_a_frozen_class_takes_no_assignment_after_init_and_still_copies_and_pickles():
    import copy
    import pickle

    child = Child(1)
    for change in (lambda: setattr(child, "x", 2), lambda: setattr(child, "other", 1), lambda: delattr(child, "y")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            change()
    assert (child.x, child.y) == (1, 2)
    assert pickle.loads(pickle.dumps(child)) == copy.copy(child) == copy.deepcopy(child) == child
    assert dataclasses.replace(child, y=3) == Child(1, 3)
    assert hash(Child(1)) == hash(Child(1)) and {Child(1): "a"}[Child(1)] == "a"


def test_a_frozen_class_keeps_a_hash_of_its_own_body():
    @dataclass(frozen=True)
    class Keyed:
        x: int

        def __hash__(self) -> int:
            return 7

    assert hash(Keyed(1)) == hash(dataclasses.dataclass(frozen=True)(type("Keyed", (), {
        "__annotations__": {"x": "int"}, "__hash__": lambda self: 7}))(1)) == 7


def _fresh(**options):
    @dataclass(**options)
    class Pair:
        """A docstring, so that the standard decorator does not read the signature for one."""

        a: int
        b: list = dataclasses.field(default_factory=list)

    return Pair


def test_generated_methods_compile_on_first_lookup_and_replace_themselves():
    import inspect

    Pair = _fresh(frozen=True, order=True)
    assert type(Pair.__dict__["__init__"]).__name__ == "_Deferred"
    assert str(inspect.signature(Pair)) == "(a: 'int', b: 'list' = <factory>) -> None"
    init = Pair.__dict__["__init__"]
    assert inspect.isfunction(init) and init.__qualname__.endswith("Pair.__init__")
    assert Pair(1) == Pair(1, []) and Pair(1) != Pair(2) and Pair(1) < Pair(2)
    assert hash(Pair(1, ())) == hash((1, ()))
    assert all(inspect.isfunction(Pair.__dict__[name]) for name in ("__eq__", "__lt__", "__hash__"))


def test_a_subclass_that_is_no_dataclass_runs_its_bases_deferred_init():
    Pair = _fresh()

    class Named(Pair):
        def __init__(self, name: str) -> None:
            super().__init__(len(name))
            self.name = name

    named = Named("abc")
    assert (named.a, named.b, named.name) == (3, [], "abc")
    assert Pair.__hash__ is None  # eq without frozen: unhashable, as the standard class
