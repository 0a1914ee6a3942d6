"""Fuzzing initlint: generated model files and mutants of real ones, checked for crashes, hangs
and disagreements; writes benchmarks/FUZZ.md.

    python benchmarks/fuzz.py [--seed 0] [--generated 20000] [--mutants 10000] [--batch 500]

Cases come in batches, each a folder of files under ``--work`` (default benchmarks/.fuzz,
gitignored), made deterministically from the seed (tests/fuzz_inputs.py): a run with the same
seed and sizes makes the same files, and a batch that already has its result is not run again,
so an interrupted run resumes where it stopped (``--fresh`` starts over). Mutants are made from
the ``*.py`` files of ``--corpus`` (default ../shared/corpus), which is only ever read.

Each batch is checked three ways:
1. Every file alone, in a child process that reports each file's time as it goes: a file still
   still running after ``--hang`` CPU seconds (default 10) is a hang (the child is killed and restarted
   after it); a child that dies is a crash; an error that says "bug in initlint" is a crash too.
   Generated files are also linted as CRLF, with a BOM and under a latin-1 coding line: any
   difference from the original's findings is a variant disagreement.
2. The ``initlint`` program on the whole folder, four times: ``--jobs 1`` and ``--jobs 2``
   without the cache, then ``--jobs 2`` with a fresh cache, cold and warm (``--quick``: only
   the last two; the per-file pass is the sequential, uncached way). Any difference in
   any file's findings or errors between them, or with the per-file pass, is a disagreement;
   an exit code other than 0/1/2 or a traceback is a crash.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import fuzz_inputs  # noqa: E402  (tests/fuzz_inputs.py: the grammar and the mutations)

sys.path.insert(0, str(HERE))
from fuzz_passes import QUICK_RUNS, RUNS, disagreements, program_runs, timed_pass  # noqa: E402

VARIANTS = ("crlf", "bom", "cookie")


# --- making cases ---------------------------------------------------------------------------


def corpus_files(corpus: Path) -> tuple[list[Path], list[Path]]:
    """Every ``*.py`` of the corpus, and those with init-related text (mutated more often)."""
    from initlint.config import Settings
    from initlint.engine import rules_for
    from initlint.prefilter import prefilter_for

    prefilter = prefilter_for(tuple(rules_for(Settings())))
    every = sorted(p for p in corpus.rglob("*.py") if p.is_file() and not p.is_symlink())
    with_init = [p for p in every if prefilter.possible(p.read_bytes().decode("utf-8", "replace"))]
    return every, with_init


def make_batch(kind: str, index: int, size: int, seed: int, folder: Path, corpus: tuple | None) -> list[dict]:
    """Write one batch's files into ``folder``; a manifest entry per file says how it was made."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = []
    for number in range(index * size, (index + 1) * size):
        rng = random.Random(f"{seed}/{kind}/{number}")
        name = f"case_{number:06d}.py"
        if kind == "generated":
            data = fuzz_inputs.model_source(rng).encode("utf-8")
            entry = {"file": name, "case": number}
        else:
            every, with_init = corpus
            source = rng.choice(with_init if rng.random() < 0.7 else every)
            how, data = fuzz_inputs.mutate(rng, source.read_bytes())
            entry = {"file": name, "case": number, "source": str(source), "mutation": how}
        (folder / name).write_bytes(data)
        manifest.append(entry)
    return manifest



# --- the whole run ----------------------------------------------------------------------------


def fingerprint(args) -> str:
    """What makes a batch's cases and checks: a result made under another one is not reused."""
    from initlint import __version__

    parts = [str(args.seed), str(args.batch), str(args.hang), str(args.quick), str(args.variant_every), __version__,
             (ROOT / "tests" / "fuzz_inputs.py").read_text(), Path(__file__).read_text()]
    parts += [path.read_text() for path in sorted((ROOT / "initlint").rglob("*.py"))]  # the code tested
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def run_batch(kind: str, index: int, args, corpus) -> dict:
    folder = args.work / f"{kind}-{index:04d}"
    done_file = args.work / f"{kind}-{index:04d}.json"
    key = fingerprint(args)
    if done_file.exists():
        saved = json.loads(done_file.read_text())
        if saved.get("fingerprint") == key:
            return saved
    shutil.rmtree(folder, ignore_errors=True)
    began = time.monotonic()
    manifest = make_batch(kind, index, args.batch, args.seed, folder, corpus)
    alone, hangs, crashes = timed_pass(folder, args.hang, variants=args.variant_every if kind == "generated" else 0)
    runs, run_crashes = program_runs(folder, timeout=max(600.0, args.batch * 2.0),
                                     runs=QUICK_RUNS if args.quick else tuple(RUNS))
    names = [entry["file"] for entry in manifest]
    by_name = {entry["file"]: entry for entry in manifest}
    bugs = [{"file": n, "how": r["error"]} for n, r in alone.items() if r["error"] and "bug in initlint" in r["error"]]
    for run in runs.values():
        bugs += [{"file": n, "how": r["error"]} for n, r in run.items() if r["error"] and "bug in initlint" in r["error"]]
    times = sorted(r["seconds"] for r in alone.values())
    result = {
        "fingerprint": key,
        "kind": kind,
        "batch": index,
        "cases": len(names),
        "linted_alone": len(alone),
        "crashes": [dict(c, **by_name.get(c["file"] or "", {})) for c in crashes + run_crashes + bugs],
        "hangs": [dict(h, **by_name.get(h["file"], {})) for h in hangs],
        "disagreements": [dict(d, **by_name[d["file"]]) for d in disagreements(names, alone, runs)],
        "variant_disagreements": [
            {"file": n, "differ": r["variants"], **by_name[n]} for n, r in alone.items() if r.get("variants")
        ],
        "variants_checked": sum(1 for r in alone.values() if "variants" in r),
        "errors": Counter(_error_kind(r["error"]) for r in alone.values() if r["error"]),
        "findings": sum(len(r["findings"]) for r in alone.values()),
        "files_with_findings": sum(1 for r in alone.values() if r["findings"]),
        "seconds": {"max": times[-1] if times else 0.0, "p99": times[int(0.99 * (len(times) - 1))] if times else 0.0,
                    "total": sum(times)},
        "slowest": sorted(({"file": n, "seconds": round(r["seconds"], 2), **by_name[n]} for n, r in alone.items()),
                          key=lambda item: -item["seconds"])[:3],
        "wall": time.monotonic() - began,
    }
    done_file.write_text(json.dumps(result, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    return result


def _error_kind(reason: str) -> str:
    for prefix, kind in (
        ("syntax error", "syntax error"), ("libcst cannot parse", "syntax error (libcst)"),
        ("not valid UTF-8", "not UTF-8"), ("not valid ", "not decodable"), ("binary file", "binary"),
        ("bad coding line", "bad coding line"), ("unknown encoding", "bad coding line"),
        ("too deeply nested", "too deep (CPython refuses)"), ("code nested more than", "too deep (initlint's limit)"),
        ("at least", "too slow (initlint's limit)"), ("too large", "too large"), ("cannot parse", "cannot parse"),
    ):
        if reason.startswith(prefix):
            return kind
    return "bug in initlint" if "bug in initlint" in reason else "other: " + reason[:60]


def write_report(args, results: list[dict], wall: float) -> str:
    total = {kind: [r for r in results if r["kind"] == kind] for kind in ("generated", "mutants")}
    lines = [
        "# Fuzzing initlint",
        "",
        f"`python benchmarks/fuzz.py --seed {args.seed} --generated {args.generated} --mutants {args.mutants} "
        f"--batch {args.batch}{' --quick' if args.quick else ''}"
        f"{f' --variant-every {args.variant_every}' if args.variant_every != 1 else ''}` (`--hang {args.hang:g}`), "
        f"initlint at `{_git_head()}`, Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
        f"{wall / 60:.0f} min wall (niced, on a shared machine).",
        "",
        "Generated files come from the grammar in `tests/fuzz_inputs.py` (random `nn.Module` classes,",
        "init calls with huge, negative, NaN, infinite, string, starred and keyword arguments,",
        "`apply`/`modules()` loops, nesting, odd whitespace); mutants are files of the research",
        "corpus with deleted, duplicated or swapped lines, flipped bits, truncation, inserted init",
        "calls with random arguments and deeply nested expressions. Every file is linted alone",
        f"(timed in CPU seconds, so a busy machine does not make hangs; a hang is {args.hang:g} CPU s), then the program runs on each batch "
        + ("two ways (`--jobs 2` with a fresh cache, cold and warm; the per-file pass is the sequential,"
           " uncached way)." if args.quick else
           "four ways (`--jobs 1`/`2` without the cache, `--jobs 2` with a cache, cold and warm)."),
        (f"Every {args.variant_every}th generated file that parses is also linted as CRLF, with a BOM and under a"
         " coding line." if args.variant_every > 1 else
         "Every generated file that parses is also linted as CRLF, with a BOM and under a coding line."),
        "",
        "| | generated | mutants |",
        "|---|---|---|",
    ]

    def row(name, value):
        lines.append(f"| {name} | {value(total['generated'])} | {value(total['mutants'])} |")

    row("cases", lambda rs: f"{sum(r['cases'] for r in rs):,}")
    row("crashes (process died, traceback, \"bug in initlint\")", lambda rs: sum(len(r["crashes"]) for r in rs))
    row(f"hangs (over {args.hang:g} CPU s)", lambda rs: sum(len(r["hangs"]) for r in rs))
    row("disagreements (alone, " + ("--jobs 2 cold and warm cache)" if args.quick else "--jobs 1, --jobs 2, cold and warm cache)"), lambda rs: sum(len(r["disagreements"]) for r in rs))
    row("variant disagreements (CRLF, BOM, coding line)",
        lambda rs: f"{sum(len(r['variant_disagreements']) for r in rs)} of {sum(r['variants_checked'] for r in rs):,} checked" if rs and rs[0]["kind"] == "generated" else "-")
    row("files with findings", lambda rs: f"{sum(r['files_with_findings'] for r in rs):,}")
    row("findings", lambda rs: f"{sum(r['findings'] for r in rs):,}")
    row("slowest file (CPU s)", lambda rs: f"{max((r['seconds']['max'] for r in rs), default=0):.2f}")
    row("99th percentile per batch, worst (CPU s)", lambda rs: f"{max((r['seconds']['p99'] for r in rs), default=0):.3f}")
    row("lint time alone, total (CPU s)", lambda rs: f"{sum(r['seconds']['total'] for r in rs):.0f}")
    lines += ["", "Files that could not be analysed (their one-line errors), by kind:", "",
              "| kind | generated | mutants |", "|---|---|---|"]
    kinds = sorted({k for r in results for k in r["errors"]})
    for kind in kinds:
        lines.append(f"| {kind} | {sum(r['errors'].get(kind, 0) for r in total['generated']):,} | "
                     f"{sum(r['errors'].get(kind, 0) for r in total['mutants']):,} |")
    problems = [(r["kind"], field, item) for r in results
                for field in ("crashes", "hangs", "disagreements", "variant_disagreements") for item in r[field]]
    lines += ["", "## Problems", ""]
    if not problems:
        lines.append("None.")
    for kind, field, item in problems[:50]:
        lines.append(f"- {kind} {field.replace('_', ' ')}: `{json.dumps(item)[:400]}`")
    slowest = sorted((s for r in results for s in r["slowest"]), key=lambda s: -s["seconds"])[:5]
    lines += ["", "## Slowest files", ""]
    for item in slowest:
        where = f" from `{Path(item['source']).relative_to(args.corpus)}` ({item['mutation']})" if "source" in item else ""
        lines.append(f"- {item['seconds']:.2f} s: case {item['case']}{where}")
    lines += ["", "A case is reproduced from its number: `random.Random(f\"{seed}/{kind}/{case}\")` fed to",
              "`fuzz_inputs.model_source` (generated) or to `fuzz_inputs.mutate` with the corpus file named",
              "above (mutants).", ""]
    return "\n".join(lines)


def _git_head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generated", type=int, default=20_000)
    parser.add_argument("--mutants", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--hang", type=float, default=10.0, help="CPU seconds after which one file is a hang")
    beside = [ROOT.parent / "shared" / "corpus", ROOT.parent.parent / "shared" / "corpus"]  # a worktree
    parser.add_argument("--corpus", type=Path, default=next((p for p in beside if p.is_dir()), beside[0]))
    parser.add_argument("--work", type=Path, default=HERE / ".fuzz")
    parser.add_argument("--out", type=Path, default=HERE / "FUZZ.md")
    parser.add_argument("--fresh", action="store_true", help="forget finished batches")
    parser.add_argument("--quick", action="store_true",
                        help="run the program two ways (--jobs 2 with a cache, cold then warm) instead of four")
    parser.add_argument("--variant-every", type=int, default=1,
                        help="lint every N-th generated file also as CRLF, BOM and coding-line variants")
    args = parser.parse_args()
    args.corpus = args.corpus.resolve()
    if args.mutants and not args.corpus.is_dir():
        parser.error(f"no corpus at {args.corpus}: pass --corpus (mutants are made from its *.py files)")
    if args.fresh:
        shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    corpus = corpus_files(args.corpus) if args.mutants else None
    results = []
    plan = [("generated", i) for i in range(-(-args.generated // args.batch))]
    plan += [("mutants", i) for i in range(-(-args.mutants // args.batch))]
    for number, (kind, index) in enumerate(plan, 1):
        result = run_batch(kind, index, args, corpus)
        results.append(result)
        bad = len(result["crashes"]) + len(result["hangs"]) + len(result["disagreements"]) + len(result["variant_disagreements"])
        print(f"[{number}/{len(plan)}] {kind} batch {index}: {result['cases']} cases, {bad} problems, "
              f"slowest {result['seconds']['max']:.2f} s, {result['wall']:.0f} s", flush=True)
    args.out.write_text(write_report(args, results, sum(r["wall"] for r in results)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
