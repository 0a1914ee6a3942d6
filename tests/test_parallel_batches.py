"""How parallel.py cuts the work into batches: a folder stays with one worker, the costliest first."""

from initlint.parallel import _batches, _run_batch, map_in_workers

#: (folder, cost) per item
ITEMS = [("a", 5), ("b", 40), ("a", 30), ("c", 1), ("b", 2), ("a", 10)]


def test_one_batch_per_group_largest_item_first_costliest_batch_first():
    costs = [cost for _, cost in ITEMS]
    batches = _batches(ITEMS, costs, jobs=1, group=lambda item: item[0])
    # limit = 88 // 8 = 11: folder a (30, 10, 5) is cut after 30 and after 10; b after 40
    assert batches == [[1], [2], [5], [0], [4], [3]]
    # without groups: by cost alone, len(items) // (jobs * 8) items a batch (here one)
    assert _batches(ITEMS, costs, jobs=1, group=None) == [[1], [2], [5], [0], [4], [3]]


def test_a_group_under_the_limit_stays_whole():
    items = [("a", 1)] * 5 + [("b", 100)]
    costs = [cost for _, cost in items]
    # limit = 105 // 8 = 13: the five items of folder a make one batch, after b's
    assert _batches(items, costs, jobs=1, group=lambda item: item[0]) == [[5], [0, 1, 2, 3, 4]]


def test_results_come_back_in_input_order():
    items = [(folder, cost, index) for index, (folder, cost) in enumerate(ITEMS)] * 4
    results = map_in_workers(_index, items, 2, lambda item: item[1], lambda item: None, lambda item: item[0])
    assert results == [item[2] for item in items]
    assert _run_batch(_index, items[:2]) == [0, 1]


def _index(item):
    return item[2]
