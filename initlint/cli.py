"""The ``initlint`` command: parse options, call the engine, print. No analysis lives here.

``initlint [OPTIONS] [PATHS]...`` is ``initlint check``; ``initlint rules`` lists the rules and
``initlint rule CODE`` prints one catalog page. Exit codes: 0 nothing counts under
``--fail-on``, 1 findings count, 2 usage or config error, or a file that could not be analysed.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
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


def _probe_options(command):
    """Options shared by ``check --probe`` and ``probe``; None means "not given" (config wins)."""
    options = [
        click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default=None, help="Where the probe runs models (default auto: CUDA when available)."),
        click.option("--probe-timeout", "timeout", type=click.FloatRange(min=0, min_open=True), default=None, help="Seconds per model before its worker is stopped (default 60)."),
        click.option("--probe-memory", "memory_mb", type=click.FloatRange(min=0, min_open=True), default=None, metavar="MIB", help="Resident memory cap per worker in MiB (default 4096)."),
        click.option("--probe-arg", "probe_args", multiple=True, metavar="CLASS.NAME=VALUE", help="A constructor argument for a model (repeatable)."),
        click.option("--probe-batch", "batch", type=click.IntRange(min=1), default=None, help="Batch size of the probe input (default 64)."),
        click.option("--probe-seed", "seed", type=click.IntRange(min=0), default=None, help="Seed for weights, input and directions (default 0)."),
        click.option("--probe-workers", "workers", type=click.IntRange(min=1), default=None, help="Models probed at once (default 1)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, metavar="CODES", help="Only these rule codes or prefixes (comma separated).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rule codes or prefixes.")
@click.option(
    "--fail-on",
    multiple=True,
    metavar="WHAT",
    help="Exit 1 only for findings of these effects (exploding, vanishing, symmetry, "
    "saturation, misuse), codes or prefixes; 'any' (default) or 'none'.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]), default=None, help="Output format (default text).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write the report to FILE instead of stdout.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip paths matching GLOB (gitignore syntax; repeatable).")
@click.option("--statistics", is_flag=True, default=None, help="Show counts per rule instead of each finding.")
@click.option("-q", "--quiet", is_flag=True, default=None, help="Print findings only, no summary.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes (default: the number of cores; a handful of files always runs in one).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Cache folder (default .initlint_cache beside the config, else in the working directory).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None, help="Read settings from this TOML file instead of the nearest pyproject.toml.")
@click.option("--probe", "run_probe", is_flag=True, help="Import each model with findings, run it once with torch, and confirm or refute each finding (runs your code, in worker processes).")
@_probe_options
def check(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    fail_on: tuple[str, ...],
    fmt: str | None,
    output: str | None,
    exclude: tuple[str, ...],
    statistics: bool | None,
    quiet: bool | None,
    jobs: int | None,
    no_cache: bool,
    cache_dir: str | None,
    config_file: str | None,
    run_probe: bool,
    **probe_cli,
) -> None:
    """Lint PATHS (files or folders; default '.') for init smells."""
    from initlint.config import ConfigError, Settings, find_config, read_config, settings_from_table
    from initlint.discover import discover
    from initlint.engine import lint_files
    from initlint.findings import LintResult
    from initlint.parsing import tune_own_process
    from initlint.report import render
    from initlint.selection import FailPolicy, SelectorError, normalize_selectors

    try:
        settings = Settings()
        config_path = Path(config_file) if config_file else find_config(Path.cwd())
        if config_path is not None:
            settings = settings_from_table(read_config(config_path), config_path, settings)
        overrides: dict = {}
        if select:
            overrides["select"] = normalize_selectors(select, "--select")
        if ignore:
            overrides["ignore"] = normalize_selectors(ignore, "--ignore")
        if fail_on:
            overrides["fail_on"] = normalize_selectors(fail_on, "--fail-on", allow_effects=True)
        if fmt is not None:
            overrides["format"] = fmt
        if output is not None:
            overrides["output"] = Path(output)
        if exclude:
            overrides["exclude"] = settings.exclude + exclude
        if statistics is not None:
            overrides["statistics"] = statistics
        if quiet is not None:
            overrides["quiet"] = quiet
        if cache_dir is not None:
            overrides["cache_dir"] = Path(cache_dir)
        settings = replace(settings, **overrides)
    except (ConfigError, SelectorError) as error:
        _fail(str(error))

    files, missing = discover(paths or (".",), settings.exclude, settings.root)
    if _OWN_PROCESS:
        tune_own_process()  # no user code and no other libcst trees in this process
    cache = None
    if not no_cache:
        from initlint.cache import DEFAULT_DIR, Cache

        cache = Cache(settings.cache_dir or settings.root / DEFAULT_DIR, settings.analysis_key())
    linted = lint_files(files, settings, jobs=jobs, cache=cache)
    result = LintResult(linted.findings, missing + linted.errors, linted.files)
    if run_probe and result.findings:
        _probe_findings(result.findings, settings, probe_cli)
    policy = FailPolicy(settings.fail_on)
    to_file = settings.output is not None
    color = not to_file and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    report = render(
        result,
        settings.format,
        color=color,
        statistics=settings.statistics,
        quiet=settings.quiet,
        policy=policy,
    )
    for error in result.errors:
        click.echo(f"initlint: error: {error.path}: {error.reason}", err=True)
    if to_file:
        try:
            settings.output.write_text(report, encoding="utf-8")
        except OSError as error:
            _fail(f"cannot write {settings.output}: {error.strerror or error}")
    else:
        click.echo(report, nl=False)
    if result.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if any(policy.counts(f) for f in result.findings) else EXIT_OK)


def _probe_findings(findings, settings, probe_cli) -> None:
    from initlint.probe.options import build_options
    from initlint.probe.runner import ProbeError, probe_findings

    try:
        probe_findings(findings, build_options(settings.probe, **probe_cli))
    except ProbeError as error:
        _fail(str(error))


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

    from initlint.config import ConfigError, Settings, find_config, read_config, settings_from_table
    from initlint.probe.options import build_options
    from initlint.probe.runner import ProbeError, probe_target
    from initlint.probe.text import render_report

    try:
        config_path = Path(config_file) if config_file else find_config(Path.cwd())
        settings = Settings()
        if config_path is not None:  # the same checks as for linting, [tool.initlint.probe] too
            settings = settings_from_table(read_config(config_path), config_path, settings)
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
