"""The rubric as data: pydantic models over the bundled, versioned ``rubric.yaml``.

The rubric has seven dimensions scored 5, 3 or 1. Each level lists the check ids that must pass
for it; the level-5 list holds every check of the dimension (but its gates) and each lower
level's list is a subset of the one above, so earning a higher level always implies the lower
ones. A gate check (``gate: true``) is in no level: it earns and costs no points, and every
policy fails when it fails. Bands turn the
total (7..35) into a verdict people can quote.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jobforge.errors import RubricError

#: The points a dimension can score, highest first.
LEVEL_POINTS: tuple[int, ...] = (5, 3, 1)

_BUNDLED = "rubric.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Check(_Frozen):
    """One check of the conformance kit, as the rubric describes it."""

    id: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$", description="Stable id `dimension.check`.")
    title: str = Field(min_length=1, description="Short name shown in reports.")
    verifies: str = Field(min_length=1, description="What a pass proves, in one sentence.")
    remediation: str = Field(min_length=1, description="What to change in the job system.")
    gate: bool = Field(
        default=False,
        description=(
            "A gate earns and costs no points (no level lists it); when it fails, every policy "
            "gate fails."
        ),
    )

    @property
    def dimension(self) -> str:
        """The dimension id the check belongs to."""
        return self.id.split(".", 1)[0]


class Level(_Frozen):
    """One level of a dimension and the checks that must pass to earn it."""

    points: Literal[5, 3, 1]
    summary: str = Field(min_length=1, description="The level in a few words.")
    description: str = Field(min_length=1, description="What a system at this level does.")
    requires: tuple[str, ...] = Field(default=(), description="Check ids that must all pass.")


class Dimension(_Frozen):
    """One of the seven dimensions, with its checks and its 5 / 3 / 1 levels."""

    id: str = Field(pattern=r"^[a-z_]+$")
    title: str = Field(min_length=1)
    question: str = Field(min_length=1, description="The question the dimension answers.")
    rule: str = Field(
        default="", description="How the dimension is judged, when levels alone do not say."
    )
    checks: tuple[Check, ...] = Field(min_length=1)
    levels: tuple[Level, ...]

    @model_validator(mode="after")
    def _levels_are_consistent(self) -> Dimension:
        ids = [c.id for c in self.checks]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"dimension {self.id!r}: check ids listed twice: {dupes}")
        strangers = [i for i in ids if not i.startswith(f"{self.id}.")]
        if strangers:
            raise ValueError(
                f"dimension {self.id!r}: check ids {strangers} must start with '{self.id}.'"
            )
        points = [lv.points for lv in self.levels]
        if sorted(points, reverse=True) != list(LEVEL_POINTS):
            raise ValueError(
                f"dimension {self.id!r}: levels must be exactly 5, 3 and 1 once each; got {points}"
            )
        known = {c.id for c in self.checks if not c.gate}
        gates = {c.id for c in self.checks if c.gate}
        by_points = {lv.points: set(lv.requires) for lv in self.levels}
        for lv in self.levels:
            gated = sorted(set(lv.requires) & gates)
            if gated:
                raise ValueError(
                    f"dimension {self.id!r} level {lv.points}: requires gate checks {gated}; a "
                    "gate earns no level, so remove it from requires or drop `gate: true`"
                )
            unknown = sorted(set(lv.requires) - known)
            if unknown:
                raise ValueError(
                    f"dimension {self.id!r} level {lv.points}: requires unknown checks {unknown}; "
                    "list them under the dimension's checks first"
                )
        if by_points[5] != known:
            missing = sorted(known - by_points[5])
            raise ValueError(
                f"dimension {self.id!r} level 5 must require every check but gates; "
                f"missing {missing}"
            )
        if by_points[1]:
            raise ValueError(f"dimension {self.id!r} level 1 is the floor and requires no checks")
        if not by_points[3] or not by_points[3] < by_points[5]:
            raise ValueError(
                f"dimension {self.id!r} level 3 must require a non-empty proper subset of level 5"
            )
        return self

    def level(self, points: int) -> Level:
        """Return the level worth ``points`` (5, 3 or 1)."""
        for lv in self.levels:
            if lv.points == points:
                return lv
        raise RubricError(f"dimension {self.id!r} has no level {points}; levels are 5, 3 and 1")

    @property
    def scored_checks(self) -> tuple[Check, ...]:
        """The checks levels are made of (every check but the gates)."""
        return tuple(c for c in self.checks if not c.gate)

    def check(self, check_id: str) -> Check:
        """Return the check with ``check_id`` in this dimension."""
        for c in self.checks:
            if c.id == check_id:
                return c
        raise RubricError(f"check {check_id!r} is not in dimension {self.id!r}")


class Band(_Frozen):
    """A verdict for a range of totals, e.g. 28+ = production-grade."""

    id: str = Field(pattern=r"^[a-z_]+$")
    label: str = Field(min_length=1)
    min_total: int = Field(ge=0)
    color: str = Field(pattern=r"^#[0-9a-fA-F]{6}$", description="Badge and chart colour.")
    meaning: str = Field(min_length=1)


class Rubric(_Frozen):
    """The whole rubric: version, dimensions and bands."""

    version: str = Field(min_length=1, description="Bumped whenever a level or check changes.")
    title: str = Field(min_length=1)
    dimensions: tuple[Dimension, ...] = Field(min_length=1)
    bands: tuple[Band, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _bands_cover_every_total(self) -> Rubric:
        ids = [d.id for d in self.dimensions]
        if len(set(ids)) != len(ids):
            raise ValueError(f"dimension ids must be unique; got {ids}")
        mins = [b.min_total for b in self.bands]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError(f"bands must be listed by strictly decreasing min_total; got {mins}")
        if mins[-1] > self.min_total:
            raise ValueError(
                f"the lowest band starts at {mins[-1]} but a total can be as low as "
                f"{self.min_total}; set its min_total to {self.min_total} or less"
            )
        return self

    @property
    def min_total(self) -> int:
        """The lowest possible total: every dimension at level 1."""
        return len(self.dimensions) * min(LEVEL_POINTS)

    @property
    def max_total(self) -> int:
        """The highest possible total: every dimension at level 5."""
        return len(self.dimensions) * max(LEVEL_POINTS)

    def check_ids(self) -> frozenset[str]:
        """Every check id the rubric knows."""
        return frozenset(c.id for d in self.dimensions for c in d.checks)

    def gate_ids(self) -> frozenset[str]:
        """Ids of the gate checks: they earn no points but fail every policy when they fail."""
        return frozenset(c.id for d in self.dimensions for c in d.checks if c.gate)

    def dimension(self, dimension_id: str) -> Dimension:
        """Return a dimension by id, or raise RubricError listing the known ids."""
        for d in self.dimensions:
            if d.id == dimension_id:
                return d
        known = ", ".join(d.id for d in self.dimensions)
        raise RubricError(f"unknown dimension {dimension_id!r}; known dimensions: {known}")

    def check(self, check_id: str) -> Check:
        """Return a check by id, or raise RubricError naming it."""
        for d in self.dimensions:
            for c in d.checks:
                if c.id == check_id:
                    return c
        raise RubricError(
            f"unknown check id {check_id!r}: it is not in rubric {self.version}; "
            "see `jobforge rubric` for the check ids"
        )

    def band_for(self, total: int) -> Band:
        """Return the band a total falls in."""
        for band in self.bands:
            if total >= band.min_total:
                return band
        raise RubricError(f"total {total} is below every band (lowest {self.bands[-1].min_total})")


def format_validation_error(source: str, exc: ValidationError) -> str:
    """Render a pydantic error as lines naming the field, the value and the problem."""
    lines = [f"{source} is invalid:"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        value = err.get("input")
        shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
        lines.append(f"  {where}: {err['msg']} (got {shown[:80]})")
    return "\n".join(lines)


def _read_yaml(path: Path | None) -> tuple[str, Any]:
    if path is None:
        text = resources.files("jobforge.rubric").joinpath(_BUNDLED).read_text("utf-8")
        source = f"bundled {_BUNDLED}"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise RubricError(f"cannot read rubric file {str(path)!r}: {exc.strerror}") from exc
        source = f"rubric file {str(path)!r}"
    try:
        return source, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RubricError(f"{source} is not valid YAML: {exc}") from exc


def load_rubric(path: Path | str | None = None) -> Rubric:
    """Load and validate a rubric; the bundled ``rubric.yaml`` when ``path`` is None."""
    source, data = _read_yaml(Path(path) if path is not None else None)
    if not isinstance(data, dict):
        raise RubricError(f"{source} must be a YAML mapping with version, dimensions and bands")
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        raise RubricError(format_validation_error(source, exc)) from exc
