"""Settings: one frozen pydantic value, defaults from the project, overridden by ``JOBS_*``.

A generated project writes its answers as a :class:`Settings` literal; :meth:`Settings.from_env`
lays the environment over it (``JOBS_BROKER_URL``, ``JOBS_LEASE_S`` ... one variable per field,
named after it). Secrets (broker passwords, webhook URLs, SMTP passwords) come only from there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobforge_runtime.errors import SettingsError
from jobforge_runtime.retry import RetryPolicy

ENV_PREFIX = "JOBS_"
OverlapPolicy = Literal["skip", "queue", "allow"]
MissedRunPolicy = Literal["skip", "run_once", "run_all"]


class Settings(BaseModel):
    """Every knob of the runtime."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    broker_url: str = "sqlite:///var/jobs.sqlite3"
    ledger_url: str = Field("", description="empty: the broker's own store")
    key_prefix: str = Field("jobs", pattern=r"^[A-Za-z0-9_.:-]+$")
    queues: tuple[str, ...] = ("default",)
    worker_concurrency: int = Field(4, ge=1)
    db_pool_size: int = Field(
        4, ge=1, description="PostgreSQL connections per process (ledger and procrastinate each)"
    )
    global_concurrency: int | None = Field(None, ge=1, description="cap across all workers")
    timeout_s: float = Field(120.0, gt=0, description="default per-attempt timeout")
    lease_s: float = Field(30.0, gt=0, description="claim of a running job; renewed at 1/3")
    max_attempts: int = Field(4, ge=1, description="default attempts including the first")
    backoff_base_s: float = Field(1.0, ge=0)
    backoff_max_s: float = Field(300.0, ge=0)
    backoff_jitter: float = Field(0.25, ge=0, lt=1)
    retry_on: tuple[str, ...] = ("network", "timeout", "rate_limit", "server_error")
    discard_on: tuple[str, ...] = ("validation", "not_found", "auth")
    overlap_policy: OverlapPolicy = "skip"
    missed_run_policy: MissedRunPolicy = "run_once"
    delayed_jobs: bool = Field(True, description="false: enqueue refuses a delay (delay_s > 0)")
    timezone: str = "UTC"
    dead_letter_queue: bool = True
    dlq_alert_threshold: int = Field(10, ge=1)
    manual_retry: bool = True
    alert_webhook_url: str = ""
    alert_webhook_format: Literal["generic", "slack", "pagerduty"] = "generic"
    pagerduty_routing_key: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    alert_email_from: str = ""
    alert_email_to: tuple[str, ...] = ()
    log_level: str = "INFO"
    log_file: str = ""
    log_job_events: bool = Field(False, description="one info line per job start/finish")
    health_port: int = 9108
    worker_alive_s: float = Field(15.0, gt=0, description="a worker unseen this long is dead")
    poll_max_delay_s: float = Field(0.5, gt=0)
    redispatch_after_s: float = Field(600.0, gt=0)

    def retry_policy(self) -> RetryPolicy:
        """Return the default retry policy."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base_delay_s=self.backoff_base_s,
            max_delay_s=self.backoff_max_s,
            jitter=self.backoff_jitter,
        )

    def sqlite_path(self) -> Path:
        """Return the file of a ``sqlite:///`` broker (the ledger shares it unless told)."""
        url = self.ledger_url or self.broker_url
        if not url.startswith("sqlite:///"):
            raise SettingsError(
                f"broker_url={url!r}: the SQLite backend needs a sqlite:/// URL, "
                "e.g. JOBS_BROKER_URL=sqlite:///var/jobs.sqlite3"
            )
        return Path(url.removeprefix("sqlite:///"))

    @classmethod
    def from_env(
        cls, base: Settings | None = None, env: Mapping[str, str] | None = None
    ) -> Settings:
        """Return ``base`` with every ``JOBS_<FIELD>`` variable of ``env`` laid over it."""
        source = os.environ if env is None else env
        values = (base or cls()).model_dump()
        for name, info in cls.model_fields.items():
            raw = source.get(ENV_PREFIX + name.upper())
            if raw is None:
                continue
            is_tuple = "tuple" in str(info.annotation)
            values[name] = (
                tuple(p.strip() for p in raw.split(",") if p.strip()) if is_tuple else raw
            )
        return cls.parse(values, source="environment")

    @classmethod
    def parse(cls, values: Mapping[str, object], *, source: str = "settings") -> Settings:
        """Validate ``values``; raise :class:`SettingsError` naming each bad field and value."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            problems = []
            for error in exc.errors(include_url=False):
                field = ".".join(str(p) for p in error["loc"])
                env = ENV_PREFIX + field.upper()
                problems.append(
                    f"{field}={error.get('input')!r}: {error['msg']} (set {env} or the project's "
                    "Settings)"
                )
            raise SettingsError(f"invalid {source}: " + "; ".join(problems)) from None
