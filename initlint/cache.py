"""Findings cached per file, keyed by content hash, initlint version and effective settings.

Like ruff's cache: a re-run over unchanged files reads one JSON file instead of parsing the
sources; a file whose size, modification time and inode are those recorded with its hash is not
even read (``known_digest``), any other is read and hashed. A changed file, setting or version
misses; a cache that cannot be read or written is ignored, never fatal, and so is any entry that
is not exactly what initlint writes (a crafted or damaged file is a miss, never a traceback or a
wrong finding).

The cache writes only inside a folder it created, which it marks with a ``.gitignore`` of its
own (``*``: never committed), or a folder that already carries that mark. Pointed at any other
existing folder (a source folder, ``cache-dir = ""``), it writes nothing there and says why
(``refused``): a ``.gitignore`` with ``*`` in a source folder would hide it from git and from
initlint's own next run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import stat
import time
from pathlib import Path
from typing import Any

from initlint import __version__
from initlint.findings import EFFECTS, Applicability, FileError, Finding, Prediction
from initlint.reading import DEFAULT_MAX_FILE_SIZE, NotARegularFile, UnreadableFile, blake2b, content_hash, read_source

DEFAULT_DIR = ".initlint_cache"
#: the first line of the ``.gitignore`` that marks a folder as initlint's cache
MARK = "# created by initlint"


def file_digest(path: str) -> str | None:
    """The content hash of a file on disk now (None if it cannot be read)."""
    try:
        return content_hash(read_source(Path(path), DEFAULT_MAX_FILE_SIZE))
    except (NotARegularFile, UnreadableFile):
        return None


#: a file modified this recently may be modified again within the same timestamp tick and
#: keep its size: its stamp is not recorded, and the next run reads and hashes it (git's
#: "racy" files)
RACY_NS = 2_000_000_000

Stamp = tuple[int, int, int]


def file_stamp(path: str | Path) -> Stamp | None:
    """(size, mtime in ns, inode) of a regular file modified more than RACY_NS ago, else None.
    Taken before the file is read: a change after it makes the next stamp differ."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or time.time_ns() - info.st_mtime_ns < RACY_NS:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ino)


class Cache:
    """One JSON file per settings fingerprint: ``{path: {hash, findings, error, dependencies, stamp}}``."""

    def __init__(self, folder: Path, fingerprint: str) -> None:
        self.folder = folder
        key = blake2b(f"{__version__}|{fingerprint}".encode(), digest_size=8).hexdigest()
        self.file = folder / f"v{__version__}-{key}.json"
        self.entries: dict[str, Any] = self._load()
        self.dirty = False
        #: why nothing was written: the folder exists and is not initlint's
        self.refused: str | None = None

    def _load(self) -> dict[str, Any]:
        try:
            with open(self.file, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError, RecursionError):  # RecursionError: crafted deep nesting
            return {}
        return data if isinstance(data, dict) else {}

    def get(
        self, key: str, digest: str, display: str
    ) -> tuple[list[Finding], FileError | None, dict[str, str]] | None:
        """Findings of an unchanged file, reported under ``display`` (the path as shown now),
        with the other files they depended on (the caller checks those are unchanged too);
        None for a miss, and for an entry that is not exactly what ``put`` writes."""
        entry = self.entries.get(key)
        if not isinstance(entry, dict) or entry.get("hash") != digest:
            return None
        items, error = entry.get("findings"), entry.get("error")
        if not isinstance(items, list) or not (error is None or isinstance(error, str)):
            return None
        dependencies = entry.get("dependencies") or {}
        if not isinstance(dependencies, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in dependencies.items()
        ):
            return None
        findings = [_finding(item, display) for item in items]
        if any(finding is None for finding in findings):
            return None
        reason = FileError(display, error) if error is not None else None
        return findings, reason, dependencies  # type: ignore[return-value]

    def put(
        self, key: str, digest: str, findings: list[Finding], error: FileError | None,
        dependencies: dict[str, str] | None = None, stamp: Stamp | None = None,
    ) -> None:
        """Store a file's result; ``stamp``, taken before the bytes hashed as ``digest`` were
        read, lets the next run trust ``digest`` without reading the file (``known_digest``)."""
        self.entries[key] = {
            "hash": digest,
            "findings": [f.to_dict() for f in findings],
            "error": error.reason if error is not None else None,
            "dependencies": dict(dependencies or {}),
        }
        if stamp is not None:
            self.entries[key]["stamp"] = list(stamp)
        self.dirty = True

    def known_digest(self, key: str, stamp: Stamp | None) -> str | None:
        """The hash stored for ``key`` when the file's stamp now is the one stored with it: as
        ruff and mypy do, a file whose size, modification time and inode are unchanged is not
        read again (reading and hashing 51 MB was most of a cached run's time off a cold disk)."""
        entry = self.entries.get(key)
        if stamp is None or not isinstance(entry, dict) or entry.get("stamp") != list(stamp):
            return None
        digest = entry.get("hash")
        return digest if isinstance(digest, str) else None

    def digest_now(self, path: str) -> str | None:
        """The content hash of ``path`` now: the stored one while its stamp is unchanged."""
        return self.known_digest(path, file_stamp(path)) or file_digest(path)

    def save(self) -> None:
        """Write atomically into a folder of the cache's own; any OSError leaves the old cache
        (or none) in place."""
        if not self.dirty:
            return
        import tempfile  # only when writing: start-up matters on cache hits

        try:
            if not self._claim_folder():
                return
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

    def _claim_folder(self) -> bool:
        """True when the folder is the cache's own: created now (and marked), or marked before."""
        try:
            self.folder.mkdir(parents=True)
        except FileExistsError:
            if _marked(self.folder):
                return True
            self.refused = (
                f"not caching in {self.folder}: it exists and is not an initlint cache folder "
                f"(no .gitignore starting with {MARK!r}); name a new folder for --cache-dir or cache-dir"
            )
            return False
        (self.folder / ".gitignore").write_text(f"{MARK}\n*\n", encoding="utf-8")
        return True


def _marked(folder: Path) -> bool:
    try:
        with open(folder / ".gitignore", encoding="utf-8") as handle:
            return handle.readline().rstrip("\n") == MARK
    except (OSError, UnicodeDecodeError):
        return False


_LOCATION = ("line", "column", "end_line", "end_column")
_KEYS = {"code", "name", "effect", "message", "path", *_LOCATION, "cell", "details", "fix", "prediction"}
_REQUIRED = _KEYS - {"cell", "prediction"}
_APPLICABILITIES = tuple(a.value for a in Applicability)


def _finding(item: Any, display: str) -> Finding | None:
    """The finding ``put`` stored as ``item``, or None if ``item`` is anything else."""
    if not isinstance(item, dict) or not set(item) <= _KEYS or not _REQUIRED <= set(item):
        return None
    if not all(isinstance(item[k], str) for k in ("code", "name", "message", "path")):
        return None
    if item["effect"] not in EFFECTS or not isinstance(item["details"], dict):
        return None
    if not all(_count(item[k]) for k in _LOCATION) or not _cell(item.get("cell")):
        return None
    if not _is_fix(item["fix"]) or not _is_prediction(item.get("prediction", {})):
        return None
    try:
        return Finding.from_dict({**item, "path": display})
    except (KeyError, TypeError, ValueError):
        return None


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _cell(value: Any) -> bool:
    return value is None or _count(value)


def _is_fix(data: Any) -> bool:
    """None, advice (a string), or what ``Fix.to_dict`` writes, with every edit's place a count."""
    if data is None or isinstance(data, str):
        return True
    if not isinstance(data, dict) or set(data) != {"message", "applicability", "edits"}:
        return False
    if not isinstance(data["message"], str) or data["applicability"] not in (None, *_APPLICABILITIES):
        return False
    edits = data["edits"]
    return isinstance(edits, list) and all(_is_edit(edit) for edit in edits)


def _is_edit(data: Any) -> bool:
    if not isinstance(data, dict) or set(data) != {"content", "location", "end_location", "cell"}:
        return False
    places = (data["location"], data["end_location"])
    return (
        isinstance(data["content"], str)
        and _cell(data["cell"])
        and all(isinstance(p, dict) and set(p) == {"line", "column"} and all(map(_count, p.values())) for p in places)
    )


#: what each annotation of a Prediction field accepts from JSON
_ACCEPTS = {
    "str | None": lambda v: v is None or isinstance(v, str),
    "float | None": lambda v: v is None or (type(v) in (int, float) and not math.isnan(v)),
    "int | None": lambda v: v is None or type(v) is int,
    "bool": lambda v: type(v) is bool,
    "tuple[str, ...]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}


def _is_prediction(data: Any) -> bool:
    """Whether ``data`` is what ``Prediction.to_dict`` writes: known fields, right types
    (read from the dataclass, so a new field is checked as soon as it exists)."""
    if not isinstance(data, dict):
        return False
    fields = {item.name: str(item.type) for item in dataclasses.fields(Prediction)}
    for name, value in data.items():
        accepts = _ACCEPTS.get(fields.get(name, ""))
        if accepts is None or not accepts(value):
            return False
    return True
