"""The measured rules' catalog pages, proven by the probe: each ``## Bad`` example gives exactly
its code under ``initlint --probe=all``, each ``## Good`` example nothing (Fixit's idea, with a
measurement instead of a static check)."""

from __future__ import annotations

import json

import pytest

from initlint.catalog import examples, read_page
from initlint.rules import all_rules

pytest.importorskip("torch")
pytestmark = pytest.mark.probe

MEASURED = [rule.code for rule in all_rules() if rule.measured]


def test_every_measured_rule_has_bad_and_good_examples():
    assert MEASURED == ["IL901", "IL902", "IL903", "IL904", "IL905"]
    for code in MEASURED:
        found = examples(read_page(code))
        assert len(found.bad) == 1 and len(found.good) == 1, code


@pytest.mark.slow
def test_bad_examples_are_measured_as_their_code_and_good_ones_are_healthy(cli, tmp_path):
    for code in MEASURED:
        found = examples(read_page(code))
        (tmp_path / f"bad_{code}.py").write_text(found.bad[0])
        (tmp_path / f"good_{code}.py").write_text(found.good[0])
    result = cli(["--no-cache", "--format", "json", "--probe=all", "--device", "cpu", "--select", "IL9", "."], tmp_path)
    findings = json.loads(result.stdout)
    by_file: dict[str, set[str]] = {}
    for finding in findings:
        by_file.setdefault(finding["path"], set()).add(finding["code"])
        source = (tmp_path / finding["path"]).read_text().splitlines()
        assert source[finding["line"] - 1].startswith("class ") and finding["column"] == 1  # the class definition
        assert finding["probe"] == {"status": "measured"}
    assert by_file == {f"bad_{code}.py": {code} for code in MEASURED}
    assert result.exit_code == 1
    assert "probe: 10 of 10 models measured; 10 of 10 nn.Module classes built and run; 0 not probed" in result.stderr
