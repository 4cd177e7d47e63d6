"""The scoring engine: check outcomes -> a level per dimension -> total and band.

Rules (``docs/dev/contracts.md`` section 2):

* A level is **met** when every check it requires passed, **not met** when one of them failed or
  is unsupported, and **unknown** otherwise (an inconclusive or missing outcome, never a pass).
* A dimension's proven level (``lower_bound``) is its highest met level; its ``upper_bound`` the
  highest level not refuted. When the two differ the level is unknown: reports show "?".
* The total adds the lower bounds, so an inconclusive check never awards points; a scorecard with
  an unknown level is incomplete, and ``max_possible_total`` says what the total could reach.
* A partial run (some checks ``not_run``) scores only the dimensions where a check ran: the
  total and its maximum cover those alone, and a partial total has no band.
* Gate checks (``gate: true`` in the rubric) are in no level; a failed gate fails every policy.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict

from jobforge.errors import RubricError

from .model import LEVEL_POINTS, Band, Dimension, Level, Rubric
from .outcomes import CheckOutcome, Outcome

#: Evidence attached to a rubric check the results hold no outcome for.
MISSING_EVIDENCE = "no outcome was recorded for this check; it counts as inconclusive"


class LevelStatus(enum.StrEnum):
    """Whether the checks a level requires prove it met, refute it, or leave it open."""

    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


def level_status(level: Level, outcomes: Mapping[str, CheckOutcome]) -> LevelStatus:
    """Return the status of ``level`` given the outcome of each check id."""
    required = [outcomes[check_id].outcome for check_id in level.requires]
    if any(o.refutes for o in required):
        return LevelStatus.NOT_MET
    if all(o.meets for o in required):
        return LevelStatus.MET
    return LevelStatus.UNKNOWN


class DimensionScore(BaseModel):
    """The score of one dimension with the outcome of each of its checks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dimension: str  # dimension id, e.g. "idempotency"
    title: str  # human title, e.g. "Idempotency"
    level: int | None  # 5, 3 or 1; None when inconclusive checks leave it open ("?")
    lower_bound: int  # the level proven by passed checks (at least 1)
    upper_bound: int  # the highest level no failed or unsupported check rules out
    outcomes: tuple[CheckOutcome, ...]  # one per rubric check of the dimension, rubric order
    gate_ids: tuple[str, ...] = ()  # checks among ``outcomes`` that are gates (in no level)

    @property
    def ran(self) -> bool:
        """True when at least one of the dimension's checks ran."""
        return any(o.outcome is not Outcome.NOT_RUN for o in self.outcomes)

    @property
    def known(self) -> bool:
        """True when the level is decided."""
        return self.level is not None

    @property
    def display(self) -> str:
        """The level as reports show it: "5", "3", "1", or "?" when open."""
        return "?" if self.level is None else str(self.level)

    @property
    def failing(self) -> tuple[CheckOutcome, ...]:
        """Scored checks that failed or are unsupported: both score as not met."""
        return tuple(
            o for o in self.outcomes if o.outcome.refutes and o.check_id not in self.gate_ids
        )

    @property
    def gates_failed(self) -> tuple[CheckOutcome, ...]:
        """Gate checks that failed: they cost no points but fail every policy."""
        return tuple(
            o for o in self.outcomes if o.check_id in self.gate_ids and o.outcome is Outcome.FAIL
        )

    @property
    def inconclusive(self) -> tuple[CheckOutcome, ...]:
        """Checks whose outcome is inconclusive (or missing)."""
        return tuple(o for o in self.outcomes if o.outcome is Outcome.INCONCLUSIVE)

    @property
    def not_run(self) -> tuple[CheckOutcome, ...]:
        """Checks the run did not select."""
        return tuple(o for o in self.outcomes if o.outcome is Outcome.NOT_RUN)


class Scorecard(BaseModel):
    """Levels of every dimension, the total and the band."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rubric_version: str
    dimensions: tuple[DimensionScore, ...]
    total: int  # sum of proven levels of the dimensions that ran
    max_possible_total: int  # sum of upper bounds: what the total could reach
    max_total: int  # 35 for the seven-dimension rubric; 5 per dimension run in a partial run
    complete: bool  # every level of the dimensions that ran decided
    band: Band  # band of ``total`` (meaningless in a partial run: see ``verdict``)
    best_possible_band: Band  # band of ``max_possible_total``; equals ``band`` when decided
    partial: bool = False  # some dimension had no check run: the total covers the others only

    @property
    def dimensions_run(self) -> tuple[DimensionScore, ...]:
        """The dimensions at least one check of which ran: the ones the total covers."""
        return tuple(d for d in self.dimensions if d.ran)

    @property
    def band_decided(self) -> bool:
        """True when no inconclusive check could move the total into another band."""
        return self.band.id == self.best_possible_band.id

    @property
    def has_band(self) -> bool:
        """True when the total earns a band: a full, decided run."""
        return self.complete and not self.partial

    @property
    def verdict(self) -> str:
        """The band as reports say it, or why there is none."""
        if self.partial:
            names = ", ".join(d.dimension for d in self.dimensions_run) or "none"
            return (
                f"partial run ({len(self.dimensions_run)} of {len(self.dimensions)} dimensions: "
                f"{names}); no band"
            )
        return self.band.label if self.band_decided else f"{self.band.label} or better"

    @property
    def total_display(self) -> str:
        """Return the total as shown: "31/35", or "29?/35" when some level is open."""
        mark = "" if self.complete else "?"
        return f"{self.total}{mark}/{self.max_total}"

    @property
    def gates_failed(self) -> tuple[CheckOutcome, ...]:
        """Every failed gate check."""
        return tuple(o for d in self.dimensions for o in d.gates_failed)

    def dimension(self, dimension_id: str) -> DimensionScore:
        """Return the score of one dimension."""
        for d in self.dimensions:
            if d.dimension == dimension_id:
                return d
        known = ", ".join(d.dimension for d in self.dimensions)
        raise RubricError(f"unknown dimension {dimension_id!r}; known dimensions: {known}")

    def outcome(self, check_id: str) -> CheckOutcome:
        """Return the outcome the scorecard holds for ``check_id``."""
        for d in self.dimensions:
            for o in d.outcomes:
                if o.check_id == check_id:
                    return o
        raise RubricError(f"unknown check id {check_id!r}: it is not in this scorecard's rubric")


def _index(rubric: Rubric, outcomes: Iterable[CheckOutcome]) -> dict[str, CheckOutcome]:
    known = rubric.check_ids()
    by_id: dict[str, CheckOutcome] = {}
    for o in outcomes:
        if o.check_id not in known:
            raise RubricError(
                f"outcome for check id {o.check_id!r} is not in rubric {rubric.version}; "
                "fix the check id or score with the rubric version that defines it"
            )
        if o.check_id in by_id:
            raise RubricError(
                f"two outcomes for check id {o.check_id!r}; report each check exactly once"
            )
        by_id[o.check_id] = o
    for check_id in known - by_id.keys():
        by_id[check_id] = CheckOutcome(
            check_id=check_id, outcome=Outcome.INCONCLUSIVE, evidence=(MISSING_EVIDENCE,)
        )
    return by_id


def score_dimension(dimension: Dimension, outcomes: Mapping[str, CheckOutcome]) -> DimensionScore:
    """Score one dimension from outcomes covering every one of its checks.

    A dimension none of whose checks ran scores its floor with no level decided.
    """
    statuses = {lv.points: level_status(lv, outcomes) for lv in dimension.levels}
    lower = max(p for p, s in statuses.items() if s is LevelStatus.MET)
    upper = max(p for p, s in statuses.items() if s is not LevelStatus.NOT_MET)
    return DimensionScore(
        dimension=dimension.id,
        title=dimension.title,
        level=lower if lower == upper else None,
        lower_bound=lower,
        upper_bound=upper,
        outcomes=tuple(outcomes[c.id] for c in dimension.checks),
        gate_ids=tuple(c.id for c in dimension.checks if c.gate),
    )


def score(rubric: Rubric, outcomes: Iterable[CheckOutcome]) -> Scorecard:
    """Score check outcomes on ``rubric``.

    Raises RubricError for an outcome whose check id the rubric does not know, or for two
    outcomes of one check. A rubric check without an outcome counts as inconclusive.
    """
    by_id = _index(rubric, outcomes)
    dims = tuple(score_dimension(d, by_id) for d in rubric.dimensions)
    ran = [d for d in dims if d.ran]
    total = sum(d.lower_bound for d in ran)
    possible = sum(d.upper_bound for d in ran)
    return Scorecard(
        rubric_version=rubric.version,
        dimensions=dims,
        total=total,
        max_possible_total=possible,
        max_total=max(LEVEL_POINTS) * len(ran),
        complete=all(d.known for d in ran),
        band=rubric.band_for(total),
        best_possible_band=rubric.band_for(possible),
        partial=len(ran) < len(dims),
    )
