"""Limits are finite and positive (issue 14, item 10): NaN compares false with everything, so a
NaN time limit or memory cap never tripped and a runaway model ran on; a NaN gain threshold
flagged every layer. Each is now a usage error (exit 2) naming the value, before anything runs."""

from __future__ import annotations

import math

import pytest

from initlint.limits import is_positive_finite, positive_finite_float


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 0, -1, 0.0, True, "5", None, 10**400])
def test_what_is_no_limit(value):
    assert not is_positive_finite(value)


@pytest.mark.parametrize("value", [1, 0.5, 1e-9, 4096, 1e300, 10**300])
def test_what_is_a_limit(value):
    assert is_positive_finite(value)


def test_text_becomes_a_limit_or_a_reason():
    assert positive_finite_float("2.5") == 2.5
    for text, reason in [("nan", "'nan' is not a finite number above 0"), ("inf", "'inf' is not a finite number above 0"),
                         ("1e400", "'1e400' is not a finite number above 0"), ("x", "'x' is not a number")]:
        with pytest.raises(ValueError) as caught:
            positive_finite_float(text)
        assert str(caught.value) == reason
    assert math.isfinite(positive_finite_float("1e300"))


@pytest.mark.parametrize("option", ["--probe-timeout", "--probe-memory"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_a_probe_limit_on_the_command_line_must_be_finite(tmp_path, cli, option, value):
    (tmp_path / "m.py").write_text("x = 1\n")
    for command in (["--probe", option, value, "m.py"], ["probe", option, value, "m.py:Net"]):
        result = cli(command, tmp_path)
        assert result.exit_code == 2
        assert f"Invalid value for '{option}': {value!r} is not a finite number above 0" in result.stderr


@pytest.mark.parametrize("key", ["timeout", "memory-mb", "max-signal-gain", "max-dead"])
@pytest.mark.parametrize("value", ["nan", "inf", "-nan"])
def test_a_probe_limit_in_config_must_be_finite(tmp_path, cli, key, value):
    (tmp_path / "pyproject.toml").write_text(f"[tool.initlint.probe]\n{key} = {value}\n")
    (tmp_path / "m.py").write_text("x = 1\n")
    result = cli(["m.py"], tmp_path)
    assert result.exit_code == 2
    shown = repr(float(value))
    assert result.stderr == (
        f"initlint: error: {tmp_path / 'pyproject.toml'}: [tool.initlint.probe] '{key}' must be a "
        f"finite number above 0, got {shown}\n"
    )


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_nan_gain_threshold_is_a_config_error_not_a_finding_on_every_layer(tmp_path, cli, value):
    (tmp_path / "pyproject.toml").write_text(f"[tool.initlint]\nmax-layer-gain = {value}\n")
    (tmp_path / "m.py").write_text("x = 1\n")
    result = cli(["m.py"], tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"initlint: error: {tmp_path / 'pyproject.toml'}: 'max-layer-gain' must be a finite number > 1, "
        f"got {float(value)!r}\n"
    )
