"""stack_room: calls keep their recursion inside one chunk of CPython's frame stack."""

from __future__ import annotations

import resource
import sys

import pytest

from initlint.stack_room import RESERVED_SLOTS, _call, with_stack_room

#: CPython versions whose frame stack is known to be chunked this way
CHUNKED = sys.implementation.name == "cpython" and (3, 11) <= sys.version_info[:2] <= (3, 13)


def _swing(times: int) -> None:
    """A recursion whose depth swings between 40 and 46 frames, ``times`` times."""

    def down(depth: int) -> int:
        return 0 if depth == 0 else down(depth - 1) + 1

    for turn in range(times):
        down(40 + turn % 7)


def _faults_below(depth: int, room: bool) -> int:
    """Page faults of a swinging recursion started ``depth`` frames below this one."""

    def descend(left: int) -> None:
        if left:
            descend(left - 1)
        elif room:
            with_stack_room(_swing, 2000)
        else:
            _swing(2000)

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    descend(depth)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_the_call_gets_its_arguments_and_gives_the_result():
    assert with_stack_room(divmod, 17, 5) == (3, 2)
    assert with_stack_room(sorted, [3, 1, 2], reverse=True) == [3, 2, 1]


def test_an_exception_of_the_function_passes_through():
    with pytest.raises(ZeroDivisionError):
        with_stack_room(divmod, 1, 0)


@pytest.mark.skipif(not CHUNKED, reason="CPython 3.11-3.13 keep frames in chunks")
def test_the_calling_frame_reserves_its_slots():
    assert _call.__code__.co_stacksize == RESERVED_SLOTS


@pytest.mark.skipif(not CHUNKED, reason="CPython 3.11-3.13 keep frames in chunks")
def test_a_swinging_recursion_stops_mapping_chunks_with_room():
    # some starting depth makes the swing straddle a chunk's edge: each crossing maps a chunk
    depths = range(0, 200, 5)
    without = max(_faults_below(depth, room=False) for depth in depths)
    with_room = max(_faults_below(depth, room=True) for depth in depths)
    assert without >= 1000
    assert with_room < 200
