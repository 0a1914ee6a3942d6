"""The one data type every part of initlint speaks: a Finding, its Effect and its Location.

Rules create findings, the engine places and filters them, the probe annotates them and the
reports print them; none of them re-derives anything another part already knew.
"""

from __future__ import annotations

import enum
from dataclasses import field, fields
from typing import Any

from initlint.lean import dataclass


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
    """1-based lines and columns, as editors and SARIF count them; end is exclusive.

    In a notebook, ``cell`` is the 1-based index of the cell in the notebook (markdown cells
    count) and lines are counted inside that cell; ``cell`` is None in a Python file.
    """

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    cell: int | None = None


class Applicability(str, enum.Enum):
    """Whether a fix may be applied without asking, in ruff's sense.

    ``safe``: the code keeps its meaning, or an obvious slip is corrected (``--fix``).
    ``unsafe``: behaviour changes (another init scheme); shown, applied with ``--unsafe-fixes``.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Edit:
    """Replace the text from (line, column) to (end_line, end_column) with ``content``.

    1-based, end exclusive, in the coordinates of the finding's Location (inside ``cell`` in a
    notebook); an insertion has start == end.
    """

    line: int
    column: int
    end_line: int
    end_column: int
    content: str
    cell: int | None = None

    @property
    def start(self) -> tuple[int, int, int]:
        return (self.cell or 0, self.line, self.column)

    @property
    def end(self) -> tuple[int, int, int]:
        return (self.cell or 0, self.end_line, self.end_column)

    def to_dict(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "location": {"line": self.line, "column": self.column},
            "end_location": {"line": self.end_line, "column": self.end_column},
            "cell": self.cell,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Edit":
        start, end = data["location"], data["end_location"]
        return cls(start["line"], start["column"], end["line"], end["column"], data["content"], data.get("cell"))


@dataclass(frozen=True)
class Fix:
    """How to fix a finding: what to do (``message``), and where initlint can do it itself,
    the ``edits`` and their ``applicability``; advice only when ``applicability`` is None."""

    message: str
    applicability: Applicability | None = None
    edits: tuple[Edit, ...] = ()

    @property
    def automatic(self) -> bool:
        """Whether ``--fix`` (safe) or ``--unsafe-fixes`` can apply it."""
        return self.applicability is not None and bool(self.edits)

    def applies(self, unsafe_fixes: bool = False) -> bool:
        """Whether ``--fix`` applies it (with ``--unsafe-fixes`` when ``unsafe_fixes``)."""
        return self.automatic and (self.applicability is Applicability.SAFE or unsafe_fixes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "applicability": self.applicability.value if self.applicability else None,
            "edits": [edit.to_dict() for edit in self.edits],
        }

    @classmethod
    def from_dict(cls, data: Any) -> "Fix | None":
        """The JSON shape back; a plain string (the cache of an older initlint) is advice."""
        if data is None:
            return None
        if isinstance(data, str):
            return cls(data)
        applicability = data.get("applicability")
        return cls(
            data.get("message") or "",
            Applicability(applicability) if applicability else None,
            tuple(Edit.from_dict(edit) for edit in data.get("edits") or ()),
        )


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
    #: a rule may give its advice as a string; it becomes a Fix without edits
    fix: Fix | None = None
    probe: dict[str, Any] | None = None
    prediction: Prediction = field(default_factory=Prediction)

    def __post_init__(self) -> None:
        if isinstance(self.fix, str):
            self.fix = Fix(self.fix)

    @property
    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.path, loc.cell or 0, loc.line, loc.column, self.code, self.message)

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
            "cell": loc.cell,
            "details": self.details,
            "fix": self.fix.to_dict() if self.fix is not None else None,
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
                data["path"], data["line"], data["column"], data["end_line"], data["end_column"],
                data.get("cell"),
            ),
            details=dict(data.get("details") or {}),
            fix=Fix.from_dict(data.get("fix")),
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
    #: why the file was skipped (a FIFO or device, not a source file): a note, not an error
    skipped: str | None = None
    #: False for a result the cache must not keep: a crash or a read that may go better next time
    cacheable: bool = True


@dataclass
class LintResult:
    """A whole run: every finding (sorted by place), every unreadable file, how many files."""

    findings: list[Finding]
    errors: list[FileError]
    files: int
    #: files that were not linted and why (FIFOs, devices): notes, not errors
    skipped: list[FileError] = field(default_factory=list)
    #: other things a user should know that are no errors (a cache folder refused)
    notes: list[str] = field(default_factory=list)

    @property
    def files_with_findings(self) -> int:
        return len({f.location.path for f in self.findings})
