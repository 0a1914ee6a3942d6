"""Reviewed knowledge about the ecosystem corpus, and how a run is scored against it.

- ``ecosystem_labels.json``: a TP/FP verdict for each finding initlint gave, keyed by tree, path
  (notebook cell), line and code, with the line's stripped text so a label survives small shifts.
- ``ecosystem_truth.json``: the real init smells found by reading the code (``smells``, for
  recall) and legitimate patterns a naive rule would flag (``legit``, the false-positive traps);
  ``kinds`` maps each smell kind to the rule codes that count as finding it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELS = HERE / "ecosystem_labels.json"
TRUTH = HERE / "ecosystem_truth.json"


@dataclass(frozen=True, eq=False)
class Found:
    """One finding of this run, located in its tree (compared by identity: two equal findings
    on one line are two findings, each needing its own label)."""

    tree: str
    path: str  # relative to the tree root; a notebook's own .ipynb path
    cell: int | None  # notebooks: the cell, counted from 1 over all cells
    line: int  # in the file, or in the cell
    code: str
    message: str
    source: str  # the line's text, stripped


@dataclass(frozen=True)
class Label:
    tree: str
    path: str
    cell: int | None
    line: int
    code: str
    source: str
    verdict: str  # "TP" or "FP"
    why: str


@dataclass(frozen=True)
class Smell:
    """A real init problem in the corpus, whatever initlint says."""

    tree: str
    path: str
    cell: int | None
    line: int
    end_line: int  # a finding anywhere in line..end_line counts
    kind: str
    source: str
    evidence: str


@dataclass(frozen=True)
class Legit:
    """A correct pattern that a naive rule would flag."""

    tree: str
    path: str
    cell: int | None
    line: int
    kind: str
    source: str
    why: str


@dataclass
class Truth:
    kinds: dict[str, tuple[str, ...]]  # kind -> rule codes that count as finding it
    smells: list[Smell] = field(default_factory=list)
    legit: list[Legit] = field(default_factory=list)


def load_labels(path: Path = LABELS) -> list[Label]:
    if not path.exists():
        return []
    rows = json.loads(path.read_text())["labels"]
    return [Label(**{k: row.get(k) for k in Label.__dataclass_fields__}) for row in rows]


def load_truth(path: Path = TRUTH) -> Truth:
    if not path.exists():
        return Truth(kinds={})
    data = json.loads(path.read_text())
    kinds = {name: tuple(info.get("codes", ())) for name, info in data["kinds"].items()}
    unknown = {row["kind"] for row in data["smells"]} - kinds.keys()
    if unknown:
        raise SystemExit(f"ecosystem_truth.json: smells of undeclared kinds {sorted(unknown)}")
    smells = [
        Smell(
            tree=row["tree"], path=row["path"], cell=row.get("cell"), line=row["line"],
            end_line=row.get("end_line", row["line"]), kind=row["kind"],
            source=row.get("source", ""), evidence=row["evidence"],
        )
        for row in data["smells"]
    ]
    legit = [Legit(**{k: row.get(k) for k in Legit.__dataclass_fields__}) for row in data["legit"]]
    return Truth(kinds=kinds, smells=smells, legit=legit)


def _place(item: Found | Label | Smell | Legit) -> tuple[str, str, int | None]:
    return item.tree, item.path, item.cell


def match_labels(found: list[Found], labels: list[Label]) -> tuple[dict[Found, Label], list[Label]]:
    """Pair each finding with at most one label (same place and code; the same line, else the
    same stripped source at the nearest line). Returns the pairs and the labels left unpaired."""
    free: dict[tuple, list[Label]] = {}
    for label in labels:
        free.setdefault((*_place(label), label.code), []).append(label)
    pairs: dict[Found, Label] = {}
    for exact in (True, False):
        for finding in found:
            if finding in pairs:
                continue
            pool = free.get((*_place(finding), finding.code), [])
            if exact:
                hits = [lb for lb in pool if lb.line == finding.line]
            else:
                hits = [lb for lb in pool if lb.source and lb.source == finding.source]
            if hits:
                best = min(hits, key=lambda lb: abs(lb.line - finding.line))
                pool.remove(best)
                pairs[finding] = best
    return pairs, [lb for pool in free.values() for lb in pool]


@dataclass
class Recall:
    kind: str
    smells: list[Smell]
    found: list[Smell]  # a finding of a code listed for the kind, on the smell's lines
    flagged: list[Smell]  # a finding of any code there


def recall(found: list[Found], truth: Truth, trees: set[str]) -> list[Recall]:
    """Per kind: the truth smells of the linted trees, and which of them this run finds."""
    at: dict[tuple, list[Found]] = {}
    for finding in found:
        at.setdefault(_place(finding), []).append(finding)
    rows = []
    for kind, codes in truth.kinds.items():
        smells = [s for s in truth.smells if s.kind == kind and s.tree in trees]
        if not smells:
            continue
        row = Recall(kind, smells, [], [])
        for smell in smells:
            near = [f for f in at.get(_place(smell), []) if smell.line <= f.line <= smell.end_line]
            if any(f.code in codes for f in near):
                row.found.append(smell)
            if near:
                row.flagged.append(smell)
        rows.append(row)
    return rows


def traps_hit(found: list[Found], truth: Truth) -> list[tuple[Found, Legit]]:
    """Findings on a line recorded as a legitimate pattern: likely false positives."""
    legit = {(*_place(item), item.line): item for item in truth.legit}
    return [(f, legit[(*_place(f), f.line)]) for f in found if (*_place(f), f.line) in legit]
