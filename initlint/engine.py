"""Runs the rules over files: read once, parse once, facts once, then every selected rule.

A file whose text contains none of the tokens of the rules that apply to it is not parsed at
all (prefilter.py); parsing itself, safe and fast, is parsing.py. A file that cannot be read or
parsed becomes a FileError; the others go on. Many files, cache and workers: batch.py.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from initlint.config import Settings
from initlint.discover import SourceFile, gitignore_spec
from initlint.findings import FileError, FileResult, Finding, Location, Prediction
from initlint.model.entries import evaluate_file
from initlint.model.project import Project
from initlint.model.source import ParsedFile, module_identity
from initlint.model.syntax import read_syntax
from initlint.parsing import parse
from initlint.prefilter import prefilter_for
from initlint.reading import DEFAULT_MAX_FILE_SIZE, NotARegularFile, UnreadableFile, content_hash, read_source
from initlint.rules import REGISTRY, Hit, Rule
from initlint.selection import matches, selected_codes
from initlint.suppress import Suppressions
from initlint.tree import nodes
from initlint.tree.spans import node_range

if TYPE_CHECKING:
    from initlint.model.coverage import Coverage


def rules_for(settings: Settings, path: str | None = None) -> list[Rule]:
    """The rules that run on ``path``: selected, not ignored, not ignored for this file."""
    codes = selected_codes(settings.select, settings.ignore)
    if path is not None and settings.per_file_ignores:
        for pattern, ignored in settings.per_file_ignores:
            if gitignore_spec([pattern]).match_file(_relative(path, settings.root)):
                codes = tuple(code for code in codes if not matches(code, ignored))
    return [REGISTRY[code] for code in codes]


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return Path(path).as_posix()


def decode_source(data: bytes) -> str:
    """Text of a Python file by its coding line (PEP 263), UTF-8 by default.

    Raises ValueError with a one-line reason for binary and undecodable files.
    """
    if b"\x00" in data:
        raise ValueError("binary file (contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if "unknown encoding" in str(error):
            raise ValueError(f"bad coding line: {error}") from None
        encoding = "utf-8"  # undecodable first lines: the decode below says where
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        where = f"byte 0x{data[error.start]:02x} at offset {error.start}"
        if encoding in ("utf-8", "utf-8-sig"):
            raise ValueError(f"not valid UTF-8 ({where}) and no coding line") from None
        raise ValueError(f"not valid {encoding} as its coding line says ({where})") from None
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r} in coding line") from None
    return text[1:] if text.startswith("\ufeff") else text


def lint_text(
    text: str, path: str, rules: Sequence[Rule], settings: Settings, prefilter: bool = True,
    parse_module=parse, project: Project | None = None,
) -> FileResult:
    """Findings of ``rules`` in one file's text; never raises for bad input.

    With ``prefilter`` (always, outside the test that proves it sound) a rule runs only if one
    of its tokens occurs in the text, and a file no rule needs is not parsed at all. ``project``
    holds the other files of the run (imports resolve to them); a fresh one reads from disk.
    """
    result = FileResult(path)
    suppressions = Suppressions.parse(text)
    if suppressions.skip_file:
        return result
    needed = prefilter_for(tuple(rules)).possible(text) if prefilter else list(rules)
    if not needed:
        return result
    module = parse_module(text)  # parsing.parse, or the tree this process has of this text
    if isinstance(module, str):
        result.error = FileError(path, module)
        return result
    try:
        source = source_file(path, module, text)
        remember(source)
        project = project or Project(load_source)
        facts = evaluate_file(source, project, read_syntax(module))
        hits: dict[tuple[str, int], tuple[Rule, Hit]] = {}
        failed = []
        for rule in needed:
            try:
                for hit in rule.check(facts, settings.thresholds):
                    key = (rule.code, id(hit.node))
                    if key not in hits or hit.weight > hits[key][1].weight:
                        hits[key] = (rule, hit)
            except RecursionError:
                raise
            except Exception as error:  # a bug in one rule loses its findings, not the file's
                failed.append(f"{rule.code} failed with {_describe(error)}")
        # after the rules: IL505 searches the project's other files while it checks
        result.dependencies = project.dependencies(str(Path(path).resolve()))
        if hits:
            placed = [(rule, _with_assumptions(hit, facts)) for rule, hit in hits.values()]
            result.findings = _place(path, placed, suppressions)
        if failed:
            result.error = FileError(path, f"{'; '.join(failed)}: {_REPORT}")
    except RecursionError:
        result.error = FileError(path, "file too deeply nested to analyse (RecursionError)")
    except Exception as error:  # a bug in initlint's reading of this file: say so, go on
        if _caused_by_recursion(error):  # libcst's context managers turn it into a KeyError
            result.error = FileError(path, "file too deeply nested to analyse (RecursionError)")
        else:
            result.error = FileError(path, f"initlint failed reading this file ({_describe(error)}): {_REPORT}")
    return result


def source_file(path: str, module: nodes.Module, text: str) -> ParsedFile:
    """The ParsedFile of a parsed file: its module name and folder when it exists on disk."""
    real = Path(path)
    if real.is_file():
        name, root, is_package = module_identity(real)
        return ParsedFile(path, module, text, name, real.resolve().parent, root, is_package)
    return ParsedFile(path, module, text, real.stem or "__main__")


#: parsed files of this process, by path: (stat signature, the file or None if unreadable);
#: a file imported by many others is read and parsed once per process while it is unchanged
_SOURCES: dict[Path, tuple[tuple[int, int], ParsedFile | None]] = {}


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def load_source(path: Path) -> ParsedFile | None:
    """Another file of the project, read and parsed for its definitions; None if it cannot be."""
    path = path.resolve()
    signature = _signature(path)
    known = _SOURCES.get(path)
    if known is not None and signature is not None and known[0] == signature:
        return known[1]
    source = None
    try:  # a dependency that is a FIFO, a device or huge is no definition we can read
        data = read_source(path, DEFAULT_MAX_FILE_SIZE)
        text = decode_source(data)
    except (NotARegularFile, UnreadableFile, ValueError):
        text = None
    module = parse(text, lazy=True) if text is not None else "unreadable"
    if not isinstance(module, str):
        source = source_file(str(path), module, text)
        source.digest = content_hash(data)
    if signature is not None:
        _SOURCES[path] = (signature, source)
    return source


def known_tree(path: str, text: str) -> nodes.Module | None:
    """The tree of the file at ``path`` when this process already parsed this very text as
    another file's dependency: linting it next costs no second parse."""
    real = Path(path)
    signature = _signature(real)
    if signature is None:
        return None
    known = _SOURCES.get(real.resolve())
    if known is None or known[0] != signature or known[1] is None or known[1].text != text:
        return None
    return known[1].tree


def remember(source: ParsedFile) -> None:
    """A file just parsed for linting is a dependency of others: keep its tree for them."""
    path = Path(source.path)
    signature = _signature(path) if path.is_file() else None
    if signature is not None:
        _SOURCES[path.resolve()] = (signature, source)


def _caused_by_recursion(error: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, RecursionError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


#: what a user should do about an error that is initlint's fault, not the file's
_REPORT = "a bug in initlint, please report it with this file"


def _describe(error: Exception) -> str:
    """``KeyError: 'x' at network.py:120``: the exception and the innermost line that raised it."""
    where = ""
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    if trace is not None:
        where = f" at {Path(trace.tb_frame.f_code.co_filename).name}:{trace.tb_lineno}"
    try:  # str() of an error holding a libcst node prints the whole subtree, or fails
        text = " ".join(str(error).split())
    except Exception:
        text = "(no description)"
    text = text if len(text) <= 200 else text[:200] + "..."
    return f"{type(error).__name__}: {text}{where}"


def _with_assumptions(hit: Hit, facts) -> Hit:
    """A finding on a model built with more than its code's defaults says with what."""
    model = hit.prediction.model if hit.prediction is not None else None
    entry = next((e for e in facts.entries if e.assumed and model in e.models), None)
    if entry is None:
        return hit
    return replace(hit, message=f"{hit.message} (model built with {', '.join(entry.assumed)})")


def _place(path: str, hits, suppressions: Suppressions) -> list[Finding]:
    findings = []
    for rule, hit in hits:
        line, column, end_line, end_column = node_range(hit.node)
        location = Location(path, line, column + 1, end_line, end_column + 1)
        if suppressions.suppressed(rule.code, location.line):
            continue
        findings.append(
            Finding(
                rule.code, rule.name, hit.effect or rule.effect, hit.message, location, hit.details,
                hit.fix, prediction=hit.prediction or Prediction(),
            )
        )
    return findings


def lint_file(source: SourceFile, settings: Settings, data: bytes | None = None) -> FileResult:
    """Read (unless ``data`` was), decode and lint one file; every failure becomes a one-line
    FileError, and a FIFO or device a note that it was skipped."""
    if data is None:
        try:
            data = read_source(source.path, settings.max_file_size)
        except NotARegularFile as note:
            return FileResult(source.display, skipped=str(note))
        except UnreadableFile as error:
            return FileResult(source.display, error=FileError(source.display, str(error)))
    from initlint.documents import lint_document, load_document  # .py and .ipynb alike

    try:
        document = load_document(source.display, data, source.path.suffix.lower() == ".ipynb")
    except ValueError as error:
        return FileResult(source.display, error=FileError(source.display, str(error)))
    return lint_document(document, rules_for(settings, str(source.path)), settings)


def check_source(text: str, path: str = "<string>", settings: Settings | None = None) -> list[Finding]:
    """Findings for one source string (the Python API); a syntax error raises ValueError."""
    settings = settings or Settings()
    result = lint_text(text, path, rules_for(settings), settings)
    if result.error is not None:
        raise ValueError(f"{path}: {result.error.reason}")
    return sorted(result.findings, key=lambda f: f.sort_key)


def coverage_of(path: Path) -> "Coverage | None":
    """How many of a file's init calls the engine evaluated onto a tensor of known fan-in
    (model/coverage.py); None when the file cannot be read or parsed. For benchmarks."""
    from initlint.documents import load_document
    from initlint.model.coverage import Coverage, coverage

    try:
        document = load_document(str(path), path.read_bytes())
    except (OSError, ValueError):
        return None
    if not prefilter_for(tuple(rules_for(Settings()))).possible(document.text):
        return Coverage(0, 0)
    module = parse(document.text)
    if isinstance(module, str):
        return None
    source = source_file(str(path), module, document.text)
    remember(source)
    facts = evaluate_file(source, Project(load_source), read_syntax(module))
    return coverage(facts)
