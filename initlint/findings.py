"""The one data type every part of initlint speaks: a Finding, its Effect and its Location.

Rules create findings, the engine places and filters them, the probe annotates them and the
reports print them; none of them re-derives anything another part already knew.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any


class Effect(str, enum.Enum):
    """What goes wrong in training when the finding is real."""

    EXPLODING = "exploding"
    VANISHING = "vanishing"
    SYMMETRY = "symmetry"
    SATURATION = "saturation"
    MISUSE = "misuse"

    def __str__(self) -> str:  # click and f-strings print the plain word
        return self.value


EFFECTS: tuple[str, ...] = tuple(e.value for e in Effect)


@dataclass(frozen=True, order=True)
class Location:
    """1-based lines and columns, as editors and SARIF count them; end is exclusive."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Prediction:
    """What a finding says a measurement of the model will show: the probe reads only this.

    ``model`` is the class (or module-level variable) to build and ``layers`` the attribute
    paths inside it that the finding is about (``blocks.*`` is every copy of a repeated layer).
    The rest says what to compare: a per-layer variance ``gain`` of the signal (to the next
    layer's input when ``includes_activation``), a ``stack_gain`` over ``depth`` layers, units
    that stay identical (``symmetric``; ``every_layer`` when the whole model is constant), a
    unit ``correlation``, a share saturated by ``saturated_by``, or an error the model
    ``raises`` when built (the text torch's message contains).
    """

    model: str | None = None
    layers: tuple[str, ...] = ()
    gain: float | None = None
    #: the gain divided by the fan-in, when the fan-in is a size the file does not fix
    gain_per_fan_in: float | None = None
    includes_activation: bool = False
    depth: int | None = None
    stack_gain: float | None = None
    symmetric: bool = False
    every_layer: bool = False
    correlation: float | None = None
    saturated_by: str | None = None
    raises: str | None = None
    #: the tensor starts uninitialised (torch.empty): huge, tiny or non-finite values
    uninitialised: bool = False

    @property
    def measurable(self) -> bool:
        """Whether the probe has anything to compare with."""
        return any(
            (
                self.gain is not None, self.gain_per_fan_in is not None, self.stack_gain is not None,
                self.symmetric, self.every_layer, self.correlation is not None,
                self.saturated_by is not None, self.raises is not None, self.uninitialised,
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that say something (the JSON and the cache)."""
        out = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value != item.default:
                out[item.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Prediction":
        data = dict(data or {})
        known = {item.name for item in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        if "layers" in values:
            values["layers"] = tuple(values["layers"])
        return cls(**values)


@dataclass
class Finding:
    """One init smell at one place, with the numbers behind it under ``details``."""

    code: str
    name: str
    effect: Effect
    message: str
    location: Location
    details: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None
    probe: dict[str, Any] | None = None
    prediction: Prediction = field(default_factory=Prediction)

    @property
    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.path, loc.line, loc.column, self.code, self.message)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape; stable, documented in the README."""
        loc = self.location
        out: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "effect": self.effect.value,
            "message": self.message,
            "path": loc.path,
            "line": loc.line,
            "column": loc.column,
            "end_line": loc.end_line,
            "end_column": loc.end_column,
            "details": self.details,
            "fix": self.fix,
        }
        prediction = self.prediction.to_dict()
        if prediction:
            out["prediction"] = prediction
        if self.probe is not None:
            out["probe"] = self.probe
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Finding":
        """Inverse of ``to_dict``; the cache stores findings in this shape."""
        return cls(
            code=data["code"],
            name=data["name"],
            effect=Effect(data["effect"]),
            message=data["message"],
            location=Location(
                data["path"], data["line"], data["column"], data["end_line"], data["end_column"]
            ),
            details=dict(data.get("details") or {}),
            fix=data.get("fix"),
            probe=data.get("probe"),
            prediction=Prediction.from_dict(data.get("prediction")),
        )


@dataclass(frozen=True)
class FileError:
    """A file that could not be analysed, and why, in one line."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class FileResult:
    """What linting one file gave: its findings, or why it could not be analysed."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    error: FileError | None = None
    #: other files of the project the result depends on: {absolute path: content hash}
    dependencies: dict[str, str] = field(default_factory=dict)


@dataclass
class LintResult:
    """A whole run: every finding (sorted by place), every unreadable file, how many files."""

    findings: list[Finding]
    errors: list[FileError]
    files: int

    @property
    def files_with_findings(self) -> int:
        return len({f.location.path for f in self.findings})
