"""The user's jobforge-runtime App, and the copy of it a conformance run drives.

Shared by the adapter (in the kit's process) and the kit's worker entry point
(:mod:`.runtime_worker`): both load the user's ``App`` from its ``module:attr`` reference and
derive the *run app* from it (``App.derive``) with the kit's probe job types added and the
run's own settings (a SQLite file in the run's directory, or the app's Redis under a key prefix
of the run's own), so nothing of the user's is touched and nothing for scoring lives in the
user's package. The run's plan travels to worker processes as JSON in :data:`PLAN_ENV`.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ConfigDict

from jobforge.errors import ConformanceError, UsageError

from .. import probes
from ..adapter import JSONObject, Timing
from .runtime_description import probe_timing

try:
    from jobforge_runtime import (
        App,
        JobContext,
        JobDef,
        PermanentError,
        Schedule,
        Settings,
        TransientError,
        job,
    )
    from jobforge_runtime.settings import MissedRunPolicy, OverlapPolicy
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"{exc}; install the runtime in this environment: pip install 'jobforge-runtime[huey]'"
    ) from exc

#: Environment variable carrying the run's :class:`RunPlan` (JSON) to worker processes.
PLAN_ENV = "JOBFORGE_RUNTIME_PLAN"
#: Worker slots per worker process group, at most (the app's ``worker_concurrency`` otherwise).
MAX_WORKER_CONCURRENCY = 4


class ProbeTransientError(TransientError):
    """A probe's planned transient failure (the runtime retries it).

    Its own class, so a runtime timeout (also a ``TransientError``) is still recorded as a
    timeout by the probe and not as a planned failure.
    """


class ProbePermanentError(PermanentError):
    """A probe's planned permanent failure (the runtime dead-letters it at once)."""


class ProbePayload(BaseModel):
    """A probe payload: built by the kit, validated for its id, passed through untouched."""

    model_config = ConfigDict(extra="allow")

    probe_id: str


def run_probe_job(ctx: JobContext, payload: ProbePayload) -> None:
    """Body of every probe job type: the kit's probe with the runtime's job context."""
    probes.run_probe(
        payload.model_dump(mode="json"),
        ctx,
        transient=ProbeTransientError,
        permanent=ProbePermanentError,
    )


def _unique_key(payload: ProbePayload) -> str:
    extra = payload.model_extra or {}
    return str(extra.get("unique_key") or payload.probe_id)


def probe_jobs(timing: Timing) -> tuple[JobDef[ProbePayload], ...]:
    """Return the kit's probe job types as runtime job definitions with the kit's policies."""
    jobs: list[JobDef[ProbePayload]] = []
    for spec in probes.probe_catalogue(timing):
        delays = spec.backoff_delays_s or (timing.backoff_base_s,)
        declare = job(
            spec.name,
            payload=ProbePayload,
            priority=spec.priority,
            max_attempts=spec.max_attempts,
            timeout_s=spec.timeout_s,
            backoff_base_s=delays[0],
            backoff_max_s=max(delays),
            unique_key=_unique_key if spec.unique else None,
            concurrency=spec.concurrency_limit,
            rate_per_s=spec.rate_limit_per_s,
        )
        jobs.append(declare(run_probe_job))
    return tuple(jobs)


def load_app(ref: str, *, search: Path) -> App:
    """Import the user's App from ``module:attr`` with ``search`` on ``sys.path``."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise UsageError(
            f"--app {ref!r} must look like 'package.module:attr' naming your App, "
            'e.g. --app myapp.jobs.app:app (or [tool.jobforge] app = "...")'
        )
    if str(search) not in sys.path:
        sys.path.insert(0, str(search))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name + ".").startswith(exc.name + "."):
            raise _import_failed(ref, module_name, exc) from exc
        raise ConformanceError(
            f"--app {ref!r}: cannot import {module_name!r} ({exc}); install your project in "
            f"this environment or run from its directory ({search})"
        ) from exc
    except Exception as exc:
        raise _import_failed(ref, module_name, exc) from exc
    target = getattr(module, attr, None)
    if target is None:
        raise UsageError(
            f"--app {ref!r}: module {module_name!r} has no attribute {attr!r}; name the "
            "variable holding your App, e.g. app = App(settings=..., catalogue=...)"
        )
    if not isinstance(target, App):
        raise UsageError(
            f"--app {ref!r} is a {type(target).__name__}, not a jobforge_runtime.App; point "
            "it at the App your app.py declares"
        )
    clash = sorted(set(app_names := target.catalogue.names()) & set(probes.PROBE_TYPES))
    if clash:
        raise UsageError(
            f"--app {ref!r}: job type(s) {', '.join(clash)} of your catalogue use the kit's "
            f"reserved probe names; rename them (your job types: {', '.join(app_names)})"
        )
    return target


def _import_failed(ref: str, module_name: str, exc: BaseException) -> ConformanceError:
    text = " ".join(str(exc).split())
    return ConformanceError(
        f"--app {ref!r}: importing {module_name!r} raised {type(exc).__name__}: {text}; "
        "fix that error in your project (python -c 'import "
        f"{module_name}' shows it)"
    )


@dataclass(frozen=True, kw_only=True)
class RunPlan:
    """Everything a worker or scheduler process needs to join a run (JSON across processes)."""

    app: str  # the user's module:attr
    search: str  # the directory the user's code is imported from
    settings: dict[str, Any]  # the run's settings, as JSON
    timing: dict[str, Any]  # the run's Timing, as JSON

    def to_env(self) -> str:
        """Return the plan as JSON for :data:`PLAN_ENV`."""
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> RunPlan:
        """Read the plan the adapter put in :data:`PLAN_ENV`."""
        raw = os.environ.get(PLAN_ENV)
        if not raw:
            raise ConformanceError(
                f"{PLAN_ENV} is not set: this entry point is started by the jobforge-runtime "
                "adapter of `jobforge score`, not by hand"
            )
        return cls(**json.loads(raw))

    def run_settings(self) -> Settings:
        """Return the run's settings."""
        return Settings.parse(self.settings, source="the run's settings")

    def run_timing(self) -> Timing:
        """Return the run's timings."""
        return Timing(**self.timing)


def run_settings(
    app: App,
    *,
    timing: Timing,
    workdir: Path,
    run_id: str,
    log_file: Path,
    broker_url: str | None = None,
) -> Settings:
    """Return the app's resolved settings moved onto the run's own store, at the run's scale.

    What the app declares about behaviour (dead-letter queue, manual retry, jitter, error
    classes, overlap and missed-run defaults, global cap) is kept. Where jobs live is the run's
    own: a SQLite file in ``workdir``, or the app's Redis under a key prefix of the run's.
    Leases, polling and worker liveness take the run's scale; alerts reach only the ledger (the
    user's webhook and mail are never sent probe alerts); per-job events are logged as JSON lines
    to ``log_file``; delays are accepted (the probes use them). ``broker_url`` replaces the
    broker (and the ledger beside it): a private server of the run's (a redis-server, or a
    PostgreSQL cluster for procrastinate).
    """
    base = app.resolved_settings()
    changes: dict[str, Any] = {
        "key_prefix": f"jobforge-conf-{run_id}",
        "worker_concurrency": min(base.worker_concurrency, MAX_WORKER_CONCURRENCY),
        "lease_s": timing.lease_s,
        # Workers beat every third of a lease; two leases of silence ride out a loaded machine
        # and still show a stopped worker well within the kit's health notice (3 leases + 5 s).
        "worker_alive_s": 2 * timing.lease_s,
        "poll_max_delay_s": 0.02,
        "redispatch_after_s": max(5.0, 3 * timing.lease_s),
        "timeout_s": timing.timeout_s,
        "log_level": "INFO",
        "log_file": str(log_file),
        "log_job_events": True,
        "alert_webhook_url": "",
        "pagerduty_routing_key": "",
        "smtp_host": "",
        "smtp_user": "",
        "smtp_password": "",
        "alert_email_to": (),
        # The probes include delayed jobs: an app refusing delays (delayed_jobs=False, a rule
        # for its own callers) still runs on the engine whose delayed jobs are scored.
        "delayed_jobs": True,
    }
    if app.backend == "huey":
        changes["broker_url"] = f"sqlite:///{workdir / 'jobs.sqlite3'}"
        changes["ledger_url"] = ""
    elif broker_url is not None:
        changes["broker_url"] = broker_url
        changes["ledger_url"] = ""
    return Settings.parse({**base.model_dump(), **changes}, source="the run's settings")


def run_app(app: App, settings: Settings, timing: Timing) -> App:
    """Return the run app: the user's App with the probe job types, on ``settings``.

    The probes' retry delays are at the backend's scale (:func:`.runtime_description.probe_timing`).
    """
    scaled = probe_timing(timing, app.backend, settings.backoff_jitter)
    return app.derive(settings=settings, extra_jobs=probe_jobs(scaled), schedules=())


def schedules_from(doc: list[JSONObject], run: App) -> list[Schedule]:
    """Build the runtime schedules the kit asked for (``start_scheduler`` entries, as JSON)."""
    result: list[Schedule] = []
    for entry in doc:
        every = entry["every_s"]
        payload = entry.get("payload") or {}
        overlap = entry.get("overlap_policy")
        missed = entry.get("missed_run_policy")
        if overlap not in (None, "skip", "queue", "allow"):
            raise ConformanceError(f"schedule entry overlap_policy={overlap!r} is not known")
        if missed not in (None, "skip", "run_once", "run_all"):
            raise ConformanceError(f"schedule entry missed_run_policy={missed!r} is not known")
        result.append(
            Schedule(
                name=str(entry["name"]),
                job=run.catalogue.get(str(entry["job_type"])),
                every_s=float(every) if isinstance(every, int | float) else None,
                payload=dict(payload) if isinstance(payload, dict) else {},
                overlap=cast("OverlapPolicy | None", overlap),
                missed_runs=cast("MissedRunPolicy | None", missed),
            )
        )
    return result
