"""The runner: one conformance run of one implementation, from set-up to :class:`RunResults`.

For each check the runner resets the implementation, provides the workers the check needs and
runs it under a time budget; the check itself goes through workload -> fault -> heal -> settle ->
drain -> check. The runner owns isolation: outcomes are classified so that the kit's own
failures (ledger, adapter import, set-up) are *inconclusive*, never a pass, and the
implementation's failures (exceptions, hangs, wrong answers) are *fail* with evidence.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from jobforge.rubric.model import load_rubric
from jobforge.rubric.outcomes import CheckOutcome, Outcome
from jobforge.rubric.results import SCHEMA_VERSION, Implementation, RunResults

from jobforge.errors import ConformanceError

from . import faults
from .adapter import (
    Adapter,
    Capability,
    Description,
    JobInfo,
    JobStatus,
    JSONObject,
    RunContext,
)
from .checks import Check, all_checks
from .checks.base import Verdict, failed, inconclusive, unsupported
from .checks.testing import SuiteRun, run_suite
from .env import TERMINAL, Env, Guarded, ImplementationFault, Unsupported, WorkerPool
from .history import LEDGER_ENV, RUN_ID_ENV, Ledger
from .probes import PROBE_DEFAULT, probe_payload
from .profiles import Profile, get_profile
from .reachability import unreachable
from .tolerance import drain_deadline

#: After this many failed restores in a row the kit stops trying; later checks are inconclusive.
MAX_FAILED_RESTORES = 3
#: What to do when the implementation's broker or store refuses connections.
_UNREACHABLE_ADVICE = (
    "the implementation's broker or store cannot be reached: start it, or point the adapter at "
    "a running one"
)


class Observer(Protocol):
    """Hears about a run's progress (the CLI draws progress bars from it)."""

    def run_started(self, checks: Sequence[Check]) -> None:
        """Hear that the run is about to run ``checks`` in this order."""

    def check_finished(self, check: Check, outcome: CheckOutcome) -> None:
        """Hear that one check finished."""


class _Silent:
    def run_started(self, checks: Sequence[Check]) -> None:
        pass

    def check_finished(self, check: Check, outcome: CheckOutcome) -> None:
        pass


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _verdict_of(check: Check, env: Env) -> Verdict:
    try:
        return check.run(env)
    except Unsupported as exc:
        return unsupported(str(exc))
    except ImplementationFault as exc:
        return failed(str(exc))
    except ConformanceError as exc:
        return inconclusive(f"the kit's infrastructure failed: {exc}")
    except Exception as exc:
        return inconclusive(f"internal error in the kit: {type(exc).__name__}: {exc}")


def _run_with_budget(check: Check, env: Env) -> Verdict:
    box: list[Verdict] = []
    thread = threading.Thread(
        target=lambda: box.append(_verdict_of(check, env)),
        name=f"jobforge-check-{check.check_id}",
        daemon=True,
    )
    thread.start()
    thread.join(check.budget_s)
    if thread.is_alive() or not box:
        return failed(
            f"the check did not finish within {check.budget_s:g} s: an adapter call or a job "
            "hung (every wait of the kit has a deadline)"
        )
    return box[0]


#: Evidence of a rubric check that a partial run did not select.
NOT_SELECTED = "not run: this run did not select the check (jobforge score --check ...)"


def not_run_outcomes(selected: Sequence[Check]) -> tuple[CheckOutcome, ...]:
    """Return a ``not_run`` outcome for every rubric check not among ``selected``."""
    chosen = {c.check_id for c in selected}
    return tuple(
        CheckOutcome(check_id=check.id, outcome=Outcome.NOT_RUN, evidence=(NOT_SELECTED,))
        for dimension in load_rubric().dimensions
        for check in dimension.checks
        if check.id not in chosen
    )


def _all(checks: Sequence[Check], outcome: Outcome, why: str) -> tuple[CheckOutcome, ...]:
    return tuple(
        CheckOutcome(check_id=c.check_id, outcome=outcome, evidence=(why,)) for c in checks
    )


class Runner:
    """Runs checks against one adapter; build one per run."""

    def __init__(
        self,
        adapter: Adapter,
        *,
        profile: Profile | str = "ci",
        checks: Sequence[Check] | None = None,
        workdir: Path | None = None,
        observer: Observer | None = None,
    ) -> None:
        """Prepare a run of ``checks`` (every check by default) at ``profile``."""
        self.adapter = Guarded(adapter)
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.checks = tuple(checks) if checks is not None else all_checks()
        self.workdir = workdir
        self.observer: Observer = observer or _Silent()
        self.run_id = f"run-{uuid.uuid4().hex[:12]}"
        #: The worker fault after which the implementation has not been restored yet, and why.
        self._unrestored: tuple[faults.InjectedFault, str] | None = None
        self._restores = 0
        self._failed_restores = 0  # in a row, since the last good state

    def run(self) -> RunResults:
        """Run every check and return the results (never raises for the implementation's sake)."""
        started_at = datetime.now(UTC)
        clock = time.monotonic()
        notes: list[str] = []
        self.observer.run_started(self.checks)
        own_dir = self.workdir is None
        workdir = (
            self.workdir
            if self.workdir is not None
            else Path(tempfile.mkdtemp(prefix="jobforge-run-"))
        )
        description: Description | None = None
        outcomes: tuple[CheckOutcome, ...] = ()
        durations: dict[str, float] = {}
        try:
            description = self._describe()
            ledger = self._open_ledger(workdir)
            outcomes, durations = self._run_checks(description, ledger, workdir, notes)
            if self.profile.campaign_examples:
                outcomes = self._campaign(outcomes, notes)
        except ConformanceError as exc:
            notes.append(f"inconclusive: {exc}")
            outcomes = _all(self.checks, Outcome.INCONCLUSIVE, str(exc))
            for check, outcome in zip(self.checks, outcomes, strict=True):
                self.observer.check_finished(check, outcome)
        finally:
            if own_dir:
                shutil.rmtree(workdir, ignore_errors=True)
        outcomes = (*outcomes, *not_run_outcomes(self.checks))
        return RunResults(
            schema_version=SCHEMA_VERSION,
            rubric_version=load_rubric().version,
            implementation=Implementation(
                name=description.name if description else "unknown",
                version=description.version if description else "unknown",
                backend=description.backend if description else "unknown",
            ),
            profile=self.profile.name,
            started_at=started_at,
            duration_s=round(time.monotonic() - clock, 3),
            dimension_durations_s=durations,
            outcomes=outcomes,
            notes=tuple(notes),
        )

    # -- phases --------------------------------------------------------------------------------

    def _describe(self) -> Description:
        try:
            description = self.adapter.call("describe")
        except ImplementationFault as exc:
            raise ConformanceError(f"the adapter cannot describe itself: {exc}") from exc
        if not isinstance(description, Description):
            raise ConformanceError(
                f"adapter.describe() returned {type(description).__name__}, expected a "
                "jobforge.conformance.adapter.Description"
            )
        return description

    def _open_ledger(self, workdir: Path) -> Ledger:
        ledger = Ledger(workdir / "ledger.db", run_id=self.run_id)
        ledger.initialize()
        ledger.record_event(scope="run", kind="phase.start", subject=self.profile.name)
        if not ledger.read("run").events:
            raise ConformanceError(f"the history ledger {ledger.path} did not keep a record")
        return ledger

    def _run_checks(
        self, description: Description, ledger: Ledger, workdir: Path, notes: list[str]
    ) -> tuple[tuple[CheckOutcome, ...], dict[str, float]]:
        context = RunContext(
            ledger_path=ledger.path, workdir=workdir, timing=self.profile.timing, run_id=self.run_id
        )
        variables = {LEDGER_ENV: str(ledger.path), RUN_ID_ENV: self.run_id}
        outcomes: list[CheckOutcome] = []
        durations: dict[str, float] = {}
        shared: dict[str, object] = {}
        pool = WorkerPool(self.adapter)
        with _environment(variables):
            try:
                self.adapter.call("setup", context)
            except ImplementationFault as exc:
                hint = f"; {_UNREACHABLE_ADVICE}" if unreachable(exc) else ""
                raise ConformanceError(
                    f"adapter.setup() failed, nothing was scored: {exc}{hint}"
                ) from exc
            try:
                self._preflight(description, ledger, pool)
                self._start_suite(description, shared)
                for check in self.checks:
                    outcome = self._one(check, description, ledger, pool, shared)
                    outcomes.append(outcome)
                    durations[check.dimension] = round(
                        durations.get(check.dimension, 0.0) + outcome.duration_s, 3
                    )
                    self.observer.check_finished(check, outcome)
                _note_suite(shared, notes)
            finally:
                try:
                    pool.stop_schedulers()
                    self.adapter.call("teardown")
                except ImplementationFault as exc:
                    notes.append(f"teardown failed: {exc}")
        return tuple(outcomes), durations

    def _campaign(
        self, outcomes: tuple[CheckOutcome, ...], notes: list[str]
    ) -> tuple[CheckOutcome, ...]:
        """Run the random fault campaign; turn passes it refutes into fails with its evidence."""
        from .machine import FINDING_CHECKS, campaign

        raw = self.adapter.raw
        try:
            findings = campaign(lambda: raw, max_examples=self.profile.campaign_examples)
        except (ImplementationFault, ConformanceError) as exc:
            notes.append(f"the fault campaign stopped early, nothing concluded from it: {exc}")
            return outcomes
        notes.append(
            f"fault campaign: {self.profile.campaign_examples} random examples, "
            f"{len(findings)} broken invariant(s)"
        )
        refuted: dict[str, list[str]] = {}
        for finding in findings:
            refuted.setdefault(FINDING_CHECKS[finding.kind], []).append(
                f"fault campaign: {finding.text}"
            )
        return tuple(
            o.model_copy(update={"outcome": Outcome.FAIL, "evidence": (*o.evidence, *extra)})
            if (extra := refuted.get(o.check_id)) and o.outcome is Outcome.PASS
            else o
            for o in outcomes
        )

    def _preflight(self, description: Description, ledger: Ledger, pool: WorkerPool) -> None:
        """Run one canary probe: when its run leaves no trace in the ledger, nothing can be judged.

        A canary that completes (or fails over the ledger) without a recorded attempt means the
        probes cannot write the ledger: the run is inconclusive rather than a string of fails.
        """
        if PROBE_DEFAULT not in {spec.name for spec in description.jobs}:
            return  # the checks fail with evidence naming the missing probe types
        try:
            self.adapter.call("reset")
            pool.ensure(1)
            payload = probe_payload("preflight#1", scope="preflight", job_type=PROBE_DEFAULT)
            info = self._canary(payload, 15.0)
        except ImplementationFault as exc:
            if unreachable(exc) is not None:
                raise ConformanceError(
                    f"nothing was scored: {exc}; {_UNREACHABLE_ADVICE}, and run again"
                ) from exc
            return  # the implementation's own failure: the checks will show it
        if ledger.read("preflight").attempts:
            return
        if info.status is JobStatus.COMPLETED or "ledger" in (info.error or "").lower():
            raise ConformanceError(
                f"a probe job ran ({info.status.value}) but left no record in the history "
                f"ledger {ledger.path}: the workers must see JOBFORGE_LEDGER / JOBFORGE_RUN_ID "
                f"(or RunContext.ledger_path) and be able to write that file"
                f"{'; the job failed with: ' + info.error if info.error else ''}"
            )

    def _canary(self, payload: JSONObject, timeout_s: float) -> JobInfo:
        """Submit one probe.default and wait (bounded) until it is terminal; return its view."""
        job_id = self.adapter.submit(PROBE_DEFAULT, payload)
        deadline = time.monotonic() + timeout_s
        info = self.adapter.inspect(job_id)
        while info.status not in TERMINAL and time.monotonic() < deadline:
            time.sleep(0.02)
            info = self.adapter.inspect(job_id)
        return info

    def _restore(self, description: Description, pool: WorkerPool) -> str | None:
        """Bring the implementation back to a known-good state after a fault; say why not.

        Known-good: queues emptied, every worker restarted, and a canary job completes (one
        that fails once and is retried, when retries are declared: a lock or lease the fault
        left behind shows up as a retry never promoted).
        """
        self._restores += 1
        timing = self.profile.timing
        try:
            self.adapter.call("reset")
            pool.stop_schedulers()
            pool.restart_all()
            pool.ensure(max(1, len(pool.workers)))
            if PROBE_DEFAULT not in {spec.name for spec in description.jobs}:
                return None
            retries = Capability.RETRIES in description.capabilities
            payload = probe_payload(
                f"restore#{self._restores}",
                scope="restore",
                job_type=PROBE_DEFAULT,
                fail={1: "transient"} if retries else None,
            )
            spec = description.job(PROBE_DEFAULT)
            info = self._canary(payload, drain_deadline(spec, timing) + 2 * timing.lease_s)
        except ImplementationFault as exc:
            return f"restoring it failed: {exc}"
        if info.status is not JobStatus.COMPLETED:
            return (
                f"a canary job{' failing once' if retries else ''} was {info.status.value} "
                f"after {info.attempts} attempt(s) instead of COMPLETED"
            )
        return None

    def _heal_after(self, env: Env | None, description: Description, pool: WorkerPool) -> None:
        """After a check that injected worker faults, restore a known-good state."""
        if env is None or not env.faults:
            return
        why = self._restore(description, pool)
        self._unrestored = (env.faults[0], why) if why else None
        self._failed_restores = 1 if why else 0

    def _still_broken(self, description: Description, pool: WorkerPool) -> Verdict | None:
        """Before a check: retry an earlier failed restore; inconclusive when it fails again."""
        if self._unrestored is None:
            return None
        fault, why = self._unrestored
        gave_up = self._failed_restores >= MAX_FAILED_RESTORES
        if not gave_up:
            retried = self._restore(description, pool)
            if retried is None:
                self._unrestored, self._failed_restores = None, 0
                return None
            why = retried
            self._failed_restores += 1
            self._unrestored = (fault, why)
        tried = f" ({self._failed_restores} restores failed; no more tried)" if gave_up else ""
        return inconclusive(
            f"not judged: the implementation did not return to a known-good state after the "
            f"{fault.label()}: {why}{tried}"
        )

    def _start_suite(self, description: Description, shared: dict[str, object]) -> None:
        """Start the own test suite in the background when a testing check will need it."""
        wanted = any(c.dimension == "testing" for c in self.checks)
        if not (
            wanted
            and self.profile.parallel_suite
            and description.test_command
            and Capability.OWN_TESTS in description.capabilities
        ):
            return
        future: Future[object] = Future()
        command, cwd = tuple(description.test_command), description.test_cwd

        def work() -> None:
            try:
                future.set_result(run_suite(command, cwd, 600.0))
            except BaseException as exc:  # handed to the check that waits for it
                future.set_exception(exc)

        threading.Thread(target=work, name="jobforge-own-suite", daemon=True).start()
        shared["testing.suite"] = future

    def _one(
        self,
        check: Check,
        description: Description,
        ledger: Ledger,
        pool: WorkerPool,
        shared: dict[str, object],
    ) -> CheckOutcome:
        clock = time.monotonic()
        missing = [c.value for c in check.requires if c not in description.capabilities]
        env: Env | None = None
        # The testing checks judge the own test suite, not the running system: a fault earlier in
        # the run cannot touch them.
        judged_live = not missing and check.dimension != "testing"
        broken = self._still_broken(description, pool) if judged_live else None
        if missing:
            verdict = unsupported(f"capability not declared: {', '.join(missing)}")
        elif broken is not None:
            verdict = broken
        else:
            try:
                self.adapter.call("reset")
                pool.stop_schedulers()
                pool.ensure(check.workers)
                ledger.record_event(scope=check.check_id, kind="phase.workload")
            except ImplementationFault as exc:
                verdict = failed(f"could not prepare the implementation for the check: {exc}")
            except ConformanceError as exc:
                verdict = inconclusive(f"the kit's infrastructure failed: {exc}")
            else:
                env = Env(
                    adapter=self.adapter,
                    ledger=ledger,
                    description=description,
                    timing=self.profile.timing,
                    pool=pool,
                    scope=check.check_id,
                    shared_cache=shared,
                    sizes=self.profile.sizes,
                )
                verdict = _with_faults_verified(_run_with_budget(check, env), env, ledger)
                try:
                    pool.stop_schedulers()
                except ImplementationFault as exc:
                    verdict = Verdict(verdict.outcome, (*verdict.evidence, f"cleanup: {exc}"))
        self._heal_after(env, description, pool)
        return CheckOutcome(
            check_id=check.check_id,
            outcome=verdict.outcome,
            evidence=verdict.evidence,
            duration_s=round(time.monotonic() - clock, 3),
        )


def _with_faults_verified(verdict: Verdict, env: Env, ledger: Ledger) -> Verdict:
    """Turn a verdict inconclusive when one of the check's worker faults did not take effect."""
    if not env.faults or verdict.outcome is Outcome.UNSUPPORTED:
        return verdict
    try:
        problems = faults.verdict_problems(tuple(env.faults), ledger.read(env.scope))
    except ConformanceError as exc:
        return inconclusive(f"the kit could not verify its faults: {exc}", *verdict.evidence)
    if not problems:
        return verdict
    seen = [f"the check saw ({verdict.outcome.value}): {line}" for line in verdict.evidence]
    return inconclusive(*problems, *seen)


def _note_suite(shared: Mapping[str, object], notes: list[str]) -> None:
    """Say how long the own suite took when it ran in the background (its checks show ~0 s)."""
    future = shared.get("testing.suite")
    if isinstance(future, Future) and future.done() and future.exception() is None:
        run = future.result()
        if isinstance(run, SuiteRun):
            notes.append(
                f"own test suite: {run.duration_s:.1f} s, run in the background during the "
                "other dimensions"
            )


def inconclusive_results(
    reason: str, profile: str, checks: Sequence[Check] | None = None
) -> RunResults:
    """Return the results of a run that could not start: every check inconclusive."""
    chosen = tuple(checks) if checks is not None else all_checks()
    return RunResults(
        schema_version=SCHEMA_VERSION,
        rubric_version=load_rubric().version,
        implementation=Implementation(name="unknown", version="unknown", backend="unknown"),
        profile=profile,
        started_at=datetime.now(UTC),
        duration_s=0.0,
        outcomes=(*_all(chosen, Outcome.INCONCLUSIVE, reason), *not_run_outcomes(chosen)),
        notes=(f"inconclusive: {reason}",),
    )


def run(
    adapter: Adapter,
    *,
    profile: Profile | str = "ci",
    checks: Sequence[Check] | None = None,
    observer: Observer | None = None,
) -> RunResults:
    """Score ``adapter``: run ``checks`` (all by default) at ``profile`` and return the results."""
    return Runner(adapter, profile=profile, checks=checks, observer=observer).run()
