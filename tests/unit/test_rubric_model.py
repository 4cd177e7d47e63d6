"""The bundled rubric loads, keeps the contract's level rules, and bad rubric files are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from jobforge.rubric.model import load_rubric

from jobforge.errors import RubricError

pytestmark = pytest.mark.unit

SEVEN = (
    "idempotency",
    "error_handling",
    "observability",
    "concurrency",
    "scheduling",
    "scalability",
    "testing",
)

# Level-3 requirements from docs/dev/contracts.md section 2.
LEVEL3 = {
    "idempotency": {"idempotency.duplicate_submit"},
    "error_handling": {"error_handling.max_attempts", "error_handling.backoff"},
    "observability": {"observability.structured_logs", "observability.lifecycle_states"},
    "concurrency": {"concurrency.global_cap"},
    "scheduling": {"scheduling.on_time", "scheduling.delayed_not_early"},
    "scalability": {"scalability.no_double_execution"},
    "testing": {"testing.asserts_what_ran"},
}


def _bundled_data() -> dict[str, object]:
    text = (Path(__file__).parents[2] / "rubric" / "rubric.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def test_bundled_rubric_has_the_seven_dimensions_in_order_and_35_points() -> None:
    rubric = load_rubric()
    assert tuple(d.id for d in rubric.dimensions) == SEVEN
    assert (rubric.min_total, rubric.max_total) == (7, 35)
    assert rubric.version


def test_levels_follow_the_contract_five_needs_all_three_needs_listed_one_needs_none() -> None:
    rubric = load_rubric()
    for dim in rubric.dimensions:
        assert set(dim.level(5).requires) == {c.id for c in dim.scored_checks}
        assert set(dim.level(3).requires) == LEVEL3[dim.id]
        assert dim.level(1).requires == ()


def test_bands_are_28_production_21_needs_work_else_fail_silently() -> None:
    rubric = load_rubric()
    assert rubric.band_for(35).id == rubric.band_for(28).id == "production_grade"
    assert rubric.band_for(27).id == rubric.band_for(21).id == "needs_reliability_work"
    assert rubric.band_for(20).id == rubric.band_for(7).id == "fail_silently"


def test_every_check_has_a_remediation_that_says_what_to_change() -> None:
    for dim in load_rubric().dimensions:
        for check in dim.checks:
            assert len(check.remediation.split()) >= 12, check.id


def test_unknown_check_id_lookup_names_the_id() -> None:
    with pytest.raises(RubricError, match=r"'idempotency\.nope'"):
        load_rubric().check("idempotency.nope")


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "rubric.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    return path


def test_level_five_missing_a_check_is_refused_with_the_dimension_and_check(
    tmp_path: Path,
) -> None:
    data = _bundled_data()
    dims = data["dimensions"]
    assert isinstance(dims, list)
    dims[0]["levels"][0]["requires"] = dims[0]["levels"][0]["requires"][:-1]
    with pytest.raises(RubricError, match=r"idempotency.*level 5.*rerun_each_job_type"):
        load_rubric(_write(tmp_path, data))


def test_level_requiring_an_unlisted_check_is_refused(tmp_path: Path) -> None:
    data = _bundled_data()
    dims = data["dimensions"]
    assert isinstance(dims, list)
    dims[1]["levels"][1]["requires"].append("error_handling.teleport")
    with pytest.raises(RubricError, match=r"error_handling\.teleport"):
        load_rubric(_write(tmp_path, data))


def test_bands_that_leave_low_totals_uncovered_are_refused(tmp_path: Path) -> None:
    data = _bundled_data()
    bands = data["bands"]
    assert isinstance(bands, list)
    bands[-1]["min_total"] = 10
    with pytest.raises(RubricError, match="lowest band starts at 10"):
        load_rubric(_write(tmp_path, data))


def test_missing_field_error_names_the_field(tmp_path: Path) -> None:
    data = _bundled_data()
    del data["version"]
    with pytest.raises(RubricError, match=r"version: Field required"):
        load_rubric(_write(tmp_path, data))


def test_unreadable_and_non_yaml_files_give_rubric_errors(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="cannot read rubric file"):
        load_rubric(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("dimensions: [unclosed", "utf-8")
    with pytest.raises(RubricError, match="not valid YAML"):
        load_rubric(bad)


def test_a_gate_check_listed_in_a_level_is_refused(tmp_path: Path) -> None:
    data = _bundled_data()
    dims = data["dimensions"]
    assert isinstance(dims, list)
    testing = next(d for d in dims if d["id"] == "testing")
    testing["levels"][0]["requires"].append("testing.suite_green")
    with pytest.raises(RubricError, match=r"testing.*requires gate checks.*suite_green"):
        load_rubric(_write(tmp_path, data))


def test_the_own_suite_being_green_is_a_gate_in_no_level() -> None:
    testing = load_rubric().dimension("testing")
    assert testing.check("testing.suite_green").gate
    assert all("testing.suite_green" not in level.requires for level in testing.levels)
    assert "not the code's correctness" in testing.rule
