"""The oracle: build and probe every model it can, compare with the static findings.

    python benchmarks/oracle.py                      # everything, resuming where it stopped
    python benchmarks/oracle.py --sources corpus     # one source (corpus, torchvision, timm, hf)
    python benchmarks/oracle.py --shard 2/4          # a quarter of the timm registry
    python benchmarks/oracle.py --report-only        # re-run the static engine, rewrite ORACLE.md
    python benchmarks/oracle.py --fresh              # forget every stored measurement
    python benchmarks/oracle.py --sources corpus --store NAME --retry-failed   # after a probe change

The corpus's own dependencies (what its repositories import) are pinned in
benchmarks/requirements-oracle.txt (a freeze of the venv the measurement ran in; torch is the
CPU build): ``pip install torch==2.13.0 && pip install --no-deps -r benchmarks/requirements-oracle.txt``.

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
WORK = HERE / "corpus" / "oracle"
TV_WHEEL = "torchvision==0.29.1"
TV_DIR = HERE / "corpus" / "tv"
RESULTS = WORK / "results.jsonl"
LISTINGS = WORK / "listings.jsonl"
#: the table probe_time.py --healthy writes, included in ORACLE.md
#: how the run was made and the review of its rows (written by hand), included in ORACLE.md
REVIEW = HERE / "oracle_review.md"
HEALTHY = WORK / "healthy.md"
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
    extension, then the libraries the tasks import, once per worker instead of once per model.

    Best effort: a preload that raises makes the pool fatal for every task (corpus repositories
    included, which need none of it), so a library that cannot be imported here is left out and
    the tasks that need it fail one by one with their own import error (``preflight`` says why
    before the run)."""
    for step in (_stand_in_torchvision, lambda: __import__("timm"), lambda: __import__("transformers")):
        try:
            step()
        except Exception:  # noqa: BLE001 - see the docstring
            pass


def _stand_in_torchvision() -> None:
    import importlib.machinery
    import types

    source = TV_DIR / "torchvision"
    if "torchvision" in sys.modules or not source.is_dir():
        return
    stand_in = types.ModuleType("torchvision")
    stand_in.__spec__ = importlib.machinery.ModuleSpec("torchvision", None, is_package=True)
    stand_in.__spec__.submodule_search_locations = [str(source)]
    stand_in.__path__ = [str(source)]  # type: ignore[attr-defined]
    stand_in.__file__ = str(source / "__init__.py")
    stand_in.__version__ = TV_WHEEL.split("==")[1]  # type: ignore[attr-defined]
    sys.modules["torchvision"] = stand_in
    try:
        import torchvision.models  # noqa: F401  - warm: every worker's children share it
    except BaseException:
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        raise


def preflight() -> dict[str, str]:
    """Which registry libraries import in a fresh interpreter (the stand-in torchvision
    included): name -> "ok" or the import error, printed before the run."""
    code = (
        f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import oracle\n"
        "out = {}\n"
        "for name, step in (('torchvision', oracle._stand_in_torchvision), ('timm', lambda: __import__('timm')),"
        " ('transformers', lambda: __import__('transformers'))):\n"
        "    try:\n        step(); out[name] = 'ok'\n"
        "    except BaseException as e:\n        out[name] = f'{type(e).__name__}: {e}'[:200]\n"
        "print(json.dumps(out))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {"torchvision": f"preflight failed: {done.stderr[-300:]}"}


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


#: the files of the corpus whose nn.Module classes count: its modules and its notebooks
CORPUS_PATTERNS = ("*.py", "*.ipynb")


def corpus_files() -> list[Path]:
    return sorted(p for pattern in CORPUS_PATTERNS for p in corpus_dir().rglob(pattern) if "/." not in str(p))


def file_tasks(source: str, roots: list[Path], options, listings: dict[str, dict], patterns=("*.py",)) -> list[tuple[str, dict]]:
    """List every model of every file under ``roots`` (stored), then one task per model."""
    files = sorted(p for root in roots for pattern in patterns for p in root.rglob(pattern) if "/." not in str(p))
    listable = [p for p in files if re.search(r"nn\.|Module|torch", p.read_text(errors="replace"))]
    run_tasks([(f"list|{p}", {**options.task(str(p), ""), "op": "list"}) for p in listable], LISTINGS, listings, options, f"{source} listings")
    # a script whose import ran past the limit is listed again with its definitions only (as
    # ``initlint --probe=all`` does, sweep.relist_scripts)
    timed_out = [p for p in listable if listings.get(f"list|{p}", {}).get("result", {}).get("stage") == "timeout"]
    run_tasks([(f"defs|{p}", {**options.task(str(p), ""), "op": "list", "definitions": True}) for p in timed_out],
              LISTINGS, listings, options, f"{source} scripts listed again with their definitions")
    tasks = []
    for path in listable:
        listing = listings.get(f"list|{path}", {}).get("result", {})
        timed = False
        if not listing.get("ok") and listings.get(f"defs|{path}", {}).get("result", {}).get("ok"):
            listing, timed = listings[f"defs|{path}"]["result"], True
        for entry in listing.get("models", []) if listing.get("ok") else []:
            # only a file whose import ran past the limit is built from its definitions at once
            # (a listing stored before that rule may say ``definitions`` for a failed import)
            task = options.task(str(path), entry["name"], definitions=timed)
            tasks.append((f"{source}|{path}|{entry['name']}", {**task, "kind": entry["kind"]}))
    return tasks


def corpus_tasks(options, listings: dict[str, dict]) -> list[tuple[str, dict]]:
    return file_tasks("corpus", [corpus_dir()], options, listings, CORPUS_PATTERNS)


#: the ecosystem check's pinned PyPI trees that have no registry source of their own here
ECOSYSTEM_SKIP = ("transformers", "timm", "torchvision")


def ecosystem_roots() -> list[Path]:
    from ecosystem_corpus import PINS, SOURCES

    return [SOURCES / pin.tree for pin in PINS if pin.tree not in ECOSYSTEM_SKIP and (SOURCES / pin.tree).is_dir()]


def ecosystem_tasks(options, listings: dict[str, dict]) -> list[tuple[str, dict]]:
    """The pinned PyPI packages of the ecosystem check (benchmarks/corpus/ecosystem/src, fetched
    by ecosystem.py), each file imported under its package name like a corpus file."""
    roots = ecosystem_roots()
    if not roots:
        print("ecosystem: no sources (run benchmarks/ecosystem.py once to fetch them), skipped", flush=True)
    return file_tasks("ecosystem", roots, options, listings)


#: torchvision's builder modules whose models are plain PyTorch (detection needs the compiled ops)
TV_MODULES = ("torchvision.models", "torchvision.models.segmentation", "torchvision.models.video")


def torchvision_tasks(options) -> list[tuple[str, dict]]:
    fetch_torchvision()
    code = (
        f"import sys, importlib; sys.path.insert(0, {str(HERE)!r}); import oracle; oracle._stand_in_torchvision(); "
        "import torchvision.models as m\n"
        f"for name in {TV_MODULES!r}:\n"
        "    print('\\n'.join(name + ' ' + n for n in m.list_models(module=importlib.import_module(name))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    pairs = [line.split() for line in done.stdout.splitlines() if len(line.split()) == 2]
    if not pairs:
        print(f"torchvision: no builders listed, skipped ({done.stderr.strip()[-200:]})", flush=True)
    # segmentation builders download a pretrained backbone unless told not to (no network here)
    offline = {"torchvision.models.segmentation": {"weights_backbone": None}}
    return [(f"torchvision|{n}", options.task(module, n, factory_kwargs=offline.get(module))) for module, n in pairs]


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


def static_sources(results: dict[str, dict]) -> list[Path]:
    """The trees the static engine reads: the corpus, the ecosystem trees, torchvision's and
    timm's model folders whole, and of transformers (2,600 files, ten minutes here) only the
    folders that hold a built model."""
    paths = [corpus_dir(), *ecosystem_roots()]
    if (TV_DIR / "torchvision" / "models").is_dir():
        paths.append(TV_DIR / "torchvision" / "models")
    try:
        import timm

        paths.append(Path(timm.__file__).parent / "models")
    except ImportError:
        pass
    folders = set()
    for key, item in results.items():
        info = item["result"].get("model") or {}
        if key.startswith("hf|") and info.get("file"):
            folders.add(Path(info["file"]).parent)
    return paths + sorted(folders)


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
        reasons[f"{result.get('stage', '?')}: {_kind(error)}"] += 1
    return reasons


def retry_failed_corpus(results: dict[str, dict], listings: dict[str, dict], stages: set[str] | None = None) -> None:
    """Forget (in memory; the run stores the new lines, which win) the failed listings of corpus
    files that count in the coverage and the failed corpus model tasks; with ``stages``, only
    the failures of those stages (a listing's failure is the stage "import")."""
    from initlint.probe.candidates import module_classes, read_text

    root = str(corpus_dir())
    files = [str(p) for p in corpus_files()]
    counted = {path for path, defs in module_classes({f: read_text(f) for f in files}).items() if defs}
    stale = [k for k, v in listings.items() if k.split("|", 1)[1] in counted and not v["result"].get("ok")
             and (stages is None or "import" in stages)]
    for key in stale:
        del listings[key]
    failed = [k for k, v in results.items() if k.startswith("corpus|" + root) and not v["result"].get("ok")
              and (stages is None or v["result"].get("stage") in stages)]
    for key in failed:
        del results[key]
    print(f"retrying {len(stale)} failed listings and {len(failed)} failed models of the corpus", flush=True)


def _kind(error: str) -> str:
    """An error without its location and numbers, for counting reasons."""
    return re.sub(r"\d+", "N", error.split(" (at ")[0].split(" [built with")[0])[:110]


def corpus_coverage(listings: dict[str, dict], results: dict[str, dict]) -> dict:
    """nn.Module classes of the corpus (seen by the parent's ast listing, as ``--probe=all``
    counts them), how many were built and run (directly or by a factory of their file), and for
    each of the rest the reason: its file's import error, its own task's error, or not listed."""
    from initlint.probe.candidates import module_classes, read_text
    from initlint.probe.classes_run import where_classes_ran

    files = [str(p) for p in corpus_files()]
    classes = module_classes({f: read_text(f) for f in files})
    built: set[tuple[str, str]] = set()
    errors: dict[tuple[str, str], str] = {}
    for key, item in results.items():
        if not key.startswith("corpus|"):
            continue
        _, path, name = key.split("|", 2)
        result = item["result"]
        info = result.get("model") or {}
        if result.get("ok") and info.get("file"):
            built.add((str(Path(info["file"]).resolve()), info.get("class")))
        elif not result.get("ok"):
            errors[(path, name)] = f"{result.get('stage', '?')}: {_kind(result.get('error', ''))}"
    #: classes a measured model ran (classes_run.py) -> whether only as the base of one
    ran = {key: base for key, (_, base) in where_classes_ran(
        (key, item["result"].get("ran") or ()) for key, item in results.items()
        if key.startswith("corpus|") and item["result"].get("ok")).items()}
    reasons: collections.Counter = collections.Counter()
    total = done = inside = bases = 0
    for path, defs in classes.items():
        listing = listings.get(f"list|{path}", {}).get("result", {})
        if not listing.get("ok") and listings.get(f"defs|{path}", {}).get("result", {}).get("ok"):
            listing = listings[f"defs|{path}"]["result"]
        listed = {entry["name"] for entry in listing.get("models", [])} if listing.get("ok") else set()
        for definition in defs:
            total += 1
            where = (str(Path(path).resolve()), definition.name)
            if where in built:
                done += 1
                continue
            if ran.get(where) is False:
                done += 1
                inside += 1
                continue
            bases += ran.get(where) is True
            if not listing:
                reasons["file not listed (no torch/nn./Module in its text)"] += 1
            elif not listing.get("ok"):
                reasons[f"import of its file: {_kind(listing.get('error', ''))}"] += 1
            elif (path, definition.name) in errors:
                reasons[errors[(path, definition.name)]] += 1
            elif definition.name in listed:
                reasons["listed, but no stored measurement (the run stopped before it; resume to measure)"] += 1
            else:
                reasons["not a model of the imported module (defined under a condition, or not an nn.Module there)"] += 1
    return {"classes": total, "built": done, "inside": inside, "bases": bases, "files": len(files), "reasons": reasons}


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
    reasons = coverage["reasons"]
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
    if REVIEW.exists():
        lines += ["", REVIEW.read_text().strip()]
    lines += [
        "",
        f"Probe time per built model (in the worker, import to report, after the worker is ready): "
        f"median {statistics.median(seconds):.1f} s, max {max(seconds):.1f} s over {len(seconds)} models."
        if seconds else "No model was measured.",
        "",
        "## `--probe=all` on the corpus",
        "",
        f"{coverage['built']} of {coverage['classes']} nn.Module classes in {coverage['files']} files (modules and notebooks) of "
        f"../shared/corpus were built and run ({100 * coverage['built'] / max(1, coverage['classes']):.0f}%; "
        "a class counts when the probe built it directly, a factory of its file did, or a measured model ran its "
        f"forward: {coverage['inside']} were counted only that way). {coverage['bases']} more of the rest ran only "
        "as the base class of a measured class and are not counted.",
        "",
        "Top reasons for the rest (per class: its file's import error, or its own task's error; numbers replaced by N):",
        "",
    ]
    lines += [f"- {count} x {reason}" for reason, count in reasons.most_common(20)]
    for source in sorted({k.split("|", 1)[0] for k in results} - {"corpus"}):
        failed = failure_reasons({k: v for k, v in results.items() if k.startswith(source + "|")})
        if failed:
            lines += ["", f"{source}: why the {sum(failed.values())} models not built or run were not (per model task):", ""]
            lines += [f"- {count} x {reason}" for reason, count in failed.most_common(8)]
    if HEALTHY.exists():
        lines += ["", "## Healthy well-known models (`python benchmarks/probe_time.py --healthy`)", "", HEALTHY.read_text().strip()]
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
    parser.add_argument("--sources", default="corpus,ecosystem,torchvision,timm,hf")
    parser.add_argument("--shard", default="1/1", help="K/N: the K-th of N slices of the timm registry")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds one model's measurement aims at (the probe adapts sizes)")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--relist", action="store_true", help="list again the files whose import failed (after installing their dependencies)")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--store", default="", help="NAME: this run appends to results-NAME.jsonl (a shard run beside "
                        "another); every store is read to resume and to report")
    parser.add_argument("--no-report", action="store_true", help="measure only (a shard); the last run writes ORACLE.md")
    parser.add_argument("--remeasure-verdicts", action="store_true",
                        help="measure again the stored models that got a verdict or a warning (after a probe fix)")
    parser.add_argument("--static-cached", action="store_true", help="reuse the static findings of the last report (a review edit)")
    parser.add_argument("--retry-failed", action="store_true",
                        help="after a probe change: list again the corpus files that define an nn.Module class and "
                        "failed to import, and measure again the corpus models that failed (the rest stays stored)")
    parser.add_argument("--retry-stage", action="append", default=[], metavar="STAGE",
                        help="with --retry-failed: only the failures of this stage (import, build, input, forward, timeout)")
    parser.add_argument("--only", action="append", default=[], metavar="PREFIX",
                        help="run only the tasks whose key starts with PREFIX (with --again: one model of a "
                        "registry without measuring the rest of it)")
    parser.add_argument("--again", action="append", default=[], metavar="PREFIX",
                        help="measure again the stored models whose key starts with PREFIX (torchvision|fcn_)")
    parser.add_argument("--again-measured", action="append", default=[], metavar="PREFIX",
                        help="measure again the stored models whose key starts with PREFIX that were measured "
                        "(after a change to what a measurement records; the failures stay stored)")
    args = parser.parse_args()
    global RESULTS, LISTINGS
    if args.store:
        RESULTS, LISTINGS = WORK / f"results-{args.store}.jsonl", WORK / f"listings-{args.store}.jsonl"
    started = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        for path in (RESULTS, LISTINGS):
            path.unlink(missing_ok=True)
    from initlint.probe.runner import ProbeOptions

    options = ProbeOptions(device="cpu", timeout=args.timeout, workers=args.workers, budget=args.budget)
    results, listings = {}, {}
    # oldest store first: a later run's line (a file listed again) wins over an earlier one's
    for path in sorted(WORK.glob("results*.jsonl"), key=lambda p: p.stat().st_mtime):
        results.update(load_lines(path))
    for path in sorted(WORK.glob("listings*.jsonl"), key=lambda p: p.stat().st_mtime):
        listings.update(load_lines(path))
    if args.remeasure_verdicts:
        again = [k for k, v in results.items() if v["result"].get("ok") and (v["result"]["report"].get("verdicts") or v["result"]["report"].get("warnings"))]
        print(f"measuring again {len(again)} models that got a verdict or a warning", flush=True)
        for key in again:
            del results[key]
    for prefix in args.again:
        for key in [k for k in results if k.startswith(prefix)]:
            del results[key]
    for prefix in args.again_measured:
        for key in [k for k in results if k.startswith(prefix) and results[k]["result"].get("ok")]:
            del results[key]
    if args.relist:
        listings = {k: v for k, v in listings.items() if v["result"].get("ok")}
        LISTINGS.write_text("".join(json.dumps(v) + "\n" for v in listings.values()))
    if args.retry_failed:
        retry_failed_corpus(results, listings, set(args.retry_stage) or None)
    sources = args.sources.split(",")
    if not args.report_only:
        fetch_torchvision()
        for name, state in preflight().items():
            print(f"{name}: {'importable' if state == 'ok' else 'NOT importable, its tasks will fail: ' + state}", flush=True)
        keyed: list[tuple[str, dict]] = []
        if "corpus" in sources:
            keyed += corpus_tasks(options, listings)
        if "ecosystem" in sources:
            keyed += ecosystem_tasks(options, listings)
        if "hf" in sources:
            keyed += hf_tasks(options)
        if "torchvision" in sources:
            keyed += torchvision_tasks(options)
        if "timm" in sources:
            index, count = (int(n) for n in args.shard.split("/"))
            keyed += timm_tasks(options, (index, count))
        if args.only:
            keyed = [(key, task) for key, task in keyed if key.startswith(tuple(args.only))]
        run_tasks(keyed, RESULTS, results, options, "models")
    if args.no_report:
        return
    cache = WORK / "static.json"
    if args.static_cached and cache.exists():
        findings = json.loads(cache.read_text())
    else:
        findings = static_findings(static_sources(results))
        cache.write_text(json.dumps(findings))
    write_report(results, listings, findings, started)


if __name__ == "__main__":
    main()
