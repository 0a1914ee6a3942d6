"""``[tool.initlint]`` in the nearest pyproject.toml (or initlint.toml), merged under the
command-line options.

The same keys as the options (kebab-case), plus ``per-file-ignores`` and the thresholds. A key
that initlint does not know, or a value of the wrong kind, is a ConfigError naming the file and
the key: silently ignoring a typo would silently change what is linted. ``extend = "../base.toml"``
reads a base config first (its relative paths stay relative to it); ``extend-select`` and
``extend-ignore`` add to what ``select``/``ignore`` (here or in the base) say. The JSON schema of
the table ships as ``initlint/schema/initlint.schema.json``.
"""

from __future__ import annotations

from dataclasses import field, replace
from pathlib import Path
from typing import Any

from initlint.lean import dataclass
from initlint.limits import is_positive_finite
from initlint.reading import DEFAULT_MAX_FILE_SIZE, NotARegularFile, UnreadableFile, file_kind, read_source
from initlint.selection import SelectorError, normalize_selectors

FORMATS = ("text", "json", "github", "sarif", "gitlab", "junit")
#: config files, most preferred first, in each folder (pyproject.toml counts only with [tool.initlint])
CONFIG_NAMES = ("initlint.toml", ".initlint.toml", "pyproject.toml")
#: a config file larger than this is not one
MAX_CONFIG_SIZE = 1_000_000


@dataclass(frozen=True)
class Thresholds:
    """Numbers the rules judge by; ``[tool.initlint]`` can change them (see the catalog)."""

    #: a per-layer variance gain above this is exploding (std x3.2 per layer)
    max_gain: float = 10.0
    #: a stack of layers whose variance gain multiplies to less than this is vanishing
    #: (the signal's std falls more than 10x before it reaches the next normalization)
    min_stack_gain: float = 0.01
    #: layers a stack needs before a small per-layer gain counts as vanishing: a two-layer MLP
    #: inside a residual branch (nanoGPT's c_fc/c_proj at std 0.02) is scaled on purpose
    min_stack_depth: int = 3


class ConfigError(ValueError):
    """A configuration file or value that cannot be used; the CLI exits 2 with this message."""


@dataclass(frozen=True)
class Settings:
    """Everything that decides what is linted and how it is reported."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: tuple[str, ...] = ("any",)
    format: str = "text"
    output: Path | None = None
    exclude: tuple[str, ...] = ()
    statistics: bool = False
    quiet: bool = False
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)
    root: Path = field(default_factory=Path.cwd)
    config_path: Path | None = None
    cache_dir: Path | None = None
    #: apply ``exclude`` to files named on the command line too (pre-commit passes them)
    force_exclude: bool = False
    #: the configs this one extends, base first (for --show-settings)
    extends: tuple[Path, ...] = ()
    #: a file larger than this many bytes is one "too large" error (reading.py)
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    #: ``[tool.initlint.probe]``, checked by the probe when it runs (initlint/probe/options.py)
    probe: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def analysis_key(self) -> str:
        """Everything that changes findings (not how they are printed): the cache's key (with
        initlint's version, which fixes what each selector selects). The selectors, not the
        codes they select: listing the codes imports every rule, and with it libcst, which a
        run whose files all come from the cache never needs."""
        return repr((self.select, self.ignore, self.per_file_ignores, self.thresholds, str(self.root)))


def find_config(start: Path) -> Path | None:
    """The nearest initlint.toml, .initlint.toml, or pyproject.toml with a ``[tool.initlint]``
    table, at or above ``start`` (a file or a folder)."""
    current = start.resolve()
    if current.is_file():
        current = current.parent
    for folder in (current, *current.parents):
        found = config_in(folder)
        if found is not None:
            return found
    return None


def config_in(folder: Path) -> Path | None:
    """The config file of ``folder`` itself, or None."""
    for name in CONFIG_NAMES:
        candidate = folder / name
        try:
            if not candidate.is_file():
                continue
        except OSError:  # a folder that cannot be searched: discovery reports it
            continue
        if name != "pyproject.toml":
            return candidate
        try:
            raw = candidate.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if "initlint" not in raw and "\\u" not in raw and "\\U" not in raw:
            continue  # no key can spell initlint here (TOML's only other spelling is an escape)
        import tomllib  # only when a file may be ours: a one-file run starts faster without it

        try:
            data = tomllib.loads(raw)
        except tomllib.TOMLDecodeError:
            if "tool.initlint" in raw:  # ours, but broken: read_config says why
                return candidate
            continue
        if isinstance(data.get("tool"), dict) and "initlint" in data["tool"]:
            return candidate
    return None


def load_settings(path: Path, base: Settings | None = None, _chain: tuple[Path, ...] = ()) -> Settings:
    """The settings of config file ``path`` over ``base``, its ``extend`` chain read first."""
    base = base or Settings()
    path = path.resolve() if path.exists() else path
    table = read_config(path)
    extend = table.get("extend")
    if extend is not None:
        if not isinstance(extend, str):
            raise ConfigError(f"{path}: 'extend' must be a path string, got {extend!r}")
        import os

        parent = (path.parent / os.path.expandvars(os.path.expanduser(extend))).resolve()
        if parent in _chain or parent == path:
            raise ConfigError(f"{path}: 'extend' makes a cycle through {parent}")
        if not parent.is_file():
            raise ConfigError(f"{path}: 'extend' names {extend!r}, which is no file ({parent})")
        base = load_settings(parent, base, (*_chain, path))
        base = replace(base, extends=(*base.extends, parent))
    rest = {key: value for key, value in table.items() if key != "extend"}
    return settings_from_table(rest, path, base)


def read_config(path: Path) -> dict[str, Any]:
    """The initlint table of a TOML file: ``[tool.initlint]`` if present, else the whole file."""
    import tomllib

    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    try:  # a FIFO or device would block or never end: regular files only
        data = tomllib.loads(read_source(path, MAX_CONFIG_SIZE).decode("utf-8"))
    except NotARegularFile:
        raise ConfigError(f"{path}: {file_kind(path.stat().st_mode)}, not a config file") from None
    except UnreadableFile as error:
        raise ConfigError(f"{path}: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: cannot read config: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    tool = data.get("tool")
    if isinstance(tool, dict) and "initlint" in tool:
        table = tool["initlint"]
    elif path.name == "pyproject.toml":
        table = {}
    else:
        table = data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.initlint] must be a table")
    return table


def _strings(path: Path, key: str, value: Any, allow_str: bool = False) -> list[str]:
    if allow_str and isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: '{key}' must be a list of strings, got {value!r}")
    return value


def _bool(path: Path, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: '{key}' must be true or false, got {value!r}")
    return value


def settings_from_table(table: dict[str, Any], path: Path, base: Settings) -> Settings:
    """Apply a config table onto ``base``; every key is checked."""
    changes: dict[str, Any] = {"root": path.parent.resolve(), "config_path": path}
    thresholds = base.thresholds
    for key, value in sorted(table.items(), key=lambda item: item[0].startswith("extend-")):
        try:
            if key in ("select", "ignore"):
                changes[key] = normalize_selectors(_strings(path, key, value), key)
            elif key in ("extend-select", "extend-ignore"):
                field_name = key.split("-", 1)[1]
                current = changes.get(field_name, getattr(base, field_name))
                added = normalize_selectors(_strings(path, key, value), key)
                if field_name == "ignore" or current:  # an empty select is every rule already
                    changes[field_name] = current + added
            elif key == "fail-on":
                changes["fail_on"] = normalize_selectors(
                    _strings(path, key, value, allow_str=True), key, allow_effects=True
                )
            elif key == "exclude":
                changes["exclude"] = tuple(_strings(path, key, value))
            elif key == "format":
                if value not in FORMATS:
                    raise ConfigError(f"{path}: 'format' must be one of {', '.join(FORMATS)}, got {value!r}")
                changes["format"] = value
            elif key == "output":
                if not isinstance(value, str):
                    raise ConfigError(f"{path}: 'output' must be a path string, got {value!r}")
                changes["output"] = path.parent / value
            elif key in ("statistics", "quiet"):
                changes[key] = _bool(path, key, value)
            elif key == "force-exclude":
                changes["force_exclude"] = _bool(path, key, value)
            elif key == "per-file-ignores":
                changes["per_file_ignores"] = _per_file_ignores(path, value)
            elif key == "cache-dir":
                if not isinstance(value, str):
                    raise ConfigError(f"{path}: 'cache-dir' must be a path string, got {value!r}")
                changes["cache_dir"] = path.parent / value
            elif key == "max-file-size":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError(f"{path}: 'max-file-size' must be a whole number of bytes >= 1, got {value!r}")
                changes["max_file_size"] = value
            elif key == "max-layer-gain":
                if not is_positive_finite(value) or value <= 1:  # NaN would flag every layer
                    raise ConfigError(f"{path}: 'max-layer-gain' must be a finite number > 1, got {value!r}")
                thresholds = replace(thresholds, max_gain=float(value))
            elif key == "probe":
                if not isinstance(value, dict):
                    raise ConfigError(f"{path}: 'probe' must be a table ([tool.initlint.probe])")
                from initlint.probe.options import check_probe_table

                check_probe_table(value, path)
                changes["probe"] = {**value, "__base__": str(path.parent.resolve())}
            elif key == "min-stack-gain":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                    raise ConfigError(f"{path}: 'min-stack-gain' must be a number in (0, 1), got {value!r}")
                thresholds = replace(thresholds, min_stack_gain=float(value))
            else:
                raise ConfigError(
                    f"{path}: unknown key '{key}' in [tool.initlint]; known keys: {', '.join(KNOWN_KEYS)}"
                )
        except SelectorError as error:
            raise ConfigError(f"{path}: {error}") from None
    changes["thresholds"] = thresholds
    return replace(base, **changes)


def _per_file_ignores(path: Path, value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: 'per-file-ignores' must be a table of glob = [codes]")
    out = []
    for pattern, codes in value.items():
        items = _strings(path, f"per-file-ignores.{pattern}", codes)
        out.append((pattern, normalize_selectors(items, f"per-file-ignores.{pattern}")))
    return tuple(out)


KNOWN_KEYS = (
    "select", "extend-select", "ignore", "extend-ignore", "fail-on", "format", "output",
    "exclude", "force-exclude", "statistics", "quiet", "per-file-ignores", "max-layer-gain",
    "min-stack-gain", "cache-dir", "max-file-size", "probe", "extend",
)
