"""Compare one run's outcomes with a calibration app's expectations, check by check."""

from __future__ import annotations

from dataclasses import dataclass

from jobforge.rubric.outcomes import Outcome
from jobforge.rubric.results import RunResults

from .spec import CalibrationSpec


@dataclass(frozen=True, kw_only=True)
class Row:
    """One check of one run: what was expected, what the kit concluded, and its evidence."""

    check_id: str
    expected: Outcome
    got: Outcome
    evidence: tuple[str, ...]

    @property
    def matches(self) -> bool:
        """Whether the kit reached the expected verdict."""
        return self.expected is self.got


def compare(spec: CalibrationSpec, results: RunResults) -> list[Row]:
    """Return one row per expected check, in the run's order (missing outcomes: not_run)."""
    got = {o.check_id: o for o in results.outcomes}
    rows = []
    for check_id, expected in spec.expected.items():
        outcome = got.get(check_id)
        rows.append(
            Row(
                check_id=check_id,
                expected=expected.outcome,
                got=outcome.outcome if outcome is not None else Outcome.NOT_RUN,
                evidence=outcome.evidence if outcome is not None else ("no outcome recorded",),
            )
        )
    order = {o.check_id: i for i, o in enumerate(results.outcomes)}
    return sorted(rows, key=lambda r: order.get(r.check_id, len(order)))
