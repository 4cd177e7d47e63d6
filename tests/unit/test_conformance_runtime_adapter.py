"""The jobforge-runtime adapter: loading the user's App, and what it declares from the App."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from jobforge.conformance.adapter import Capability, JitterModel
from jobforge.conformance.frameworks import load_framework_adapter
from jobforge.conformance.frameworks.runtime import RuntimeAdapter
from jobforge.conformance.probes import PROBE_DEFAULT, PROBE_SCHEDULED, PROBE_TYPES

from jobforge.errors import ConformanceError, UsageError

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "runtime-app"

APP_MODULE = """
from pydantic import BaseModel
from jobforge_runtime import App, Catalogue, JobContext, Settings, job

class Ping(BaseModel):
    n: int

@job({name!r}, payload=Ping)
def ping(ctx: JobContext, payload: Ping) -> None:
    pass

SETTINGS = Settings(dead_letter_queue={dlq}, backoff_jitter={jitter})
APP = App(settings=SETTINGS, catalogue=Catalogue([ping]))
"""


def _module(
    tmp_path: Path, *, name: str = "pings.ping", dlq: bool = True, jitter: float = 0.25
) -> str:
    module = f"rt_app_{uuid.uuid4().hex[:8]}"
    text = APP_MODULE.format(name=name, dlq=dlq, jitter=jitter)
    (tmp_path / f"{module}.py").write_text(text, encoding="utf-8")
    return module


def _load(ref: str, search: Path) -> RuntimeAdapter:
    adapter = load_framework_adapter("jobforge-runtime", ref, search=search)
    assert isinstance(adapter, RuntimeAdapter)
    return adapter


@pytest.mark.parametrize(
    ("ref", "error", "says"),
    [
        ("rt_app_missing_colon", UsageError, "must look like 'package.module:attr'"),
        ("rt_no_such_module:APP", ConformanceError, "cannot import 'rt_no_such_module'"),
        ("{module}:NOPE", UsageError, "has no attribute 'NOPE'; name the variable holding"),
        ("{module}:SETTINGS", UsageError, "is a Settings, not a jobforge_runtime.App"),
        (
            "{module}_broken:APP",
            ConformanceError,
            "raised SettingsError: @job('pings.ping'): timeout_s=-1; use a number",
        ),
    ],
)
def test_a_bad_app_reference_fails_in_one_line_naming_the_fix(
    tmp_path: Path, ref: str, error: type[Exception], says: str
) -> None:
    module = _module(tmp_path)
    broken = APP_MODULE.format(name="pings.ping", dlq=True, jitter=0.25).replace(
        "@job(", "@job(timeout_s=-1, name="
    )
    (tmp_path / f"{module}_broken.py").write_text(broken, encoding="utf-8")
    with pytest.raises(error) as caught:
        _load(ref.format(module=module), tmp_path)
    message = str(caught.value)
    assert says in message and "\n" not in message


def test_a_job_type_with_a_probe_name_is_refused(tmp_path: Path) -> None:
    module = _module(tmp_path, name=PROBE_DEFAULT)
    with pytest.raises(UsageError, match="use the kit's reserved probe names; rename them"):
        _load(f"{module}:APP", tmp_path)


def test_the_description_is_read_from_the_apps_settings(tmp_path: Path) -> None:
    kept = _load(f"{_module(tmp_path)}:APP", tmp_path).describe()
    assert {Capability.DEAD_LETTER, Capability.REPLAY} <= kept.capabilities
    assert Capability.OWN_TESTS not in kept.capabilities  # no tests/ folder beside the app
    facts = kept.job(PROBE_DEFAULT).timing_facts
    assert facts is not None and (facts.jitter, facts.jitter_ratio) == (JitterModel.RATIO, 0.25)
    scheduled = kept.job(PROBE_SCHEDULED).timing_facts
    assert scheduled is not None and scheduled.resolution_s == 0.05  # the scheduler's pass
    assert facts.resolution_s == 0.01  # Huey's due jobs are moved every 10 ms
    assert kept.backend == "sqlite+huey"
    assert {spec.name for spec in kept.jobs} == {*PROBE_TYPES, "pings.ping"}
    bare = _load(f"{_module(tmp_path, dlq=False, jitter=0.0)}:APP", tmp_path).describe()
    assert not {Capability.DEAD_LETTER, Capability.REPLAY} & bare.capabilities
    facts = bare.job(PROBE_DEFAULT).timing_facts
    assert facts is not None and facts.jitter is JitterModel.NONE


def test_the_example_project_declares_its_jobs_schedule_and_own_tests() -> None:
    described = _load("shop_jobs.app:APP", EXAMPLE).describe()
    assert Capability.OWN_TESTS in described.capabilities
    assert described.test_cwd == EXAMPLE and described.global_concurrency == 16
    report = described.job("reports.nightly")
    assert (report.kind, report.timeout_s, report.max_attempts) == ("scheduled", 2.0, 2)
    assert (report.overlap_policy, report.missed_run_policy) == ("skip", "run_once")
    receipt = described.job("receipts.send")
    assert receipt.backoff_delays_s == (30.0, 60.0) and receipt.priority == 5
