"""The README says what is safe (issue 14, item 12): static mode never runs your code; --probe
does, with your rights, in a child process with time and memory limits; it is no sandbox."""

from __future__ import annotations

import re

from conftest import ROOT


def _section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"^## {title}\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return " ".join(match.group(1).split())


def test_readme_has_a_safety_section_that_says_what_runs_your_code():
    safety = _section("Safety")
    assert "Static mode never runs your code." in safety
    assert "never imports torch, your modules or anything they import" in safety
    assert "`--probe` does run your code**, with your user's rights" in safety
    assert "in a child process, with a time limit (`--probe-timeout`) and a memory limit (`--probe-memory`)" in safety
    assert "they are not a sandbox" in safety
    assert "Do not probe code you do not trust" in safety


def test_the_options_the_safety_section_names_exist(cli):
    help_text = cli(["check", "--help"], ROOT).stdout
    for option in re.findall(r"`(--[a-z-]+)`", _section("Safety")):
        assert option in help_text, option
