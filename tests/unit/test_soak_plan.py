"""The soak plan is a pure function of its seed; reports match their schema; the SVG is built."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from jobforge.conformance import probes
from jobforge.conformance.adapter import Capability
from jobforge.conformance.soak.plan import (
    FaultKind,
    SoakConfig,
    applicable,
    check_replay,
    make_plan,
    replay_config,
)
from jobforge.conformance.soak.report import SCHEMA_PATH
from jobforge.conformance.soak.timeline import render

from jobforge.errors import UsageError

pytestmark = pytest.mark.unit

TYPES = set(probes.PROBE_TYPES)
ALL = tuple(FaultKind)


def test_same_seed_same_jobs_and_schedule_other_seed_other_schedule() -> None:
    config = SoakConfig(seed=42, jobs=300, duration_s=30.0, faults_per_kind=3)
    one = make_plan(config, kinds=ALL, job_types=TYPES, keyed=True)
    two = make_plan(config, kinds=ALL, job_types=TYPES, keyed=True)
    other = make_plan(
        SoakConfig(seed=43, jobs=300, duration_s=30.0, faults_per_kind=3),
        kinds=ALL,
        job_types=TYPES,
        keyed=True,
    )
    assert one == two
    assert one.faults != other.faults


def test_every_applicable_kind_gets_its_count_inside_the_window() -> None:
    config = SoakConfig(seed=1, jobs=100, duration_s=10.0, faults_per_kind=4)
    plan = make_plan(config, kinds=ALL, job_types=TYPES, keyed=False)
    for kind in ALL:
        assert sum(1 for f in plan.faults if f.kind is kind) == 4
    assert all(0.5 <= f.at_s <= 9.5 for f in plan.faults)
    assert [f.at_s for f in plan.faults] == sorted(f.at_s for f in plan.faults)
    assert all(j.idempotency_key is None for j in plan.jobs)  # keyed=False


def test_capabilities_decide_the_fault_kinds() -> None:
    caps = {Capability.KILL_WORKER, Capability.RETRIES, Capability.BROKER_RESTART}
    assert applicable(caps, broker_seam=False) == (
        FaultKind.KILL,
        FaultKind.KILL_IN_BACKOFF,
        FaultKind.POISON,
    )
    assert FaultKind.BROKER_RESTART in applicable(caps, broker_seam=True)
    scheduler = {Capability.SCHEDULER}
    assert FaultKind.SCHEDULER_KILL in applicable(scheduler, broker_seam=False)
    without = applicable(scheduler, broker_seam=False, job_types={probes.PROBE_DEFAULT})
    assert FaultKind.SCHEDULER_KILL not in without


def test_missing_probe_types_fall_back_to_plain_jobs() -> None:
    config = SoakConfig(seed=3, jobs=200, duration_s=10.0, faults_per_kind=0)
    plan = make_plan(config, kinds=(), job_types={probes.PROBE_DEFAULT}, keyed=False)
    assert {j.job_type for j in plan.jobs} == {probes.PROBE_DEFAULT}
    with pytest.raises(UsageError, match=r"no 'probe\.default'"):
        make_plan(config, kinds=(), job_types={probes.PROBE_LONG}, keyed=False)


def test_replay_reads_back_the_saved_plan_and_refuses_a_different_one() -> None:
    config = SoakConfig(seed=9, jobs=50, duration_s=5.0, faults_per_kind=2)
    plan = make_plan(config, kinds=ALL, job_types=TYPES, keyed=True)
    saved = json.loads(json.dumps(plan.to_json()))
    again, faults = replay_config(saved)
    assert again == config
    check_replay(make_plan(again, kinds=ALL, job_types=TYPES, keyed=True), faults)
    fewer = make_plan(again, kinds=ALL[:2], job_types=TYPES, keyed=True)
    with pytest.raises(UsageError, match="replay against the same adapter"):
        check_replay(fewer, faults)
    with pytest.raises(UsageError, match="--replay: the report's plan is not readable"):
        replay_config({"config": {"seed": 1}})


def test_bad_sizes_are_refused_naming_the_field() -> None:
    with pytest.raises(UsageError, match="soak storm_size is 1; give at least 2"):
        SoakConfig(seed=1, storm_size=1)


def test_schema_is_valid_and_rejects_a_report_without_a_verdict() -> None:
    schema = json.loads(Path(SCHEMA_PATH).read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema_version": 1}, schema)


def test_timeline_svg_is_well_formed_and_marks_each_fault() -> None:
    document = {
        "implementation": {"name": "x"},
        "plan": {"kinds": ["kill", "poison"]},
        "verdict": {"lost": 0, "duplicated": 0, "unexpected": 0},
        "throughput": {
            "bucket_s": 1.0,
            "buckets": [
                {"start_s": 0.0, "completed": 3, "open_jobs": 2, "peak_open_jobs": 4},
                {"start_s": 1.0, "completed": 2, "open_jobs": 0, "peak_open_jobs": 2},
            ],
        },
        "faults": {
            "events": [
                {"kind": "kill", "at_s": 0.5, "verified": True},
                {"kind": "poison", "at_s": 1.2, "verified": False},
            ]
        },
    }
    svg = render(document)  # type: ignore[arg-type]
    root = ET.fromstring(svg)
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert titles == ["kill at 0.50 s", "poison at 1.20 s"]
    assert "0 lost, 0 duplicated, 0 unexpected" in svg
    legend = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "kill" in legend and "poison" in legend and "sigterm" not in legend
