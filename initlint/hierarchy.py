"""Which settings apply to which file: the nearest config above each file, as in ruff.

``initlint proj/`` run from the parent uses ``proj/pyproject.toml`` for the files under
``proj/`` (and puts the cache beside it); another config deeper down takes over below it. With
``--config FILE`` every file uses that one file. Command-line options are applied over every
config (``overrides``). Report options (format, output, fail-on, ...) come from ``run_settings``:
the config of the working directory, else of the first path given.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable

from initlint.config import Settings, config_in, load_settings

Overrides = Callable[[Settings], Settings]


class Hierarchy:
    """Settings per folder, each config read once."""

    def __init__(self, overrides: Overrides, config_file: Path | None = None, cwd: Path | None = None) -> None:
        self.overrides = overrides
        self.cwd = (cwd or Path.cwd()).resolve()
        self.fixed = load_settings(config_file) if config_file is not None else None
        self._config_of: dict[Path, Path | None] = {}
        self._settings: dict[Path | None, Settings] = {}
        self._excludes: dict[int, Any] = {}
        self._real_folders: dict[Path, Path] = {}

    def config_for(self, folder: Path) -> Path | None:
        """The nearest config at or above ``folder``."""
        chain = []
        current = folder
        while True:
            if current in self._config_of:
                found = self._config_of[current]
                break
            chain.append(current)
            found = config_in(current)
            if found is not None or current.parent == current:
                break
            current = current.parent
        for item in chain:
            self._config_of[item] = found
        return found

    def for_folder(self, folder: Path) -> Settings:
        if self.fixed is not None:
            config = None
            if config not in self._settings:
                self._settings[config] = self.overrides(self.fixed)
            return self._settings[config]
        config = self.config_for(self._real(folder))
        if config not in self._settings:
            base = load_settings(config) if config is not None else Settings(root=self.cwd)
            self._settings[config] = self.overrides(base)
        return self._settings[config]

    def for_file(self, path: Path) -> Settings:
        return self.for_folder(self._real_path(path).parent)

    def _real(self, folder: Path) -> Path:
        """``folder`` resolved, once per folder: resolving checks every component of the path
        with lstat, and doing it for each file was half of a cached run over 2,846 files."""
        real = self._real_folders.get(folder)
        if real is None:
            real = self._real_folders[folder] = _resolved(folder)
        return real

    def _real_path(self, path: Path) -> Path:
        """``path`` resolved: a file that is no symlink itself is its resolved folder's entry."""
        try:
            if path.name not in ("", ".", "..") and not path.is_symlink():
                return self._real(path.parent) / path.name
        except OSError:
            pass
        return _resolved(path)

    def run_settings(self, paths: Iterable[str]) -> Settings:
        """Settings for the run as a whole (report format, fail-on): the working directory's
        config, else the first path's."""
        if self.fixed is not None or self.config_for(self.cwd) is not None:
            return self.for_folder(self.cwd)
        for raw in paths:
            path = _resolved(self.cwd / raw)
            if path.exists():
                return self.for_folder(path if path.is_dir() else path.parent)
        return self.for_folder(self.cwd)

    def excluded(self, path: Path, is_dir: bool) -> bool:
        """Whether the ``exclude`` patterns of the settings that govern ``path`` exclude it
        (patterns are relative to that config's folder, in gitignore syntax)."""
        settings = self.for_folder(path.parent)
        if not settings.exclude:
            return False
        spec = self._excludes.get(id(settings))
        if spec is None:
            from initlint.discover import gitignore_spec

            spec = self._excludes[id(settings)] = gitignore_spec(settings.exclude)
        try:
            relative = self._real_path(path).relative_to(settings.root).as_posix()
        except ValueError:
            relative = path.name
        return spec.match_file(relative + "/" if is_dir else relative)


def _resolved(path: Path) -> Path:
    """``path.resolve()``, or the absolute path where that fails (a symlink loop raises
    RuntimeError before Python 3.13): discovery reports such paths, they must not crash here."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def cli_overrides(**options: Any) -> Overrides:
    """The function that applies command-line options (None = not given) over a config."""

    def apply(settings: Settings) -> Settings:
        changes: dict[str, Any] = {}
        for name in ("fail_on", "format", "output", "statistics", "quiet", "cache_dir", "force_exclude", "max_file_size"):
            if options.get(name) is not None:
                changes[name] = options[name]
        select = options.get("select") if options.get("select") is not None else settings.select
        if options.get("extend_select") and select:
            select = select + options["extend_select"]
        ignore = options.get("ignore") if options.get("ignore") is not None else settings.ignore
        if options.get("extend_ignore"):
            ignore = ignore + options["extend_ignore"]
        changes.update(select=select, ignore=ignore)
        if options.get("exclude"):
            changes["exclude"] = settings.exclude + tuple(options["exclude"])
        return replace(settings, **changes)

    return apply
