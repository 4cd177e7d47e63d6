"""Testing: the implementation's own suite is green and exercises what matters.

It must run every job type, drive the failure paths and use the real broker.

The suite runs once per kit run (``Description.test_command`` in ``test_cwd``) with
``JOBFORGE_RECORD`` / ``JOBFORGE_RECORD_EVENTS`` set, so the job layer's calls to
:mod:`jobforge.conformance.testing_hooks` say what the tests really executed.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..adapter import Capability
from ..env import Env, Unsupported
from ..testing_hooks import EVENTS_ENV, Recording, read_events
from .base import Check, Verdict, failed, judge, passed

#: Environment variable naming the JSON summary the pytest plugin writes (recording mode).
RECORD_ENV = "JOBFORGE_RECORD"
#: Longest the own suite may run.
SUITE_TIMEOUT_S = 600.0


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


def suite_green(env: Env) -> Verdict:
    """Check that the own test command exits 0."""
    run = suite(env)
    shown = " ".join(run.command)[:120]
    if run.returncode != 0:
        return failed(f"`{shown}` exited {run.returncode}: {_last_line(run.output_tail)}")
    return passed(f"`{shown}` passed in {run.duration_s:.1f} s: {_last_line(run.output_tail)}")


def job_types_exercised(env: Env) -> Verdict:
    """Check that the tests executed a job of every catalogued type."""
    run = suite(env)
    catalogued = sorted(spec.name for spec in env.description.jobs)
    missing = [name for name in catalogued if name not in run.recording.job_types]
    findings = [f"job type {name}: never executed by the test suite" for name in missing]
    if not run.recording.events:
        findings.append(
            "the test suite recorded no events; call "
            "jobforge.conformance.testing_hooks.record_job from the job layer"
        )
    return judge(findings, f"all {len(catalogued)} job types executed by the tests")


def failure_paths_exercised(env: Env) -> Verdict:
    """Check that the tests drove retries, discards, dead letters and timeouts (as declared)."""
    wanted = {
        "retry": Capability.RETRIES,
        "discard": Capability.RETRIES,
        "dead_letter": Capability.DEAD_LETTER,
        "timeout": Capability.TIMEOUTS,
    }
    required = sorted(path for path, cap in wanted.items() if env.declares(cap))
    if not required:
        raise Unsupported("no retries, dead letters or timeouts declared")
    run = suite(env)
    findings = [
        f"failure path {path!r}: never exercised by the test suite"
        for path in required
        if path not in run.recording.failure_paths
    ]
    return judge(findings, f"failure paths exercised: {', '.join(required)}")


def real_broker_used(env: Env) -> Verdict:
    """Check that the tests ran jobs on the implementation's real backend, not a stand-in."""
    run = suite(env)
    backend = env.description.backend
    used = sorted(run.recording.brokers)
    if (backend, True) in run.recording.brokers:
        return passed(f"the tests used the real {backend!r} backend")
    if not env.description.real_broker and (backend, False) in run.recording.brokers:
        return passed(
            f"the tests used the declared {backend!r} backend; it is in-memory by design "
            "(Description.real_broker is False), so there is no other broker to use"
        )
    shown = ", ".join(f"{b}{'' if r else ' (stand-in)'}" for b, r in used) or "none recorded"
    return failed(f"the tests did not use the real {backend!r} backend; brokers used: {shown}")


CHECKS = (
    Check(
        "testing.suite_green",
        "The own test suite passes",
        suite_green,
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
