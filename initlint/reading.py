"""Reading a source file: once, regular files only, and never more than the size limit.

A FIFO named ``*.py`` would block ``open`` forever, and a device would never end; a huge file
would be read whole before anything could say it is too big. So the file is opened without
blocking, checked with ``fstat`` on the open descriptor (no race with a rename), and read up
to one byte past the limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

try:  # hashlib loads OpenSSL before it offers blake2b, which is CPython's own: ~5 ms of a one-file run
    from _blake2 import blake2b
except ImportError:  # another Python: hashlib's
    from hashlib import blake2b

#: the default ``max-file-size``: above any real model file (torch's largest test file is
#: 1.4 MB), below what makes libcst use gigabytes (a 1 MB list literal: 1.3 GB, 18 s)
DEFAULT_MAX_FILE_SIZE = 2_000_000


def content_hash(data: bytes) -> str:
    """The digest that says a file is unchanged (the cache's key, a dependency's stamp)."""
    return blake2b(data, digest_size=16).hexdigest()


class NotARegularFile(Exception):
    """A FIFO, device, socket or folder where a source file was expected: skipped with a note."""


class UnreadableFile(Exception):
    """A file that cannot be read, or is larger than the limit: an error, in one line."""


def file_kind(mode: int) -> str:
    """``a FIFO``, ``a character device``, ...: what a non-regular file is, for messages."""
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def read_source(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``; NotARegularFile or UnreadableFile (one-line reasons) otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):  # e.g. a socket refuses to open
            raise NotARegularFile(f"{file_kind(mode)}, not a source file: skipped") from None
        raise UnreadableFile(f"cannot read file: {error.strerror or error}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(f"{file_kind(info.st_mode)}, not a source file: skipped")
        if info.st_size > max_bytes:
            raise UnreadableFile(_too_large(info.st_size, max_bytes))
        chunks, size, want = [], 0, info.st_size + 1  # one read, and one that sees the end
        while size <= max_bytes:
            chunk = os.read(fd, min(want, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            want = 1 << 16
        if size > max_bytes:  # it grew while being read
            raise UnreadableFile(_too_large(size, max_bytes, grew=True))
        return b"".join(chunks)
    except OSError as error:
        raise UnreadableFile(f"cannot read file: {error.strerror or error}") from None
    finally:
        os.close(fd)


def _too_large(size: int, limit: int, grew: bool = False) -> str:
    return (
        f"too large: {'more than ' if grew else ''}{size:,} bytes, above the {limit:,}-byte "
        "limit (max-file-size in [tool.initlint], or --max-file-size)"
    )
