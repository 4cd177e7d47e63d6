"""The reference job system's engine: retries, backoff, dead letters, replay, timeouts, leases."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from jobforge.conformance.adapter import JobSpec, JobStatus, JSONObject
from jobforge.conformance.reference.config import Behaviour
from jobforge.conformance.reference.context import JobContext
from jobforge.conformance.reference.engine import Handler, JobSystem
from jobforge.conformance.reference.harness import wait_until
from jobforge.conformance.reference.records import Claim
from jobforge.conformance.reference.retry import PermanentJobError
from jobforge.conformance.reference.worker import Worker

from jobforge.errors import UsageError

pytestmark = pytest.mark.unit

SPEC = JobSpec(
    name="work",
    kind="immediate",
    max_attempts=3,
    backoff_delays_s=(0.1, 0.2),
    timeout_s=0.5,
)


class Flaky(Exception):
    """A transient error for tests."""


class Recorder:
    """A job body that records each attempt and does what ``plan`` says for it."""

    def __init__(self, plan: Callable[[JSONObject, JobContext], None] | None = None) -> None:
        self.lock = threading.Lock()
        self.starts: list[tuple[str, int, float]] = []
        self.plan = plan

    def __call__(self, payload: JSONObject, ctx: JobContext) -> None:
        with self.lock:
            self.starts.append((ctx.job_id, ctx.attempt, time.monotonic()))
        if self.plan is not None:
            self.plan(payload, ctx)

    def starts_of(self, job_id: str) -> list[float]:
        with self.lock:
            return [at for jid, _, at in self.starts if jid == job_id]


def fail_always(payload: JSONObject, ctx: JobContext) -> None:
    raise Flaky("network down")


def hang(payload: JSONObject, ctx: JobContext) -> None:
    while not ctx.should_stop():
        time.sleep(0.005)


@pytest.fixture
def make_system() -> Iterator[Callable[..., tuple[JobSystem, list[Worker]]]]:
    started: list[Worker] = []

    def make(
        handler: Handler,
        *,
        specs: tuple[JobSpec, ...] = (SPEC,),
        behaviour: Behaviour | None = None,
        workers: int = 1,
        concurrency: int = 1,
        global_cap: int | None = None,
        lease_s: float = 2.0,
    ) -> tuple[JobSystem, list[Worker]]:
        system = JobSystem(
            catalogue=specs,
            handler=handler,
            behaviour=behaviour,
            lease_s=lease_s,
            global_cap=global_cap,
        )
        group = [Worker(f"w{i}", system, concurrency) for i in range(workers)]
        for worker in group:
            worker.start()
        started.extend(group)
        return system, group

    yield make
    for worker in started:
        worker.kill()
    for worker in started:
        assert worker.join(5.0), f"worker {worker.worker_id} did not exit"


def finished(system: JobSystem, job_id: str) -> Callable[[], bool]:
    return lambda: system.is_finished(job_id)


def test_transient_failure_retries_to_declared_max_then_dead_letters_with_context(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    body = Recorder(fail_always)
    system, _ = make_system(body)
    job = system.submit("work", {"n": 1})
    wait_until(finished(system, job), what="job dead")
    info = system.inspect(job)
    assert info.status is JobStatus.DEAD
    assert info.attempts == 3
    assert len(body.starts_of(job)) == 3
    (letter,) = system.dead_letters()
    assert (letter.job_id, letter.payload, letter.attempts) == (job, {"n": 1}, 3)
    assert letter.error_kind == "transient"
    assert "network down" in letter.error
    assert [a["kind"] for a in system.alerts.alerts()] == ["dead_letter"]


def test_backoff_waits_the_declared_delays_within_jitter(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    body = Recorder(fail_always)
    system, _ = make_system(body)
    job = system.submit("work", {})
    wait_until(finished(system, job), what="job dead")
    starts = body.starts_of(job)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # jitter moves a delay by at most 10 %; allow 60 ms of scheduling latency on top.
    for gap, declared in zip(gaps, SPEC.backoff_delays_s, strict=True):
        assert declared * 0.9 <= gap <= declared * 1.1 + 0.06, (gaps, SPEC.backoff_delays_s)


def test_permanent_error_is_not_retried(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    def refuse(payload: JSONObject, ctx: JobContext) -> None:
        raise PermanentJobError("record 7 does not exist")

    system, _ = make_system(Recorder(refuse))
    job = system.submit("work", {})
    wait_until(finished(system, job), what="job dead")
    assert system.inspect(job).attempts == 1
    assert system.dead_letters()[0].error_kind == "permanent"
    assert system.snapshot_metrics()["jobs_retried_total"] == 0


def test_replay_reenqueues_a_dead_job_once_and_it_can_complete(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    broken = threading.Event()
    broken.set()

    def sometimes(payload: JSONObject, ctx: JobContext) -> None:
        if broken.is_set():
            raise PermanentJobError("downstream rejects the input")

    system, _ = make_system(Recorder(sometimes))
    job = system.submit("work", {"order": 5})
    wait_until(finished(system, job), what="job dead")
    broken.clear()
    again = system.replay(job)
    assert again != job
    wait_until(finished(system, again), what="replay done")
    assert system.inspect(again).status is JobStatus.COMPLETED
    assert system.dead_letters() == []
    with pytest.raises(UsageError, match="not in the dead-letter queue"):
        system.replay(job)


def test_timeout_abandons_the_attempt_and_the_worker_slot_goes_on(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    spec = replace(SPEC, max_attempts=2, timeout_s=0.2, backoff_delays_s=(0.01,))
    quick = replace(SPEC, name="quick")

    def plan(payload: JSONObject, ctx: JobContext) -> None:
        if payload.get("hang"):
            hang(payload, ctx)

    system, _ = make_system(Recorder(plan), specs=(spec, quick))
    slow = system.submit("work", {"hang": True})
    wait_until(finished(system, slow), what="hung job dead")
    assert system.dead_letters()[0].error_kind == "timeout"
    assert system.inspect(slow).attempts == 2
    fast = system.submit("quick", {})
    wait_until(finished(system, fast), timeout_s=2.0, what="next job on the same slot")
    assert system.inspect(fast).status is JobStatus.COMPLETED


def test_killed_workers_job_is_redelivered_after_its_lease_expires(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    body = Recorder(hang)
    system, (worker,) = make_system(body, lease_s=0.3)
    job = system.submit("work", {})
    wait_until(lambda: len(body.starts_of(job)) == 1, what="first attempt")
    worker.kill()
    killed_at = time.monotonic()
    body.plan = None  # the redelivered attempt succeeds
    rescuer = Worker("rescuer", system, 1)
    rescuer.start()
    try:
        wait_until(finished(system, job), what="redelivered job done")
    finally:
        rescuer.stop()
        rescuer.join()
    info = system.inspect(job)
    assert (info.status, info.attempts) == (JobStatus.COMPLETED, 2)
    assert body.starts_of(job)[1] - killed_at >= 0.2  # waited for the lease, not before


def test_without_lease_recovery_a_killed_workers_job_stays_running(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    body = Recorder(hang)
    behaviour = Behaviour(recover_expired_leases=False)
    system, workers = make_system(body, lease_s=0.1, behaviour=behaviour, workers=2)
    job = system.submit("work", {})
    wait_until(lambda: len(body.starts_of(job)) == 1, what="first attempt")
    owner = system.store.get(job).worker_id
    next(w for w in workers if w.worker_id == owner).kill()
    time.sleep(0.5)  # five leases: the other, idle worker never gets the job back
    assert system.inspect(job).status is JobStatus.RUNNING
    assert len(body.starts_of(job)) == 1


def test_duplicate_idempotency_key_returns_first_job_and_effects_claim_once(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    granted: list[bool] = []

    def effect_then_fail_once(payload: JSONObject, ctx: JobContext) -> None:
        granted.append(ctx.claim_effect("charge"))
        if ctx.attempt == 1:
            raise Flaky("after the effect")

    system, _ = make_system(Recorder(effect_then_fail_once))
    first = system.submit("work", {}, idempotency_key="order-9")
    assert system.submit("work", {}, idempotency_key="order-9") == first
    wait_until(finished(system, first), what="job done")
    assert granted == [True, False]
    assert system.snapshot_metrics()["jobs_enqueued_total"] == 1


def test_no_idempotency_behaviour_enqueues_duplicates_and_grants_every_effect(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    granted: list[bool] = []
    behaviour = Behaviour(dedupe_idempotency_keys=False, guard_effects=False)
    system, _ = make_system(
        Recorder(lambda p, ctx: granted.append(ctx.claim_effect("x"))), behaviour=behaviour
    )
    first = system.submit("work", {}, idempotency_key="k")
    second = system.submit("work", {}, idempotency_key="k")
    assert first != second
    wait_until(lambda: system.is_finished(first) and system.is_finished(second), what="both")
    assert granted == [True, True]


def test_progress_and_checkpoint_are_visible_and_survive_a_retry(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    seen: list[JSONObject | None] = []
    release = threading.Event()

    def steps(payload: JSONObject, ctx: JobContext) -> None:
        seen.append(ctx.load_checkpoint())
        ctx.save_checkpoint({"step": ctx.attempt})
        ctx.set_progress(0.5)
        release.wait(2.0)
        if ctx.attempt == 1:
            raise Flaky("interrupted")

    system, _ = make_system(Recorder(steps))
    job = system.submit("work", {})
    wait_until(lambda: system.inspect(job).progress == 0.5, what="progress published")
    release.set()
    wait_until(finished(system, job), what="job done")
    assert seen == [None, {"step": 1}]
    assert system.inspect(job).checkpoint == {"step": 2}


def test_metrics_equal_what_happened(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    def plan(payload: JSONObject, ctx: JobContext) -> None:
        if payload["fails"] and ctx.attempt <= int(str(payload["fails"])):
            raise Flaky("again")

    system, _ = make_system(Recorder(plan), concurrency=2)
    jobs = [system.submit("work", {"fails": n}) for n in (0, 1, 3)]
    wait_until(lambda: all(system.is_finished(j) for j in jobs), what="all done")
    assert {k: v for k, v in system.snapshot_metrics().items() if k != "jobs_running"} == {
        "jobs_enqueued_total": 3,
        "jobs_started_total": 1 + 2 + 3,
        "jobs_completed_total": 2,
        "jobs_failed_total": 1 + 3,
        "jobs_retried_total": 1 + 2,
        "jobs_dead_total": 1,
        "queue_depth": 0,
        "dlq_size": 1,
    }


def test_miscounting_behaviour_counts_a_retried_attempt_as_completed(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    system, _ = make_system(
        Recorder(lambda p, ctx: None if ctx.attempt > 1 else fail_always(p, ctx)),
        behaviour=Behaviour(count_retries_as_completed=True),
    )
    job = system.submit("work", {})
    wait_until(finished(system, job), what="done")
    metrics = system.snapshot_metrics()
    assert (metrics["jobs_completed_total"], metrics["jobs_failed_total"]) == (2, 0)


def test_structured_logs_carry_job_id_type_attempt_event_and_duration(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    system, _ = make_system(Recorder())
    job = system.submit("work", {})
    wait_until(finished(system, job), what="done")
    events = [r for r in system.log.records() if r["job_id"] == job]
    assert [r["event"] for r in events] == ["enqueued", "started", "completed"]
    done = events[-1]
    assert (done["job_type"], done["attempt"]) == ("work", 1)
    assert isinstance(done["duration_s"], float)


def test_submit_rejects_a_payload_that_is_not_json() -> None:
    system = JobSystem(catalogue=(SPEC,), handler=Recorder())
    with pytest.raises(UsageError, match=r"payload\['when'\] is .* not JSON"):
        system.submit("work", {"when": object()})
    with pytest.raises(UsageError, match="NaN"):
        system.submit("work", {"x": float("nan")})
    with pytest.raises(UsageError, match="not in the catalogue; submit one of: work"):
        system.submit("nope", {})


def test_reset_forgets_jobs_keys_counts_and_dead_letters(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    system, _ = make_system(Recorder(fail_always))
    job = system.submit("work", {}, idempotency_key="k")
    wait_until(finished(system, job), what="dead")
    system.clear()
    assert system.dead_letters() == []
    assert set(system.snapshot_metrics().values()) == {0.0}
    assert system.log.records() == [] and system.alerts.alerts() == []
    assert system.submit("work", {}, idempotency_key="k") != job


def test_a_worker_slot_survives_an_error_outside_the_job_body(
    make_system: Callable[..., tuple[JobSystem, list[Worker]]],
) -> None:
    system, _ = make_system(Recorder())
    original = system.claim
    failures = iter([RuntimeError("store hiccup")])

    def flaky_claim(worker_id: str) -> Claim | None:
        error = next(failures, None)
        if error is not None:
            raise error
        return original(worker_id)

    system.claim = flaky_claim  # type: ignore[method-assign]
    job = system.submit("work", {})
    wait_until(finished(system, job), what="job done after the hiccup")
    errors = [r for r in system.log.records() if r["event"] == "worker_error"]
    assert [r["error"] for r in errors] == ["RuntimeError: store hiccup"]
