"""Results files round-trip, refuse malformed input with clear errors, and match the schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from jobforge.rubric.model import load_rubric
from jobforge.rubric.outcomes import CheckOutcome, Outcome
from jobforge.rubric.results import (
    Implementation,
    RunResults,
    dump_results,
    load_results,
    parse_results,
)
from jobforge.rubric.schema import published_schema, results_schema, results_schema_text

from jobforge.errors import RubricError

pytestmark = pytest.mark.unit

SAMPLE = Path(__file__).parents[2] / "rubric" / "sample_results.json"


def _results(*outcomes: CheckOutcome, rubric_version: str | None = None) -> RunResults:
    return RunResults(
        schema_version="1",
        rubric_version=rubric_version or load_rubric().version,
        implementation=Implementation(name="demo", version="1.0", backend="in-process"),
        profile="dev",
        started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        duration_s=1.5,
        dimension_durations_s={"testing": 0.5},
        outcomes=outcomes,
        notes=("broker restarted once",),
    )


def test_dump_then_load_gives_equal_results(tmp_path: Path) -> None:
    original = _results(
        CheckOutcome(
            check_id="testing.suite_green",
            outcome=Outcome.FAIL,
            evidence=("2 failed",),
            duration_s=3,
        )
    )
    path = tmp_path / "results.json"
    dump_results(original, path)
    assert load_results(path) == original


def test_dumped_file_carries_a_scorecard_summary_for_readers_without_jobforge(
    tmp_path: Path,
) -> None:
    path = tmp_path / "results.json"
    dump_results(_results(), path)
    summary = json.loads(path.read_text("utf-8"))["scorecard"]
    assert (summary["total"], summary["complete"], summary["max_possible_total"]) == (7, False, 35)
    assert summary["dimensions"][0]["level"] is None


def test_sample_results_file_loads_and_validates_against_the_published_schema() -> None:
    data = json.loads(SAMPLE.read_text("utf-8"))
    jsonschema.Draft202012Validator(published_schema()).validate(data)
    card = load_results(SAMPLE).scorecard()
    assert (card.total, card.complete, card.band.id) == (29, True, "production_grade")


def test_published_schema_has_not_drifted_from_the_model() -> None:
    assert published_schema() == results_schema(), (
        "rubric/results.schema.json is stale; run `python -m jobforge.rubric.schema`"
    )
    assert SAMPLE.with_name("results.schema.json").read_text("utf-8") == results_schema_text()


def test_schema_rejects_an_unknown_outcome_and_a_missing_field() -> None:
    validator = jsonschema.Draft202012Validator(published_schema())
    data = json.loads(SAMPLE.read_text("utf-8"))
    data["outcomes"][0]["outcome"] = "maybe"
    assert not validator.is_valid(data)
    data = json.loads(SAMPLE.read_text("utf-8"))
    del data["implementation"]
    assert not validator.is_valid(data)


def test_not_json_names_line_and_column() -> None:
    with pytest.raises(RubricError, match=r"not valid JSON \(line 2, column"):
        parse_results("{\n  oops }")


def test_wrong_schema_version_says_which_one_is_read() -> None:
    with pytest.raises(RubricError, match=r"schema_version '7' is not supported.*'1'"):
        parse_results('{"schema_version": "7"}')


def test_bad_outcome_value_names_the_field_path() -> None:
    data = json.loads(SAMPLE.read_text("utf-8"))
    data["outcomes"][2]["outcome"] = "maybe"
    with pytest.raises(RubricError, match=r"outcomes\.2\.outcome: .*'maybe'"):
        parse_results(json.dumps(data))


def test_naive_start_time_is_refused() -> None:
    data = json.loads(SAMPLE.read_text("utf-8"))
    data["started_at"] = "2026-01-02T03:04:05"
    with pytest.raises(RubricError, match=r"started_at"):
        parse_results(json.dumps(data))


def test_missing_file_is_a_rubric_error(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="cannot read results file"):
        load_results(tmp_path / "absent.json")


def test_scoring_with_another_rubric_version_is_refused() -> None:
    with pytest.raises(RubricError, match=r"rubric_version '0\.9'.*version '1\.1'"):
        _results(rubric_version="0.9").scorecard()


def test_outcome_wire_format_matches_the_contract() -> None:
    outcome = CheckOutcome(check_id="scheduling.on_time", outcome=Outcome.PASS, evidence=("ok",))
    assert json.loads(outcome.model_dump_json()) == {
        "check_id": "scheduling.on_time",
        "outcome": "pass",
        "evidence": ["ok"],
        "duration_s": 0.0,
    }
