"""Reading input safely (issue 14, items 2, 6 and 7): one read per file, hashed as linted; FIFOs
and devices skipped with a note; a size limit; unreadable paths as clear per-path errors.

FIFO tests run the real program in a subprocess with a timeout: before the fix they blocked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES
from initlint import cache as cache_module
from initlint.cache import Cache
from initlint.config import Settings
from initlint.discover import discover
from initlint.batch import lint_files

BAD_MODEL = (FIXTURES / "bad_inits.py").read_text()
CLEAN_MODEL = (FIXTURES / "nanogpt.py").read_text()
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")


def _run(args: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "initlint", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def _lint(folder: Path, cache: Cache | None):
    files, _ = discover([str(folder)], (), folder)
    return lint_files(files, Settings(root=folder), jobs=1, cache=cache)


# --- item 2: one read per file, the hash is of exactly the bytes linted -----------------------


def test_a_save_between_hashing_and_linting_caches_what_was_linted(tmp_path, monkeypatch):
    """An editor saves while initlint runs: the findings must be filed under the content they
    came from, so the old content, back again, still gets its findings."""
    model = tmp_path / "model.py"
    model.write_text(BAD_MODEL)
    real_hash = cache_module.content_hash

    def hash_then_save(data: bytes) -> str:
        digest = real_hash(data)
        model.write_text(CLEAN_MODEL)  # the save lands right after the bytes were read
        return digest

    monkeypatch.setattr(cache_module, "content_hash", hash_then_save)
    first = _lint(tmp_path, Cache(tmp_path / "cache", "key"))
    monkeypatch.undo()
    model.write_text(BAD_MODEL)
    again = _lint(tmp_path, Cache(tmp_path / "cache", "key"))
    fresh = _lint(tmp_path, None)
    assert len(fresh.findings) == 11
    assert [f.to_dict() for f in first.findings] == [f.to_dict() for f in fresh.findings]
    assert [f.to_dict() for f in again.findings] == [f.to_dict() for f in fresh.findings]


def test_a_file_that_vanishes_for_a_moment_is_not_cached_as_unreadable(tmp_path, monkeypatch):
    model = tmp_path / "model.py"
    model.write_text(BAD_MODEL)
    real_hash = cache_module.content_hash

    def hash_then_vanish(data: bytes) -> str:
        model.rename(tmp_path / "model.py.swp")  # an editor's save-by-rename, half done
        return real_hash(data)

    monkeypatch.setattr(cache_module, "content_hash", hash_then_vanish)
    first = _lint(tmp_path, Cache(tmp_path / "cache", "key"))
    monkeypatch.undo()
    (tmp_path / "model.py.swp").rename(model)
    again = _lint(tmp_path, Cache(tmp_path / "cache", "key"))
    assert first.errors == [] and len(first.findings) == 11  # linted from the bytes it hashed
    assert again.errors == [] and len(again.findings) == 11


def test_a_read_error_is_never_cached(tmp_path, monkeypatch):
    from initlint import batch
    from initlint.reading import UnreadableFile

    model = tmp_path / "model.py"
    model.write_text(BAD_MODEL)

    def fail(path, limit):
        raise UnreadableFile("cannot read file: Input/output error")

    monkeypatch.setattr(batch, "read_source", fail)
    broken = _lint(tmp_path, Cache(tmp_path / "cache", "key"))
    monkeypatch.undo()
    healed = _lint(tmp_path, Cache(tmp_path / "cache", "key"))
    assert [e.reason for e in broken.errors] == ["cannot read file: Input/output error"]
    assert healed.errors == [] and len(healed.findings) == 11


def test_a_crashed_file_is_not_cached_either(tmp_path, monkeypatch):
    from initlint import engine

    model = tmp_path / "model.py"
    model.write_text(BAD_MODEL)
    real_parse = engine.parse
    monkeypatch.setattr(engine, "parse", lambda text: os._exit(70))
    crashed = lint_files(discover([str(tmp_path)], (), tmp_path)[0], Settings(root=tmp_path),
                         jobs=1, cache=Cache(tmp_path / "cache", "key"), isolate=True)
    monkeypatch.setattr(engine, "parse", real_parse)
    healed = _lint(tmp_path, Cache(tmp_path / "cache", "key"))
    assert [e.reason for e in crashed.errors] == [
        "the worker process linting this file died (a crash in the parser, or out of memory)"
    ]
    assert healed.errors == [] and len(healed.findings) == 11


# --- item 6: FIFOs and other special files, the size limit --------------------------------------


@needs_fifo
@pytest.mark.slow
def test_a_fifo_named_py_in_a_folder_is_skipped_with_a_note(tmp_path):
    (tmp_path / "model.py").write_text(BAD_MODEL)
    os.mkfifo(tmp_path / "pipe.py")
    for args in (["--no-cache", "."], ["."]):  # read in the workers' path and in the cache's
        done = _run(args, tmp_path, timeout=30)
        assert done.returncode == 1, done.stderr
        assert done.stderr == "initlint: note: pipe.py: a FIFO, not a source file: skipped\n"
        assert "Found 11 findings (3 exploding, 4 misuse, 4 symmetry) in 1 of 1 file.\n" in done.stdout


@needs_fifo
def test_a_fifo_named_on_the_command_line_is_an_error(tmp_path):
    os.mkfifo(tmp_path / "pipe.py")
    done = _run(["--no-cache", "pipe.py"], tmp_path, timeout=30)
    assert done.returncode == 2
    assert done.stderr == "initlint: error: pipe.py: a FIFO, not a source file or folder\n"


DEPENDENCY_READS = """
import sys
from pathlib import Path
from initlint import cache, engine
path = Path(sys.argv[1])
print(engine.load_source(path), cache.file_digest(str(path)))
"""


@needs_fifo
def test_a_dependency_that_became_a_fifo_is_unreadable_not_a_hang(tmp_path):
    """The engine also reads the files a model imports (and hashes them for the cache): those
    reads are as safe as the linted file's, so a FIFO swapped in after the lookup cannot block."""
    os.mkfifo(tmp_path / "helpers.py")
    done = subprocess.run(
        [sys.executable, "-c", DEPENDENCY_READS, str(tmp_path / "helpers.py")],
        capture_output=True, text=True, timeout=30,
    )
    assert done.stdout == "None None\n", done.stderr


@needs_fifo
def test_config_on_a_fifo_is_an_error_not_a_hang(tmp_path):
    (tmp_path / "model.py").write_text(BAD_MODEL)
    os.mkfifo(tmp_path / "settings.toml")
    done = _run(["--config", "settings.toml", "model.py"], tmp_path, timeout=30)
    assert done.returncode == 2
    assert done.stderr == f"initlint: error: {tmp_path / 'settings.toml'}: a FIFO, not a config file\n"


def test_a_character_device_in_place_of_a_file_is_skipped(tmp_path, cli):
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null")
    (tmp_path / "model.py").write_text(BAD_MODEL)
    (tmp_path / "null.py").symlink_to("/dev/null")
    result = cli(["--no-cache", "."], tmp_path)
    assert result.exit_code == 1
    assert result.stderr == "initlint: note: null.py: a character device, not a source file: skipped\n"


@pytest.mark.parametrize("how", [["--max-file-size", "2000"], ["--config", "limits.toml"]])
def test_a_file_over_the_size_limit_is_one_too_large_error(tmp_path, cli, how):
    (tmp_path / "limits.toml").write_text("max-file-size = 2000\n")
    (tmp_path / "model.py").write_text(BAD_MODEL[: BAD_MODEL.rindex("\n\n", 0, 1500)])  # under the limit
    (tmp_path / "big.py").write_text(BAD_MODEL + "#" * 2000)
    size = (tmp_path / "big.py").stat().st_size
    for cache in (["--no-cache"], []):
        result = cli([*cache, *how, "."], tmp_path)
        assert result.exit_code == 2
        assert result.stderr == (
            f"initlint: error: big.py: too large: {size:,} bytes, above the 2,000-byte limit "
            "(max-file-size in [tool.initlint], or --max-file-size)\n"
        )


def test_the_default_size_limit_is_two_megabytes(tmp_path, cli):
    """A 9 MB list literal once made libcst take 12 GB: such a file is now one error."""
    (tmp_path / "table.py").write_text("import torch.nn as nn\nnn.init.zeros_(w)\nT = [" + "1, " * 700_000 + "]\n")
    result = cli(["--no-cache", "table.py"], tmp_path)
    assert result.exit_code == 2
    assert "initlint: error: table.py: too large: 2,100,047 bytes, above the 2,000,000-byte limit" in result.stderr


def test_a_bad_size_limit_in_config_is_a_config_error(tmp_path, cli):
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\nmax-file-size = 0\n")
    result = cli(["."], tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"initlint: error: {tmp_path / 'pyproject.toml'}: 'max-file-size' must be a whole number "
        "of bytes >= 1, got 0\n"
    )


# --- item 7: permissions and symlink loops: per-path errors, exit 2, never a traceback ----------


def test_a_symlink_loop_named_on_the_command_line_is_an_error(tmp_path, cli):
    (tmp_path / "model.py").write_text(BAD_MODEL)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    result = cli(["--no-cache", "loop", "model.py"], tmp_path)
    assert result.exit_code == 2
    assert result.stderr == "initlint: error: loop: symlink loop: too many levels of symbolic links\n"
    assert "model.py:" in result.stdout


def test_a_symlink_loop_inside_a_folder_is_an_error(tmp_path, cli):
    (tmp_path / "model.py").write_text(BAD_MODEL)
    (tmp_path / "loop.py").symlink_to(tmp_path / "loop.py")
    result = cli(["--no-cache", "."], tmp_path)
    assert result.exit_code == 2
    assert result.stderr == "initlint: error: loop.py: cannot read file: Too many levels of symbolic links\n"


def _deny(monkeypatch, folder: Path, *, list_: bool, search: bool) -> None:
    """What chmod -r / chmod -x on ``folder`` does to a non-root user (tests often run as root)."""
    real_scandir, real_stat, real_open = os.scandir, os.stat, os.open

    def inside(path) -> bool:
        path = Path(os.fsdecode(path))
        return path != folder and folder in path.parents

    def scandir(path="."):
        if not list_ and Path(os.fsdecode(path)) == folder:
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_scandir(path)

    def stat(path, *args, **kwargs):
        if not search and isinstance(path, (str, bytes, os.PathLike)) and inside(path):
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_stat(path, *args, **kwargs)

    def open_(path, *args, **kwargs):
        if not search and inside(path):
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "open", open_)


def test_a_folder_without_read_permission_is_an_error_not_skipped_silently(tmp_path, cli, monkeypatch):
    (tmp_path / "model.py").write_text(BAD_MODEL)
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "hidden.py").write_text(BAD_MODEL)
    _deny(monkeypatch, tmp_path / "secret", list_=False, search=True)
    result = cli(["--no-cache", "."], tmp_path)
    assert result.exit_code == 2
    assert result.stderr == "initlint: error: secret: cannot read folder: Permission denied\n"
    assert "model.py:" in result.stdout


def test_a_folder_without_search_permission_is_an_error_not_a_traceback(tmp_path, cli, monkeypatch):
    (tmp_path / "model.py").write_text(BAD_MODEL)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "inner.py").write_text(BAD_MODEL)
    _deny(monkeypatch, tmp_path / "locked", list_=True, search=False)
    result = cli(["--no-cache", "."], tmp_path)
    assert result.exit_code == 2
    assert result.stderr == "initlint: error: locked/inner.py: cannot read file: Permission denied\n"
    assert "model.py:" in result.stdout


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads every folder")
def test_real_permissions(tmp_path):
    (tmp_path / "model.py").write_text(BAD_MODEL)
    for name, mode in (("noread", 0o300), ("nosearch", 0o600)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "m.py").write_text(BAD_MODEL)
        (tmp_path / name).chmod(mode)
    try:
        done = _run(["--no-cache", "."], tmp_path)
    finally:
        for name in ("noread", "nosearch"):
            (tmp_path / name).chmod(0o700)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "initlint: error: noread: cannot read folder: Permission denied" in done.stderr
