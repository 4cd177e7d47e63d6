"""The bundled adapter of jobforge-runtime apps: ``jobforge score --framework jobforge-runtime``.

A runtime app is scored from its ``App`` alone (``--app package.app:APP``, or ``[tool.jobforge]
framework = "jobforge-runtime"`` and ``app = "..."`` in pyproject.toml): nothing for scoring lives
in the user's package. The adapter derives a *run app* from the user's App (the kit's probe job
types added, the run's own SQLite file or Redis key prefix, the run's timings; see
:mod:`.runtime_app`) and drives it on the App's real backend: worker and scheduler processes are
the runtime's own, started through the kit's entry point (:mod:`.runtime_worker`); submissions,
inspection, replay, health and metrics go through the runtime's public API in this process.

What it declares is read from the App: dead-letter queue and replay from its settings, the jitter
of its retry delays (``Settings.backoff_jitter``), the backend, its own job types with their
retry, timeout and limit policies, and its test suite when the project has one. The kit signals
worker processes itself (``worker_pids``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from jobforge_runtime import App, Runtime, Settings, __version__
from jobforge_runtime.health import HealthServer
from jobforge_runtime.logs import LOGGER_NAME, JsonFormatter

from jobforge.errors import ConformanceError

from .. import adapter as kit
from .. import probes
from .private_broker import PrivateBroker, check_backend, private_broker
from .private_redis import wanted
from .runtime_app import PLAN_ENV, RunPlan, load_app, run_app, run_settings
from .runtime_description import (
    capabilities,
    job_spec,
    own_test_command,
    probe_timing,
    timing_facts,
)
from .runtime_processes import RunProcess
from .runtime_recording import backend_label
from .runtime_store import RunStore, reset, store_of
from .runtime_worker import SCHEDULER_POLL_S, STANDING_BY

_WORKER_MODULE = "jobforge.conformance.frameworks.runtime_worker"


@dataclass
class RuntimeAdapter:
    """Drives a jobforge-runtime App on its real backend for one conformance run."""

    app_ref: str
    search: Path
    user_app: App
    private_broker: bool = False  # run on a server of the run's own (broker_restart)
    _broker: PrivateBroker | None = None
    _ctx: kit.RunContext | None = None
    _run: App | None = None
    _store: RunStore | None = None
    _health: HealthServer | None = None
    _log_handler: logging.Handler | None = None
    _log_state: tuple[int, bool] = (logging.NOTSET, True)  # the logger's level and propagate
    _workers: dict[str, RunProcess] = field(default_factory=dict)
    _schedulers: dict[str, RunProcess] = field(default_factory=dict)
    _standby: tuple[str, RunProcess] | None = None
    _env: dict[str, str] = field(default_factory=dict)
    _counter: int = 0

    # description ---------------------------------------------------------------------------

    def _timing(self) -> kit.Timing:
        return self._ctx.timing if self._ctx is not None else kit.Timing()

    def _settings(self) -> Settings:
        if self._run is not None:
            return self._run.resolved_settings()
        return run_settings(
            self.user_app,
            timing=self._timing(),
            workdir=Path("."),
            run_id="describe",
            log_file=Path("jobs.log.jsonl"),
        )

    def _probe_timing(self, settings: Settings) -> kit.Timing:
        """Return the run's timing with the probes' retry delays at the backend's own scale."""
        return probe_timing(self._timing(), self.user_app.backend, settings.backoff_jitter)

    def describe(self) -> kit.Description:
        """Capabilities, probe catalogue and the app's own job types, read from the App."""
        settings = self._settings()
        facts = timing_facts(settings, self.user_app.backend)
        # The run's schedulers pass every SCHEDULER_POLL_S: that is the tick of scheduled work.
        ticked = replace(facts, resolution_s=max(facts.resolution_s, SCHEDULER_POLL_S))
        probe_specs = tuple(
            replace(spec, timing_facts=ticked if spec.name == probes.PROBE_SCHEDULED else facts)
            for spec in probes.probe_catalogue(self._probe_timing(settings))
        )
        own = tuple(
            job_spec(job, settings, self.user_app.schedules) for job in self.user_app.catalogue
        )
        test_command = own_test_command(self.search)
        return kit.Description(
            name=f"jobforge-runtime app {self.app_ref}",
            version=__version__,
            backend=backend_label(self.user_app.backend, settings),
            capabilities=capabilities(
                settings,
                own_tests=bool(test_command),
                private_broker=self.private_broker,
                backend=self.user_app.backend,
            ),
            jobs=(*probe_specs, *own),
            worker_concurrency=settings.worker_concurrency,
            global_concurrency=settings.global_concurrency,
            test_command=test_command,
            test_cwd=self.search if test_command else None,
            real_broker=True,
        )

    # lifecycle -----------------------------------------------------------------------------

    def setup(self, ctx: kit.RunContext) -> None:
        """Derive the run app on the run's own store and serve its health and metrics."""
        self._ctx = ctx
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        log_file = ctx.workdir / "jobs.log.jsonl"
        if self.private_broker:
            self._broker = private_broker(self.user_app.backend, ctx.workdir)
            self._broker.start()
        settings = run_settings(
            self.user_app,
            timing=ctx.timing,
            workdir=ctx.workdir,
            run_id=ctx.run_id,
            log_file=log_file,
            broker_url=self._broker.url if self._broker is not None else None,
        )
        self._run = run_app(self.user_app, settings, ctx.timing)
        plan = RunPlan(
            app=self.app_ref,
            search=str(self.search),
            settings=settings.model_dump(mode="json"),
            timing=asdict(ctx.timing),
        )
        self._env = {PLAN_ENV: plan.to_env(), "JOBFORGE_LEDGER": str(ctx.ledger_path)}
        self._env["JOBFORGE_RUN_ID"] = ctx.run_id
        # This process logs its runtime's events to the run's log file only (the kit reads it).
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(JsonFormatter())
        logger = logging.getLogger(LOGGER_NAME)
        self._log_state = (logger.level, logger.propagate)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        self._log_handler = handler
        runtime = self._run.runtime
        self._store = store_of(runtime)
        self._health = HealthServer(runtime).start()

    @property
    def runtime(self) -> Runtime:
        """The run app's runtime in this process (submits, inspects, replays)."""
        if self._run is None:
            raise ConformanceError("the jobforge-runtime adapter was used before setup(ctx)")
        return self._run.runtime

    def reset(self) -> None:
        """Empty the run's store (queues, jobs, dead letters, counters, alerts) and its log."""
        assert self._store is not None
        reset(self.runtime, self._store)
        log_file = Path(self.runtime.settings.log_file)
        if log_file.exists():
            with log_file.open("r+b") as out:
                out.truncate(0)

    def teardown(self) -> None:
        """Stop every process, stop serving, and remove the run's store."""
        for name in list(self._workers):
            self._workers.pop(name).terminate(graceful=False)
        for name in list(self._schedulers):
            self._schedulers.pop(name).terminate(graceful=False)
        if self._standby is not None:
            self._standby[1].terminate(graceful=False)
            self._standby = None
        if self._health is not None:
            self._health.stop()
            self._health = None
        if self._log_handler is not None:
            logger = logging.getLogger(LOGGER_NAME)
            logger.removeHandler(self._log_handler)
            logger.setLevel(self._log_state[0])
            logger.propagate = self._log_state[1]
            self._log_handler.close()
            self._log_handler = None
        try:
            if self._store is not None:
                self._store.destroy()
                self._store = None
        finally:
            if self._broker is not None:
                self._broker.close()
                self._broker = None

    # the private broker (JOBFORGE_PRIVATE_BROKER=1) ---------------------------------------

    def _private(self) -> PrivateBroker:
        if self._broker is None:
            raise NotImplementedError(
                "broker faults need the run's private broker: set JOBFORGE_PRIVATE_BROKER=1"
            )
        return self._broker

    def restart_broker(self) -> None:
        """Crash the run's private server and start it again with its data."""
        self._private().restart()

    def stop_broker(self) -> None:
        """Crash the run's private server and leave it down."""
        self._private().crash()

    def start_broker(self) -> None:
        """Start the run's private server again."""
        self._private().start()

    # processes -----------------------------------------------------------------------------

    def _spawn(self, role: str, *, stdin: bool = False) -> tuple[str, RunProcess]:
        assert self._ctx is not None
        self._counter += 1
        name = f"{role}-{self._counter}"
        log = self._ctx.workdir / f"{name}.log"
        env = {**os.environ, **self._env, "JOBFORGE_WORKER_ID": name}
        with log.open("ab") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", _WORKER_MODULE, role],
                cwd=self.search,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                start_new_session=True,
            )
        return name, RunProcess(popen=popen, log=log)

    def start_workers(self, count: int) -> list[str]:
        """Start ``count`` worker processes (the App's own worker); return once they take work."""
        names: list[str] = []
        for _ in range(count):
            name, process = self._spawn("worker")
            self._workers[name] = process
            names.append(name)
        for name in names:
            self._workers[name].wait_for(b"worker ready")
        return names

    def worker_pids(self, worker: str) -> list[int]:
        """Return the worker's main process; the kit finds its pool children and signals them."""
        return [self._workers[worker].popen.pid]

    def stop_worker(self, worker: str, *, graceful: bool = True) -> None:
        """Stop one worker: SIGTERM lets it finish its running jobs; otherwise SIGKILL."""
        self._workers.pop(worker).terminate(graceful=graceful)

    def kill_worker(self, worker: str) -> None:
        """SIGKILL one worker and its pool children (reaps it when the kit already did)."""
        self._workers.pop(worker).terminate(graceful=False)

    def start_scheduler(self, entries: Sequence[kit.ScheduleEntry]) -> str:
        """Start one runtime scheduler firing ``entries``; several may run at once."""
        assert self._ctx is not None
        catalogue = {spec.name: spec for spec in probes.probe_catalogue(self._ctx.timing)}
        doc = []
        for entry in entries:
            spec = catalogue.get(entry.job_type)
            doc.append(
                {
                    "name": entry.name,
                    "job_type": entry.job_type,
                    "every_s": entry.every_s,
                    "payload": entry.payload,
                    "overlap_policy": spec.overlap_policy if spec else None,
                    "missed_run_policy": spec.missed_run_policy if spec else None,
                }
            )
        self._counter += 1
        path = self._ctx.workdir / f"schedules-{self._counter}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        # A scheduler started ahead of time takes its schedules at once, so a restart is as quick
        # as in production, where the process is already running.
        name, process = self._standby or self._spawn("scheduler", stdin=True)
        self._standby = None
        process.wait_for(STANDING_BY.encode())
        assert process.popen.stdin is not None
        process.popen.stdin.write(f"{path}\n".encode())
        process.popen.stdin.close()
        self._schedulers[name] = process
        self._standby = self._spawn("scheduler", stdin=True)
        return name

    def stop_scheduler(self, scheduler: str) -> None:
        """Stop one scheduler process (SIGTERM: it ends after its current pass)."""
        self._schedulers.pop(scheduler).terminate(graceful=True)

    # jobs ----------------------------------------------------------------------------------

    def submit(
        self,
        job_type: str,
        payload: kit.JSONObject,
        *,
        idempotency_key: str | None = None,
        delay_s: float = 0.0,
        priority: int | None = None,
    ) -> str:
        """Enqueue through the runtime's own ``enqueue``."""
        job = self.runtime.catalogue.get(job_type)
        return self.runtime.enqueue(
            job,
            job.validate(payload),
            delay_s=delay_s,
            idempotency_key=idempotency_key,
            priority=priority,
        )

    def inspect(self, job_id: str) -> kit.JobInfo:
        """Return the runtime's ledger view of one job."""
        record = self.runtime.status(job_id)
        if record is None:
            raise KeyError(f"no job {job_id!r} in the run's ledger")
        return kit.JobInfo(
            job_id=record.job_id,
            job_type=record.job_type,
            status=kit.JobStatus(record.status.value),
            attempts=record.attempts,
            progress=record.progress,
            error=record.error,
            checkpoint=record.checkpoint,
        )

    def dead_letters(self) -> Sequence[kit.DeadLetter]:
        """List the runtime's dead-letter queue."""
        return [
            kit.DeadLetter(
                job_id=d.job_id,
                job_type=d.job_type,
                payload=d.payload,
                attempts=d.attempts,
                error=d.error,
                error_kind=d.error_kind,
                failed_at=d.failed_at,
            )
            for d in self.runtime.ledger.dead_letters(limit=100_000)
        ]

    def replay(self, job_id: str) -> str:
        """Replay a dead job through the runtime's own ``replay``."""
        if not self.runtime.settings.manual_retry:
            raise NotImplementedError("the app's settings turn manual replay off (manual_retry)")
        return self.runtime.replay(job_id)

    # observability -------------------------------------------------------------------------

    def _get(self, path: str) -> tuple[int, bytes]:
        assert self._health is not None
        try:
            with urllib.request.urlopen(self._health.url + path, timeout=10) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def metrics(self) -> Mapping[str, float]:
        """Scrape the runtime's ``/metrics`` and sum each counter and gauge over its labels.

        The runtime counts failed attempts as ``jobs_attempts_failed_total`` (its
        ``jobs_failed_total`` counts jobs failed for good without a dead-letter queue); the kit's
        ``jobs_failed_total`` is failed attempts, so that is what it is given.
        """
        from prometheus_client.parser import text_string_to_metric_families

        _, body = self._get("/metrics")
        totals: dict[str, float] = {}
        for family in text_string_to_metric_families(body.decode()):
            for sample in family.samples:
                if sample.name.endswith(("_created", "_bucket", "_sum", "_count")):
                    continue
                totals[sample.name] = totals.get(sample.name, 0.0) + float(sample.value)
        totals["jobs_failed_total"] = totals.get("jobs_attempts_failed_total", 0.0)
        return totals

    def health(self) -> Mapping[str, kit.JSONValue]:
        """Return the runtime's ``/health`` document."""
        _, body = self._get("/health")
        doc: dict[str, kit.JSONValue] = json.loads(body)
        return doc

    def logs(self) -> Sequence[kit.JSONObject]:
        """Return the JSON log lines of every process of the run since the last reset."""
        path = Path(self.runtime.settings.log_file)
        if not path.exists():
            return []
        records: list[kit.JSONObject] = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                records.append(json.loads(line))
        return records

    def alerts(self) -> Sequence[kit.JSONObject]:
        """Return the alerts the runtime recorded since the last reset."""
        return [
            {"kind": a.kind, "job_id": a.job_id, "message": a.message, "at": a.at}
            for a in self.runtime.ledger.alerts()
        ]


def make_adapter(app: str, *, search: Path) -> RuntimeAdapter:
    """Load the user's App from ``app`` (``module:attr``) and return its adapter.

    ``JOBFORGE_PRIVATE_BROKER=1`` runs the app on a server of the run's own (a redis-server for
    Celery and RQ, a PostgreSQL cluster for procrastinate), which the kit may crash and restart
    (``broker_restart``).
    """
    user_app = load_app(app, search=search)
    private = wanted()
    if private:
        check_backend(user_app.backend, app)
    return RuntimeAdapter(app_ref=app, search=search, user_app=user_app, private_broker=private)
