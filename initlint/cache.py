"""Findings cached per file, keyed by content hash, initlint version and effective settings.

Like ruff's cache: a re-run over unchanged files reads one JSON file and hashes the sources
instead of parsing them. A changed file, setting or version misses; a cache that cannot be read
or written is ignored, never fatal. The folder holds a ``.gitignore`` so it is never committed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from initlint import __version__
from initlint.findings import FileError, Finding

DEFAULT_DIR = ".initlint_cache"


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Cache:
    """One JSON file per settings fingerprint: ``{path: {hash, findings, error}}``."""

    def __init__(self, folder: Path, fingerprint: str) -> None:
        self.folder = folder
        key = hashlib.blake2b(f"{__version__}|{fingerprint}".encode(), digest_size=8).hexdigest()
        self.file = folder / f"v{__version__}-{key}.json"
        self.entries: dict[str, dict[str, Any]] = self._load()
        self.dirty = False

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(
        self, key: str, digest: str, display: str
    ) -> tuple[list[Finding], FileError | None, dict[str, str]] | None:
        """Findings of an unchanged file, reported under ``display`` (the path as shown now),
        with the other files they depended on (the caller checks those are unchanged too)."""
        entry = self.entries.get(key)
        if not isinstance(entry, dict) or entry.get("hash") != digest:
            return None
        try:
            findings = [
                Finding.from_dict({**item, "path": display}) for item in entry.get("findings", [])
            ]
        except (KeyError, TypeError, ValueError):
            return None
        error = entry.get("error")
        dependencies = entry.get("dependencies") or {}
        if not isinstance(dependencies, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in dependencies.items()
        ):
            return None
        return findings, FileError(display, error) if isinstance(error, str) else None, dependencies

    def put(
        self, key: str, digest: str, findings: list[Finding], error: FileError | None,
        dependencies: dict[str, str] | None = None,
    ) -> None:
        self.entries[key] = {
            "hash": digest,
            "findings": [f.to_dict() for f in findings],
            "error": error.reason if error is not None else None,
            "dependencies": dict(dependencies or {}),
        }
        self.dirty = True

    def save(self) -> None:
        """Write atomically; any OSError leaves the old cache (or none) in place."""
        if not self.dirty:
            return
        import tempfile  # only when writing: start-up matters on cache hits

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# created by initlint\n*\n", encoding="utf-8")
            fd, temp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(self.entries, handle, separators=(",", ":"))
                os.replace(temp, self.file)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError:
            return
