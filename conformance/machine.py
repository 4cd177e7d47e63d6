"""A hypothesis state machine: random workloads and faults, then the history's invariants.

The fixed checks prove each property with one planned workload; the machine looks for the
combinations nobody planned: submissions of every failure kind, duplicates, killed workers and
replays, interleaved in any order. After each example it drains every job and checks, on the
recorded history, that:

* no job is lost (every job ends COMPLETED or DEAD, and a replayed job ends COMPLETED);
* no effect is applied twice (duplicates share the effect key and the idempotency key);
* no job is attempted more often than declared, nor a permanent failure retried.

Use it like hypothesis' own provider conformance test::

    from jobforge.conformance.machine import run_conformance_machine
    run_conformance_machine(MyAdapter, max_examples=10)

It runs with a fast timing scale (short backoff, short lease) because it judges correctness,
not timing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)

from . import faults
from .adapter import Adapter, Capability, JobStatus, JSONObject, RunContext, Timing
from .checkers import attempts_by_job, duplicated_effects
from .env import TERMINAL, Env, Guarded, WorkerPool
from .history import LEDGER_ENV, OUTCOME_PERMANENT, RUN_ID_ENV, Ledger
from .probes import HEAL_EVENT, PROBE_DEFAULT

#: The machine's timing: correctness, not timing, is under test here.
MACHINE_TIMING = Timing(
    backoff_base_s=0.02, backoff_cap_s=0.08, max_attempts=3, timeout_s=1.0, lease_s=0.6
)
_FAILS: dict[str, dict[int | str, str]] = {
    "ok": {},
    "transient_once": {1: "transient"},
    "always_transient": {"*": "transient"},
    "permanent": {"*": "permanent"},
}


#: Which rubric check each kind of finding refutes.
FINDING_CHECKS: dict[str, str] = {
    "lost": "scalability.sigkill_recovery",
    "replay": "error_handling.replay",
    "duplicate_effect": "idempotency.duplicate_submit",
    "attempts": "error_handling.max_attempts",
    "permanent_retried": "error_handling.permanent_not_retried",
}


@dataclass(frozen=True)
class Finding:
    """One broken invariant: its kind (a key of :data:`FINDING_CHECKS`) and the evidence."""

    kind: str
    text: str


class InvariantViolation(AssertionError):
    """The history of one example broke invariants; ``findings`` lists them."""

    def __init__(self, findings: tuple[Finding, ...]) -> None:
        self.findings = findings
        super().__init__("\n".join(f.text for f in findings))


@dataclass(frozen=True)
class Submitted:
    """A job the machine submitted (a bundle value)."""

    job_id: str
    payload: JSONObject
    key: str | None
    kind: str


def machine_for(factory: Callable[[], Adapter], timing: Timing = MACHINE_TIMING) -> type[Any]:
    """Build the state machine class driving adapters made by ``factory``."""

    class ConformanceMachine(RuleBasedStateMachine):
        jobs = Bundle("jobs")

        def __init__(self) -> None:
            super().__init__()
            self.workdir = Path(tempfile.mkdtemp(prefix="jobforge-machine-"))
            self.ledger = Ledger(self.workdir / "ledger.db", run_id=f"m-{time.time_ns()}")
            self.ledger.initialize()
            self.saved = {name: os.environ.get(name) for name in (LEDGER_ENV, RUN_ID_ENV)}
            os.environ[LEDGER_ENV] = str(self.ledger.path)
            os.environ[RUN_ID_ENV] = self.ledger.run_id
            self.raw = factory()
            self.adapter = Guarded(self.raw)
            self.adapter.call(
                "setup",
                RunContext(
                    ledger_path=self.ledger.path,
                    workdir=self.workdir,
                    timing=timing,
                    run_id=self.ledger.run_id,
                ),
            )
            self.description = self.adapter.call("describe")
            self.pool = WorkerPool(self.adapter)
            self.pool.start(2)
            self.env = Env(
                adapter=self.adapter,
                ledger=self.ledger,
                description=self.description,
                timing=timing,
                pool=self.pool,
                scope="machine",
                shared_cache={},
            )
            self.submitted: list[str] = []
            self.replayed: list[str] = []
            self.replayed_from: set[str] = set()
            self.killed: set[str] = set()

        def _declares(self, capability: Capability) -> bool:
            return capability in self.description.capabilities

        @rule(target=jobs, kind=st.sampled_from(sorted(_FAILS)), keyed=st.booleans())
        def submit(self, kind: str, keyed: bool) -> Submitted:
            payload = self.env.probe(PROBE_DEFAULT, fail=_FAILS[kind], healable=True)
            payload["effect"] = f"{payload['probe_id']}:effect"
            key = f"{self.ledger.run_id}:{payload['probe_id']}" if keyed else None
            job_id = self.env.submit(PROBE_DEFAULT, payload, idempotency_key=key)
            self.submitted.append(job_id)
            return Submitted(job_id, payload, key, kind)

        @precondition(lambda self: self._declares(Capability.IDEMPOTENCY_KEYS))
        @rule(job=jobs)
        def duplicate(self, job: Submitted) -> None:
            if job.key is None:
                return
            self.submitted.append(
                self.env.submit(PROBE_DEFAULT, job.payload, idempotency_key=job.key)
            )

        @precondition(lambda self: self._declares(Capability.KILL_WORKER))
        @rule()
        def kill_worker(self) -> None:
            victim = self.pool.workers[0]
            self.killed.add(victim)
            faults.kill_worker(self.env, victim)
            self.pool.start(1)

        @precondition(
            lambda self: (
                self._declares(Capability.REPLAY) and self._declares(Capability.DEAD_LETTER)
            )
        )
        @rule(job=jobs)
        def replay(self, job: Submitted) -> None:
            dead = {d.job_id for d in self.adapter.dead_letters()}
            if job.job_id not in dead or job.job_id in self.replayed_from:
                return  # only a job in the dead-letter queue, and only once
            self.replayed_from.add(job.job_id)
            self.env.note(HEAL_EVENT, str(job.payload["probe_id"]))
            self.replayed.append(self.adapter.replay(job.job_id))

        @rule(seconds=st.sampled_from([0.0, 0.05, 0.2]))
        def wait(self, seconds: float) -> None:
            time.sleep(seconds)

        def teardown(self) -> None:
            try:
                self._judge()
            finally:
                try:
                    self.pool.stop_schedulers()
                    self.adapter.call("teardown")
                finally:
                    for name, value in self.saved.items():
                        if value is None:
                            os.environ.pop(name, None)
                        else:
                            os.environ[name] = value
                    shutil.rmtree(self.workdir, ignore_errors=True)

        def _judge(self) -> None:
            ids = self.submitted + self.replayed
            if not ids:
                return
            deadline = timing.max_attempts * (timing.backoff_cap_s + timing.timeout_s)
            infos = self.env.drain(ids, deadline + timing.lease_s * 3 + 5.0)
            hist = self.ledger.read("machine")
            findings = [
                Finding("lost", f"job {j}: still {i.status.value} after the drain")
                for j, i in sorted(infos.items())
                if i.status not in TERMINAL
            ]
            findings += [
                Finding("replay", f"replayed job {j}: {infos[j].status.value}, expected COMPLETED")
                for j in self.replayed
                if infos[j].status in TERMINAL and infos[j].status is not JobStatus.COMPLETED
            ]
            if self._declares(Capability.IDEMPOTENCY_KEYS):
                findings += [
                    Finding("duplicate_effect", t) for t in duplicated_effects(hist.effects)
                ]
            limit = self.description.job(PROBE_DEFAULT).max_attempts
            for job_id, attempts in attempts_by_job(hist).items():
                if job_id in self.replayed or any(a.worker in self.killed for a in attempts):
                    continue  # a crash before the acknowledgement legitimately adds attempts
                finished = [a for a in attempts if not a.crashed]
                if len(finished) > limit:
                    findings.append(
                        Finding(
                            "attempts",
                            f"job {job_id}: {len(finished)} attempts, declared max {limit}",
                        )
                    )
                permanent = [a for a in finished if a.outcome == OUTCOME_PERMANENT]
                if len(permanent) > 1:
                    findings.append(
                        Finding(
                            "permanent_retried",
                            f"job {job_id}: permanent failure retried {len(permanent)} times",
                        )
                    )
            if findings:
                raise InvariantViolation(tuple(findings))

    return ConformanceMachine


def run_conformance_machine(
    factory: Callable[[], Adapter],
    *,
    max_examples: int = 10,
    steps: int = 8,
    derandomize: bool = True,
    shrink: bool = True,
    timing: Timing = MACHINE_TIMING,
) -> None:
    """Run the state machine against adapters from ``factory``.

    Raises :class:`InvariantViolation` (an ``AssertionError``) for the first, shrunk, example
    that broke an invariant.
    """
    machine = machine_for(factory, timing)
    try:
        _run(machine, max_examples, steps, derandomize, shrink)
    except BaseExceptionGroup as group:  # e.g. FlakyFailure: the replay of a timing-bound
        violation = _first_violation(group)  # example differed, but the violation was seen
        if violation is None:
            raise
        raise violation from group


def _first_violation(group: BaseExceptionGroup[BaseException]) -> InvariantViolation | None:
    for exc in group.exceptions:
        if isinstance(exc, InvariantViolation):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            found = _first_violation(exc)
            if found is not None:
                return found
    return None


def _run(
    machine: type[Any], max_examples: int, steps: int, derandomize: bool, shrink: bool
) -> None:
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            derandomize=derandomize,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
            report_multiple_bugs=False,
            phases=tuple(Phase) if shrink else (Phase.explicit, Phase.generate),
        ),
    )


def campaign(
    factory: Callable[[], Adapter], *, max_examples: int, steps: int = 12
) -> tuple[Finding, ...]:
    """Run a fault campaign (the machine, random seeds) and return what it found (no raise)."""
    try:
        run_conformance_machine(factory, max_examples=max_examples, steps=steps, derandomize=False)
    except InvariantViolation as exc:
        return exc.findings
    return ()
