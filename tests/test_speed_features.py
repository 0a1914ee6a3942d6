"""Prefilter soundness, parallel workers and the cache: same findings every way they are made."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, expected_markers
from initlint.catalog import examples, read_page
from initlint.config import Settings
from initlint.engine import lint_text, rules_for
from initlint.prefilter import Prefilter
from initlint.rules import all_rules


def _sources() -> list[tuple[str, str]]:
    found = [(p.name, p.read_text()) for p in sorted(FIXTURES.glob("*.py"))]
    found += [(p.name, p.read_text()) for p in sorted((ROOT / "examples").glob("*.py"))]
    for rule in all_rules():
        page = examples(read_page(rule.code))
        found += [(f"{rule.code}-{i}", text) for i, text in enumerate(page.bad + page.good)]
    return found


@pytest.mark.parametrize("name, text", _sources(), ids=[n for n, _ in _sources()])
def test_prefilter_never_drops_a_finding(name, text):
    settings = Settings()
    with_filter = lint_text(text, name, rules_for(settings), settings).findings
    without = lint_text(text, name, rules_for(settings), settings, prefilter=False).findings
    assert [f.to_dict() for f in with_filter] == [f.to_dict() for f in without]


def test_prefilter_finds_the_same_rules_as_searching_every_token():
    """Searching each token once (and contained tokens only after their root) loses nothing."""
    rules = tuple(rules_for(Settings()))
    prefilter = Prefilter(rules)
    texts = [text for _, text in _sources()] + [
        "x.trunc_normal_(std=.02)",  # only through its root normal_(
        "init.kaiming_normal(w)",  # deprecated spelling: root normal(
        "from torch.nn.init import xavier_uniform_ as xu",
        "nothing here",
    ]
    for text in texts:
        brute = [r for r in rules if any(token in text for token in r.tokens)]
        assert prefilter.possible(text) == brute
        assert prefilter.present(text) == {t for r in rules for t in r.tokens if t in text}
    # rules that read writes to tensors need one of the init tokens; IL501 needs a deprecated
    # spelling, which the text does not have, and the rules about allocations never written,
    # writes that miss, adapters, missing init methods, class-name guards and scheme gains need
    # their own tokens, as do timm's weight_init switch and an HF _init_weights that does nothing;
    # measured rules (IL9xx) never run on text
    no_init_token = {"IL501", "IL208", "IL210", "IL508", "IL509", "IL510", "IL511", "IL512", "IL513"}
    assert [r.code for r in prefilter.possible("x.trunc_normal_(std=.02)")] == [
        r.code for r in rules if r.code not in no_init_token and not r.measured
    ]
    assert {r.code for r in rules if r.measured} == {"IL901", "IL902", "IL903", "IL904", "IL905"}
    assert prefilter.possible("nothing here") == []


def test_prefilter_skips_files_without_init_text():
    settings = Settings()
    text = "import torch\n\nclass Net(torch.nn.Module):\n    pass\n" + "x = (\n" * 10  # broken too
    result = lint_text(text, "x.py", rules_for(settings), settings)
    assert result.error is None and result.findings == []  # never parsed, so no syntax error


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """20 files and a broken one (more than batch.SERIAL_LIMIT: workers lint them), findings
    in half of them."""
    for index in range(20):
        source = FIXTURES / ("bad_inits.py" if index % 2 else "nanogpt.py")
        (tmp_path / f"model_{index:02d}.py").write_text(source.read_text())
    (tmp_path / "broken.py").write_text("import torch.nn as nn\nnn.init.normal(\n")
    return tmp_path


#: findings in one copy of bad_inits.py: its `# expect:` markers
BAD = len(expected_markers((FIXTURES / "bad_inits.py").read_text()))


@pytest.mark.slow
def test_jobs_and_cache_give_identical_findings(cli, corpus):
    outputs = []
    for args in (["--jobs", "1", "--no-cache"], ["--jobs", "2", "--no-cache"], ["--jobs", "2"], ["--jobs", "1"]):
        result = cli(["--format", "json", *args], corpus)
        assert result.exit_code == 2  # broken.py
        outputs.append((result.stdout, result.stderr))
    entries = json.loads(outputs[0][0])
    assert len([e for e in entries if e["code"]]) == 10 * BAD
    assert [e["path"] for e in entries if e["code"] is None] == ["broken.py"]
    assert all(out == outputs[0] for out in outputs[1:])
    assert (corpus / ".initlint_cache" / ".gitignore").read_text().endswith("*\n")


def test_cache_misses_on_changed_file_and_settings(cli, corpus):
    first = json.loads(cli(["--format", "json", "model_01.py"], corpus).stdout)
    (corpus / "model_01.py").write_text((FIXTURES / "nanogpt.py").read_text())
    assert json.loads(cli(["--format", "json", "model_01.py"], corpus).stdout) == []
    assert len(first) == BAD == 11
    ignored = cli(["--format", "json", "--ignore", "IL2", "model_03.py"], corpus)
    assert {f["code"] for f in json.loads(ignored.stdout)} == {"IL101", "IL102", "IL103", "IL501", "IL502", "IL506"}


def _backdate(path: Path, seconds: int) -> None:
    """Move a file's modification time into the past: a stamp is recorded only for a file
    older than cache.RACY_NS (one modified within the same timestamp tick could keep its size)."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns - seconds * 1_000_000_000))


def _entry(corpus: Path, name: str) -> dict:
    (cached,) = (corpus / ".initlint_cache").glob("v*.json")
    return json.loads(cached.read_text())[str(corpus / name)]


def test_an_unchanged_stamp_spares_the_read_and_any_change_is_read(cli, corpus, monkeypatch):
    import initlint.batch
    from initlint.reading import read_source

    path = corpus / "model_01.py"
    _backdate(path, 10)
    first = cli(["--format", "json", "model_01.py"], corpus).stdout
    info = path.stat()
    assert _entry(corpus, "model_01.py")["stamp"] == [info.st_size, info.st_mtime_ns, info.st_ino]
    reads = []
    monkeypatch.setattr(initlint.batch, "read_source", lambda *a: reads.append(a[0]) or read_source(*a))
    assert cli(["--format", "json", "model_01.py"], corpus).stdout == first and reads == []
    _backdate(path, 5)  # touched, same bytes: read and hashed once, the result reused, stamp renewed
    assert cli(["--format", "json", "model_01.py"], corpus).stdout == first and reads == [path]
    assert _entry(corpus, "model_01.py")["stamp"][1] == path.stat().st_mtime_ns
    path.write_text((FIXTURES / "nanogpt.py").read_text())
    _backdate(path, 10)
    assert json.loads(cli(["--format", "json", "model_01.py"], corpus).stdout) == []
    assert len(json.loads(first)) == BAD


def test_a_file_modified_just_now_gets_no_stamp(cli, corpus):
    # it could change again within the same timestamp tick and keep its size: hashed every run
    cli(["model_01.py"], corpus)
    assert "stamp" not in _entry(corpus, "model_01.py")
    assert len(_entry(corpus, "model_01.py")["findings"]) == BAD


def test_corrupt_or_unwritable_cache_is_never_fatal(cli, corpus):
    cli(["model_01.py"], corpus)
    for cached in (corpus / ".initlint_cache").glob("*.json"):
        cached.write_text("{not json")
    result = cli(["--format", "json", "model_01.py"], corpus)
    assert result.exit_code == 1 and len(json.loads(result.stdout)) == BAD
    (corpus / "blocker").write_text("a file where the cache folder should be")
    result = cli(["--cache-dir", "blocker/cache", "model_01.py"], corpus)
    assert result.exit_code == 1 and result.stderr == ""


def test_cached_findings_follow_the_working_directory(cli, corpus):
    cli(["model_01.py"], corpus)
    (corpus / "sub").mkdir()
    args = ["--format", "json", "--cache-dir", str(corpus / ".initlint_cache"), "../model_01.py"]
    cached = cli(args, corpus / "sub").stdout
    fresh = cli([*args, "--no-cache"], corpus / "sub").stdout
    assert cached == fresh
    assert {f["path"] for f in json.loads(cached)} == {str(corpus / "model_01.py")}


TRUST_SCRIPT = """
import sys
from pathlib import Path
import libcst as cst
from initlint.config import Settings
from initlint.engine import lint_text, rules_for
from initlint.parsing import trust_parser_output

sources = [p.read_text() for p in sorted(Path(sys.argv[1]).glob("*.py"))]
settings = Settings()

def run():
    trees = [cst.parse_module(text) for text in sources]
    found = [
        [f.to_dict() for f in lint_text(text, "x.py", rules_for(settings), settings).findings]
        for text in sources
    ]
    return trees, found

trees, found = run()
assert trust_parser_output() is True
trusted_trees, trusted_found = run()
assert all(a.deep_equals(b) for a, b in zip(trees, trusted_trees)), "trees differ"
assert found == trusted_found, "findings differ"
try:
    cst.Name("1x")
except cst.CSTValidationError:
    sys.exit("libcst still validates")
print(len(sources), sum(map(len, found)))
"""


@pytest.mark.slow
def test_trusting_the_parser_changes_nothing_but_speed():
    """Without libcst's per-node validation (initlint's own processes), trees and findings are
    the same on every fixture, and hand-built nodes are no longer checked: it really is off."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", TRUST_SCRIPT, str(FIXTURES)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    files, findings = map(int, done.stdout.split())
    assert files == len(list(FIXTURES.glob("*.py"))) and findings > 20  # a real sample


@pytest.mark.slow
def test_linting_from_python_leaves_libcst_validating(cli, corpus):
    """``main`` called in-process (tests, embedding) and its forked workers change nothing here."""
    import libcst as cst

    cli(["--no-cache", "--jobs", "2"], corpus)
    with pytest.raises(cst.CSTValidationError):
        cst.Name("1x")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers inherit the patch by fork")
@pytest.mark.slow
def test_a_file_that_kills_its_worker_costs_that_file_not_the_run(corpus, monkeypatch):
    """A crash in a worker (a parser segfault, the OOM killer; here os._exit) names the file
    that caused it, and every other file still gets exactly the findings a serial run gives."""
    import os

    from initlint import batch, engine
    from initlint.discover import discover

    real_parse = engine.parse

    def parse_or_die(text):
        if "KILL THE WORKER" in text:
            os._exit(70)
        return real_parse(text)

    monkeypatch.setattr(engine, "parse", parse_or_die)
    settings = Settings()
    healthy, _ = discover([str(corpus)], (), corpus)
    expected = batch.lint_files(healthy, settings, jobs=1)
    killer = corpus / "model_99.py"
    killer.write_text((FIXTURES / "bad_inits.py").read_text() + "# KILL THE WORKER\n")
    files, _ = discover([str(corpus)], (), corpus)

    result = batch.lint_files(files, settings, jobs=2)

    assert [f.to_dict() for f in result.findings] == [f.to_dict() for f in expected.findings]
    assert [(e.path, e.reason) for e in result.errors] == [(e.path, e.reason) for e in expected.errors] + [
        (str(killer), "the worker process linting this file died (a crash in the parser, or out of memory)")
    ]
