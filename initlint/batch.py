"""Many files at once: the cache decides which need linting, worker processes lint the rest.

A cached result stays valid while its file and every file it depended on (and, for a project
search, the listing of the tree it read) are unchanged; the others are linted here or in
workers, and the results come back in the files' order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from initlint import prefork
from initlint.config import Settings
from initlint.discover import SourceFile
from initlint.findings import FileError, FileResult, LintResult
from initlint.model.callers import LISTING, listing_digest
from initlint.reading import NotARegularFile, UnreadableFile, read_source

if TYPE_CHECKING:  # the cache (json, tempfile) is imported only when one is used
    from initlint.cache import Cache, Stamp


#: up to this many files are linted in this process: starting workers costs more (pre-commit)
SERIAL_LIMIT = 16


def _lint_many(
    items: list[tuple[SourceFile, bytes | None]], settings: Settings, jobs: int, isolate: bool
) -> list[FileResult]:
    """Results in the order of ``items``, from worker processes when it pays; with
    ``isolate``, a crash (a parser segfault, the OOM killer) costs only the file it hit."""
    from functools import partial

    lint = partial(_lint_item, settings=settings, settle=len(items) > 1)
    if jobs > 1 and len(items) > SERIAL_LIMIT:
        from initlint.parallel import map_in_workers

        prefork.discard()  # the workers lint, not the child forked at start-up
        import initlint.engine  # noqa: F401  before workers fork: each would import it again

        return map_in_workers(lint, items, jobs, _size, _lost, _folder)
    if isolate:
        from initlint.isolation import map_in_child

        if not prefork.waiting():  # else the child forked at start-up has imported it already
            import initlint.engine  # noqa: F401  before the child forks: it would import it again

        return map_in_child(lint, items, _lost)
    return [lint(item) for item in items]


def _lint_item(item: tuple[SourceFile, bytes | None], settings: Settings, settle: bool = True) -> FileResult:
    """One file; then, when more files follow in this process, its garbage settled (parsing.py)."""
    from initlint.engine import lint_file
    from initlint.parsing import settle_after_file

    result = lint_file(item[0], settings, item[1])
    if settle:
        settle_after_file()
    return result


def _size(item: tuple[SourceFile, bytes | None]) -> int:
    source, data = item
    if data is not None:
        return len(data)
    try:
        return source.path.stat().st_size
    except OSError:
        return 0  # lint_file reports why it cannot be read


def _folder(item: tuple[SourceFile, bytes | None]) -> Path:
    """Files of one folder are linted by one worker: they import each other (parallel.py)."""
    return item[0].path.parent


def _lost(item: tuple[SourceFile, bytes | None]) -> FileResult:
    """A file whose worker died: an error, never cached (the next run tries again)."""
    display = item[0].display
    reason = "the worker process linting this file died (a crash in the parser, or out of memory)"
    return FileResult(display, error=FileError(display, reason), cacheable=False)


def lint_files(
    files: Iterable[SourceFile],
    settings: Settings,
    jobs: int | None = None,
    cache: Cache | None = None,
    isolate: bool = False,
) -> LintResult:
    """Lint every file; unchanged files come from ``cache``; findings sorted by place.

    Each file is read once: with a cache, here (its hash is of exactly the bytes linted), else
    where it is linted. Failures to read are never cached: the next run tries again.
    """
    files = list(files)
    if cache is not None:
        from initlint.cache import content_hash, file_stamp  # json only when a cache is used
    results: dict[int, FileResult] = {}
    pending: list[tuple[int, SourceFile, bytes | None, str | None, Stamp | None]] = []
    digests: dict[str, str | None] = {}
    for index, source in enumerate(files):
        if cache is None:
            pending.append((index, source, None, None, None))
            continue
        key = str(source.path)
        stamp = file_stamp(source.path)  # before reading: a later change makes the next differ
        known = cache.known_digest(key, stamp)
        if known is not None:
            cached = cache.get(key, known, source.display)
            if cached is not None and _fresh(cached[2], digests, cache):
                results[index] = FileResult(source.display, cached[0], cached[1], cached[2])
                continue
        try:
            data = read_source(source.path, settings.max_file_size)
        except NotARegularFile as note:
            results[index] = FileResult(source.display, skipped=str(note))
            continue
        except UnreadableFile as error:
            results[index] = FileResult(source.display, error=FileError(source.display, str(error)))
            continue
        digest = content_hash(data)
        cached = cache.get(key, digest, source.display)
        if cached is not None and _fresh(cached[2], digests, cache):
            results[index] = FileResult(source.display, cached[0], cached[1], cached[2])
            if stamp is not None:  # touched, not changed: the next run need not read it
                cache.put(key, digest, cached[0], cached[1], cached[2], stamp)
        else:
            pending.append((index, source, data, digest, stamp))
    items = [(source, data) for _, source, data, _, _ in pending]
    fresh = _lint_many(items, settings, jobs or os.cpu_count() or 1, isolate) if items else []
    for (index, source, _, digest, stamp), result in zip(pending, fresh):
        results[index] = result
        if cache is not None and digest is not None and result.cacheable:
            cache.put(str(source.path), digest, result.findings, result.error, result.dependencies, stamp)
    if cache is not None:
        cache.save()
    ordered = [results[index] for index in sorted(results)]
    findings = sorted((f for r in ordered for f in r.findings), key=lambda f: f.sort_key)
    errors = [r.error for r in ordered if r.error is not None]
    skipped = [FileError(r.path, r.skipped) for r in ordered if r.skipped is not None]
    return LintResult(findings, errors, len(files) - len(skipped), skipped)


def _listing_now(key: str) -> str | None:
    """Which files a project search would read now (a new caller file makes a cached IL505 stale)."""
    return listing_digest(Path(key[len(LISTING):]))


def _fresh(dependencies: dict[str, str], digests: dict[str, str | None], cache: Cache) -> bool:
    """Whether every file a cached result depended on still has the content it had."""
    for path, digest in dependencies.items():
        if path not in digests:
            digests[path] = _listing_now(path) if path.startswith(LISTING) else cache.digest_now(path)
        if digests[path] != digest:
            return False
    return True
