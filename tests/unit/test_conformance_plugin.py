"""The pytest plugin stays silent unless asked, records test sessions, and runs checks as items."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from jobforge.conformance import suite_record, testing_hooks

pytestmark = pytest.mark.unit
pytest_plugins = ["pytester"]

RECORDING_TEST = """
import pytest
from jobforge.conformance import testing_hooks

def run(job_type):
    testing_hooks.record_broker("in-process", real=False)
    testing_hooks.record_job(job_type)
    return "done"

@pytest.fixture
def ran_in_fixture():
    return run("fixture.only")

def test_runs_and_asserts():
    assert run("asserted") == "done"
    assert len("x") == 1
    testing_hooks.record_failure_path("retry", job_type="asserted")

def test_asserts_on_a_fixture_job(ran_in_fixture):
    assert ran_in_fixture == "done"

def test_runs_without_asserting():
    run("silent")

def test_runs_and_asserts_nothing_that_can_fail():
    run("empty")
    assert True
    assert run is run

def test_catches_a_defect():
    assert run("caught") == "wrong"

def test_gives_up_with_an_imperative_xfail():
    run("xfailed")
    pytest.xfail("a known defect is not a caught one")
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


def _record(pytester: pytest.Pytester, summary: Path, *options: str) -> pytest.RunResult:
    pytester.makepyfile(RECORDING_TEST)
    saved = os.environ.pop("JOBFORGE_RECORD_EVENTS", None)
    try:
        return pytester.runpytest_inprocess(
            "-p", "no:cacheprovider", "--jobforge-record", str(summary), *options
        )
    finally:
        if saved is not None:
            os.environ["JOBFORGE_RECORD_EVENTS"] = saved


def test_record_option_counts_only_jobs_a_test_body_asserted_about(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.json"
    result = _record(pytester, summary, "-o", "enable_assertion_pass_hook=true")
    result.assert_outcomes(passed=4, failed=1, xfailed=1)
    data = json.loads(summary.read_text())
    assert data["job_types"] == ["asserted", "caught"]
    assert data["seen_job_types"] == [
        "asserted",
        "caught",
        "empty",
        "fixture.only",
        "silent",
        "xfailed",
    ]
    assert data["failure_paths"] == []  # recorded after the body's last assertion
    assert data["brokers"] == [{"backend": "in-process", "real": False}]
    assert data["caught"] == [
        "test_record_option_counts_only_jobs_a_test_body_asserted_about.py::test_catches_a_defect"
    ]
    assert data["tests"] == {"passed": 4, "failed": 1, "skipped": 1} and data["exitstatus"] == 1
    assert "JOBFORGE_RECORD_EVENTS" not in os.environ
    recording = suite_record.read_events(Path(f"{summary}.events.jsonl"))
    bodies = {t.test.split("::")[1]: t for t in recording.tests}
    assert bodies["test_runs_and_asserts"].assertions == 2
    assert bodies["test_runs_and_asserts_nothing_that_can_fail"].empty_assertions == (
        "line 26: assert True",
        "line 27: assert run is run",
    )
    assert not bodies["test_runs_without_asserting"].counted
    xfailed = bodies["test_gives_up_with_an_imperative_xfail"]
    assert (xfailed.outcome, xfailed.caught, xfailed.counted) == ("skipped", False, False)
    assert recording.assertion_hook


def test_record_without_the_assertion_hook_says_so(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.json"
    _record(pytester, summary).assert_outcomes(passed=4, failed=1, xfailed=1)
    recording = suite_record.read_events(Path(f"{summary}.events.jsonl"))
    assert recording.sessions == 1 and not recording.assertion_hook


def test_jobforge_option_runs_checks_as_items(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(
        "--jobforge", "--jobforge-reference", "-k", "health or structured_logs", "-v"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*collected 40 items / 38 deselected / 2 selected",
            "*jobforge*observability*health PASSED*",
            "*jobforge conformance*",
            "observability *",
            "total 1?/5 (partial run (1 of 7 dimensions: observability); no band)",
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


def test_a_rewrite_cached_without_the_assertion_hook_does_not_hide_assertions(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        "from jobforge.conformance import testing_hooks\n"
        "def test_runs_and_asserts():\n"
        "    testing_hooks.record_job('a')\n"
        "    assert len('x') == 1\n"
    )
    monkeypatch.delenv("JOBFORGE_RECORD_EVENTS", raising=False)
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    hook = ("-o", "enable_assertion_pass_hook=true")

    def job_types(name: str, *options: str) -> list[str]:
        summary = tmp_path / f"{name}.json"
        result = pytester.runpytest_subprocess("--jobforge-record", str(summary), *options)
        result.assert_outcomes(passed=1)
        found: list[str] = json.loads(summary.read_text())["job_types"]
        return found

    assert job_types("plain") == []  # no hook: pytest caches a rewrite without it
    assert job_types("stale", *hook) == []  # the cached rewrite hides the assertion
    monkeypatch.setenv(testing_hooks.PYCACHE_ENV, str(tmp_path / "pycache"))
    assert job_types("private", *hook) == ["a"]
