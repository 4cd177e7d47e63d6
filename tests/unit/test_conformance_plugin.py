"""The pytest plugin stays silent unless asked, records test sessions, and runs checks as items."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
pytest_plugins = ["pytester"]

RECORDING_TEST = """
from jobforge.conformance import testing_hooks

def test_job_runs():
    testing_hooks.record_broker("in-process", real=False)
    testing_hooks.record_job("probe.default")
    testing_hooks.record_failure_path("retry", job_type="probe.default")

def test_other():
    pass
"""


def test_plugin_is_inactive_and_light_without_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "import os, sys\n"
        "def test_env():\n"
        "    assert 'JOBFORGE_RECORD_EVENTS' not in os.environ\n"
        "    assert 'jobforge.conformance.plugin' in sys.modules\n"
        "    heavy = [m for m in sys.modules if m.startswith(('jobforge.rubric', 'rich',\n"
        "             'jobforge.conformance.runner', 'jobforge.conformance.checks'))]\n"
        "    assert heavy == []\n"
    )
    env_saved = {
        k: os.environ.pop(k)
        for k in ("JOBFORGE_RECORD", "JOBFORGE_RECORD_EVENTS")
        if k in os.environ
    }
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    finally:
        os.environ.update(env_saved)
    result.assert_outcomes(passed=1)
    assert "jobforge conformance" not in result.stdout.str()


def test_record_option_writes_a_summary(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(RECORDING_TEST)
    summary = tmp_path / "summary.json"
    saved = os.environ.pop("JOBFORGE_RECORD_EVENTS", None)
    try:
        result = pytester.runpytest_inprocess("--jobforge-record", str(summary))
    finally:
        if saved is not None:
            os.environ["JOBFORGE_RECORD_EVENTS"] = saved
    result.assert_outcomes(passed=2)
    data = json.loads(summary.read_text())
    assert data["job_types"] == ["probe.default"]
    assert data["failure_paths"] == ["retry"]
    assert data["brokers"] == [{"backend": "in-process", "real": False}]
    assert data["tests"]["passed"] == 2 and data["exitstatus"] == 0
    assert "JOBFORGE_RECORD_EVENTS" not in os.environ


def test_jobforge_option_runs_checks_as_items(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(
        "--jobforge", "--jobforge-reference", "-k", "health or structured_logs", "-v"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*collected 39 items / 37 deselected / 2 selected",
            "*jobforge*observability*health PASSED*",
            "*jobforge conformance*",
            "observability *",
            "partial run (1 of 7 dimensions): no total*",
        ]
    )


def test_failing_check_item_shows_evidence(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(
        "--jobforge", "--jobforge-reference", "--jobforge-flaw", "no_progress", "-k", "progress"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*observability.progress: fail: job *no progress between 0 and 1*"]
    )


def test_unloadable_adapter_items_error_as_inconclusive(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(
        "--jobforge", "--jobforge-adapter", "nosuch_mod_z:A", "-k", "health"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*inconclusive: cannot import adapter module 'nosuch_mod_z'*"])
