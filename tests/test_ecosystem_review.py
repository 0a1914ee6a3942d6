"""The ecosystem check's scoring: label matching, recall and notebook line mapping."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from ecosystem_corpus import cell_line  # noqa: E402
from ecosystem_review import (  # noqa: E402
    Found,
    Label,
    Legit,
    Smell,
    Truth,
    load_labels,
    load_truth,
    match_labels,
    recall,
    traps_hit,
)


def found(line: int, code: str = "IL101", source: str = "w.zero_()", path: str = "m.py") -> Found:
    return Found("t", path, None, line, code, "msg", source)


def label(line: int, code: str = "IL101", source: str = "w.zero_()", verdict: str = "TP") -> Label:
    return Label("t", "m.py", None, line, code, source, verdict, "why")


def test_a_label_matches_its_line_then_its_source_at_the_nearest_line():
    exact, shifted, other = found(10), found(14, source="b.zero_()"), found(30, code="IL501")
    labels = [label(10), label(12, source="b.zero_()"), label(40, source="b.zero_()"), label(30, code="IL201")]
    pairs, gone = match_labels([exact, shifted, other], labels)
    assert pairs[exact].line == 10
    assert pairs[shifted].line == 12  # same text, nearest of lines 12 and 40
    assert other not in pairs  # same line, other code: unlabeled
    assert sorted((lb.line, lb.code) for lb in gone) == [(30, "IL201"), (40, "IL101")]


def test_two_findings_on_one_line_consume_two_labels():
    first, second = found(5), found(5)
    pairs, gone = match_labels([first, second], [label(5, verdict="TP")])
    assert len(pairs) == 1 and len(gone) == 0
    pairs, gone = match_labels([first, second], [label(5, verdict="TP"), label(5, verdict="FP")])
    assert sorted(lb.verdict for lb in pairs.values()) == ["FP", "TP"] and gone == []


def test_recall_counts_a_smell_found_only_with_a_code_of_its_kind():
    truth = Truth(
        kinds={"constant": ("IL101",), "new-kind": ()},
        smells=[
            Smell("t", "m.py", None, 10, 12, "constant", "", "e"),
            Smell("t", "m.py", None, 20, 20, "constant", "", "e"),
            Smell("t", "m.py", None, 30, 30, "new-kind", "", "e"),
            Smell("other", "m.py", None, 30, 30, "new-kind", "", "e"),
        ],
        legit=[Legit("t", "m.py", None, 40, "zero-head", "", "why")],
    )
    rows = {r.kind: r for r in recall([found(12), found(20, code="IL501"), found(30), found(40)], truth, {"t"})}
    assert [s.line for s in rows["constant"].found] == [10]
    assert [s.line for s in rows["constant"].flagged] == [10, 20]
    assert len(rows["new-kind"].smells) == 1 and rows["new-kind"].found == []  # no code counts yet
    assert [(f.line, lg.kind) for f, lg in traps_hit([found(40), found(41)], truth)] == [(40, "zero-head")]


def test_a_notebook_finding_reads_its_line_from_the_cell_numbered_over_all_cells(tmp_path):
    book = tmp_path / "nb.ipynb"
    book.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "source": ["# title"]},
        {"cell_type": "code", "source": ["import torch\n", "w = torch.empty(3).uniform_(-100, 100)\n"]},
        {"cell_type": "code", "source": "x = 1"},
    ]}))
    assert cell_line(book, 2, 2) == "w = torch.empty(3).uniform_(-100, 100)"
    assert cell_line(book, 3, 1) == "x = 1"
    assert cell_line(book, 3, 2) == "" and cell_line(book, 9, 1) == ""


def test_the_committed_labels_and_truth_load_and_are_consistent():
    labels = load_labels()
    assert labels and all(lb.verdict in ("TP", "FP") and lb.why and lb.source for lb in labels)
    keys = [(lb.tree, lb.path, lb.cell, lb.line, lb.code) for lb in labels]
    assert len(keys) == len(set(keys))
    truth = load_truth()
    assert truth.smells and truth.legit
    assert all(s.evidence and s.source and s.line <= s.end_line for s in truth.smells)
