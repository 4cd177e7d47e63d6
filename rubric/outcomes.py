"""Check outcomes: what the conformance kit reports for one check, and what the rubric scores.

The JSON shape is fixed by the internal contracts (``docs/dev/contracts.md`` section 2)::

    {"check_id": "idempotency.duplicate_submit", "outcome": "pass",
     "evidence": ["job 3: one effect after two submissions"], "duration_s": 0.42}
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field


class Outcome(enum.StrEnum):
    """The verdict of one check.

    ``inconclusive`` means the infrastructure failed and the kit saw nothing either way: it never
    awards a level. ``unsupported`` means the implementation does not declare the capability the
    check needs: it scores as not met, exactly like ``fail``. ``not_run`` means the run did not
    select the check (``jobforge score --check ...``): it earns and costs nothing, and a
    dimension none of whose checks ran is left out of the total.
    """

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    UNSUPPORTED = "unsupported"
    NOT_RUN = "not_run"

    @property
    def label(self) -> str:
        """The outcome as reports write it ("not run" for ``not_run``)."""
        return self.value.replace("_", " ")

    @property
    def meets(self) -> bool:
        """True only for ``pass``: the one outcome that can earn a level."""
        return self is Outcome.PASS

    @property
    def refutes(self) -> bool:
        """True for outcomes that prove a level is not met (``fail`` and ``unsupported``)."""
        return self in (Outcome.FAIL, Outcome.UNSUPPORTED)


class CheckOutcome(BaseModel):
    """The outcome of one check with the evidence behind it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check_id: str = Field(min_length=1, description="Stable id `dimension.check` from the rubric.")
    outcome: Outcome = Field(description="pass, fail, inconclusive, unsupported or not_run.")
    evidence: tuple[str, ...] = Field(
        default=(),
        description="What the check saw, one finding a line, e.g. 'job 17: 6 attempts, max 5'.",
    )
    duration_s: float = Field(default=0.0, ge=0.0, description="Wall time the check took.")

    @property
    def dimension(self) -> str:
        """The dimension id: the part of ``check_id`` before the first dot."""
        return self.check_id.split(".", 1)[0]
