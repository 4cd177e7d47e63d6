"""The results of one conformance run, and the versioned JSON file that carries them.

One :class:`RunResults` feeds every report. On disk it is a JSON document with
``schema_version`` (the published schema is ``results.schema.json`` next to this module); the
document also carries a ``scorecard`` summary for readers without jobforge. That summary is derived
data: :func:`load_results` ignores it and scores the outcomes again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from jobforge.errors import RubricError

from .model import Rubric, format_validation_error, load_rubric
from .outcomes import CheckOutcome
from .scoring import Scorecard, score

#: The results-file format this jobforge reads and writes.
SCHEMA_VERSION = "1"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Implementation(_Frozen):
    """The job system that was scored."""

    name: str = Field(min_length=1, description="e.g. 'myapp-jobs'")
    version: str = Field(min_length=1, description="The implementation's own version.")
    backend: str = Field(min_length=1, description="e.g. 'redis+celery', 'sqlite+huey'")


class RunResults(_Frozen):
    """Everything one conformance run found: the input of every report."""

    schema_version: Literal["1"] = Field(description="Results-file format version.")
    rubric_version: str = Field(min_length=1, description="Version of the rubric the run used.")
    implementation: Implementation
    profile: str = Field(min_length=1, description="Hypothesis / run profile, e.g. 'ci'.")
    started_at: AwareDatetime = Field(description="When the run started, with a time zone.")
    duration_s: float = Field(ge=0.0, description="Wall time of the whole run.")
    dimension_durations_s: dict[str, float] = Field(
        default_factory=dict, description="Wall time spent per dimension id."
    )
    outcomes: tuple[CheckOutcome, ...] = Field(
        description="One outcome per rubric check: not_run for those a partial run did not select."
    )
    notes: tuple[str, ...] = Field(
        default=(), description="Run-level messages, e.g. why the run was inconclusive."
    )

    def scorecard(self, rubric: Rubric | None = None) -> Scorecard:
        """Score the outcomes on ``rubric`` (the bundled rubric by default).

        Raises RubricError when the rubric's version differs from the one the run used.
        """
        rubric = rubric if rubric is not None else load_rubric()
        if rubric.version != self.rubric_version:
            raise RubricError(
                f"results were produced with rubric_version {self.rubric_version!r} but the "
                f"rubric given is version {rubric.version!r}; score them with the matching "
                "rubric file or re-run the conformance kit"
            )
        return score(rubric, self.outcomes)


class DimensionSummary(_Frozen):
    """One dimension of the derived scorecard summary in a results document."""

    dimension: str
    level: int | None = Field(description="5, 3 or 1; null when inconclusive checks leave it open.")
    lower_bound: int
    upper_bound: int
    failing: tuple[str, ...] = Field(description="Check ids that failed or are unsupported.")
    inconclusive: tuple[str, ...] = Field(description="Check ids that were inconclusive.")
    ran: bool = Field(default=True, description="False when none of its checks ran.")
    not_run: tuple[str, ...] = Field(default=(), description="Check ids the run did not select.")
    gates_failed: tuple[str, ...] = Field(
        default=(), description="Gate check ids that failed: no points lost, every policy fails."
    )


class ScorecardSummary(_Frozen):
    """Derived score written into results documents for readers without jobforge."""

    total: int = Field(description="Sum of the levels of the dimensions that ran.")
    max_total: int = Field(description="35, or 5 per dimension that ran in a partial run.")
    max_possible_total: int
    complete: bool
    partial: bool = Field(
        default=False, description="True when some dimension did not run; the total omits it."
    )
    band: str | None = Field(
        description="Band id of the total, e.g. 'production_grade'; null for a partial run."
    )
    band_label: str = Field(description="The band's label, or why there is none.")
    dimensions: tuple[DimensionSummary, ...]

    @classmethod
    def from_scorecard(cls, card: Scorecard) -> ScorecardSummary:
        """Summarise a scorecard."""
        return cls(
            total=card.total,
            max_total=card.max_total,
            max_possible_total=card.max_possible_total,
            complete=card.complete,
            partial=card.partial,
            band=None if card.partial else card.band.id,
            band_label=card.verdict if card.partial else card.band.label,
            dimensions=tuple(
                DimensionSummary(
                    dimension=d.dimension,
                    level=d.level,
                    lower_bound=d.lower_bound,
                    upper_bound=d.upper_bound,
                    failing=tuple(o.check_id for o in d.failing),
                    inconclusive=tuple(o.check_id for o in d.inconclusive),
                    ran=d.ran,
                    not_run=tuple(o.check_id for o in d.not_run),
                    gates_failed=tuple(o.check_id for o in d.gates_failed),
                )
                for d in card.dimensions
            ),
        )


class ResultsDocument(RunResults):
    """The results file: the run's results plus an optional derived scorecard summary."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        title="jobforge conformance results",
        json_schema_extra={"$id": "https://jobforge.dev/schemas/results-1.json"},
    )

    scorecard_summary: ScorecardSummary | None = Field(
        default=None,
        alias="scorecard",
        description="Derived from outcomes; ignored when the file is read back.",
    )

    def run_results(self) -> RunResults:
        """Return the results without the derived summary."""
        return RunResults.model_validate(self.model_dump(exclude={"scorecard_summary"}))


def results_json(results: RunResults, rubric: Rubric | None = None) -> str:
    """Serialize results with their scorecard summary as an indented JSON document."""
    summary = ScorecardSummary.from_scorecard(results.scorecard(rubric))
    doc = ResultsDocument.model_validate(
        {**results.model_dump(), "scorecard": summary.model_dump()}
    )
    return doc.model_dump_json(indent=2, by_alias=True) + "\n"


def parse_results(text: str, source: str = "results") -> RunResults:
    """Parse a results document; raise RubricError naming the field and the fix."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RubricError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    if not isinstance(data, dict):
        raise RubricError(f"{source} must hold a JSON object, got {type(data).__name__}")
    found = data.get("schema_version")
    if found != SCHEMA_VERSION:
        raise RubricError(
            f"{source}: schema_version {found!r} is not supported; this jobforge reads "
            f"schema_version {SCHEMA_VERSION!r} (upgrade jobforge or re-run the kit)"
        )
    try:
        return ResultsDocument.model_validate(data).run_results()
    except ValidationError as exc:
        raise RubricError(format_validation_error(source, exc)) from exc


def load_results(path: Path | str) -> RunResults:
    """Read a results file written by :func:`dump_results` (or the conformance kit)."""
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise RubricError(f"cannot read results file {str(path)!r}: {exc.strerror}") from exc
    return parse_results(text, f"results file {str(path)!r}")


def dump_results(results: RunResults, path: Path | str, rubric: Rubric | None = None) -> None:
    """Write results (with their scorecard summary) to ``path`` as JSON."""
    text = results_json(results, rubric)
    try:
        Path(path).write_text(text, "utf-8")
    except OSError as exc:
        raise RubricError(f"cannot write results file {str(path)!r}: {exc.strerror}") from exc
