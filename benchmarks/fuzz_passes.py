"""The two checks of benchmarks/fuzz.py on one batch folder: every file alone in a child that
can be killed (hangs, crashes, variant disagreements), and the initlint program four ways
(``--jobs 1``/``2``, without and with a cache). Run as ``python fuzz_passes.py --child FOLDER
START [--variants EVERY]`` it is that child.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

import fuzz_inputs  # noqa: E402  (tests/fuzz_inputs.py: the byte variants)

# --- pass 1: every file alone, timed, in a child that can be killed --------------------------


def child_main(folder: Path, start: int, variants: int) -> None:
    """Run in the child: lint the batch's files from ``start`` on, one JSON line each."""
    from initlint.config import Settings
    from initlint.discover import SourceFile
    from initlint.engine import decode_source, lint_file, lint_text, rules_for
    from initlint.tuning import tune_own_process

    tune_own_process()  # as the initlint program does
    settings = Settings(root=folder)
    rules = rules_for(settings)
    names = sorted(p.name for p in folder.glob("case_*.py"))
    out = sys.stdout
    for name in names[start:]:
        path = folder / name
        out.write(json.dumps({"start": name}) + "\n")
        out.flush()
        began = time.process_time()  # CPU time: a busy machine stretches wall time, not this
        result = lint_file(SourceFile(path, name), settings)
        seconds = time.process_time() - began
        line = {"file": name, "seconds": seconds, "findings": [_key(f.to_dict()) for f in result.findings],
                "error": result.error.reason if result.error else None}
        if variants and result.error is None and names.index(name) % variants == 0:
            line["variants"] = _variant_differences(path.read_bytes(), line["findings"], name, decode_source, lint_text, rules, settings)
        out.write(json.dumps(line) + "\n")
        out.flush()


def _variant_differences(data, findings, name, decode_source, lint_text, rules, settings) -> list[str]:
    text = decode_source(data)
    made = {"crlf": fuzz_inputs.crlf(data), "bom": fuzz_inputs.bom(data), "cookie": fuzz_inputs.coding_cookie(text)}
    differ = []
    for variant, variant_data in made.items():
        if variant_data is None:
            continue
        try:
            variant_text = decode_source(variant_data)
        except ValueError as error:
            differ.append(f"{variant}: {error}")
            continue
        result = lint_text(variant_text, name, rules, settings)
        got = [_key(f.to_dict()) for f in result.findings]
        if result.error is not None or got != findings:
            differ.append(f"{variant}: {result.error.reason if result.error else got}")
    return differ


def _key(entry: dict) -> list:
    """What must agree between two runs: code, place and message."""
    return [entry["code"], entry["line"], entry["column"], entry["end_line"], entry["end_column"], entry["message"]]


def _cpu_seconds(pid: int) -> float | None:
    """The CPU time a running process has used (Linux: /proc); None where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def timed_pass(folder: Path, hang: float, variants: int) -> tuple[dict, list[dict], list[dict]]:
    """Each file's result and CPU time; files that hung or crashed their process. A hang is a
    file that used more than ``hang`` CPU seconds (wall time where /proc is missing): on a busy
    machine a starved child's wall time says nothing about initlint. Every ``variants``-th file
    (0: none) is also linted as its CRLF, BOM and coding-line variants."""
    import tempfile

    results: dict[str, dict] = {}
    hangs: list[dict] = []
    crashes: list[dict] = []
    names = sorted(p.name for p in folder.glob("case_*.py"))
    position = 0
    while position < len(names):
        with tempfile.TemporaryFile() as errors:
            child = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--child", str(folder), str(position)]
                + (["--variants", str(variants)] if variants else []),
                stdout=subprocess.PIPE, stderr=errors,
            )
            current, started, pending, ended = None, time.monotonic(), b"", False
            cpu_start: float | None = None
            fd = child.stdout.fileno()
            while not ended:
                ready, _, _ = select.select([fd], [], [], 0.5)
                if ready:
                    chunk = os.read(fd, 1 << 16)
                    ended = not chunk
                    pending += chunk
                    *complete, pending = pending.split(b"\n")
                    for raw in complete:
                        line = json.loads(raw)
                        if "start" in line:
                            current, started = line["start"], time.monotonic()
                            cpu_start = _cpu_seconds(child.pid)
                        else:
                            results[line["file"]] = line
                            current = None
                if not ended and current is not None:
                    cpu_now = _cpu_seconds(child.pid)
                    wall = time.monotonic() - started
                    used = wall if cpu_now is None or cpu_start is None else cpu_now - cpu_start
                    if used > hang:
                        child.kill()
                        hangs.append({"file": current, "cpu_seconds": round(used, 1), "wall_seconds": round(wall, 1)})
                        break
            code = child.wait()
            errors.seek(0)
            stderr = errors.read().decode("utf-8", "replace")[-2000:]
        if hangs and hangs[-1]["file"] == current:
            position = names.index(current) + 1
        elif current is not None:  # the child died on this file
            crashes.append({"file": current, "how": f"exit {code}", "stderr": stderr})
            position = names.index(current) + 1
        else:
            if code != 0:
                crashes.append({"file": None, "how": f"exit {code}", "stderr": stderr})
            position = len(names)
    return results, hangs, crashes


# --- pass 2: the program, four ways -----------------------------------------------------------


RUNS = {
    "jobs1-nocache": ["--jobs", "1", "--no-cache"],
    "jobs2-nocache": ["--jobs", "2", "--no-cache"],
    "jobs2-cold-cache": ["--jobs", "2", "--cache-dir", "{cache}"],
    "jobs2-warm-cache": ["--jobs", "2", "--cache-dir", "{cache}"],
}
# The short set: the per-file pass is already sequential and uncached, so a parallel run that
# fills a cache and a second run that reads it cover the three ways at half the cost.
QUICK_RUNS = ("jobs2-cold-cache", "jobs2-warm-cache")


def program_runs(folder: Path, timeout: float, runs: tuple[str, ...] = tuple(RUNS)) -> tuple[dict[str, dict], list[dict]]:
    """Per run, per file: its findings and its error; and the runs that crashed or hung."""
    cache = folder.parent / (folder.name + ".cache")
    shutil.rmtree(cache, ignore_errors=True)
    outputs: dict[str, dict] = {}
    crashes = []
    for run in runs:
        args = RUNS[run]
        report = folder.parent / f"{folder.name}.{run}.json"
        command = [sys.executable, "-m", "initlint", *[a.format(cache=cache) for a in args],
                   "--format", "json", "-o", str(report), "."]
        try:
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            crashes.append({"file": None, "how": f"{run}: no result in {timeout:.0f} s"})
            continue
        if done.returncode not in (0, 1, 2) or "Traceback" in done.stderr:
            crashes.append({"file": None, "how": f"{run}: exit {done.returncode}", "stderr": done.stderr[-2000:]})
            continue
        per_file: dict[str, dict] = {}
        for entry in json.loads(report.read_text()):
            item = per_file.setdefault(entry["path"], {"findings": [], "error": None})
            if entry["code"] is None:
                item["error"] = entry["message"]
            else:
                item["findings"].append(_key(entry))
        outputs[run] = per_file
        report.unlink()
    shutil.rmtree(cache, ignore_errors=True)
    return outputs, crashes


def disagreements(names: list[str], alone: dict, runs: dict[str, dict]) -> list[dict]:
    """Files whose findings or error differ between any two ways of linting them."""
    found = []
    for name in names:
        if name not in alone:
            continue  # hung or crashed alone: counted there
        ways = {"alone": {"findings": sorted(alone[name]["findings"]), "error": alone[name]["error"]}}
        for run, per_file in runs.items():
            got = per_file.get(name, {"findings": [], "error": None})
            ways[run] = {"findings": sorted(got["findings"]), "error": got["error"]}
        first = next(iter(ways.values()))
        differing = [way for way, got in ways.items() if got != first]
        if differing:
            found.append({"file": name, "differ": differing})
    return found


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--child":
        every = int(sys.argv[sys.argv.index("--variants") + 1]) if "--variants" in sys.argv else 0
        child_main(Path(sys.argv[2]), int(sys.argv[3]), every)
