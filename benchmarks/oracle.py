"""The oracle: build and probe every model it can, compare with the static findings.

    python benchmarks/oracle.py                      # everything, resuming where it stopped
    python benchmarks/oracle.py --sources corpus     # one source (corpus, torchvision, timm, hf)
    python benchmarks/oracle.py --shard 2/4          # a quarter of the timm registry
    python benchmarks/oracle.py --report-only        # re-run the static engine, rewrite ORACLE.md
    python benchmarks/oracle.py --fresh              # forget every stored measurement

Sources: the research repositories in ../shared/corpus (read in place, never written: each
model is imported in a worker whose working directory is its repository), torchvision's
classification builders, timm's registry (small variants, random init) and a few Hugging Face
models built from small configs. Measurements are stored one JSON line per model in
benchmarks/corpus/oracle/ (gitignored), so an interrupted run resumes and a run after a change of
the static engine (``--report-only``) only re-runs the fast static part.

torchvision: the registry's wheel is built for CUDA torch and its compiled ops do not load with
the CPU build, but its model code is plain Python. ``pip download torchvision==0.29.1 --no-deps``
into benchmarks/corpus/wheels, unpacked into benchmarks/corpus/tv (done on first use); workers
then import ``torchvision.models`` under a stand-in ``torchvision`` package whose ``__init__``
(the part that loads the compiled extension) is skipped (``preload_torchvision`` below). timm
imports torchvision too, through the same stand-in. transformers and timm must be installed in
this Python (``pip install transformers timm --no-deps`` plus their small dependencies); a source
whose package is missing is skipped with a line.

Static findings come from running ``python -m initlint --format json --no-cache`` on the same
sources. Comparison per built model, by its class and file: a static finding the measurement
confirms (agree), one it refutes (a static false positive), and a measured problem no static
finding predicted (a static false negative to study, or a probe false positive).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
CORPUS = (ROOT.parent.parent / "shared" / "corpus") if not (ROOT.parent / "shared").exists() else ROOT.parent / "shared" / "corpus"
WORK = HERE / "corpus" / "oracle"
TV_WHEEL = "torchvision==0.29.1"
TV_DIR = HERE / "corpus" / "tv"
RESULTS = WORK / "results.jsonl"
LISTINGS = WORK / "listings.jsonl"
#: timm names of the small variants (the registry's full sweep is hours on 2 cores)
TIMM_SMALL = re.compile(r"(^|_)(atto|femto|pico|nano|tiny|mini|small|xxs|xs|s|t|b0|lite0|050|18|mobile)(_|$|\d)")
HF_MODELS = ("BertModel", "GPT2LMHeadModel", "RobertaModel", "DistilBertModel", "ViTModel", "T5EncoderModel")


def corpus_dir() -> Path:
    for candidate in (ROOT.parent / "shared" / "corpus", ROOT.parent.parent / "shared" / "corpus", Path("/work/shared/corpus")):
        if candidate.is_dir():
            return candidate
    raise SystemExit("../shared/corpus not found")


def preload_torchvision() -> None:
    """Run in each worker before it says ready: torchvision's model code without its compiled
    extension, then the libraries the tasks import, once per worker instead of once per model."""
    import importlib.machinery
    import types

    source = TV_DIR / "torchvision"
    if "torchvision" not in sys.modules and source.is_dir():
        stand_in = types.ModuleType("torchvision")
        stand_in.__spec__ = importlib.machinery.ModuleSpec("torchvision", None, is_package=True)
        stand_in.__spec__.submodule_search_locations = [str(source)]
        stand_in.__path__ = [str(source)]  # type: ignore[attr-defined]
        stand_in.__file__ = str(source / "__init__.py")
        stand_in.__version__ = "0.29.1"  # type: ignore[attr-defined]
        sys.modules["torchvision"] = stand_in
        import torchvision.models  # noqa: F401  - warm: every worker's children share it
    for name in ("timm", "transformers"):
        try:
            __import__(name)
        except ImportError:
            pass


def fetch_torchvision() -> None:
    if (TV_DIR / "torchvision").is_dir():
        return
    wheels = HERE / "corpus" / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels), TV_WHEEL], check=True)
    wheel = next(wheels.glob("torchvision-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith("torchvision/") and name.endswith(".py"):
                archive.extract(name, TV_DIR)


def load_lines(path: Path) -> dict[str, dict]:
    found = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            found[item["key"]] = item
    return found


def append(path: Path, item: dict) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(item) + "\n")


def run_tasks(keyed: list[tuple[str, dict]], store: Path, done: dict[str, dict], options, label: str) -> None:
    """Run the tasks not in ``done`` through one worker pool, storing each result as it comes."""
    from initlint.probe.pool import WorkerPool

    todo = [(key, task) for key, task in keyed if key not in done]
    if not todo:
        return
    print(f"{label}: {len(todo)} tasks ({len(keyed) - len(todo)} stored)", flush=True)
    started = time.monotonic()
    pool = WorkerPool(options.workers, options.timeout, options.memory_mb, 300.0, (f"{__file__}:preload_torchvision",))

    def stored(index: int, result: dict) -> None:
        key, task = todo[index]
        if result.get("fatal"):
            raise SystemExit(f"the probe cannot run: {result.get('error')}")
        item = {"key": key, "task": {k: task[k] for k in ("path", "model", "op") if k in task}, "result": result}
        done[key] = item
        append(store, item)
        count = sum(1 for k, _ in todo if k in done)
        if count % 10 == 0:
            print(f"  {count}/{len(todo)} in {time.monotonic() - started:.0f} s", flush=True)

    with pool:
        pool.run([task for _, task in todo], on_result=stored)


def corpus_tasks(options, listings: dict[str, dict]) -> list[tuple[str, dict]]:
    """List every model of every corpus file (stored), then one task per model."""
    files = sorted(p for p in corpus_dir().rglob("*.py") if "/." not in str(p))
    listable = [p for p in files if re.search(r"nn\.|Module|torch", p.read_text(errors="replace"))]
    run_tasks([(f"list|{p}", {**options.task(str(p), ""), "op": "list"}) for p in listable], LISTINGS, listings, options, "corpus listings")
    tasks = []
    for path in listable:
        listing = listings.get(f"list|{path}", {}).get("result", {})
        for entry in listing.get("models", []) if listing.get("ok") else []:
            tasks.append((f"corpus|{path}|{entry['name']}", {**options.task(str(path), entry["name"]), "kind": entry["kind"]}))
    return tasks


def torchvision_tasks(options) -> list[tuple[str, dict]]:
    fetch_torchvision()
    names = []
    with open(os.devnull, "w"):
        code = (
            f"import sys; sys.path.insert(0, {str(HERE)!r}); import oracle; oracle.preload_torchvision(); "
            "import torchvision.models as m; print('\\n'.join(m.list_models(module=m)))"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        names = [n for n in done.stdout.split() if n]
    return [(f"torchvision|{n}", options.task("torchvision.models", n)) for n in names]


def timm_tasks(options, shard: tuple[int, int]) -> list[tuple[str, dict]]:
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); import oracle; oracle.preload_torchvision(); import timm; print('\\n'.join(timm.list_models()))"],
        capture_output=True, text=True,
    )
    names = [n for n in done.stdout.split() if TIMM_SMALL.search(n)]
    if not names:
        print("timm: not importable here, skipped", flush=True)
        return []
    index, count = shard
    names = names[index - 1::count]
    return [
        (f"timm|{n}", {**options.task("timm", "create_model", factory_kwargs={"model_name": n}), "target": n})
        for n in names
    ]


def hf_tasks(options) -> list[tuple[str, dict]]:
    return [(f"hf|{n}", options.task("transformers", n)) for n in HF_MODELS]


# ---- static findings and the comparison --------------------------------------------------


def static_findings(paths: list[Path]) -> list[dict]:
    found = []
    for path in paths:
        done = subprocess.run(
            [sys.executable, "-m", "initlint", "--format", "json", "--no-cache", str(path)],
            capture_output=True, text=True, cwd=ROOT,
        )
        try:
            found.extend(json.loads(done.stdout or "[]"))
        except json.JSONDecodeError:
            print(f"static run on {path} gave no JSON: {done.stderr[-300:]}", flush=True)
    return found


def static_sources() -> list[Path]:
    paths = [corpus_dir()]
    if (TV_DIR / "torchvision" / "models").is_dir():
        paths.append(TV_DIR / "torchvision" / "models")
    for name in ("timm", "transformers"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        paths.append(Path(module.__file__).parent / "models")
    return paths


def compare(results: dict[str, dict], findings: list[dict]) -> dict:
    """The agreement table (see the module docstring)."""
    from initlint.findings import Finding
    from initlint.probe.confirm import confirm
    from initlint.probe.report import ModelReport
    from initlint.rules.measured import CODE_FOR_VERDICT
    from initlint.rules import REGISTRY

    by_class: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
    for finding in findings:
        model = (finding.get("prediction") or {}).get("model")
        if model:
            by_class[(str(Path(finding["path"]).resolve()), model)].append(finding)
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    rows: dict[str, list[str]] = collections.defaultdict(list)
    seconds: list[float] = []
    for key, item in sorted(results.items()):
        source = key.split("|", 1)[0]
        result = item["result"]
        table[source]["tried"] += 1
        if not result.get("ok"):
            table[source]["not built or run"] += 1
            continue
        table[source]["built and run"] += 1
        report = ModelReport.from_dict(result["report"])
        seconds.append(report.seconds)
        info = result.get("model") or {}
        file = str(Path(info["file"]).resolve()) if info.get("file") else None
        static = [Finding.from_dict(f) for f in by_class.get((file, info.get("class")), [])] if file else []
        measured = {REGISTRY[CODE_FOR_VERDICT[v.kind]].effect.value for v in report.verdicts if v.kind in CODE_FOR_VERDICT}
        name = key.split("|", 1)[1]
        explained = set()
        for finding in static:
            state = confirm(finding, report)
            if state["status"] == "confirmed":
                table[source]["static confirmed (agree)"] += 1
                explained.add(finding.effect.value)
                rows["agree"].append(f"{name}: {finding.code} {state.get('measured', '')}")
            elif state["status"] == "refuted":
                table[source]["static refuted (static FP)"] += 1
                rows["static FP"].append(f"{name}: {finding.code} at {Path(finding.location.path).name}:{finding.location.line}: {state.get('measured', '')}")
            else:
                table[source]["static not comparable"] += 1
        unexplained = measured - explained
        if unexplained:
            table[source]["measured only (static FN or probe FP)"] += 1
            reasons = "; ".join(v.reason for v in report.verdicts)
            rows["measured only"].append(f"{name} ({info.get('class')}): {reasons}")
        elif not static and not measured:
            table[source]["both silent (agree)"] += 1
        if report.warnings:
            table[source]["norm warnings (not verdicts)"] += 1
    return {"table": table, "rows": rows, "seconds": seconds}


def failure_reasons(results: dict[str, dict]) -> collections.Counter:
    reasons: collections.Counter = collections.Counter()
    for key, item in results.items():
        result = item["result"]
        if result.get("ok"):
            continue
        error = result.get("error", "")
        kind = re.sub(r"\d+", "N", error.split("(at ")[0])[:90]
        reasons[f"{result.get('stage', '?')}: {kind}"] += 1
    return reasons


def corpus_coverage(listings: dict[str, dict], results: dict[str, dict]) -> dict:
    """nn.Module classes of the corpus (seen by the parent's ast listing), and how many were
    built and run, directly or by a factory of their file."""
    from initlint.probe.candidates import module_classes, read_text

    files = sorted(str(p) for p in corpus_dir().rglob("*.py"))
    classes = module_classes({f: read_text(f) for f in files})
    total = sum(len(v) for v in classes.values())
    built = set()
    for key, item in results.items():
        if key.startswith("corpus|") and item["result"].get("ok"):
            info = item["result"].get("model") or {}
            if info.get("file"):
                built.add((str(Path(info["file"]).resolve()), info.get("class")))
    listed = sum(1 for f, defs in classes.items() for d in defs if (str(Path(f).resolve()), d.name) in built)
    return {"classes": total, "built": listed, "files": len(files)}


#: small repositories on which the oracle also runs the command a user would
CLI_REPOS = ("sfujim__TD3", "Diego999__pyGAT", "nikhilbarhate99__PPO-PyTorch")
CLI_CHECKS = WORK / "cli_checks.json"


def _snapshot(folder: Path) -> list[tuple[str, int, int]]:
    return sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*"))


def _descendants_alive(root_pid: int) -> int:
    """Living processes whose parent chain reaches ``root_pid`` (Linux /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    count, frontier = 0, [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        count += len(children)
        frontier += children
    return count


def cli_checks() -> list[dict]:
    """``initlint --probe=all REPO`` as a user runs it: exit code, the summary line, whether the
    repository changed, and processes left behind (the command's whole process tree, by pid,
    checked after it exits)."""
    if CLI_CHECKS.exists():
        return json.loads(CLI_CHECKS.read_text())
    checks = []
    for name in CLI_REPOS:
        repo = corpus_dir() / name
        before = _snapshot(repo)
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "initlint", "--no-cache", "--probe=all", "--device", "cpu", str(repo)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/tmp",
        )
        seen: set[int] = set()
        while process.poll() is None:
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        stat = Path(f"/proc/{entry}/stat").read_text()
                    except OSError:
                        continue
                    if int(stat[stat.rindex(")") + 2:].split()[1]) in ({process.pid} | seen):
                        seen.add(int(entry))
            time.sleep(0.2)
        out, err = process.communicate()
        time.sleep(1)
        left = [pid for pid in seen if Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(") ")[1][:1]]
        checks.append({
            "repo": name, "exit": process.returncode, "seconds": round(time.monotonic() - started, 1),
            "summary": (err.strip().splitlines() or [""])[-1], "unprobed": err.count(": not probed ("),
            "findings": out.count("\n    probe: "), "unchanged": _snapshot(repo) == before, "left": len(left),
        })
    CLI_CHECKS.write_text(json.dumps(checks, indent=1))
    return checks


def write_report(results, listings, findings, started: float) -> None:
    summary = compare(results, findings)
    coverage = corpus_coverage(listings, results)
    reasons = failure_reasons({k: v for k, v in results.items() if k.startswith("corpus|")})
    seconds = sorted(summary["seconds"])
    lines = [
        "# Oracle: static findings against measurements",
        "",
        f"`python benchmarks/oracle.py` (this machine: {os.cpu_count()} cores; torch {torch_version()}). "
        "Every row is one model built with its defaults (or sizes inferred from use) and measured once "
        "by the probe; the static column is `initlint --format json` on the same sources.",
        "",
        "| source | tried | built and run | both silent (agree) | static confirmed (agree) | static refuted (static FP) | measured only (static FN or probe FP) | static not comparable | norm warnings |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    totals: collections.Counter = collections.Counter()
    for source, counts in sorted(summary["table"].items()):
        totals.update(counts)
        lines.append(_row(source, counts))
    lines.append(_row("**all**", totals))
    lines += [
        "",
        f"Probe time per built model (in the worker, import to report, after the worker is ready): "
        f"median {statistics.median(seconds):.1f} s, max {max(seconds):.1f} s over {len(seconds)} models."
        if seconds else "No model was measured.",
        "",
        "## `--probe=all` on the corpus",
        "",
        f"{coverage['built']} of {coverage['classes']} nn.Module classes in {coverage['files']} files of "
        f"../shared/corpus were built and run ({100 * coverage['built'] / max(1, coverage['classes']):.0f}%; "
        "a class counts when the probe built it directly or a factory of its file did).",
        "",
        "Top reasons for the rest (per model task, numbers replaced by N):",
        "",
    ]
    lines += [f"- {count} x {reason}" for reason, count in reasons.most_common(15)]
    lines += [
        "",
        "`initlint --probe=all ../shared/corpus/REPO` as a user runs it (exit 1 = findings count; "
        "the tree compared file by file before and after; processes: the command's whole tree, "
        "looked up by pid after it exited):",
        "",
        "| repository | exit | seconds | summary | not probed lines | tree unchanged | processes left |",
        "|---|---:|---:|---|---:|---|---:|",
    ]
    for check in cli_checks():
        lines.append(
            f"| {check['repo']} | {check['exit']} | {check['seconds']} | {check['summary'].removeprefix('initlint: ')} "
            f"| {check['unprobed']} | {'yes' if check['unchanged'] else 'NO'} | {check['left']} |"
        )
    for title in ("static FP", "measured only", "agree"):
        rows = summary["rows"].get(title, [])
        lines += ["", f"## {title} ({len(rows)})", ""]
        lines += [f"- {row}" for row in rows[:200]] or ["(none)"]
    lines.append("")
    (HERE / "ORACLE.md").write_text("\n".join(lines))
    print(f"wrote {HERE / 'ORACLE.md'} ({time.monotonic() - started:.0f} s)")


def _row(source: str, counts: collections.Counter) -> str:
    keys = ("tried", "built and run", "both silent (agree)", "static confirmed (agree)", "static refuted (static FP)",
            "measured only (static FN or probe FP)", "static not comparable", "norm warnings (not verdicts)")
    return f"| {source} | " + " | ".join(str(counts.get(k, 0)) for k in keys) + " |"


def torch_version() -> str:
    done = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
    return done.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", default="corpus,torchvision,timm,hf")
    parser.add_argument("--shard", default="1/1", help="K/N: the K-th of N slices of the timm registry")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--relist", action="store_true", help="list again the files whose import failed (after installing their dependencies)")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        for path in (RESULTS, LISTINGS):
            path.unlink(missing_ok=True)
    from initlint.probe.runner import ProbeOptions

    options = ProbeOptions(device="cpu", timeout=args.timeout, workers=args.workers)
    results, listings = load_lines(RESULTS), load_lines(LISTINGS)
    if args.relist:
        listings = {k: v for k, v in listings.items() if v["result"].get("ok")}
        LISTINGS.write_text("".join(json.dumps(v) + "\n" for v in listings.values()))
    sources = args.sources.split(",")
    if not args.report_only:
        fetch_torchvision()
        keyed: list[tuple[str, dict]] = []
        if "corpus" in sources:
            keyed += corpus_tasks(options, listings)
        if "hf" in sources:
            keyed += hf_tasks(options)
        if "torchvision" in sources:
            keyed += torchvision_tasks(options)
        if "timm" in sources:
            index, count = (int(n) for n in args.shard.split("/"))
            keyed += timm_tasks(options, (index, count))
        run_tasks(keyed, RESULTS, results, options, "models")
    findings = static_findings(static_sources())
    write_report(results, listings, findings, started)


if __name__ == "__main__":
    main()
