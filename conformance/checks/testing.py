"""Testing: the power of the implementation's own suite, judged apart from the code's correctness.

The suite must run every job type, drive the failure paths and use the real broker, each inside a
test body that then asserts something that can fail (:mod:`jobforge.conformance.suite_record`
states the rule). Whether the suite is green is a gate, not a level: a red suite caught a defect
the other dimensions judge, so it costs no testing points, but it fails any policy.

The suite runs once per kit run (``Description.test_command`` in ``test_cwd``) with
``JOBFORGE_RECORD`` / ``JOBFORGE_RECORD_EVENTS`` set, so the job layer's calls to
:mod:`jobforge.conformance.testing_hooks` say what ran, and the kit's pytest plugin marks each
test body and its assertions in the same events file.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from jobforge.errors import ConformanceError

from ..adapter import Capability
from ..env import Env, Unsupported
from ..probes import PROBE_TYPES
from ..suite_record import Recording, TestBody, read_events
from ..testing_hooks import EVENTS_ENV, PYCACHE_ENV
from .base import Check, Verdict, failed, judge, passed

#: Environment variable naming the JSON summary the pytest plugin writes (recording mode).
RECORD_ENV = "JOBFORGE_RECORD"
#: Longest the own suite may run.
SUITE_TIMEOUT_S = 600.0
#: pytest option that makes passing assertions visible to the kit's plugin.
ASSERTION_HOOK_OPTION = "-o enable_assertion_pass_hook=true"


@dataclass(frozen=True)
class SuiteRun:
    """The outcome of one run of the implementation's own test command."""

    command: tuple[str, ...]
    returncode: int | None  # None: it could not be started or timed out
    output_tail: str
    recording: Recording
    duration_s: float


def run_suite(command: tuple[str, ...], cwd: Path | None, timeout_s: float) -> SuiteRun:
    """Run ``command`` with test recording switched on and summarise what it exercised."""
    with tempfile.TemporaryDirectory(prefix="jobforge-record-") as tmp:
        events = Path(tmp) / "events.jsonl"
        env = dict(os.environ)
        env[RECORD_ENV] = str(Path(tmp) / "summary.json")
        env[EVENTS_ENV] = str(events)
        # Passing assertions are only reported by modules pytest rewrites with the hook on; the
        # plugin gives the pytest process a private byte-code cache, so rewrites cached without
        # the hook are not reused (worker processes keep their usual caches).
        env["PYTEST_ADDOPTS"] = f"{env.get('PYTEST_ADDOPTS', '')} {ASSERTION_HOOK_OPTION}".strip()
        env[PYCACHE_ENV] = str(Path(tmp) / "pycache")
        # The suite must not write into the kit's own run.
        for name in ("JOBFORGE_LEDGER", "JOBFORGE_RUN_ID"):
            env.pop(name, None)
        started = time.monotonic()
        try:
            done = subprocess.run(
                command,
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
            code: int | None = done.returncode
            output = (done.stdout + done.stderr)[-2000:]
        except subprocess.TimeoutExpired as exc:
            code, output = None, f"timed out after {timeout_s:g} s: {str(exc.output)[-500:]}"
        except OSError as exc:
            code, output = None, f"could not start {command[0]!r}: {exc}"
        return SuiteRun(
            command=command,
            returncode=code,
            output_tail=output,
            recording=read_events(events),
            duration_s=time.monotonic() - started,
        )


def _suite(env: Env) -> SuiteRun:
    command = tuple(env.description.test_command)
    if not command:
        raise Unsupported("the implementation declares no test_command")
    return run_suite(command, env.description.test_cwd, SUITE_TIMEOUT_S)


def suite(env: Env) -> SuiteRun:
    """Return the run of the own suite, shared by the testing checks."""
    return env.shared("testing.suite", _suite)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(no output)"


_NOT_OBSERVED = (
    "the kit saw no test body: it measures the suite through its pytest plugin, so run the "
    "suite with pytest in an environment where jobforge is installed (its `pytest11` plugin "
    "must not be disabled with -p no:jobforge)"
)


def _observed(run: SuiteRun) -> Recording:
    """Return the recording, or raise when the kit could not see the suite's assertions."""
    recording = run.recording
    if recording.sessions and not recording.assertion_hook:
        raise ConformanceError(
            "pytest ran the own suite without enable_assertion_pass_hook, so the kit could not "
            f"see its assertions; keep {ASSERTION_HOOK_OPTION!r} in PYTEST_ADDOPTS"
        )
    return recording


def suite_green(env: Env) -> Verdict:
    """Gate: the own test command exits 0. A red suite fails the gate, never the levels."""
    run = suite(env)
    shown = " ".join(run.command)[:120]
    if run.returncode == 0:
        return passed(f"`{shown}` passed in {run.duration_s:.1f} s: {_last_line(run.output_tail)}")
    findings = [f"`{shown}` exited {run.returncode}: {_last_line(run.output_tail)}"]
    caught = [t.test for t in run.recording.tests if t.caught]
    if caught:
        findings.append(
            f"{len(caught)} test(s) failed an assertion, i.e. caught a defect: "
            f"{', '.join(caught[:5])}; the other dimensions say which behaviour is wrong"
        )
    findings.append(
        "a red suite costs no testing points (the suite's power is judged by the other testing "
        "checks) but fails any policy gate"
    )
    return failed(*findings)


def _why_not_counted(thing: str, seen: bool, what: str = "job") -> str:
    if not seen:
        return f"{thing}: never executed by the test suite"
    return (
        f"{thing}: ran, but only in fixtures or in test bodies that asserted nothing that can "
        f"fail after the {what} ran"
    )


def asserts_what_ran(env: Env) -> Verdict:
    """Check that every passing test body that runs jobs asserts something that can fail after.

    A test that failed (on an assertion or otherwise) is no finding here: it has shown it can
    fail, and the gate ``testing.suite_green`` reports it, so a red suite never costs more here
    than a green one. Its jobs count only when it asserted after them (see ``suite_record``).
    """
    recording = _observed(suite(env))
    if not recording.tests:
        return failed(_NOT_OBSERVED)
    running = [t for t in recording.tests if t.job_types]
    asserted = [t for t in running if t.counted]
    if not asserted:
        return failed(
            f"none of the {len(recording.tests)} test bodies ran a job and then asserted "
            f"something that can fail ({len(running)} ran jobs; jobs in fixtures do not count)",
            *(_unasserted(t) for t in running[:5]),
        )
    findings = [_unasserted(t) for t in running if not t.counted and t.outcome == "passed"]
    failing = sum(t.outcome == "failed" for t in running)
    return judge(
        findings,
        f"{len(asserted)} test bodies ran jobs and then asserted something that can fail "
        f"({sum(t.assertions for t in running)} passing assertions, "
        f"{sum(t.caught for t in running)} caught a defect); {failing} failed test(s) left to "
        "the gate",
    )


def _unasserted(body: TestBody) -> str:
    ran = ", ".join(body.job_types)
    if body.empty_assertions:
        return (
            f"test {body.test}: ran {ran}; its only assertions after that cannot fail "
            f"({'; '.join(body.empty_assertions[:2])})"
        )
    if body.outcome == "failed":
        return f"test {body.test}: ran {ran}, then failed before asserting anything about it"
    return f"test {body.test}: ran {ran} but asserted nothing after it"


def job_types_exercised(env: Env) -> Verdict:
    """Check that test bodies ran a job of every catalogued type and asserted about it.

    The catalogue is the implementation's own job types; the kit's probe types count only for
    an implementation that declares nothing else (a bundled adapter adds them to a user's app,
    whose suite cannot know them).
    """
    recording = _observed(suite(env))
    every = [spec.name for spec in env.description.jobs]
    catalogued = sorted([name for name in every if name not in PROBE_TYPES] or every)
    findings = [
        _why_not_counted(f"job type {name}", name in recording.seen_job_types)
        for name in catalogued
        if name not in recording.job_types
    ]
    if not recording.events:
        findings.append(
            "the test suite recorded no events; call "
            "jobforge.conformance.testing_hooks.record_job from the job layer"
        )
    elif not recording.tests:
        findings.append(_NOT_OBSERVED)
    return judge(findings, f"all {len(catalogued)} job types run and asserted about in tests")


def failure_paths_exercised(env: Env) -> Verdict:
    """Check that tests drove retries, discards, dead letters and timeouts (as declared)."""
    wanted = {
        "retry": Capability.RETRIES,
        "discard": Capability.RETRIES,
        "dead_letter": Capability.DEAD_LETTER,
        "timeout": Capability.TIMEOUTS,
    }
    required = sorted(path for path, cap in wanted.items() if env.declares(cap))
    if not required:
        raise Unsupported("no retries, dead letters or timeouts declared")
    recording = _observed(suite(env))
    findings = [
        _why_not_counted(f"failure path {path!r}", path in recording.seen_failure_paths, "failure")
        for path in required
        if path not in recording.failure_paths
    ]
    if not recording.tests:
        findings.append(_NOT_OBSERVED)
    return judge(findings, f"failure paths exercised and asserted about: {', '.join(required)}")


def real_broker_used(env: Env) -> Verdict:
    """Check that test bodies ran jobs on the real backend, not a stand-in, and asserted."""
    recording = _observed(suite(env))
    backend = env.description.backend
    if (backend, True) in recording.brokers:
        return passed(f"test bodies ran jobs on the real {backend!r} backend and asserted")
    if not env.description.real_broker and (backend, False) in recording.brokers:
        return passed(
            f"test bodies ran jobs on the declared {backend!r} backend and asserted; it is "
            "in-memory by design (Description.real_broker is False), so there is no other "
            "broker to use"
        )
    counted = ", ".join(f"{b}{'' if r else ' (stand-in)'}" for b, r in sorted(recording.brokers))
    seen = ", ".join(f"{b}{'' if r else ' (stand-in)'}" for b, r in sorted(recording.seen_brokers))
    findings = [
        f"no test body ran a job on the real {backend!r} backend and then asserted; brokers of "
        f"asserted jobs: {counted or 'none'}; brokers used anywhere: {seen or 'none recorded'}"
    ]
    if not recording.tests:
        findings.append(_NOT_OBSERVED)
    return failed(*findings)


CHECKS = (
    Check(
        "testing.suite_green",
        "The own test suite passes",
        suite_green,
        requires=(Capability.OWN_TESTS,),
        budget_s=SUITE_TIMEOUT_S + 30,
    ),
    Check(
        "testing.asserts_what_ran",
        "Test bodies assert about the jobs they run",
        asserts_what_ran,
        requires=(Capability.OWN_TESTS,),
        budget_s=SUITE_TIMEOUT_S + 30,
    ),
    Check(
        "testing.job_types_exercised",
        "Every job type is exercised by the tests",
        job_types_exercised,
        requires=(Capability.OWN_TESTS,),
        budget_s=SUITE_TIMEOUT_S + 30,
    ),
    Check(
        "testing.failure_paths_exercised",
        "Failure paths are exercised by the tests",
        failure_paths_exercised,
        requires=(Capability.OWN_TESTS,),
        budget_s=SUITE_TIMEOUT_S + 30,
    ),
    Check(
        "testing.real_broker_used",
        "The tests use the real broker",
        real_broker_used,
        requires=(Capability.OWN_TESTS,),
        budget_s=SUITE_TIMEOUT_S + 30,
    ),
)
