"""Worker faults belong to the kit and are verified: a fault that did not happen never passes.

The kit signals reported worker processes itself (the whole tree, a child in a session of its
own included) and checks the ledger afterwards: an adapter whose kill does not kill gets an
inconclusive verdict for every fault check, naming why.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence

import psutil
import pytest
from jobforge.conformance import faults, processes
from jobforge.conformance.adapter import Timing
from jobforge.conformance.checks import registry
from jobforge.conformance.history import Attempt, Effect, History
from jobforge.conformance.profiles import Profile
from jobforge.conformance.reference import ReferenceAdapter
from jobforge.conformance.runner import Runner
from jobforge.rubric.outcomes import Outcome

pytestmark = pytest.mark.unit

#: The checks that inject a worker fault into the reference (it declares no broker restart).
FAULT_CHECKS = (
    "idempotency.redelivery_after_crash",
    "scalability.graceful_shutdown",
    "scalability.sigkill_recovery",
)
#: Quick timings: a one-second grace keeps the graceful path short.
FAST = Profile(name="ci", timing=Timing(grace_s=1.0, lease_s=1.0))


def _run(adapter: ReferenceAdapter, check_ids: Sequence[str]) -> dict[str, tuple[Outcome, str]]:
    try:
        results = Runner(adapter, profile=FAST, checks=[registry()[c] for c in check_ids]).run()
    finally:
        adapter.teardown()
    return {
        o.check_id: (o.outcome, " | ".join(o.evidence))
        for o in results.outcomes
        if o.outcome is not Outcome.NOT_RUN
    }


class IgnoresSignals(ReferenceAdapter):
    """A worker that ignores SIGTERM and SIGKILL alike: the adapter's kill does nothing."""

    def kill_worker(self, worker: str) -> None:
        pass

    def stop_worker(self, worker: str, *, graceful: bool = True) -> None:
        pass


class KeepsChildAlive(ReferenceAdapter):
    """Reports one process per worker while the work runs elsewhere and survives the kill.

    The reported process is what the kit kills; the job-running part (the reference's threads,
    standing in for a work-horse in a session the adapter forgot) goes on.
    """

    def __init__(self) -> None:
        super().__init__()
        self.decoys: dict[str, subprocess.Popen[bytes]] = {}

    def start_workers(self, count: int) -> list[str]:
        started = super().start_workers(count)
        for worker in started:
            self.decoys[worker] = subprocess.Popen(
                [sys.executable, "-c", "import time; time.sleep(120)"]
            )
        return started

    def worker_pids(self, worker: str) -> list[int]:
        return [self.decoys[worker].pid]

    def kill_worker(self, worker: str) -> None:
        self.decoys[worker].kill()  # the decoy is all it stops; the threads go on
        self.decoys[worker].wait(timeout=10)

    def stop_worker(self, worker: str, *, graceful: bool = True) -> None:
        self.kill_worker(worker)

    def teardown(self) -> None:
        for decoy in self.decoys.values():
            decoy.kill()
            decoy.wait(timeout=10)
        super().teardown()


@pytest.mark.parametrize("check_id", FAULT_CHECKS)
@pytest.mark.parametrize("adapter_type", [IgnoresSignals, KeepsChildAlive])
def test_a_kill_that_does_not_kill_makes_every_fault_check_inconclusive(
    adapter_type: type[ReferenceAdapter], check_id: str
) -> None:
    outcome, evidence = _run(adapter_type(), [check_id])[check_id]
    assert outcome is Outcome.INCONCLUSIVE, evidence
    assert "did not take effect" in evidence, evidence


class IgnoresSigterm(ReferenceAdapter):
    """A worker that ignores SIGTERM but dies to SIGKILL, as any process does."""

    def stop_worker(self, worker: str, *, graceful: bool = True) -> None:
        if not graceful:
            self.kill_worker(worker)


def test_a_worker_ignoring_sigterm_is_killed_after_the_grace_and_fails_graceful_shutdown() -> None:
    check_id = "scalability.graceful_shutdown"
    outcome, evidence = _run(IgnoresSigterm(), [check_id])[check_id]
    assert outcome is Outcome.FAIL, evidence
    assert "did not exit within 1 s of SIGTERM and was SIGKILLed" in evidence


def test_the_reference_kill_takes_effect_and_its_fault_checks_pass() -> None:
    outcomes = _run(ReferenceAdapter(), FAULT_CHECKS)
    assert {o for o, _ in outcomes.values()} == {Outcome.PASS}, outcomes


# -- the kit's signals on real process trees ------------------------------------------------------

_TREE = """
import subprocess, sys, time
child = subprocess.Popen(
    [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
     "print('ready', flush=True); time.sleep(120)"],
    start_new_session=True, stdout=sys.stdout,
)
print(child.pid, flush=True)
time.sleep(120)
"""


@pytest.fixture
def worker_tree() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Start a worker process with a child in a session of its own that ignores SIGTERM."""
    parent = subprocess.Popen([sys.executable, "-c", _TREE], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert parent.stdout.readline().strip() == b"ready"
    yield parent, child
    for pid in (parent.pid, child):
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
    parent.wait(timeout=10)
    parent.stdout.close()


def _gone(pid: int) -> bool:
    try:
        return not processes.alive(psutil.Process(pid))
    except psutil.Error:
        return True


def test_sigkill_reaches_a_child_in_its_own_session(
    worker_tree: tuple[subprocess.Popen[bytes], int],
) -> None:
    parent, child = worker_tree
    report = processes.kill_tree([parent.pid])
    assert set(report.pids) == {parent.pid, child} and report.survivors == ()
    assert _gone(parent.pid) and _gone(child)


def test_graceful_stop_escalates_to_sigkill_after_the_grace_period(
    worker_tree: tuple[subprocess.Popen[bytes], int],
) -> None:
    parent, child = worker_tree
    # A stopped process leaves SIGTERM pending: a worker that never stops by itself.
    psutil.Process(parent.pid).send_signal(signal.SIGSTOP)
    started = time.monotonic()
    report = processes.terminate_tree([parent.pid], grace_s=0.5)
    assert report.escalated and report.survivors == ()
    assert time.monotonic() - started >= 0.5
    assert _gone(parent.pid) and _gone(child)


def test_a_worker_that_honours_sigterm_stops_without_escalation() -> None:
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        report = processes.terminate_tree([worker.pid], grace_s=10.0)
        assert not report.escalated and report.survivors == ()
        assert worker.wait(timeout=10) == -signal.SIGTERM
    finally:
        worker.kill()
        worker.wait(timeout=10)


def test_the_kit_never_signals_its_own_process() -> None:
    assert processes.tree([psutil.Process().pid]) == []


# -- verification on the ledger --------------------------------------------------------------------


def _attempt(worker: str, started: float, ended: float | None, pid: int = 7) -> Attempt:
    return Attempt(
        row=1,
        scope="s",
        probe_id="s#1",
        job_id="j1",
        job_type="probe.default",
        attempt=1,
        pid=pid,
        worker=worker,
        started_at=started,
        ended_at=ended,
        outcome=None if ended is None else "ok",
    )


def _fault(kind: str = faults.KILL, pids: tuple[int, ...] = ()) -> faults.InjectedFault:
    return faults.InjectedFault(
        kind=kind,
        scope="s",
        worker="w1",
        pids=pids,
        sent_at=100.0,
        gone_at=100.1,
        starts_until=100.1,
        margin_s=0.02,
    )


def test_an_attempt_ending_after_the_kill_means_the_kill_did_not_take_effect() -> None:
    hist = History(run_id="r", attempts=(_attempt("w1", 99.0, 101.0),))
    (reason,) = faults.unverified(_fault(), hist)
    assert "job j1 attempt 1 on worker w1 ended" in reason


def test_a_crashed_attempt_and_other_workers_records_are_consistent_with_the_kill() -> None:
    hist = History(
        run_id="r",
        attempts=(_attempt("w1", 99.0, None), _attempt("w2", 99.0, 103.0, pid=8)),
    )
    assert faults.unverified(_fault(), hist) == []


def test_records_of_an_unreported_process_of_the_killed_worker_count_against_the_fault() -> None:
    hist = History(
        run_id="r",
        attempts=(_attempt("horse", 100.5, None, pid=42),),
        effects=(
            Effect(scope="s", probe_id="s#1", job_id="j1", attempt=1, key="e", pid=42, at=100.6),
        ),
    )
    reasons = faults.unverified(_fault(pids=(42,)), hist)
    assert any("started on worker w1" in r for r in reasons)
    assert any("effect/checkpoint/progress" in r for r in reasons)


def test_the_kit_never_signals_its_own_children_through_its_own_pid() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert processes.tree([psutil.Process().pid]) == []
        assert [p.pid for p in processes.tree([child.pid])] == [child.pid]
    finally:
        child.kill()
        child.wait(timeout=10)
