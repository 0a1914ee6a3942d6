"""``--probe=all``: list every model of every file in a worker, measure each, report the rest.

Listing runs in a task child (listing.py), so a file that cannot be imported costs one line per
class the parent sees in it (candidates.py). Each listed class and factory is one task; static
findings on those models are confirmed or refuted from the same measurement, and the models
their findings name outside the listing (module-level instances) are measured too.
"""

from __future__ import annotations

from dataclasses import field, replace
from pathlib import Path
from typing import Any, Callable

from initlint.findings import Finding
from initlint.lean import dataclass
from initlint.probe.candidates import Definition, definitions_of, module_classes, read_text
from initlint.probe.classes_run import where_classes_ran
from initlint.probe.measured import measured_findings
from initlint.probe.runner import ProbeOptions, _apply, _results, check_limits, group_findings


@dataclass(frozen=True)
class Unprobed:
    """A model that was not measured, in one line."""

    path: str
    line: int
    model: str
    reason: str
    #: in a notebook, the cell (``line`` is then the line inside it)
    cell: int | None = None
    #: an nn.Module class of the file (not a factory or a module-level instance)
    is_class: bool = False

    def text(self) -> str:
        where = f"{self.path}:cell {self.cell}:{self.line}" if self.cell is not None else f"{self.path}:{self.line}"
        return f"{where}: {self.model}: not probed ({self.reason})"


@dataclass
class ModelRun:
    """One model's task and what came back (the oracle reads these)."""

    path: str
    model: str
    kind: str  # class, factory, finding
    result: dict[str, Any]


@dataclass
class Sweep:
    findings: list[Finding] = field(default_factory=list)
    unprobed: list[Unprobed] = field(default_factory=list)
    runs: list[ModelRun] = field(default_factory=list)
    #: nn.Module classes seen, and those built and run (directly, by a factory of their file, or
    #: inside another measured model: ``inside`` of them)
    classes: int = 0
    built: int = 0
    inside: int = 0

    def summary(self) -> str:
        measured = sum(1 for run in self.runs if run.result.get("ok"))
        inside = f" ({self.inside} of them inside another model)" if self.inside else ""
        return (
            f"probe: {measured} of {len(self.runs)} models measured; {self.built} of {self.classes} "
            f"nn.Module classes built and run{inside}; {len(self.unprobed)} not probed"
        )


_HINTS = {"build": "pass --probe-arg MODEL.NAME=VALUE or a factory", "input": "pass --probe-input NAME=SHAPE[:dtype]"}


def _reason(result: dict[str, Any], model: str) -> str:
    stage, error = result.get("stage", ""), result.get("error", "")
    text = f"{stage}: {error}" if stage else error
    hint = _HINTS.get(stage)
    if hint and "--probe-" not in text and "factory" not in text:
        text += f"; {hint.replace('MODEL', model)}"
    return text


def _absent(listing: dict[str, Any], name: str) -> str:
    """Why a class of the file's text is not a model of the module its import gave."""
    undefined = (listing.get("undefined") or {}).get(name)
    if undefined:
        return f"import: its definition raised ({undefined}) when the script's definitions ran alone"
    return "import: not an nn.Module of the imported module (defined under a condition, or its base is not nn.Module there)"


def probe_all(
    files: list[tuple[str, str]], findings: list[Finding], options: ProbeOptions,
    allowed: Callable[[str], set[str]], suppressed: Callable[[str, str, int], bool] = lambda p, c, l: False,
) -> Sweep:
    """Measure every model of ``files`` ((display path, real path) pairs; see the docstring)."""
    check_limits(options)
    sweep = Sweep()
    texts = {display: read_text(real) for display, real in files}
    listable = [(d, r) for d, r in files if "Module" in texts[d] or "nn." in texts[d] or "torch" in texts[d]]
    statically = module_classes(texts)
    with options.pool() as pool:
        listings = relist_scripts(
            listable, _results([{**options.task(real, ""), "op": "list"} for _, real in listable], options, pool),
            lambda again: _results(again, options, pool), options,
        )
        tasks, keys = [], []
        for (display, real), listing in zip(listable, listings):
            if not listing.get("ok"):
                for cls in statically.get(display, []):
                    sweep.unprobed.append(Unprobed(display, cls.shown_line, cls.name, _reason(listing, cls.name), cls.cell, is_class=True))
                    sweep.classes += 1
                continue
            for entry in listing["models"]:
                tasks.append(options.task(real, entry["name"], definitions=bool(listing.get("definitions"))))
                keys.append((display, entry["name"], entry["kind"], entry.get("line")))
            names = {entry["name"] for entry in listing["models"]}
            for cls in statically.get(display, []):
                if cls.name not in names:  # in the file's text, but no model of the imported module
                    sweep.unprobed.append(Unprobed(display, cls.shown_line, cls.name, _absent(listing, cls.name), cls.cell, is_class=True))
                    sweep.classes += 1
        groups = group_findings(findings)
        listed = {(display, name) for display, name, _, _ in keys}
        for (display, model), _ in groups.items():
            if (display, model) not in listed:
                real = next((r for d, r in files if d == display), display)
                tasks.append(options.task(real, model))
                keys.append((display, model, "finding", None))
        results = _results(tasks, options, pool)
    for (display, model, kind, line), result in zip(keys, results):
        sweep.runs.append(ModelRun(display, model, kind, result))
    _report(sweep, texts, groups, allowed, suppressed)
    _count_inside(sweep, dict(files))
    return sweep


def _count_inside(sweep: Sweep, real_of: dict[str, str]) -> None:
    """A class not measured on its own whose forward ran inside a measured model was built and
    run there (classes_run.py): it is counted, and its line goes. A class whose code ran only as
    the base of a measured class keeps its line, which names that model."""
    where = where_classes_ran((run.model, run.result.get("ran") or ()) for run in sweep.runs if run.result.get("ok"))
    kept = []
    for line in sweep.unprobed:
        hit = where.get((str(Path(real_of.get(line.path, line.path)).resolve()), line.model)) if line.is_class else None
        if hit and not hit[1]:
            sweep.built += 1
            sweep.inside += 1
            continue
        if hit:
            line = replace(line, reason=f"its code ran as a base class of {hit[0]}, which was measured; on its own: {line.reason}")
        kept.append(line)
    sweep.unprobed = kept


def relist_scripts(listable: list[tuple[str, str]], listings: list[dict[str, Any]], run, options: ProbeOptions) -> list[dict[str, Any]]:
    """A ``.py`` file whose import ran past the time limit (a script training at its top level)
    is listed again with only its definitions run (scripts.py); the other listings stay."""
    again = [i for i, (_, real) in enumerate(listable) if real.endswith(".py") and listings[i].get("stage") == "timeout"]
    if not again:
        return listings
    retried = run([{**options.task(listable[i][1], ""), "op": "list", "definitions": True} for i in again])
    listings = list(listings)
    for i, result in zip(again, retried):
        listings[i] = result if result.get("ok") else listings[i]
    return listings


def _report(sweep: Sweep, texts: dict[str, str], groups, allowed, suppressed) -> None:
    by_file: dict[str, dict[str, Definition]] = {path: definitions_of(path, text) for path, text in texts.items()}
    built_classes: set[tuple[str, str]] = set()
    #: (file, class) -> the static findings of every model of the file that built that class
    #: (a factory, a module-level instance): they explain what the class's own run measures
    by_class: dict[tuple[str, str], list[Finding]] = {}
    reports = []
    for run in sweep.runs:
        static = groups.get((run.path, run.model), [])
        reports.append(_apply(static, run.result))
        built = (run.result.get("model") or {}).get("class") if run.result.get("ok") else None
        if built:
            built_classes.add((run.path, built))
            if built != run.model:
                by_class.setdefault((run.path, built), []).extend(static)
    for run, report in zip(sweep.runs, reports):
        static = groups.get((run.path, run.model), [])
        built = (run.result.get("model") or {}).get("class")
        if run.kind == "factory" and built and built != run.model:
            static = static + groups.get((run.path, built), [])  # the class it builds explains too
        if run.kind == "class":
            static = static + by_class.get((run.path, run.model), [])
        definition = by_file.get(run.path, {}).get(run.model) or Definition(run.model, 1, 1, 1, run.kind == "class")
        if run.kind == "class":
            sweep.classes += 1
            if (run.path, run.model) in built_classes:
                sweep.built += 1
        if report is None:
            if run.kind == "class" and (run.path, run.model) in built_classes:
                continue  # a factory of the file built and measured it
            sweep.unprobed.append(Unprobed(run.path, definition.shown_line, run.model, _reason(run.result, run.model),
                                           definition.cell, is_class=run.kind == "class"))
            continue
        sweep.findings.extend(
            measured_findings(
                run.path, definition, report, static, allowed(run.path),
                lambda code, line, path=run.path: suppressed(path, code, line),
            )
        )


def display_files(sources) -> list[tuple[str, str]]:
    """(display, real path) pairs from discovered SourceFiles."""
    return [(source.display, str(Path(source.path).resolve())) for source in sources]
