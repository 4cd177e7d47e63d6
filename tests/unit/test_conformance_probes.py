"""Probe jobs record attempts, effects, checkpoints and outcomes, and fail as the kit plans."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from jobforge.conformance.adapter import JSONObject, ProbeContext, Timing
from jobforge.conformance.history import Ledger
from jobforge.conformance.probes import (
    HEAL_EVENT,
    PROBE_TYPES,
    ProbeInterrupted,
    ProbePayloadError,
    ProbePermanentError,
    ProbeTransientError,
    backoff_delays,
    parse_payload,
    probe_catalogue,
    probe_payload,
    run_probe,
)

pytestmark = pytest.mark.unit


@dataclass
class Store:
    """Job-level services shared by every attempt of one job, as an implementation keeps them."""

    claims: set[str] = field(default_factory=set)
    checkpoint: JSONObject | None = None
    progress: list[float] = field(default_factory=list)
    guard: bool = True


@dataclass
class Ctx:
    """A minimal in-memory ProbeContext."""

    store: Store
    job_id: str = "job-1"
    attempt: int = 1

    def claim_effect(self, key: str) -> bool:
        if not self.store.guard:
            return True
        if key in self.store.claims:
            return False
        self.store.claims.add(key)
        return True

    def set_progress(self, fraction: float) -> None:
        self.store.progress.append(fraction)

    def save_checkpoint(self, state: JSONObject) -> None:
        self.store.checkpoint = dict(state)

    def load_checkpoint(self) -> JSONObject | None:
        return self.store.checkpoint


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    book = Ledger(tmp_path / "ledger.db", run_id="r")
    book.initialize()
    return book


def test_in_memory_context_satisfies_the_protocol() -> None:
    assert isinstance(Ctx(Store()), ProbeContext)


def test_successful_probe_records_start_end_and_one_effect(ledger: Ledger) -> None:
    payload = probe_payload("p1", scope="s", effect="p1:e")
    result = run_probe(payload, Ctx(Store()), ledger=ledger, worker="w1")
    assert result == {
        "probe_id": "p1",
        "job_id": "job-1",
        "attempt": 1,
        "effect_applied": True,
        "steps_done": 0,
    }
    hist = ledger.read("s")
    (attempt,) = hist.attempts
    assert (attempt.outcome, attempt.worker, attempt.job_type) == ("ok", "w1", "probe.default")
    assert [e.key for e in hist.effects] == ["p1:e"]


def test_guarded_rerun_records_no_second_effect_and_unguarded_does(ledger: Ledger) -> None:
    guarded, unguarded = Store(), Store(guard=False)
    for store, pid in ((guarded, "g"), (unguarded, "u")):
        payload = probe_payload(pid, effect=f"{pid}:e")
        run_probe(payload, Ctx(store, job_id="a"), ledger=ledger)
        run_probe(payload, Ctx(store, job_id="b"), ledger=ledger)
    hist = ledger.read()
    assert len(hist.effects_of("g")) == 1
    assert len(hist.effects_of("u")) == 2


def test_planned_failures_raise_the_named_kind_on_the_named_attempt(ledger: Ledger) -> None:
    payload = probe_payload("p", fail={1: "transient", 2: "permanent"})
    store = Store()
    with pytest.raises(ProbeTransientError):
        run_probe(payload, Ctx(store, attempt=1), ledger=ledger)
    with pytest.raises(ProbePermanentError):
        run_probe(payload, Ctx(store, attempt=2), ledger=ledger)
    run_probe(payload, Ctx(store, attempt=3), ledger=ledger)
    outcomes = [a.outcome for a in ledger.read().attempts_of("p")]
    assert outcomes == ["transient", "permanent", "ok"]


def test_star_fails_every_attempt(ledger: Ledger) -> None:
    payload = probe_payload("p", fail={"*": "transient"})
    for attempt in (1, 7):
        with pytest.raises(ProbeTransientError):
            run_probe(payload, Ctx(Store(), attempt=attempt), ledger=ledger)


def test_implementation_error_classes_replace_the_probe_errors(ledger: Ledger) -> None:
    class Retry(Exception):
        pass

    class Fatal(Exception):
        pass

    payload = probe_payload("p", fail={1: "transient", 2: "permanent"})
    with pytest.raises(Retry, match="attempt 1 fails transient"):
        run_probe(payload, Ctx(Store(), attempt=1), ledger=ledger, transient=Retry, permanent=Fatal)
    with pytest.raises(Fatal):
        run_probe(payload, Ctx(Store(), attempt=2), ledger=ledger, transient=Retry, permanent=Fatal)
    assert [a.outcome for a in ledger.read().attempts] == ["transient", "permanent"]


def test_checkpointed_probe_resumes_from_the_saved_step(ledger: Ledger) -> None:
    payload = probe_payload("p", steps=4, step_s=0.0, fail={1: "transient"}, fail_at_step=2)
    store = Store()
    with pytest.raises(ProbeTransientError):
        run_probe(payload, Ctx(store, attempt=1), ledger=ledger)
    result = run_probe(payload, Ctx(store, attempt=2), ledger=ledger)
    assert result["steps_done"] == 4
    hist = ledger.read()
    saves = [(c.attempt, c.step) for c in hist.checkpoints if c.action == "save"]
    loads = [(c.attempt, c.step) for c in hist.checkpoints if c.action == "load"]
    assert saves == [(1, 1), (1, 2), (2, 3), (2, 4)]
    assert loads == [(2, 2)]
    assert store.progress == [0.25, 0.5, 0.75, 1.0]


def test_should_stop_interrupts_a_sleeping_probe_quickly(ledger: Ledger) -> None:
    stop = threading.Event()
    timer = threading.Timer(0.1, stop.set)
    timer.start()
    with pytest.raises(ProbeInterrupted):
        run_probe(
            probe_payload("p", sleep_s=5.0), Ctx(Store()), ledger=ledger, should_stop=stop.is_set
        )
    (attempt,) = ledger.read().attempts
    assert attempt.outcome == "interrupted"
    assert attempt.duration_s is not None and attempt.duration_s < 1.0


def test_timeout_raised_into_the_body_is_recorded_as_timeout(ledger: Ledger) -> None:
    calls = {"n": 0}

    def cut_off() -> bool:
        calls["n"] += 1
        if calls["n"] > 2:
            raise TimeoutError("time limit")
        return False

    with pytest.raises(TimeoutError):
        run_probe(probe_payload("p", sleep_s=5.0), Ctx(Store()), ledger=ledger, should_stop=cut_off)
    assert ledger.read().attempts[0].outcome == "timeout"


@pytest.mark.parametrize(
    ("payload", "field_name"),
    [
        ({}, "probe_id"),
        ({"probe_id": "p", "sleep_s": -1}, "sleep_s"),
        ({"probe_id": "p", "fail": {"1": "sometimes"}}, "fail"),
        ({"probe_id": "p", "fail": {"x": "transient"}}, "fail"),
        ({"probe_id": "p", "effect": 3}, "effect"),
        ({"probe_id": "p", "fail_at_step": "2"}, "fail_at_step"),
    ],
)
def test_malformed_payload_names_the_field(payload: JSONObject, field_name: str) -> None:
    with pytest.raises(ProbePayloadError, match=field_name):
        parse_payload(payload)


def test_probe_without_ledger_or_env_fails_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JOBFORGE_LEDGER", raising=False)
    with pytest.raises(Exception, match="JOBFORGE_LEDGER"):
        run_probe(probe_payload("p"), Ctx(Store()))


def test_probe_uses_the_ledger_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    Ledger(tmp_path / "env.db", run_id="envrun").initialize()
    monkeypatch.setenv("JOBFORGE_LEDGER", str(tmp_path / "env.db"))
    monkeypatch.setenv("JOBFORGE_RUN_ID", "envrun")
    run_probe(probe_payload("p"), Ctx(Store()))
    assert len(Ledger(tmp_path / "env.db", run_id="envrun").read().attempts) == 1


def test_backoff_delays_double_from_base_to_cap() -> None:
    timing = Timing(backoff_base_s=0.1, backoff_cap_s=0.4, max_attempts=6)
    assert backoff_delays(timing) == (0.1, 0.2, 0.4, 0.4, 0.4)
    assert backoff_delays(Timing(max_attempts=1)) == ()


def test_catalogue_names_every_probe_type_with_the_timing_policies() -> None:
    timing = Timing(max_attempts=5, timeout_s=2.0, schedule_interval_s=3.0)
    specs = {s.name: s for s in probe_catalogue(timing)}
    assert tuple(specs) == PROBE_TYPES
    assert specs["probe.default"].max_attempts == 5
    assert specs["probe.default"].timeout_s == 2.0
    assert specs["probe.limited"].concurrency_limit == 1
    assert specs["probe.rate"].rate_limit_per_s is not None
    assert specs["probe.unique"].unique
    assert specs["probe.long"].kind == "long_running"
    scheduled = specs["probe.scheduled"]
    assert (
        scheduled.schedule_interval_s,
        scheduled.overlap_policy,
        scheduled.missed_run_policy,
    ) == (3.0, "skip", "run_once")


def test_error_kind_raises_an_unclassified_runtime_error(ledger: Ledger) -> None:
    with pytest.raises(RuntimeError) as info:
        run_probe(probe_payload("p", fail={1: "error"}), Ctx(Store()), ledger=ledger)
    assert not isinstance(info.value, ProbeTransientError | ProbePermanentError)
    assert ledger.read().attempts[0].outcome == "error"


def test_healed_probe_stops_failing(ledger: Ledger) -> None:
    payload = probe_payload("p", fail={"*": "permanent"}, healable=True)
    with pytest.raises(ProbePermanentError):
        run_probe(payload, Ctx(Store()), ledger=ledger)
    ledger.record_event(scope="s", kind=HEAL_EVENT, subject="p")
    assert run_probe(payload, Ctx(Store(), attempt=1), ledger=ledger)["attempt"] == 1


def test_sleep_attempts_limits_the_sleep_to_those_attempts(ledger: Ledger) -> None:
    payload = probe_payload("p", sleep_s=5.0, sleep_attempts=[1])
    run_probe(payload, Ctx(Store(), attempt=2), ledger=ledger)
    duration = ledger.read().attempts[0].duration_s
    assert duration is not None and duration < 1.0
