"""The soak plan: which jobs are submitted when, and which faults land when, all from one seed.

The plan is a pure function of a :class:`SoakConfig` and what the implementation declares, so
the same seed and arguments give the same jobs and the same fault schedule; the schedule is
saved in the report and ``--replay`` reads it back.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Final

from jobforge.errors import UsageError

from .. import probes
from ..adapter import Capability, JSONObject, JSONValue


class FaultKind(enum.StrEnum):
    """The faults a soak injects; each needs what :data:`NEEDS` lists."""

    KILL = "kill"  # SIGKILL of a worker running a job
    SIGTERM = "sigterm"  # graceful stop of a worker running a job
    KILL_IN_BACKOFF = "kill_in_backoff"  # SIGKILL of the worker whose job waits out a retry
    BROKER_RESTART = "broker_restart"  # the broker/store restarted (adapter's private instance)
    POISON = "poison"  # a burst of jobs that fail permanently on every attempt
    DUPLICATE_STORM = "duplicate_storm"  # one job submitted many times with one idempotency key
    SCHEDULER_KILL = "scheduler_kill"  # the scheduler instance stopped and a new one started


#: Capabilities each fault kind needs declared.
NEEDS: Final[Mapping[FaultKind, frozenset[Capability]]] = {
    FaultKind.KILL: frozenset({Capability.KILL_WORKER}),
    FaultKind.SIGTERM: frozenset({Capability.GRACEFUL_SHUTDOWN}),
    FaultKind.KILL_IN_BACKOFF: frozenset({Capability.KILL_WORKER, Capability.RETRIES}),
    FaultKind.BROKER_RESTART: frozenset({Capability.BROKER_RESTART}),
    FaultKind.POISON: frozenset(),
    FaultKind.DUPLICATE_STORM: frozenset({Capability.IDEMPOTENCY_KEYS}),
    FaultKind.SCHEDULER_KILL: frozenset({Capability.SCHEDULER}),
}

#: Job mix: (name, weight). Shapes whose probe type is not in the catalogue become "plain".
MIX: Final = (
    ("plain", 45),
    ("flaky", 20),
    ("long", 10),
    ("priority", 10),
    ("limited", 5),
    ("rate", 5),
    ("unique", 5),
)
_SHAPE_TYPES: Final = {
    "plain": probes.PROBE_DEFAULT,
    "flaky": probes.PROBE_DEFAULT,
    "long": probes.PROBE_LONG,
    "priority": probes.PROBE_PRIORITY,
    "limited": probes.PROBE_LIMITED,
    "rate": probes.PROBE_RATE,
    "unique": probes.PROBE_UNIQUE,
}
#: Share of jobs submitted with an idempotency key when the implementation declares them.
KEYED_SHARE: Final = 0.25
#: Faults land in this part of the submission window (none right at the start or the end).
FAULT_WINDOW: Final = (0.05, 0.95)
#: Scope of every soak record in the ledger; scheduler ticks use :data:`SCHEDULER_SCOPE`.
SCOPE: Final = "soak"
SCHEDULER_SCOPE: Final = "soak.scheduler"


@dataclass(frozen=True, kw_only=True)
class SoakConfig:
    """The arguments that decide a soak's plan."""

    seed: int  # every random choice of the plan derives from it
    jobs: int = 2000  # planned jobs (poison bursts and storms come on top)
    duration_s: float = 240.0  # submissions spread evenly over this window
    faults_per_kind: int = 30  # faults of each applicable kind
    workers: int = 3  # workers kept running (a killed one is replaced)
    storm_size: int = 5  # submissions of one idempotency key in a duplicate storm
    poison_burst: int = 3  # permanently failing jobs per poison fault

    def __post_init__(self) -> None:
        checks: tuple[tuple[str, float, float], ...] = (
            ("jobs", self.jobs, 1),
            ("duration_s", self.duration_s, 0.1),
            ("faults_per_kind", self.faults_per_kind, 0),
            ("workers", self.workers, 1),
            ("storm_size", self.storm_size, 2),
            ("poison_burst", self.poison_burst, 1),
        )
        for name, value, least in checks:
            if value < least:
                raise UsageError(f"soak {name} is {value!r}; give at least {least:g}")


@dataclass(frozen=True, kw_only=True)
class JobPlan:
    """One planned job of the soak."""

    index: int
    probe_id: str
    job_type: str
    shape: str  # a name of :data:`MIX`
    at_s: float  # submission time, seconds after the soak started
    sleep_s: float
    idempotency_key: str | None
    priority: int | None

    def payload(self) -> JSONObject:
        """Build the probe payload: one effect keyed by the probe id, failures by shape."""
        fail: dict[int | str, str] | None = {1: "transient"} if self.shape == "flaky" else None
        long = self.shape == "long"
        return probes.probe_payload(
            self.probe_id,
            scope=SCOPE,
            job_type=self.job_type,
            sleep_s=0.0 if long else self.sleep_s,
            fail=fail,
            effect=effect_key(self.probe_id),
            steps=3 if long else 0,
            step_s=self.sleep_s if long else 0.0,
            unique_key=self.probe_id if self.shape == "unique" else None,
        )


@dataclass(frozen=True, kw_only=True)
class FaultPlan:
    """One scheduled fault."""

    index: int
    kind: FaultKind
    at_s: float  # seconds after the soak started


@dataclass(frozen=True, kw_only=True)
class SoakPlan:
    """Everything a soak will do, before it runs."""

    config: SoakConfig
    kinds: tuple[FaultKind, ...]  # the applicable fault kinds
    jobs: tuple[JobPlan, ...]
    faults: tuple[FaultPlan, ...] = field(default=())

    def to_json(self) -> JSONObject:
        """Return the config and the fault schedule (the jobs follow from the seed)."""
        config: dict[str, JSONValue] = dict(asdict(self.config))
        return {
            "config": config,
            "kinds": [k.value for k in self.kinds],
            "faults": [
                {"index": f.index, "kind": f.kind.value, "at_s": f.at_s} for f in self.faults
            ],
        }


def effect_key(probe_id: str) -> str:
    """Return the effect key of a soak probe: one effect per logical job."""
    return f"effect:{probe_id}"


def applicable(
    capabilities: Collection[Capability],
    *,
    broker_seam: bool,
    job_types: Collection[str] = probes.PROBE_TYPES,
) -> tuple[FaultKind, ...]:
    """Return the fault kinds the implementation allows.

    Each kind needs its capabilities (:data:`NEEDS`); a broker restart also needs the adapter's
    seam (``restart_broker`` or ``stop_broker``/``start_broker``), a scheduler kill the
    ``probe.scheduled`` job type for the scheduler to fire.
    """
    return tuple(
        kind
        for kind in FaultKind
        if NEEDS[kind] <= frozenset(capabilities)
        and (kind is not FaultKind.BROKER_RESTART or broker_seam)
        and (kind is not FaultKind.SCHEDULER_KILL or probes.PROBE_SCHEDULED in job_types)
    )


def _jobs(config: SoakConfig, job_types: Collection[str], keyed: bool) -> tuple[JobPlan, ...]:
    rng = random.Random(f"{config.seed}:jobs")
    names = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    step = config.duration_s / config.jobs
    planned = []
    for index in range(config.jobs):
        shape = rng.choices(names, weights)[0]
        job_type = _SHAPE_TYPES[shape]
        if job_type not in job_types:
            shape, job_type = "plain", probes.PROBE_DEFAULT
        probe_id = f"soak-{index:05d}"
        sleep_s = round(rng.uniform(0.02, 0.2), 3)
        with_key = keyed and rng.random() < KEYED_SHARE
        priority = rng.choice((probes.HIGH_PRIORITY, probes.LOW_PRIORITY))
        planned.append(
            JobPlan(
                index=index,
                probe_id=probe_id,
                job_type=job_type,
                shape=shape,
                at_s=round(index * step, 3),
                sleep_s=sleep_s,
                idempotency_key=f"key:{probe_id}" if with_key else None,
                priority=priority if shape == "priority" else None,
            )
        )
    return tuple(planned)


def _faults(config: SoakConfig, kinds: tuple[FaultKind, ...]) -> tuple[FaultPlan, ...]:
    rng = random.Random(f"{config.seed}:faults")
    low, high = (config.duration_s * edge for edge in FAULT_WINDOW)
    timed = sorted(
        (round(rng.uniform(low, high), 3), kind)
        for kind in kinds
        for _ in range(config.faults_per_kind)
    )
    return tuple(FaultPlan(index=i, kind=kind, at_s=at) for i, (at, kind) in enumerate(timed))


def make_plan(
    config: SoakConfig,
    *,
    kinds: tuple[FaultKind, ...],
    job_types: Collection[str],
    keyed: bool,
) -> SoakPlan:
    """Draw the jobs and the fault schedule for ``config``: the same inputs, the same plan."""
    if probes.PROBE_DEFAULT not in job_types:
        raise UsageError(
            f"the implementation's catalogue has no {probes.PROBE_DEFAULT!r}; a soak submits "
            "probe jobs: register the kit's probe types (see conformance/probes.py)"
        )
    return SoakPlan(
        config=config,
        kinds=kinds,
        jobs=_jobs(config, job_types, keyed),
        faults=_faults(config, kinds),
    )


def _number(value: JSONValue) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a number")
    return float(value)


def _int(value: JSONValue) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{value!r} is not an integer")
    return value


def replay_config(saved: Mapping[str, JSONValue]) -> tuple[SoakConfig, tuple[FaultPlan, ...]]:
    """Read the config and the schedule from a saved report's ``plan`` object."""
    try:
        raw = saved["config"]
        schedule = saved["faults"]
        if not isinstance(raw, dict) or not isinstance(schedule, list):
            raise TypeError("config must be an object and faults a list")
        config = SoakConfig(
            seed=_int(raw["seed"]),
            jobs=_int(raw["jobs"]),
            duration_s=float(_number(raw["duration_s"])),
            faults_per_kind=_int(raw["faults_per_kind"]),
            workers=_int(raw["workers"]),
            storm_size=_int(raw["storm_size"]),
            poison_burst=_int(raw["poison_burst"]),
        )
        faults = tuple(
            FaultPlan(index=int(f["index"]), kind=FaultKind(f["kind"]), at_s=float(f["at_s"]))
            for f in schedule
            if isinstance(f, dict)
            and isinstance(f["index"], int)
            and isinstance(f["at_s"], int | float)
            and isinstance(f["kind"], str)
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"--replay: the report's plan is not readable ({exc}); give a JSON report written "
            "by jobforge soak --json"
        ) from exc
    return config, faults


def check_replay(plan: SoakPlan, saved: tuple[FaultPlan, ...]) -> None:
    """Raise UsageError when a regenerated schedule differs from the saved one."""
    if plan.faults != saved:
        raise UsageError(
            f"--replay: the saved schedule has {len(saved)} faults but the same seed now plans "
            f"{len(plan.faults)} different ones; the implementation declares other capabilities "
            "than when the report was written: replay against the same adapter"
        )
