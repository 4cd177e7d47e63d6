"""`jobforge soak` on the reference: clean runs clean; each flaw is reported with job ids.

Short soaks (200 jobs over 6 s, 2 faults of each kind): the schedule always holds SIGKILLs of a
busy worker and duplicate storms, so the flaws show every time, not by luck.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jobforge.conformance.soak.report import SCHEMA_PATH

from jobforge.cli import main

pytestmark = pytest.mark.acceptance

SHORT = ["--jobs", "200", "--duration", "6", "--faults-per-kind", "2", "--seed", "11", "--quiet"]


def _soak(tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "soak.json"
    code = main(["soak", "--reference", *SHORT, "--json", str(out), *extra])
    return code, json.loads(out.read_text("utf-8"))


def test_clean_reference_loses_nothing_duplicates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    svg = tmp_path / "soak.svg"
    code, report = _soak(tmp_path, "--svg", str(svg))
    jsonschema.validate(report, json.loads(SCHEMA_PATH.read_text("utf-8")))
    verdict = report["verdict"]
    assert (verdict["lost"], verdict["duplicated"], verdict["unexpected"]) == (0, 0, 0)
    assert code == 0
    assert report["jobs"]["enqueued"] == report["jobs"]["completed"] + report["jobs"]["dead"]
    kinds = report["faults"]["by_kind"]
    assert {"kill", "sigterm", "kill_in_backoff", "poison", "duplicate_storm"} <= set(kinds)
    assert all(c["injected"] == c["planned"] == c["verified"] == 2 for c in kinds.values())
    assert verdict["unverified_faults"] == 0
    # poison jobs die, with a reason, and only they
    assert report["jobs"]["dead"] == 2 * 3
    assert all("permanent" in job["reason"] for job in report["jobs"]["dead_jobs"])
    assert report["latency_s"]["p50"] is not None
    assert "<svg" in svg.read_text("utf-8")
    printed = capsys.readouterr().out
    assert printed.startswith("seed 11: 12 faults planned")
    assert "verdict: clean: 0 lost, 0 duplicated, 0 unexpected (exit 0)" in printed

    # --replay with the report reproduces the same schedule
    again = tmp_path / "again.json"
    main(
        [
            "soak",
            "--reference",
            "--replay",
            str(tmp_path / "soak.json"),
            "--quiet",
            "--json",
            str(again),
        ]
    )
    assert json.loads(again.read_text("utf-8"))["plan"] == report["plan"]


def test_jobs_lost_on_kill_are_reported_with_their_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _soak(tmp_path, "--flaw", "loses_jobs_on_kill", "--drain", "4")
    assert code == 1
    lost = {job["job_id"] for job in report["jobs"]["lost_jobs"]}
    assert lost and report["verdict"]["lost"] == len(lost)
    killed_in_flight = {
        job_id
        for event in report["faults"]["events"]
        if event["kind"] in ("kill", "kill_in_backoff")
        for job_id in event["detail"]["in_flight"]
    }
    assert lost & killed_in_flight, "a job in flight under a SIGKILL must be among the lost"
    printed = capsys.readouterr().out
    assert any(f"LOST {job_id} " in printed for job_id in lost)


def test_duplicated_effects_without_idempotency_are_reported_with_their_ids(
    tmp_path: Path,
) -> None:
    code, report = _soak(tmp_path, "--flaw", "no_idempotency")
    assert code == 1
    storms = [e for e in report["faults"]["events"] if e["kind"] == "duplicate_storm"]
    assert len(storms) == 2
    duplicated = {d["probe_id"]: d for d in report["effects"]["duplicated"]}
    for storm in storms:
        found = duplicated[storm["target"]]
        # five jobs for one key, each applying the effect (a killed one may apply it again)
        assert found["count"] >= 5
        assert sorted(set(found["job_ids"])) == storm["detail"]["job_ids"]
        assert found["idempotency_keys"] == [storm["detail"]["idempotency_key"]]
