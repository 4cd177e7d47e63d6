"""What a check works with: the guarded adapter, the ledger, timing, workers and bounded waits.

The kit owns isolation and time. A check never calls the adapter directly: it goes through
:class:`Guarded`, which turns an exception raised by the implementation into
:class:`ImplementationFault` (a *fail* with evidence) while the kit's own failures
(:class:`~jobforge.errors.ConformanceError`, e.g. the ledger) stay infrastructure errors (an
*inconclusive* verdict). Every wait has a deadline.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from jobforge.errors import ConformanceError

from .adapter import (
    Adapter,
    Capability,
    DeadLetter,
    Description,
    JobInfo,
    JobStatus,
    JSONObject,
    JSONValue,
    ScheduleEntry,
    Timing,
)
from .history import History, Ledger
from .probes import PROBE_DEFAULT, probe_payload
from .tolerance import drain_deadline

if TYPE_CHECKING:
    from .faults import InjectedFault

T = TypeVar("T")

#: States after which the implementation will not run a job again by itself.
TERMINAL: frozenset[JobStatus] = frozenset({JobStatus.COMPLETED, JobStatus.DEAD})
_POLL_S = 0.02


class ImplementationFault(Exception):
    """The implementation misbehaved (raised, hung, returned nonsense): the check fails."""


class Unsupported(Exception):
    """The implementation does not declare what the check needs: the check is unsupported."""


def _describe_call(name: str, args: Sequence[object], kwargs: Mapping[str, object]) -> str:
    shown = [repr(a)[:60] for a in args] + [f"{k}={v!r}"[:60] for k, v in kwargs.items()]
    return f"adapter.{name}({', '.join(shown)})"


class Guarded:
    """The adapter seen by the kit: implementation errors become :class:`ImplementationFault`."""

    def __init__(self, adapter: Adapter) -> None:
        """Wrap ``adapter``."""
        self.raw = adapter

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call adapter method ``name``; classify whatever it raises."""
        method = getattr(self.raw, name, None)
        if method is None:
            raise ImplementationFault(f"adapter has no method {name!r} (see adapter.Adapter)")
        try:
            return method(*args, **kwargs)
        except ConformanceError:
            raise
        except NotImplementedError as exc:
            raise ImplementationFault(
                f"{_describe_call(name, args, kwargs)} is not implemented"
                f"{': ' + str(exc) if str(exc) else ''}"
            ) from exc
        except Exception as exc:
            raise ImplementationFault(
                f"{_describe_call(name, args, kwargs)} raised {type(exc).__name__}: {exc}"
            ) from exc

    def submit(
        self,
        job_type: str,
        payload: JSONObject,
        *,
        idempotency_key: str | None = None,
        delay_s: float = 0.0,
        priority: int | None = None,
    ) -> str:
        """Submit a job; see :meth:`Adapter.submit`."""
        job_id = self.call(
            "submit",
            job_type,
            payload,
            idempotency_key=idempotency_key,
            delay_s=delay_s,
            priority=priority,
        )
        if not isinstance(job_id, str) or not job_id:
            raise ImplementationFault(f"adapter.submit returned {job_id!r}, expected a job id")
        return job_id

    def inspect(self, job_id: str) -> JobInfo:
        """Inspect a job; see :meth:`Adapter.inspect`."""
        info = self.call("inspect", job_id)
        if not isinstance(info, JobInfo):
            raise ImplementationFault(f"adapter.inspect({job_id!r}) returned {info!r}")
        return info

    def dead_letters(self) -> list[DeadLetter]:
        """List dead letters."""
        return list(self.call("dead_letters"))

    def replay(self, job_id: str) -> str:
        """Replay a dead job."""
        return str(self.call("replay", job_id))

    def metrics(self) -> dict[str, float]:
        """Read metrics."""
        return dict(self.call("metrics"))

    def health(self) -> dict[str, JSONValue]:
        """Read the health document."""
        return dict(self.call("health"))

    def logs(self) -> list[JSONObject]:
        """Read structured logs."""
        return list(self.call("logs"))

    def alerts(self) -> list[JSONObject]:
        """Read alerts."""
        return list(self.call("alerts"))


@dataclass
class WorkerPool:
    """The workers and schedulers the kit started, kept across checks."""

    adapter: Guarded
    workers: list[str] = field(default_factory=list)
    schedulers: list[str] = field(default_factory=list)

    def start(self, count: int) -> list[str]:
        """Start ``count`` more workers; return their ids."""
        started = [str(w) for w in self.adapter.call("start_workers", count)]
        if len(started) != count:
            raise ImplementationFault(
                f"adapter.start_workers({count}) returned {len(started)} worker ids"
            )
        self.workers.extend(started)
        return started

    def ensure(self, count: int) -> None:
        """Have exactly ``count`` live workers (stopping extras gracefully)."""
        while len(self.workers) > count:
            self.stop(self.workers[-1], graceful=True)
        if len(self.workers) < count:
            self.start(count - len(self.workers))

    def stop(self, worker: str, *, graceful: bool = True) -> None:
        """Stop one worker."""
        self.adapter.call("stop_worker", worker, graceful=graceful)
        self.workers.remove(worker)

    def kill(self, worker: str) -> None:
        """SIGKILL one worker."""
        self.adapter.call("kill_worker", worker)
        self.workers.remove(worker)

    def forget(self, worker: str, *, graceful: bool) -> str | None:
        """Let the adapter reap a worker whose processes the kit already ended; drop it.

        Returns what the adapter raised, if anything: the worker is gone either way.
        """
        self.workers.remove(worker)
        try:
            if graceful:
                self.adapter.call("stop_worker", worker, graceful=True)
            else:
                self.adapter.call("kill_worker", worker)
        except ImplementationFault as exc:
            return str(exc)
        return None

    def restart_all(self) -> None:
        """Stop every worker gracefully and start as many fresh ones."""
        count = len(self.workers)
        for worker in list(self.workers):
            self.stop(worker, graceful=True)
        if count:
            self.start(count)

    def start_scheduler(self, entries: Sequence[ScheduleEntry]) -> str:
        """Start a scheduler instance."""
        scheduler = str(self.adapter.call("start_scheduler", list(entries)))
        self.schedulers.append(scheduler)
        return scheduler

    def stop_scheduler(self, scheduler: str) -> None:
        """Stop one scheduler instance."""
        self.schedulers.remove(scheduler)
        self.adapter.call("stop_scheduler", scheduler)

    def stop_schedulers(self) -> None:
        """Stop every scheduler the kit started."""
        for scheduler in list(self.schedulers):
            self.stop_scheduler(scheduler)


@dataclass
class Env:
    """One check's view of the run."""

    adapter: Guarded
    ledger: Ledger
    description: Description
    timing: Timing
    pool: WorkerPool
    scope: str
    shared_cache: dict[str, object]
    sizes: Mapping[str, int] = field(default_factory=dict)
    faults: list[InjectedFault] = field(default_factory=list)  # worker faults this check injected
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # -- declarations ----------------------------------------------------------------------------

    def declares(self, *capabilities: Capability) -> bool:
        """Return whether every capability is declared."""
        return all(c in self.description.capabilities for c in capabilities)

    def require(self, *capabilities: Capability) -> None:
        """Raise :class:`Unsupported` unless every capability is declared."""
        missing = [c.value for c in capabilities if c not in self.description.capabilities]
        if missing:
            raise Unsupported(f"capability not declared: {', '.join(missing)}")

    def size(self, name: str, default: int) -> int:
        """Return the profile's workload size ``name``."""
        return int(self.sizes.get(name, default))

    @property
    def slots(self) -> int:
        """Attempts one worker runs at once."""
        return max(1, self.description.worker_concurrency)

    # -- jobs ------------------------------------------------------------------------------------

    def probe(self, job_type: str, **plan: Any) -> JSONObject:
        """Build a payload for a new probe of this check (a fresh probe id)."""
        probe_id = f"{self.scope}#{next(self._ids)}"
        return probe_payload(probe_id, scope=self.scope, job_type=job_type, **plan)

    def submit(
        self,
        job_type: str,
        payload: JSONObject,
        *,
        idempotency_key: str | None = None,
        delay_s: float = 0.0,
        priority: int | None = None,
    ) -> str:
        """Submit through the adapter and record the submission (time taken before the call)."""
        before = time.time()
        job_id = self.adapter.submit(
            job_type, payload, idempotency_key=idempotency_key, delay_s=delay_s, priority=priority
        )
        self.ledger.record_submission(
            scope=self.scope,
            probe_id=str(payload.get("probe_id", "")),
            job_id=job_id,
            job_type=job_type,
            idempotency_key=idempotency_key,
            delay_s=delay_s,
            priority=priority,
            at=before,
        )
        return job_id

    def note(self, kind: str, subject: str = "", **detail: JSONValue) -> None:
        """Record a kit event (fault, phase) in the ledger."""
        self.ledger.record_event(scope=self.scope, kind=kind, subject=subject, detail=detail)

    def history(self) -> History:
        """Read this check's records."""
        return self.ledger.read(self.scope)

    # -- waiting ---------------------------------------------------------------------------------

    def wait_until(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Poll ``predicate`` until it holds or ``timeout_s`` passes; return whether it held."""
        deadline = time.monotonic() + timeout_s
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)

    def wait_history(self, predicate: Callable[[History], bool], timeout_s: float) -> History:
        """Poll the ledger until ``predicate(history)`` holds or time runs out; return the last."""
        last: list[History] = [self.history()]

        def check() -> bool:
            last[0] = self.history()
            return predicate(last[0])

        self.wait_until(check, timeout_s)
        return last[0]

    def drain(self, job_ids: Iterable[str], timeout_s: float) -> dict[str, JobInfo]:
        """Wait until every job is terminal (COMPLETED or DEAD) or time runs out.

        Returns the last view of each job; callers judge the ones still not terminal.
        """
        pending = dict.fromkeys(job_ids)
        infos: dict[str, JobInfo] = {}

        def settled() -> bool:
            for job_id in list(pending):
                info = self.adapter.inspect(job_id)
                infos[job_id] = info
                if info.status in TERMINAL:
                    del pending[job_id]
            return not pending

        self.wait_until(settled, timeout_s)
        return infos

    def drain_deadline(self, work_s: float = 0.0) -> float:
        """Return a generous drain deadline: every retry at its longest declared delay, the work."""
        known = {spec.name: spec for spec in self.description.jobs}
        return drain_deadline(known.get(PROBE_DEFAULT), self.timing, work_s)

    def shared(self, key: str, scenario: Callable[[Env], T]) -> T:
        """Run ``scenario`` once per run under scope ``key``; later calls reuse its result.

        The runner may have started the scenario already (a ``Future`` in the cache): then wait
        for it.
        """
        if key not in self.shared_cache:
            sub = Env(
                adapter=self.adapter,
                ledger=self.ledger,
                description=self.description,
                timing=self.timing,
                pool=self.pool,
                scope=key,
                shared_cache=self.shared_cache,
                sizes=self.sizes,
                faults=self.faults,
            )
            self.shared_cache[key] = scenario(sub)
        value = self.shared_cache[key]
        if isinstance(value, Future):  # started in the background by the runner
            return value.result()  # type: ignore[no-any-return]
        return value  # type: ignore[return-value]


def not_terminal(infos: Mapping[str, JobInfo]) -> list[str]:
    """Evidence lines for jobs that did not reach a terminal state."""
    return [
        f"job {job_id}: still {info.status.value} at the drain deadline ({info.attempts} attempts)"
        for job_id, info in sorted(infos.items())
        if info.status not in TERMINAL
    ]
