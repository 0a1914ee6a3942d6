"""The one data type every part of initlint speaks: a Finding, its Effect and its Location.

Rules create findings, the engine places and filters them, the probe annotates them and the
reports print them; none of them re-derives anything another part already knew.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
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
        )


@dataclass(frozen=True)
class FileError:
    """A file that could not be analysed, and why, in one line."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}
