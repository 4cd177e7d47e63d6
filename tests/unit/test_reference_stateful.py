"""A model-based test of the reference engine: random submissions, duplicates, kills, replays."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from jobforge.conformance.adapter import JobSpec, JobStatus, JSONObject
from jobforge.conformance.reference.context import AttemptAbandoned, JobContext
from jobforge.conformance.reference.engine import JobSystem
from jobforge.conformance.reference.harness import wait_until
from jobforge.conformance.reference.retry import PermanentJobError
from jobforge.conformance.reference.worker import Worker

pytestmark = pytest.mark.unit

SPEC = JobSpec(
    name="work", kind="immediate", max_attempts=3, backoff_delays_s=(0.01,), timeout_s=1.0
)


class Flaky(Exception):
    """A transient failure."""


class Body:
    """Runs a job's plan and records what each attempt did."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: dict[str, list[str]] = defaultdict(list)
        self.effects: Counter[str] = Counter()

    def __call__(self, payload: JSONObject, ctx: JobContext) -> None:
        outcome = "abandoned"
        try:
            if ctx.claim_effect("e"):
                with self.lock:
                    self.effects[str(payload["scope"])] += 1
            time.sleep(0.01)
            ctx.should_stop()
            if payload["permanent"]:
                outcome = "permanent"
                raise PermanentJobError("bad input")
            if ctx.attempt <= int(str(payload["fails"])):
                outcome = "transient"
                raise Flaky("try again")
            outcome = "ok"
        except AttemptAbandoned:
            outcome = "abandoned"
            raise
        finally:
            with self.lock:
                self.outcomes[ctx.job_id].append(outcome)


class ReferenceMachine(RuleBasedStateMachine):
    """Drive one JobSystem with two workers; check its promises after every step and at the end."""

    def __init__(self) -> None:
        super().__init__()
        self.body = Body()
        self.system = JobSystem(catalogue=(SPEC,), handler=self.body, lease_s=0.15)
        self.workers = [Worker(f"w{i}", self.system, 2) for i in range(2)]
        for worker in self.workers:
            worker.start()
        self.jobs: set[str] = set()
        self.scope_of: dict[str, str] = {}
        self.replayed: set[str] = set()
        self.count = 0

    @rule(
        fails=st.integers(0, 4),
        permanent=st.booleans(),
        key=st.sampled_from([None, "a", "b"]),
    )
    def submit(self, fails: int, permanent: bool, key: str | None) -> None:
        self.count += 1
        scope = key or f"job{self.count}"
        payload: JSONObject = {"fails": fails, "permanent": permanent, "scope": scope}
        job_id = self.system.submit("work", payload, idempotency_key=key)
        if key is not None and key in self.scope_of.values():
            assert job_id in self.jobs, "a duplicate key must return the first job"
        self.jobs.add(job_id)
        self.scope_of.setdefault(job_id, scope)

    @rule(index=st.integers(0, 1))
    def kill_and_replace(self, index: int) -> None:
        if len(self.workers) >= 6:
            return  # enough threads for one example
        live = [w for w in self.workers if not w.killed]
        live[index % len(live)].kill()
        replacement = Worker(f"w{len(self.workers)}", self.system, 2)
        replacement.start()
        self.workers.append(replacement)

    @rule()
    def replay_one(self) -> None:
        letters = self.system.dead_letters()
        if letters:
            dead = letters[0].job_id
            new = self.system.replay(dead)
            self.replayed.add(dead)
            self.jobs.add(new)
            self.scope_of[new] = self.scope_of[dead]

    @invariant()
    def attempts_never_exceed_the_max(self) -> None:
        for job_id in self.jobs:
            assert self.system.inspect(job_id).attempts <= SPEC.max_attempts

    def teardown(self) -> None:
        try:
            wait_until(
                lambda: all(self.system.is_finished(j) for j in self.jobs),
                timeout_s=10,
                what="every job to finish",
            )
            self.check_final_state()
        finally:
            for worker in self.workers:
                worker.kill()
            for worker in self.workers:
                worker.join(2.0)

    def check_final_state(self) -> None:
        """Every attempt was settled once, consistently with what its body did."""
        records = self.system.log.records()
        settled = {
            (r["job_id"], r["attempt"]): r
            for r in records
            if r["event"] in ("completed", "failed", "timeout")
        }
        dead = set()
        for job_id in self.jobs:
            info = self.system.inspect(job_id)
            outcomes = self.body.outcomes[job_id]
            assert info.attempts == len(outcomes), (job_id, info, outcomes)
            for number, outcome in enumerate(outcomes, start=1):
                record = settled[(job_id, number)]  # KeyError: an attempt never settled
                kind = record.get("error_kind")
                if record["event"] == "completed":
                    assert outcome == "ok"
                elif kind != "lost":  # a lost attempt's body may have done anything
                    assert outcome == kind, (job_id, number, outcome, record)
                if kind == "permanent":
                    assert number == len(outcomes), f"job {job_id}: retried a permanent error"
            last = settled[(job_id, len(outcomes))]
            assert (info.status is JobStatus.COMPLETED) == (last["event"] == "completed")
            if info.status is JobStatus.DEAD:
                dead.add(job_id)
        assert {d.job_id for d in self.system.dead_letters()} == dead - self.replayed
        for scope in set(self.scope_of.values()):
            assert self.body.effects[scope] <= 1, f"effect of {scope} applied twice"
        kinds = {str(r.get("error_kind")) for r in settled.values()}
        for kind in sorted(kinds - {"None"}):
            event(f"an attempt failed {kind}")
        events = Counter(str(r["event"]) for r in records)
        metrics = self.system.snapshot_metrics()
        assert metrics["jobs_enqueued_total"] == len(self.jobs) == events["enqueued"]
        assert metrics["jobs_started_total"] == len(settled) == events["started"]
        assert metrics["jobs_completed_total"] == events["completed"]
        assert metrics["jobs_failed_total"] == events["failed"] + events["timeout"]
        assert metrics["jobs_dead_total"] == len(dead)


TestReferenceMachine = ReferenceMachine.TestCase
TestReferenceMachine.settings = settings(
    max_examples=8,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
