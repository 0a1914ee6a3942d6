"""One ``initlint check`` run behind the command line: files grouped by the config that governs
them, each group linted with its own settings and cache; then ``--fix`` / ``--diff`` /
``--add-noqa`` on the files that need it, and stdin. The CLI parses options and prints; this
module decides what happens to the files.
"""

from __future__ import annotations

from dataclasses import field, fields
from pathlib import Path
from typing import Sequence

from initlint.config import Settings
from initlint.discover import SourceFile
from initlint.documents import Document, lint_document, load_document
from initlint.findings import FileError, FileResult, Finding, LintResult
from initlint.hierarchy import Hierarchy
from initlint.lean import dataclass


def group_files(files: Sequence[SourceFile], hierarchy: Hierarchy) -> list[tuple[Settings, list[SourceFile]]]:
    """Files grouped by the settings that govern them, in order of first appearance."""
    groups: dict[int, tuple[Settings, list[SourceFile]]] = {}
    for source in files:
        settings = hierarchy.for_file(source.path)
        groups.setdefault(id(settings), (settings, []))[1].append(source)
    return list(groups.values())


def lint_all(
    files: Sequence[SourceFile], hierarchy: Hierarchy, jobs: int | None, use_cache: bool, isolate: bool = False
) -> LintResult:
    """Every file linted under its own settings; the cache of each config sits beside it.
    ``isolate``: a crash while linting a handful of files costs only its file (engine.py)."""
    from initlint.batch import lint_files

    findings: list[Finding] = []
    errors: list[FileError] = []
    skipped: list[FileError] = []
    notes: list[str] = []
    files_linted = 0
    for settings, group in group_files(files, hierarchy):
        cache = None
        if use_cache:
            from initlint.cache import DEFAULT_DIR, Cache

            cache = Cache(settings.cache_dir or settings.root / DEFAULT_DIR, settings.analysis_key())
        linted = lint_files(group, settings, jobs=jobs, cache=cache, isolate=isolate)
        findings.extend(linted.findings)
        errors.extend(linted.errors)
        skipped.extend(linted.skipped)
        files_linted += linted.files
        if cache is not None and cache.refused and cache.refused not in notes:
            notes.append(cache.refused)
    findings.sort(key=lambda f: f.sort_key)
    return LintResult(findings, errors, files_linted, skipped, notes)


def linter(settings: Settings, path: Path):
    """``lint(document)`` under ``settings`` for the file at ``path`` (per-file-ignores)."""
    from initlint.engine import rules_for

    rules = rules_for(settings, str(path))
    return lambda document: lint_document(document, rules, settings)


@dataclass
class FixRun:
    """What ``--fix``/``--diff`` did: remaining findings and errors, fixed findings, diffs."""

    result: LintResult
    fixed: list[Finding] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)
    changed_files: int = 0


def fix_all(
    files: Sequence[SourceFile], first: LintResult, hierarchy: Hierarchy, unsafe_fixes: bool, write: bool
) -> FixRun:
    """Fix the files whose findings have applicable fixes; ``write`` False only computes diffs."""
    from initlint.fixes import fixable
    from initlint.fixes.runner import fix_document, unified_diff, write_atomically

    wanted = {f.location.path for f in first.findings if fixable(f, unsafe_fixes)}
    by_display = {source.display: source for source in files}
    findings = [f for f in first.findings if f.location.path not in wanted]
    errors = list(first.errors)
    run = FixRun(first)
    for display in sorted(wanted):
        source = by_display.get(display)
        if source is None:
            continue
        settings = hierarchy.for_file(source.path)
        try:
            data = source.path.read_bytes()
            document = load_document(display, data, source.path.suffix.lower() == ".ipynb")
        except (OSError, ValueError) as error:
            errors.append(FileError(display, f"cannot read for fixing: {getattr(error, 'strerror', None) or error}"))
            continue
        outcome = fix_document(document, linter(settings, source.path), unsafe_fixes)
        findings.extend(outcome.result.findings)
        if outcome.result.error is not None:
            errors.append(outcome.result.error)
        if not outcome.changed:
            continue
        if write:
            problem = write_atomically(source.path, outcome.current.data, data)
            if problem is not None:
                errors.append(FileError(display, problem))
                findings = [f for f in findings if f.location.path != display] + [
                    f for f in first.findings if f.location.path == display
                ]
                continue
        else:
            run.diffs.append(unified_diff(outcome))
        run.fixed.extend(outcome.fixed)
        run.changed_files += 1
    findings.sort(key=lambda f: f.sort_key)
    errors.sort(key=lambda e: e.path)
    run.result = LintResult(findings, errors, first.files)
    return run


@dataclass
class NoqaRun:
    added: int
    files: int
    skipped: list[Finding]
    errors: list[FileError]


def add_noqa_all(files: Sequence[SourceFile], first: LintResult) -> NoqaRun:
    """``# noqa: CODE`` on every line with a finding, written atomically."""
    from initlint.fixes.noqa import noqa_edits
    from initlint.fixes.runner import write_atomically
    from initlint.documents import apply_edits

    by_file: dict[str, list[Finding]] = {}
    for finding in first.findings:
        by_file.setdefault(finding.location.path, []).append(finding)
    by_display = {source.display: source for source in files}
    run = NoqaRun(0, 0, [], [])
    for display, findings in sorted(by_file.items()):
        source = by_display.get(display)
        if source is None:
            continue
        try:
            data = source.path.read_bytes()
            document = load_document(display, data, source.path.suffix.lower() == ".ipynb")
        except (OSError, ValueError) as error:
            run.errors.append(FileError(display, f"cannot read to add noqa: {getattr(error, 'strerror', None) or error}"))
            continue
        plan = noqa_edits(document, findings)
        run.skipped.extend(plan.skipped)
        if not plan.edits:
            continue
        problem = write_atomically(source.path, apply_edits(document, plan.edits), data)
        if problem is not None:
            run.errors.append(FileError(display, problem))
            continue
        run.added += len(plan.edits)
        run.files += 1
    return run


def stdin_document(data: bytes, filename: str) -> Document:
    """The document read from stdin, reported as ``filename``; ValueError if unreadable."""
    return load_document(filename, data, filename.lower().endswith(".ipynb"))


def describe_settings(settings: Settings, target: str) -> str:
    """``--show-settings``: the resolved settings for one file, one ``key = value`` a line."""
    lines = [f"Settings for: {target}"]
    if settings.config_path is not None:
        lines.append(f"Config: {settings.config_path}")
        for base in settings.extends:
            lines.append(f"  extends: {base}")
    else:
        lines.append("Config: none (defaults)")
    lines.append(f"Root: {settings.root}")
    for item in fields(settings):
        if item.name in ("config_path", "extends", "root"):
            continue
        value = getattr(settings, item.name)
        if item.name == "select" and not value:
            value = "all rules"
        lines.append(f"{item.name.replace('_', '-')} = {_show(value)}")
    from initlint.selection import selected_codes

    lines.append(f"rules = {', '.join(selected_codes(settings.select, settings.ignore))}")
    return "\n".join(lines) + "\n"


def _show(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        return "{" + ", ".join(f"{f.name} = {getattr(value, f.name)!r}" for f in fields(value)) + "}"
    return repr(value) if isinstance(value, str) else str(value)


def file_result(document: Document, lint) -> LintResult:
    result: FileResult = lint(document)
    return LintResult(sorted(result.findings, key=lambda f: f.sort_key), [result.error] if result.error else [], 1)
