"""The rule catalog is part of the product: every rule has a page, and the page's examples hold.

Like Fixit, the proof sits with the rule: each ``## Bad`` example must give exactly its rule's
code (at least once, and no other code), each ``## Good`` example nothing at all. Measured rules
(IL9xx) have no static check: their examples are proven by the probe (test_probe_catalog.py).
"""

from __future__ import annotations

import re

import pytest

from conftest import ROOT
from initlint import check_source
from initlint.catalog import examples, read_page
from initlint.rules import all_rules

RULES = all_rules()
CODES = [r.code for r in RULES]
STATIC_CODES = [r.code for r in RULES if not r.measured]


def test_every_rule_has_a_page_and_every_page_a_rule():
    pages = sorted(p.name for p in (ROOT / "rules").glob("*.md"))
    assert pages == sorted(r.page for r in RULES)


@pytest.mark.parametrize("code", CODES)
def test_page_header_matches_the_rule(code):
    rule = next(r for r in RULES if r.code == code)
    page = read_page(code)
    assert page.splitlines()[0] == f"# {rule.code}: {rule.name}"
    assert f"- **Effect**: {rule.effect.value}" in page
    for section in ("## Why", "## Bad", "## Good", "## Fix"):
        assert section in page


@pytest.mark.parametrize("code", STATIC_CODES)
def test_bad_examples_give_exactly_their_code(code):
    bad = examples(read_page(code)).bad
    assert bad, f"{code} has no bad example"
    for source in bad:
        found = {f.code for f in check_source(source)}
        assert found == {code}


@pytest.mark.parametrize("code", CODES)
def test_good_examples_give_nothing(code):  # measured rules' good examples too: statically silent
    good = examples(read_page(code)).good
    assert good, f"{code} has no good example"
    for source in good:
        assert check_source(source) == []


def test_rule_tokens_cover_their_bad_examples():
    # the prefilter may skip a file only when none of a rule's tokens occur in it
    for rule in RULES:
        if rule.measured:
            assert rule.tokens == (), rule.code  # never run statically
            continue
        for source in examples(read_page(rule.code)).bad:
            assert any(token in source for token in rule.tokens), rule.code


def test_codes_are_well_formed_and_names_kebab_case():
    for rule in RULES:
        assert re.fullmatch(r"IL[1-59]\d\d", rule.code)
        assert rule.measured == rule.code.startswith("IL9")
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)


def test_readme_rule_table_lists_every_static_rule_as_registered():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| code | effect | name | catches |\n|---|---|---|---|\n", 1)[1].split("\n\n", 1)[0]
    assert table.splitlines() == [f"| {r.code} | {r.effect.value} | {r.name} | {r.summary} |" for r in RULES if not r.measured]
