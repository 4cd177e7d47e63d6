"""`jobforge stability` lists exactly the checks whose verdict changed between runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jobforge.conformance.stability import RunVerdicts, changes, read_run, render

from jobforge.cli import main
from jobforge.errors import ConformanceError


def _run(**outcomes: str) -> RunVerdicts:
    return RunVerdicts(
        "35/35", 1.0, {k.replace("__", "."): (v, (f"saw {v}",)) for k, v in outcomes.items()}
    )


def test_same_verdicts_in_every_run_are_no_change() -> None:
    runs = [_run(a__x="pass", a__y="fail")] * 3
    assert changes(runs) == []
    assert "3 runs, 2 checks: 0 verdict changes" in render(runs, [])


def test_a_flipped_verdict_is_reported_with_the_odd_run_evidence() -> None:
    runs = [_run(a__x="pass", a__y="fail"), _run(a__x="inconclusive", a__y="fail")]
    runs.append(_run(a__x="pass", a__y="fail"))
    found = changes(runs)
    assert [(c.check_id, c.outcomes) for c in found] == [("a.x", ("pass", "inconclusive", "pass"))]
    text = render(runs, found)
    assert "a.x: pass x2, inconclusive x1" in text
    assert "run 2 inconclusive: saw inconclusive" in text


def test_a_check_missing_from_one_run_counts_as_a_change() -> None:
    found = changes([_run(a__x="pass"), _run()])
    assert [c.outcomes for c in found] == [("pass", "absent")]


def test_results_json_round_trip_and_bad_file(tmp_path: Path) -> None:
    good = tmp_path / "r.json"
    good.write_text(
        json.dumps(
            {
                "duration_s": 2.5,
                "outcomes": [{"check_id": "a.x", "outcome": "pass", "evidence": ["ok"]}],
                "scorecard": {"total": 5, "max_total": 5},
            }
        )
    )
    assert read_run(good) == RunVerdicts("5/5", 2.5, {"a.x": ("pass", ("ok",))})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConformanceError, match="cannot read the results of a run"):
        read_run(bad)


def test_options_it_owns_and_a_single_run_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stability", "--runs", "1", "--", "--reference"]) == 2
    assert "at least 2 runs" in capsys.readouterr().err
    assert main(["stability", "--", "--reference", "--json", "x.json"]) == 2
    assert "--keep DIR" in capsys.readouterr().err


def test_two_real_runs_of_one_reference_check(tmp_path: Path) -> None:
    args = ["stability", "--runs", "2", "--keep", str(tmp_path), "--", "--reference"]
    assert main([*args, "--check", "idempotency.duplicate_submit"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-01.json", "run-02.json"]
