"""The ``initlint`` command: parse options, call the engine, print. No analysis lives here.

``initlint [OPTIONS] [PATHS]...`` is ``initlint check``; ``initlint rules`` lists the rules and
``initlint rule CODE`` prints one catalog page. Exit codes: 0 nothing counts under
``--fail-on``, 1 findings count, 2 usage or config error, or a file that could not be analysed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import click

from initlint import __version__
from initlint import cli_steps
from initlint.cli_steps import EXIT_FINDINGS, EXIT_OK, fail



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
    try:
        main()
    except SystemExit as done:
        _exit_promptly(done)
    raise SystemExit(0)  # click's standalone main always exits; never reached


def _exit_promptly(done: SystemExit) -> None:
    """End the program as ``done`` would, without the interpreter's teardown: freeing every
    module, tree and evaluated model one by one takes ~15 ms of a 0.2 s run (mypy ends the same
    way). The output is flushed and the exit handlers run (the probe's pool stops its
    workers); when a flush fails (a closed pipe), Python's own exit takes over."""
    import atexit
    import os

    code = done.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # what sys.exit("message") prints
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise done from None
    atexit._run_exitfuncs()
    os._exit(code or 0)


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
        fail("--add-noqa cannot be combined with --fix or --diff")
    reads_stdin = paths == ("-",) or (not paths and stdin_filename is not None)
    if "-" in paths and not reads_stdin:
        fail("'-' (stdin) cannot be combined with other paths")
    if reads_stdin and add_noqa:
        fail("--add-noqa writes files; it cannot read stdin")
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
            cli_steps.check_stdin(hierarchy, stdin_filename, fix, unsafe_fixes, diff, show_fixes, show_settings, _OWN_PROCESS)
        run = hierarchy.run_settings(paths or (".",))
        files, missing = cli_steps.discover_files(paths or (".",), hierarchy, run)
    except (ConfigError, SelectorError) as error:
        fail(str(error))
    if show_files:
        click.echo("".join(f"{source.display}\n" for source in files), nl=False)
        sys.exit(EXIT_OK)
    if show_settings:
        cli_steps.show_settings(hierarchy, files, paths)
    if _OWN_PROCESS:
        from initlint.tuning import tune_own_process

        tune_own_process()  # no user code and no other libcst trees in this process (fixes parse with it)
    from initlint.checkrun import lint_all
    from initlint.findings import LintResult

    try:
        linted = lint_all(files, hierarchy, jobs, use_cache=not no_cache, isolate=_OWN_PROCESS)
    except ConfigError as error:
        fail(str(error))
    result = LintResult(linted.findings, missing + linted.errors, linted.files, linted.skipped, linted.notes)
    if add_noqa:
        cli_steps.add_noqa(files, result)
    fixed = None
    if fix or diff:
        from initlint.checkrun import fix_all

        fix_run = fix_all(files, result, hierarchy, unsafe_fixes, write=not diff)
        result, fixed = fix_run.result, fix_run.fixed
        if diff:
            cli_steps.finish_diff(fix_run, result, unsafe_fixes)
    sweep = None
    if run_probe and probe_mode == "all":
        sweep = cli_steps.probe_all(files, result, run, hierarchy, probe_cli)
    elif run_probe and result.findings:
        cli_steps.probe_findings(result.findings, run, probe_cli)
    cli_steps.report(result, run, show_fixes=show_fixes, fixed=fixed, unsafe_fixes=unsafe_fixes, sweep=sweep)


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
        fail(f"unknown rule {code!r}; 'initlint rules' lists them")
    page = read_page(code)
    if page is None:
        fail(f"the catalog page of {code.upper()} is not installed")
    click.echo(page, nl=not page.endswith("\n"))


@main.command("server")
def server_command() -> None:
    """Run the language server on stdin/stdout (LSP; needs the lsp extra: pip install 'initlint[lsp]')."""
    try:
        import pygls  # noqa: F401
    except ImportError:
        fail("initlint server needs pygls: pip install 'initlint[lsp]'")
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
        fail("--plot needs matplotlib, which is not installed: pip install 'initlint[plot]'")
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
        fail(str(problem))
    if report is None:
        fail(f"{target}: probe: error ({error})")
    if plot:
        from initlint.probe.plot import PlotError, plot_report

        try:
            plot_report(report, Path(plot))
        except PlotError as problem:
            fail(str(problem))
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(render_report(report), nl=False)
    sys.exit(EXIT_FINDINGS if report.verdicts else EXIT_OK)
