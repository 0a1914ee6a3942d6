"""Ecosystem check: lint a broad corpus of real model code and score it against reviewed labels.

    python benchmarks/ecosystem.py [--only TREE] [--no-fetch] [--check] [-o FILE]

Like ruff's ecosystem check. The corpus (ecosystem_corpus.py): the three model zoos and other
PyPI packages at pinned versions (``pip download --no-deps``, unpacked into the gitignored
``benchmarks/corpus/ecosystem/``), the research repositories of ``../shared/corpus`` (read in
place) and their notebooks. Each tree is linted by the installed initlint as a user would run
it (``check --format json --no-cache``, default settings). The run is scored against
``ecosystem_labels.json`` (a reviewed TP/FP verdict per finding) and ``ecosystem_truth.json``
(real smells found by reading the code, for recall) and written to ``benchmarks/ECOSYSTEM.md``
(a full run) or ``-o FILE``. Findings without a label are listed as new, labels whose finding
is no longer reported as gone. ``--check`` exits 1 when any finding is unlabeled or precision
over labeled findings is below 90%.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ecosystem_corpus import PINS, Tree, cell_line, fetch, trees  # noqa: E402
from ecosystem_review import (  # noqa: E402
    Found,
    Label,
    load_labels,
    load_truth,
    match_labels,
    recall,
    traps_hit,
)

REPORT = HERE / "ECOSYSTEM.md"
MIN_PRECISION = 0.90


@dataclass
class TreeRun:
    tree: Tree
    files: int
    errors: list[str]  # files initlint could not read or parse, one line each
    crash: str | None  # initlint itself failed on this tree
    found: list[Found]
    seconds: float
    coverage: tuple[int, int] | None = None


@dataclass
class Score:
    runs: list[TreeRun]
    labels: dict[Found, Label]
    gone: list[Label]
    verdicts: collections.Counter = field(default_factory=collections.Counter)

    def verdict(self, finding: Found) -> str:
        label = self.labels.get(finding)
        return label.verdict if label else "unlabeled"


COVERAGE_RUN = """
import json, sys
from pathlib import Path
from initlint.discover import discover
from initlint.engine import coverage_of
root = Path(sys.argv[1])
calls = known = 0
for source in discover([str(root)], [], root)[0]:
    found = coverage_of(source.path)
    if found is not None:
        calls, known = calls + found.calls, known + found.known
print(json.dumps([known, calls]))
"""


def init_call_coverage(tree: Tree) -> tuple[int, int] | None:
    """(init calls whose target tensor and fan-in the engine established, all init calls) in
    ``tree`` (engine.coverage_of, in a child process like the lint); None if that run failed."""
    result = subprocess.run([sys.executable, "-c", COVERAGE_RUN, str(tree.root)],
                            capture_output=True, text=True, cwd=HERE.parent)
    try:
        known, calls = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return known, calls


def count_files(root: Path) -> int:
    """The files initlint would lint under root, by its own discovery rules."""
    from initlint.discover import discover

    files, _ = discover([str(root)], [], root)
    return len(files)


def _line_text(path: Path, line: int) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def lint(tree: Tree, config: Path, with_coverage: bool) -> TreeRun:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "initlint", "check", "--format", "json", "--no-cache",
         "--config", str(config), str(tree.root)],
        capture_output=True, text=True, cwd=HERE.parent,
    )
    seconds = time.perf_counter() - start
    crash = None
    if result.returncode not in (0, 1, 2) or "Traceback" in result.stderr:
        crash = f"exit {result.returncode}: {result.stderr.strip()[-2000:]}"
    errors = [line for line in result.stderr.splitlines() if line.startswith("initlint: error:")]
    try:
        rows = json.loads(result.stdout or "[]")
    except json.JSONDecodeError as error:
        rows, crash = [], crash or f"unreadable JSON output: {error}"
    found = []
    for row in rows:
        if row.get("code") is None:  # a file initlint could not read or parse (also on stderr)
            line = f"initlint: error: {row.get('path')}: {row.get('message')}"
            if line not in errors:
                errors.append(line)
            continue
        file = Path(row["path"])
        file = file if file.is_absolute() else HERE.parent / file
        relative = file.resolve().relative_to(tree.root.resolve()).as_posix()
        cell = row.get("cell")
        text = _line_text(file, row["line"]) if cell is None else cell_line(file, cell, row["line"])
        found.append(Found(tree.name, relative, cell, row["line"], row["code"], row["message"], text))
    return TreeRun(tree, count_files(tree.root), errors, crash, found, seconds,
                   init_call_coverage(tree) if with_coverage else None)


def _shorten(text: str, root: Path) -> str:
    """An error line with the tree's root (absolute or as initlint displays it) left out."""
    for prefix in (str(root), os.path.relpath(root, HERE.parent)):
        text = text.replace(prefix + "/", "")
    return text


def where(item: Found | Label) -> str:
    cell = f"[cell {item.cell}]" if item.cell is not None else ""
    return f"{item.tree}/{item.path}{cell}:{item.line}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def precision(score: Score, findings: list[Found]) -> tuple[int, int, int]:
    verdicts = collections.Counter(score.verdict(f) for f in findings)
    return verdicts["TP"], verdicts["FP"], verdicts["unlabeled"]


def render(score: Score, truth, wall: float) -> str:
    found = [f for run in score.runs for f in run.found]
    tp, fp, unlabeled = precision(score, found)
    lines = [
        "# Ecosystem check",
        "",
        "Written by `python benchmarks/ecosystem.py` (see its docstring). Pins: "
        + ", ".join(f"{p.dist}=={p.version}" for p in PINS) + ".",
        "",
        f"**{len(found)} findings: {tp} TP, {fp} FP, {unlabeled} unlabeled; precision over labeled "
        f"findings {_pct(tp, tp + fp)}.** Wall time {wall:.1f} s.",
        "",
        "## Trees",
        "",
        "| tree | origin | files | parsed | findings | TP | FP | unlabeled | coverage | seconds |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in score.runs:
        t, f, u = precision(score, run.found)
        cov = f"{run.coverage[0]}/{run.coverage[1]}" if run.coverage else "-"
        parsed = "crash" if run.crash else str(run.files - len(run.errors))
        lines.append(f"| {run.tree.name} | "
                     f"{run.tree.origin} | {run.files} | {parsed} | {len(run.found)} | {t} | {f} | {u} | "
                     f"{cov} | {run.seconds:.1f} |")
    covered = [run.coverage for run in score.runs if run.coverage]
    known, calls = sum(c[0] for c in covered), sum(c[1] for c in covered)
    coverage_line = (
        f"Coverage: {known} of {calls} init calls ({_pct(known, calls)}) were evaluated onto a tensor whose "
        "fan-in the engine established (engine.coverage_of); the rest ran on sizes the code leaves open or "
        "were never reached by an entry." if covered else "Coverage was not measured in this run (--no-coverage)."
    )
    lines += ["", coverage_line, "",
              "## Rules", "", "| rule | findings | TP | FP | unlabeled | precision |",
              "|---|---:|---:|---:|---:|---:|"]
    by_code = collections.defaultdict(list)
    for finding in found:
        by_code[finding.code].append(finding)
    for code in sorted(by_code):
        t, f, u = precision(score, by_code[code])
        lines.append(f"| {code} | {len(by_code[code])} | {t} | {f} | {u} | {_pct(t, t + f)} |")
    lines.append(f"| total | {len(found)} | {tp} | {fp} | {unlabeled} | {_pct(tp, tp + fp)} |")
    new = [f for f in found if f not in score.labels]
    lines += ["", f"## Added: {len(new)} new, unlabeled", ""]
    lines += [f"- `{where(f)}` {f.code}: {f.message}" for f in new] or ["- none"]
    lines += ["", f"## Removed: {len(score.gone)} gone (labeled, no longer reported)", ""]
    lines += [f"- `{where(lb)}` {lb.code} ({lb.verdict}): {lb.why}" for lb in score.gone] or ["- none"]
    lines += ["", "## Every finding", ""]
    lines += [f"- {score.verdict(f)} `{where(f)}` {f.code}: {f.message}"
              + (f" — {score.labels[f].why}" if f in score.labels else "") for f in found] or ["- none"]
    lines += _recall_section(found, truth, {run.tree.name for run in score.runs})
    lines += ["", "## Files initlint could not read or parse", ""]
    lines += [f"- {run.tree.name}: {_shorten(e.removeprefix('initlint: error: '), run.tree.root)}"
              for run in score.runs for e in run.errors] or ["- none"]
    crashes = [run for run in score.runs if run.crash]
    lines += ["", "## initlint crashes", ""]
    lines += [f"- {run.tree.name}: {run.crash}" for run in crashes] or ["- none"]
    return "\n".join(lines) + "\n"


def _recall_section(found: list[Found], truth, linted: set[str]) -> list[str]:
    rows = recall(found, truth, linted)
    total = sum(len(r.smells) for r in rows)
    got = sum(len(r.found) for r in rows)
    flagged = sum(len(r.flagged) for r in rows)
    lines = ["", "## Recall against ecosystem_truth.json", "",
             f"{got} of {total} real smells found with a rule of their kind ({_pct(got, total)}); "
             f"{flagged} have some finding on their lines.", "",
             "| kind | smells | found | flagged (any code) | codes that count |",
             "|---|---:|---:|---:|---|"]
    for row in rows:
        codes = ", ".join(truth.kinds[row.kind]) or "(no rule yet)"
        lines.append(f"| {row.kind} | {len(row.smells)} | {len(row.found)} | {len(row.flagged)} | {codes} |")
    traps = traps_hit(found, truth)
    lines += ["", f"Findings on a recorded legitimate pattern (likely FPs): {len(traps)}", ""]
    lines += [f"- `{where(f)}` {f.code}: {legit.kind}: {legit.why}" for f, legit in traps]
    lines += ["", "<details><summary>Smells not found</summary>", ""]
    for row in rows:
        lines += [f"- {row.kind} `{s.tree}/{s.path}{f'[cell {s.cell}]' if s.cell else ''}:{s.line}`: "
                  f"{s.evidence}" for s in row.smells if s not in row.found]
    return lines + ["", "</details>"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="TREE", help="lint only this tree (repeatable)")
    parser.add_argument("--no-fetch", action="store_true", help="use what is already downloaded")
    parser.add_argument("--check", action="store_true", help="exit 1 on unlabeled findings or precision < 90%%")
    parser.add_argument("--no-coverage", action="store_true", help="skip the init-call coverage run")
    parser.add_argument("-o", "--output", type=Path, help="report file (default ECOSYSTEM.md on a full run)")
    args = parser.parse_args(argv)

    pins = tuple(p for p in PINS if not args.only or p.tree in args.only)
    if not args.no_fetch and pins:
        fetch(pins)
    selected = [t for t in trees() if not args.only or t.name in args.only]
    if args.only and not selected:
        parser.error(f"no tree named {', '.join(args.only)}")
    missing = [str(t.root) for t in selected if not t.root.is_dir()]
    if missing:
        raise SystemExit(f"ecosystem: missing {', '.join(missing)}; run without --no-fetch first")

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "defaults.toml"  # every tree under initlint's default settings
        config.write_text("")
        runs = []
        for tree in selected:
            runs.append(lint(tree, config, not args.no_coverage))
            print(f"{tree.name:<55} {len(runs[-1].found):>4} findings {runs[-1].seconds:6.1f} s",
                  file=sys.stderr)
    wall = time.perf_counter() - start

    labels = load_labels()
    linted = {t.name for t in selected}
    found = [f for run in runs for f in run.found]
    pairs, unpaired = match_labels(found, [lb for lb in labels if lb.tree in linted])
    score = Score(runs, pairs, unpaired)
    report = render(score, load_truth(), wall)
    output = args.output or (None if args.only else REPORT)
    if output:
        output.write_text(report)
    tp, fp, unlabeled = precision(score, found)
    print(f"{len(found)} findings: {tp} TP, {fp} FP, {unlabeled} unlabeled, {len(unpaired)} gone; "
          f"precision {_pct(tp, tp + fp)}; {wall:.1f} s" + (f"; wrote {output}" if output else ""))
    if args.check:
        crashed = [run.tree.name for run in runs if run.crash]
        low = tp + fp > 0 and tp / (tp + fp) < MIN_PRECISION
        if unlabeled or low or crashed:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
