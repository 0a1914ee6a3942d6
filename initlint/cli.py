"""The ``initlint`` command: parse options, call the engine, print. No analysis lives here.

``initlint [OPTIONS] [PATHS]...`` is ``initlint check``; ``initlint rules`` lists the rules and
``initlint rule CODE`` prints one catalog page. Exit codes: 0 nothing counts under
``--fail-on``, 1 findings count, 2 usage or config error, or a file that could not be analysed.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import click

from initlint import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _DefaultCheckGroup(click.Group):
    """Route ``initlint PATHS`` and ``initlint --option PATHS`` to the ``check`` command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        group_only = {"--help", "-h", "--version"}
        if not args or (args[0] not in self.commands and args[0] not in group_only):
            args = ["check", *args]
        return super().parse_args(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command's whole first docstring line: click would cut it at 45 characters
        or at the first period (``e.g.``)."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            rows.append((name, command.short_help or (command.help or "").split("\n", 1)[0].strip()))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=_DefaultCheckGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Run 'initlint check --help' for the lint options; 'initlint PATHS' is the same.",
)
@click.version_option(__version__, "--version", prog_name="initlint")
def main() -> None:
    """Find weight-initialization bugs in PyTorch model code."""


#: True in the ``initlint`` program (``run``), False where ``main`` is called from Python
#: (tests, embedding): only a process that is initlint's own may change libcst for itself
_OWN_PROCESS = False


def run() -> None:
    """The ``initlint`` program and ``python -m initlint``: ``main`` in a process of its own."""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    main()


class _PositiveFinite(click.ParamType):
    """A float above 0 that is neither NaN nor infinite (a NaN limit never trips: limits.py)."""

    name = "float"

    def convert(self, value, param, ctx):
        from initlint.limits import positive_finite_float

        try:
            return positive_finite_float(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


class _CheckCommand(click.Command):
    """``--probe`` alone or ``--probe=findings`` probes the models with findings; ``--probe=all``
    every model. A bare ``--probe`` never takes the next word as its value (it is a path)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten = []
        for index, arg in enumerate(args):
            if arg == "--":
                rewritten.extend(args[index:])
                break
            if arg.startswith("--probe="):
                mode = arg.partition("=")[2]
                if mode not in ("all", "findings"):
                    raise click.UsageError(f"--probe takes 'all' or 'findings', got {mode!r}", ctx)
                rewritten.extend(["--probe", "--probe-mode", mode])
                continue
            rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


def _probe_options(command):
    """Options shared by ``check --probe`` and ``probe``; None means "not given" (config wins)."""
    options = [
        click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default=None, help="Where the probe runs models (default auto: CUDA when available)."),
        click.option("--probe-timeout", "timeout", type=_PositiveFinite(), default=None, help="Seconds per model (after its worker has started) before it is stopped (default 60)."),
        click.option("--probe-memory", "memory_mb", type=_PositiveFinite(), default=None, metavar="MIB", help="Resident memory cap per model in MiB (default 4096)."),
        click.option("--probe-arg", "probe_args", multiple=True, metavar="CLASS.NAME=VALUE", help="A constructor argument for a model (repeatable)."),
        click.option("--probe-input", "probe_inputs", multiple=True, metavar="NAME=SHAPE[:dtype]", help="A forward argument's shape without the batch, e.g. x=3x224x224 or Net.t=:long (repeatable)."),
        click.option("--probe-batch", "batch", type=click.IntRange(min=1), default=None, help="Batch size of the probe input (default: up to 64, as the time budget allows)."),
        click.option("--probe-seed", "seed", type=click.IntRange(min=0), default=None, help="Seed for weights, input and directions (default 0)."),
        click.option("--probe-workers", "workers", type=click.IntRange(min=1), default=None, help="Models probed at once (default 1)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command("check", cls=_CheckCommand)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, metavar="CODES", help="Only these rule codes or prefixes (comma separated).")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Rule codes or prefixes to add to those selected.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rule codes or prefixes.")
@click.option("--extend-ignore", multiple=True, metavar="CODES", help="Rule codes or prefixes to skip on top of those ignored.")
@click.option(
    "--fail-on",
    multiple=True,
    metavar="WHAT",
    help="Exit 1 only for findings of these effects (exploding, vanishing, symmetry, "
    "saturation, misuse), codes or prefixes; 'any' (default) or 'none'.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif", "gitlab", "junit"]), default=None, help="Output format (default text).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write the report to FILE instead of stdout.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip paths matching GLOB (gitignore syntax; repeatable).")
@click.option("--force-exclude", is_flag=True, default=None, help="Apply the excludes to paths named on the command line and to --stdin-filename too (for pre-commit).")
@click.option("--statistics", is_flag=True, default=None, help="Show counts per rule instead of each finding (in every format).")
@click.option("-q", "--quiet", is_flag=True, default=None, help="Print findings only, no summary.")
@click.option("--fix", is_flag=True, help="Apply the safe fixes to the files (atomically; files changed meanwhile are left alone).")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff, apply the unsafe fixes too (they change the init).")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff instead of writing them; exit 1 if anything would change.")
@click.option("--show-fixes", is_flag=True, help="List each fix: under each finding, or with --fix the findings fixed.")
@click.option("--add-noqa", is_flag=True, help="Add '# noqa: CODE' to every line with a finding (to adopt initlint on existing code).")
@click.option("--stdin-filename", metavar="PATH", default=None, help="Read the source from stdin (path '-') and report it as PATH, with PATH's config and per-file-ignores.")
@click.option("--show-settings", is_flag=True, help="Print the settings used for the first file, then exit.")
@click.option("--show-files", is_flag=True, help="Print the files that would be linted, then exit.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes (default: the number of cores; a handful of files always runs in one).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Cache folder (default .initlint_cache beside each config, else in the working directory).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None, help="Read settings for every file from this TOML file instead of the nearest config above each file.")
@click.option("--max-file-size", type=click.IntRange(min=1), default=None, metavar="BYTES", help="A larger file is one 'too large' error instead of being linted (default 2000000).")
@click.option("--probe", "run_probe", is_flag=True, help="Import each model with findings, run it once with torch, and confirm or refute each finding (runs your code, in worker processes). --probe=all measures every model and reports measured problems as findings (IL9xx).")
@click.option("--probe-mode", "probe_mode", type=click.Choice(["findings", "all"]), default="findings", hidden=True)
@_probe_options
def check(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    extend_ignore: tuple[str, ...],
    fail_on: tuple[str, ...],
    fmt: str | None,
    output: str | None,
    exclude: tuple[str, ...],
    force_exclude: bool | None,
    statistics: bool | None,
    quiet: bool | None,
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    show_fixes: bool,
    add_noqa: bool,
    stdin_filename: str | None,
    show_settings: bool,
    show_files: bool,
    jobs: int | None,
    no_cache: bool,
    cache_dir: str | None,
    config_file: str | None,
    max_file_size: int | None,
    run_probe: bool,
    probe_mode: str,
    **probe_cli,
) -> None:
    """Lint PATHS (files or folders; default '.'; '-' reads stdin) for init smells."""
    from initlint.config import ConfigError
    from initlint.hierarchy import Hierarchy, cli_overrides
    from initlint.selection import SelectorError, normalize_selectors

    if add_noqa and (fix or diff):
        _fail("--add-noqa cannot be combined with --fix or --diff")
    reads_stdin = paths == ("-",) or (not paths and stdin_filename is not None)
    if "-" in paths and not reads_stdin:
        _fail("'-' (stdin) cannot be combined with other paths")
    if reads_stdin and add_noqa:
        _fail("--add-noqa writes files; it cannot read stdin")
    try:
        options = dict(
            select=normalize_selectors(select, "--select") if select else None,
            extend_select=normalize_selectors(extend_select, "--extend-select") if extend_select else None,
            ignore=normalize_selectors(ignore, "--ignore") if ignore else None,
            extend_ignore=normalize_selectors(extend_ignore, "--extend-ignore") if extend_ignore else None,
            fail_on=normalize_selectors(fail_on, "--fail-on", allow_effects=True) if fail_on else None,
            format=fmt, output=Path(output) if output is not None else None, exclude=exclude,
            statistics=statistics, quiet=quiet, cache_dir=Path(cache_dir) if cache_dir else None,
            force_exclude=force_exclude, max_file_size=max_file_size,
        )
        hierarchy = Hierarchy(cli_overrides(**options), Path(config_file) if config_file else None)
        if reads_stdin:
            _check_stdin(hierarchy, stdin_filename, fix, unsafe_fixes, diff, show_fixes, show_settings)
        run = hierarchy.run_settings(paths or (".",))
        files, missing = _discover(paths or (".",), hierarchy, run)
    except (ConfigError, SelectorError) as error:
        _fail(str(error))
    if show_files:
        click.echo("".join(f"{source.display}\n" for source in files), nl=False)
        sys.exit(EXIT_OK)
    if show_settings:
        _show_settings(hierarchy, files, paths)
    if _OWN_PROCESS:
        from initlint.parsing import tune_own_process

        tune_own_process()  # no user code and no other libcst trees in this process
    from initlint.checkrun import lint_all
    from initlint.findings import LintResult

    try:
        linted = lint_all(files, hierarchy, jobs, use_cache=not no_cache, isolate=_OWN_PROCESS)
    except ConfigError as error:
        _fail(str(error))
    result = LintResult(linted.findings, missing + linted.errors, linted.files, linted.skipped, linted.notes)
    if add_noqa:
        _add_noqa(files, result)
    fixed = None
    if fix or diff:
        from initlint.checkrun import fix_all

        fix_run = fix_all(files, result, hierarchy, unsafe_fixes, write=not diff)
        result, fixed = fix_run.result, fix_run.fixed
        if diff:
            _finish_diff(fix_run, result, unsafe_fixes)
    sweep = None
    if run_probe and probe_mode == "all":
        sweep = _probe_all(files, result, run, hierarchy, probe_cli)
    elif run_probe and result.findings:
        _probe_findings(result.findings, run, probe_cli)
    _report(result, run, show_fixes=show_fixes, fixed=fixed, unsafe_fixes=unsafe_fixes, sweep=sweep)


def _discover(paths, hierarchy, run):
    from initlint.discover import discover

    return discover(paths, run.exclude, run.root, excluded_by=hierarchy.excluded, force_exclude=run.force_exclude)


def _report(result, settings, *, show_fixes=False, fixed=None, unsafe_fixes=False, to_stderr=False, sweep=None) -> None:
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
            _fail(f"cannot write {settings.output}: {error.strerror or error}")
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


def _finish_diff(fix_run, result, unsafe_fixes: bool) -> None:
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


def _add_noqa(files, result) -> None:
    from initlint.checkrun import add_noqa_all

    run = add_noqa_all(files, result)
    click.echo(f"Added {run.added} noqa directive{'' if run.added == 1 else 's'} in {run.files} file{'' if run.files == 1 else 's'}.")
    for finding in run.skipped:
        loc = finding.location
        click.echo(f"initlint: warning: {loc.path}:{loc.line}: no room for '# noqa: {finding.code}' (the line ends inside a string or continues)", err=True)
    for error in [*result.errors, *run.errors]:
        click.echo(f"initlint: error: {error.path}: {error.reason}", err=True)
    sys.exit(EXIT_ERROR if result.errors or run.errors else EXIT_OK)


def _show_settings(hierarchy, files, paths) -> None:
    from initlint.checkrun import describe_settings

    if files:
        target, settings = files[0].display, hierarchy.for_file(files[0].path)
    else:
        target, settings = ".", hierarchy.run_settings(paths or (".",))
    click.echo(describe_settings(settings, target), nl=False)
    sys.exit(EXIT_OK)


def _check_stdin(hierarchy, stdin_filename, fix, unsafe_fixes, diff, show_fixes, show_settings) -> None:
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
    if _OWN_PROCESS:
        from initlint.parsing import tune_own_process

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

            _finish_diff(FixRun(result, outcome.fixed, [unified_diff(outcome)] if outcome.changed else []), result, unsafe_fixes)
        sys.stdout.buffer.write(outcome.current.data)
        sys.stdout.flush()
        _report(result, settings, show_fixes=show_fixes, fixed=outcome.fixed, unsafe_fixes=unsafe_fixes, to_stderr=True)
    _report(file_result(document, lint), settings, show_fixes=show_fixes, unsafe_fixes=unsafe_fixes)


def _probe_findings(findings, settings, probe_cli) -> None:
    from initlint.probe.options import build_options
    from initlint.probe.runner import ProbeError, probe_findings

    try:
        probe_findings(findings, build_options(settings.probe, **probe_cli))
    except ProbeError as error:
        _fail(str(error))


def _probe_all(files, result, settings, hierarchy, probe_cli):
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
        _fail(str(error))
    result.findings.extend(sweep.findings)
    result.findings.sort(key=lambda f: f.sort_key)
    return sweep


def _fail(message: str) -> None:
    click.echo(f"initlint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@main.command("rules")
def rules_command() -> None:
    """List every rule: code, effect, name and what it catches."""
    from initlint.rules import all_rules

    for rule in all_rules():
        click.echo(f"{rule.code}  {rule.effect.value:<10}  {rule.name:<26}  {rule.summary}")


@main.command("rule")
@click.argument("code")
def rule_command(code: str) -> None:
    """Print the catalog page of rule CODE (e.g. IL201)."""
    from initlint.catalog import read_page
    from initlint.rules import get_rule

    if get_rule(code) is None:
        _fail(f"unknown rule {code!r}; 'initlint rules' lists them")
    page = read_page(code)
    if page is None:
        _fail(f"the catalog page of {code.upper()} is not installed")
    click.echo(page, nl=not page.endswith("\n"))


@main.command("server")
def server_command() -> None:
    """Run the language server on stdin/stdout (LSP; needs the lsp extra: pip install 'initlint[lsp]')."""
    try:
        import pygls  # noqa: F401
    except ImportError:
        _fail("initlint server needs pygls: pip install 'initlint[lsp]'")
    from initlint.lsp.server import main as serve

    serve()


@main.command("probe")
@click.argument("target")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, help="Draw activation std and gradient norm per layer (log axis) into FILE.png (needs matplotlib).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None, help="Read [tool.initlint.probe] from this TOML file.")
@_probe_options
def probe_command(target: str, fmt: str, plot: str | None, config_file: str | None, **probe_cli) -> None:
    """Measure one model, no lint: TARGET is path/to/file.py:Class or package.module:Class.

    Prints a per-layer table (output std, gain, signal gain, gradient/weight, saturated and dead
    shares), the verdicts and the largest stable SGD learning rate at init. Exit 1 when a verdict
    is reached, 0 when the model looks healthy, 2 when it cannot be built or run.
    """
    import json

    from initlint.config import ConfigError, Settings, find_config, load_settings

    if plot and importlib.util.find_spec("matplotlib") is None:  # before minutes of probing
        _fail("--plot needs matplotlib, which is not installed: pip install 'initlint[plot]'")
    from initlint.probe.options import build_options
    from initlint.probe.runner import ProbeError, probe_target
    from initlint.probe.text import render_report

    try:
        config_path = Path(config_file) if config_file else find_config(Path.cwd())
        settings = Settings()
        if config_path is not None:  # the same checks as for linting, [tool.initlint.probe] too
            settings = load_settings(config_path)
        report, error = probe_target(target, build_options(settings.probe, **probe_cli))
    except (ConfigError, ProbeError) as problem:
        _fail(str(problem))
    if report is None:
        _fail(f"{target}: probe: error ({error})")
    if plot:
        from initlint.probe.plot import PlotError, plot_report

        try:
            plot_report(report, Path(plot))
        except PlotError as problem:
            _fail(str(problem))
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(render_report(report), nl=False)
    sys.exit(EXIT_FINDINGS if report.verdicts else EXIT_OK)
