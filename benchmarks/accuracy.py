"""Accuracy run: lint the model sources of transformers, timm and torchvision; list every finding.

    python benchmarks/accuracy.py

Uses the corpus of speed.py (``pip download --no-deps`` of the current wheels, never installed;
model sources unpacked into ``benchmarks/corpus/src``). Runs the installed ``initlint`` as a user
would (``--format json --no-cache``), checks that it did not crash (exit 0/1/2 and no traceback),
and writes ``benchmarks/ACCURACY.md``: files, findings per rule, every finding with its message,
files initlint could not read, and how much of the corpus's init code the static model follows
(init calls that reach a layer, and the reached layers whose forward order is known).
Every finding listed there needs a line in the issue note saying why it is true.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from speed import SOURCES, fetch_corpus, wheel_names  # noqa: E402


def lint() -> tuple[list[dict], list[str], int]:
    result = subprocess.run(
        [sys.executable, "-m", "initlint", "--format", "json", "--no-cache", str(SOURCES)],
        capture_output=True,
        text=True,
        cwd=HERE.parent,
    )
    if result.returncode not in (0, 1, 2) or "Traceback" in result.stderr:
        raise SystemExit(f"initlint crashed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    return json.loads(result.stdout or "[]"), errors, result.returncode


def coverage(files: list[Path]) -> collections.Counter:
    """How far the static model follows real init code (in-process, initlint's own API)."""
    import libcst as cst

    from initlint.engine import decode_source
    from initlint.model.builder import build_facts
    from initlint.model.network import placements

    counts: collections.Counter = collections.Counter()
    for path in files:
        text = decode_source(path.read_bytes())
        if "init" not in text:
            continue
        try:
            facts = build_facts(cst.parse_module(text), text)
        except Exception:  # noqa: BLE001 - parse errors are counted, never fatal here
            counts["unparsable"] += 1
            continue
        for init in facts.inits:
            counts["init calls"] += 1
            if facts.reach(init):
                counts["reach a layer of the file"] += 1
            if placements(facts, init):
                counts["reach a layer in a known forward chain"] += 1
    return counts


def main() -> None:
    files = fetch_corpus()
    findings, errors, code = lint()
    per_rule = collections.Counter(f["code"] for f in findings)
    counts = coverage(files)
    lines = [
        "# Accuracy on real model code",
        "",
        f"Wheels: {', '.join(wheel_names())}. Files: {len(files)} model sources. "
        f"`initlint --format json --no-cache` exit {code}, no crash.",
        "",
        "## Findings per rule",
        "",
        "| rule | findings |",
        "|---|---|",
        *[f"| {rule} | {n} |" for rule, n in sorted(per_rule.items())],
        f"| total | {len(findings)} |",
        "",
        "## Every finding",
        "",
        *[
            f"- `{Path(f['path']).relative_to(SOURCES) if Path(f['path']).is_absolute() else f['path']}:"
            f"{f['line']}` {f['code']}: {f['message']}"
            for f in findings
        ],
        *(["- none"] if not findings else []),
        "",
        "## Files initlint could not read or parse",
        "",
        *[f"- {line}" for line in errors],
        *(["- none"] if not errors else []),
        "",
        "## How much init code the static model follows",
        "",
        *[f"- {key}: {value}" for key, value in counts.items()],
        "",
    ]
    (HERE / "ACCURACY.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
