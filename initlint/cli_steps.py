"""The steps of ``initlint check`` around the engine: discover files, lint stdin, add noqa
comments, finish a diff, run the probe, and print the report with the exit code it calls for.
cli.py parses the options and calls these in order."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def discover_files(paths, hierarchy, run):
    from initlint.discover import discover

    return discover(paths, run.exclude, run.root, excluded_by=hierarchy.excluded, force_exclude=run.force_exclude)


def report(result, settings, *, show_fixes=False, fixed=None, unsafe_fixes=False, to_stderr=False, sweep=None) -> None:
    """Print (or write) the report and exit with the code the findings and errors call for;
    with ``--probe=all`` (``sweep``) the models that were not probed follow on stderr."""
    from initlint.report import render
    from initlint.selection import FailPolicy

    policy = FailPolicy(settings.fail_on)
    to_file = settings.output is not None
    stream = sys.stderr if to_stderr else sys.stdout
    color = not to_file and stream.isatty() and "NO_COLOR" not in os.environ
    report = render(
        result,
        settings.format,
        color=color,
        statistics=settings.statistics,
        quiet=settings.quiet,
        policy=policy,
        show_fixes=show_fixes,
        fixed=fixed,
        unsafe_fixes=unsafe_fixes,
    )
    for note in result.notes:
        click.echo(f"initlint: note: {note}", err=True)
    for note in result.skipped:
        click.echo(f"initlint: note: {note.path}: {note.reason}", err=True)
    for error in result.errors:
        click.echo(f"initlint: error: {error.path}: {error.reason}", err=True)
    # a file name that is not UTF-8 keeps its own bytes (as ls shows it); encoded before a file
    # is opened, so a failure cannot leave an empty report behind
    data = report.encode("utf-8", "surrogateescape")
    if to_file:
        try:
            settings.output.write_bytes(data)
        except OSError as error:
            fail(f"cannot write {settings.output}: {error.strerror or error}")
    else:
        click.echo(data, nl=False, err=to_stderr)
    if sweep is not None:
        for line in sweep.unprobed:
            click.echo(f"initlint: {line.text()}", err=True)
        click.echo(f"initlint: {sweep.summary()}", err=True)
    if result.errors:
        sys.exit(EXIT_ERROR)
    unprobed = sweep is not None and sweep.unprobed and "unprobed" in policy.selectors
    sys.exit(EXIT_FINDINGS if unprobed or any(policy.counts(f) for f in result.findings) else EXIT_OK)


def finish_diff(fix_run, result, unsafe_fixes: bool) -> None:
    """--diff: the diffs on stdout, a count on stderr; exit 1 when anything would change."""
    from initlint.fixes import fixable

    click.echo("".join(fix_run.diffs), nl=False)
    count = len(fix_run.fixed)
    more = sum(1 for f in result.findings if fixable(f, True) and not fixable(f, unsafe_fixes))
    message = f"Would fix {count} finding{'' if count == 1 else 's'}"
    if more:
        message += f" ({more} more with --unsafe-fixes)"
    click.echo(message + ".", err=True)
    for error in result.errors:
        click.echo(f"initlint: error: {error.path}: {error.reason}", err=True)
    if result.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if fix_run.diffs else EXIT_OK)


def add_noqa(files, result) -> None:
    from initlint.checkrun import add_noqa_all

    run = add_noqa_all(files, result)
    click.echo(f"Added {run.added} noqa directive{'' if run.added == 1 else 's'} in {run.files} file{'' if run.files == 1 else 's'}.")
    for finding in run.skipped:
        loc = finding.location
        click.echo(f"initlint: warning: {loc.path}:{loc.line}: no room for '# noqa: {finding.code}' (the line ends inside a string or continues)", err=True)
    for error in [*result.errors, *run.errors]:
        click.echo(f"initlint: error: {error.path}: {error.reason}", err=True)
    sys.exit(EXIT_ERROR if result.errors or run.errors else EXIT_OK)


def show_settings(hierarchy, files, paths) -> None:
    from initlint.checkrun import describe_settings

    if files:
        target, settings = files[0].display, hierarchy.for_file(files[0].path)
    else:
        target, settings = ".", hierarchy.run_settings(paths or (".",))
    click.echo(describe_settings(settings, target), nl=False)
    sys.exit(EXIT_OK)


def check_stdin(hierarchy, stdin_filename, fix, unsafe_fixes, diff, show_fixes, show_settings, own_process) -> None:
    """Lint (or fix) the source on stdin as if it were the file ``stdin_filename``; exits."""
    from initlint.checkrun import describe_settings, file_result, linter, stdin_document

    name = stdin_filename or "-"
    path = (Path.cwd() / name) if stdin_filename else Path.cwd() / "-"
    settings = hierarchy.for_file(path)
    if show_settings:
        click.echo(describe_settings(settings, name), nl=False)
        sys.exit(EXIT_OK)
    data = sys.stdin.buffer.read()
    if stdin_filename and settings.force_exclude and hierarchy.excluded(path, False):
        if fix:
            sys.stdout.buffer.write(data)  # excluded: passed through unchanged, as ruff does
        sys.exit(EXIT_OK)
    if own_process:
        from initlint.tuning import tune_own_process

        tune_own_process()
    try:
        document = stdin_document(data, name)
    except ValueError as error:
        click.echo(f"initlint: error: {name}: {error}", err=True)
        if fix:
            sys.stdout.buffer.write(data)
        sys.exit(EXIT_ERROR)
    lint = linter(settings, path)
    if fix or diff:
        from initlint.findings import LintResult
        from initlint.fixes.runner import fix_document, unified_diff

        outcome = fix_document(document, lint, unsafe_fixes)
        result = LintResult(
            outcome.result.findings, [outcome.result.error] if outcome.result.error else [], 1
        )
        if diff:
            from initlint.checkrun import FixRun

            finish_diff(FixRun(result, outcome.fixed, [unified_diff(outcome)] if outcome.changed else []), result, unsafe_fixes)
        sys.stdout.buffer.write(outcome.current.data)
        sys.stdout.flush()
        report(result, settings, show_fixes=show_fixes, fixed=outcome.fixed, unsafe_fixes=unsafe_fixes, to_stderr=True)
    report(file_result(document, lint), settings, show_fixes=show_fixes, unsafe_fixes=unsafe_fixes)


def probe_findings(findings, settings, probe_cli) -> None:
    from initlint.probe.options import build_options
    from initlint.probe.runner import ProbeError, probe_findings

    try:
        probe_findings(findings, build_options(settings.probe, **probe_cli))
    except ProbeError as error:
        fail(str(error))


def probe_all(files, result, settings, hierarchy, probe_cli):
    """``--probe=all``: measure every model; measured problems join the findings."""
    from initlint.engine import rules_for
    from initlint.probe.options import build_options
    from initlint.probe.runner import ProbeError
    from initlint.probe.sweep import display_files, probe_all
    from initlint.suppress import Suppressions

    texts: dict[str, Suppressions] = {}

    def suppressed(path: str, code: str, line: int) -> bool:
        if path not in texts:
            from initlint.probe.candidates import read_text

            texts[path] = Suppressions.parse(read_text(path))
        return texts[path].suppressed(code, line)

    try:
        sweep = probe_all(
            display_files(files), result.findings, build_options(settings.probe, **probe_cli),
            lambda path: {rule.code for rule in rules_for(hierarchy.for_file(Path(path)), path)}, suppressed,
        )
    except ProbeError as error:
        fail(str(error))
    result.findings.extend(sweep.findings)
    result.findings.sort(key=lambda f: f.sort_key)
    return sweep


def fail(message: str) -> None:
    click.echo(f"initlint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)
