"""The testing checks judge an own suite by what its test bodies ran and asserted, end to end.

Each test writes a tiny pytest suite that reports jobs through ``testing_hooks``, declares it as
the reference's own test command and runs the testing checks on it through the runner.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobforge.conformance.adapter import Description, JobSpec
from jobforge.conformance.checks import registry
from jobforge.conformance.reference import ReferenceAdapter
from jobforge.conformance.runner import Runner

pytestmark = pytest.mark.unit

HEADER = """
from jobforge.conformance import testing_hooks

def run(job_type):
    testing_hooks.record_broker("in-process", real=False)
    testing_hooks.record_job(job_type)
    return "done"
"""


class OwnSuite(ReferenceAdapter):
    """The reference, with its own test command replaced by a suite in ``directory``.

    ``own_jobs`` are job types of its own beside the kit's probes, as a bundled adapter declares
    a user's app.
    """

    def __init__(self, directory: Path, own_jobs: tuple[JobSpec, ...] = ()) -> None:
        super().__init__()
        self.directory = directory
        self.own_jobs = own_jobs

    def describe(self) -> Description:
        command = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", ".")
        described = super().describe()
        return dataclasses.replace(
            described,
            jobs=(*described.jobs, *self.own_jobs),
            test_command=command,
            test_cwd=self.directory,
        )


@pytest.fixture
def suite_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "own"
    directory.mkdir()
    yield directory


def _testing(
    directory: Path, body: str, own_jobs: tuple[JobSpec, ...] = ()
) -> dict[str, tuple[str, tuple[str, ...]]]:
    (directory / "test_own.py").write_text(HEADER + body, encoding="utf-8")
    adapter = OwnSuite(directory, own_jobs)
    checks = [check for check in registry().values() if check.dimension == "testing"]
    try:
        results = Runner(adapter, checks=checks).run()
    finally:
        adapter.teardown()
    return {o.check_id: (o.outcome.value, o.evidence) for o in results.outcomes}


def test_a_test_that_fails_without_asserting_is_left_to_the_gate(suite_dir: Path) -> None:
    outcomes = _testing(
        suite_dir,
        """
def test_asserts():
    assert run("probe.default") == "done"

def test_crashes_after_running_a_job():
    run("probe.long")
    raise RuntimeError("replay refused")
""",
    )
    assert outcomes["testing.suite_green"][0] == "fail"
    assert outcomes["testing.asserts_what_ran"][0] == "pass", outcomes
    assert "1 failed test(s) left to the gate" in outcomes["testing.asserts_what_ran"][1][0]
    evidence = " ".join(outcomes["testing.job_types_exercised"][1])
    assert "job type probe.long: ran, but only in fixtures or in test bodies" in evidence
    assert "job type probe.default" not in evidence


def test_a_passing_test_that_runs_a_job_and_asserts_nothing_after_fails_the_check(
    suite_dir: Path,
) -> None:
    outcomes = _testing(
        suite_dir,
        """
def test_asserts():
    assert run("probe.default") == "done"

def test_only_runs():
    assert 1 + 1 == 2
    run("probe.long")

def test_asserts_nothing_that_can_fail():
    run("probe.unique")
    assert True
""",
    )
    assert outcomes["testing.suite_green"][0] == "pass"
    verdict, evidence = outcomes["testing.asserts_what_ran"]
    assert verdict == "fail"
    assert any(
        "test_only_runs: ran probe.long but asserted nothing after it" in e for e in evidence
    )
    assert any("test_asserts_nothing_that_can_fail" in e and "assert True" in e for e in evidence)


def test_a_suite_that_never_asserts_after_a_job_fails_even_when_red(suite_dir: Path) -> None:
    outcomes = _testing(
        suite_dir,
        """
def test_crashes():
    run("probe.default")
    raise RuntimeError("boom")
""",
    )
    verdict, evidence = outcomes["testing.asserts_what_ran"]
    assert (
        verdict == "fail" and "none of the 1 test bodies ran a job and then asserted" in evidence[0]
    )


def test_with_job_types_of_its_own_the_suite_need_not_run_the_kits_probes(
    suite_dir: Path,
) -> None:
    own = (JobSpec(name="emails.send", kind="immediate"),)
    ran_own = _testing(
        suite_dir,
        """
def test_sends():
    assert run("emails.send") == "done"
""",
        own,
    )
    assert ran_own["testing.job_types_exercised"][0] == "pass", ran_own
    ran_probes = _testing(
        suite_dir,
        """
def test_probe():
    assert run("probe.default") == "done"
""",
        own,
    )
    assert ran_probes["testing.job_types_exercised"][0] == "fail"
    evidence = " ".join(ran_probes["testing.job_types_exercised"][1])
    assert "job type emails.send" in evidence and "probe.long" not in evidence
