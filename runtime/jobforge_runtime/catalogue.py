"""The job catalogue: job types declared with ``@job``, each with a typed payload and policies.

``@job`` returns a :class:`JobDef` value and registers nothing globally; a :class:`Catalogue` is
built from job definitions (or from the modules that hold them), so two catalogues never share
state and a test can build its own.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from pydantic import BaseModel, ValidationError

from jobforge_runtime.errors import PayloadError, SettingsError, UnknownJobTypeError
from jobforge_runtime.retry import RetryPolicy

if TYPE_CHECKING:
    from jobforge_runtime.context import JobContext
    from jobforge_runtime.settings import Settings

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True, kw_only=True)
class JobDef(Generic[P]):
    """One job type: its payload model, handler and declared policies (None: the settings')."""

    name: str  # the name callers submit, e.g. "emails.send_welcome"
    payload: type[P]  # validated before enqueue and again before the handler runs
    handler: Callable[[JobContext, P], object]
    queue: str | None = None  # None: the first of the settings' queues
    priority: int = 0  # higher runs first under backlog
    max_attempts: int | None = None  # attempts including the first run
    timeout_s: float | None = None  # per attempt
    backoff_base_s: float | None = None
    backoff_max_s: float | None = None
    idempotency_key: Callable[[P], str] | None = None  # same key: one job, however often sent
    unique_key: Callable[[P], str] | None = None  # same key: one active job at a time
    ordering_key: Callable[[P], str] | None = None  # same key: one at a time, in order
    concurrency: int | None = None  # most attempts of this type running at once
    rate_per_s: float | None = None  # most starts of this type per second
    retry_for: tuple[type[BaseException], ...] = ()  # exception types that are transient

    def __post_init__(self) -> None:
        """Reject a job type without the bounds every job must have."""
        where = f"@job({self.name!r})"
        if not self.name or any(c.isspace() for c in self.name):
            raise SettingsError(f"{where}: name={self.name!r}; use a dotted name without spaces")
        for field, value in (("timeout_s", self.timeout_s), ("rate_per_s", self.rate_per_s)):
            if value is not None and value <= 0:
                raise SettingsError(f"{where}: {field}={value}; use a number > 0 or leave it out")
        for field, count in (
            ("concurrency", self.concurrency),
            ("max_attempts", self.max_attempts),
        ):
            if count is not None and count < 1:
                raise SettingsError(f"{where}: {field}={count}; use a number >= 1 or leave it out")

    def __call__(self, ctx: JobContext, payload: P) -> object:
        """Run the handler directly (tests of a job's body)."""
        return self.handler(ctx, payload)

    def validate(self, data: object) -> P:
        """Return ``data`` as the payload model; raise :class:`PayloadError` field by field."""
        if isinstance(data, self.payload):
            return data
        try:
            return self.payload.model_validate(data)
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in e['loc']) or 'payload'}={e.get('input')!r}: {e['msg']}"
                for e in exc.errors(include_url=False)
            ]
            raise PayloadError(self.name, problems) from None

    def retry_policy(self, settings: Settings) -> RetryPolicy:
        """Return this job's retry policy: its own values over the settings' defaults."""
        return RetryPolicy(
            max_attempts=self.max_attempts or settings.max_attempts,
            base_delay_s=(
                settings.backoff_base_s if self.backoff_base_s is None else self.backoff_base_s
            ),
            max_delay_s=settings.backoff_max_s
            if self.backoff_max_s is None
            else self.backoff_max_s,
            jitter=settings.backoff_jitter,
        )

    @property
    def description(self) -> str:
        """The handler's docstring's first line."""
        doc = (self.handler.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


#: A job definition of any payload type, as a catalogue holds them.
AnyJob: TypeAlias = "JobDef[Any]"


def job(
    name: str,
    *,
    payload: type[P],
    queue: str | None = None,
    priority: int = 0,
    max_attempts: int | None = None,
    timeout_s: float | None = None,
    backoff_base_s: float | None = None,
    backoff_max_s: float | None = None,
    idempotency_key: Callable[[P], str] | None = None,
    unique_key: Callable[[P], str] | None = None,
    ordering_key: Callable[[P], str] | None = None,
    concurrency: int | None = None,
    rate_per_s: float | None = None,
    retry_for: tuple[type[BaseException], ...] = (),
) -> Callable[[Callable[[JobContext, P], object]], JobDef[P]]:
    """Declare a job type: ``@job("emails.send_welcome", payload=WelcomeEmail, max_attempts=5)``."""

    def declare(handler: Callable[[JobContext, P], object]) -> JobDef[P]:
        return JobDef(
            name=name,
            payload=payload,
            handler=handler,
            queue=queue,
            priority=priority,
            max_attempts=max_attempts,
            timeout_s=timeout_s,
            backoff_base_s=backoff_base_s,
            backoff_max_s=backoff_max_s,
            idempotency_key=idempotency_key,
            unique_key=unique_key,
            ordering_key=ordering_key,
            concurrency=concurrency,
            rate_per_s=rate_per_s,
            retry_for=retry_for,
        )

    return declare


class Catalogue:
    """An immutable set of job types, looked up by name."""

    def __init__(self, jobs: Iterable[AnyJob]) -> None:
        """Index ``jobs`` by name; a name may appear once."""
        index: dict[str, AnyJob] = {}
        for definition in jobs:
            if definition.name in index and index[definition.name] is not definition:
                raise SettingsError(
                    f"job type {definition.name!r} is declared twice; rename one of them"
                )
            index[definition.name] = definition
        self._jobs = index

    @classmethod
    def from_modules(cls, *modules: types.ModuleType) -> Catalogue:
        """Collect every :class:`JobDef` defined at the top level of ``modules``."""
        found = [v for m in modules for v in vars(m).values() if isinstance(v, JobDef)]
        return cls(found)

    def get(self, name: str) -> AnyJob:
        """Return the job type ``name`` or raise :class:`UnknownJobTypeError`."""
        try:
            return self._jobs[name]
        except KeyError:
            raise UnknownJobTypeError(name, self._jobs) from None

    def names(self) -> list[str]:
        """Return the job type names, sorted."""
        return sorted(self._jobs)

    def __contains__(self, name: object) -> bool:
        """Return True when ``name`` is a known job type."""
        return name in self._jobs

    def __iter__(self) -> Iterator[AnyJob]:
        """Iterate over the job types in declaration order."""
        return iter(self._jobs.values())

    def __len__(self) -> int:
        """Return how many job types there are."""
        return len(self._jobs)
