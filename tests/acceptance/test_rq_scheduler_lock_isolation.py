"""A fault in one check never changes a later verdict, on RQ's own scheduler lock.

RQ promotes retries and delayed jobs from one worker only: the one whose scheduler holds RQ's
scheduler lock of the queue. SIGKILL that worker and the lock outlives it (about a minute); a
worker started meanwhile never takes the role. The first check here kills exactly that worker;
the later ones need the scheduler (retries with intervals, delayed jobs). The kit may end them
inconclusive naming the kill, never failed; the RQ adapter does better: its restore starts
workers once the dead holder's lock expired, so they pass. Real RQ workers on Redis DB 10;
about 80 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jobforge.conformance import faults
from jobforge.conformance.adapter import Capability
from jobforge.conformance.checks import registry
from jobforge.conformance.checks.base import Check, Verdict, inconclusive, passed
from jobforge.conformance.env import Env
from jobforge.conformance.frameworks.rq import RqAdapter, make_adapter
from jobforge.conformance.runner import Runner
from jobforge.rubric.outcomes import Outcome
from services_support import require_service

pytestmark = pytest.mark.acceptance

#: Redis DB of this test (the RQ calibration app uses the same one, under other queue names).
DB = 10
LATER = ("error_handling.max_attempts", "scheduling.delayed_not_early")


def kill_the_scheduler_holder(env: Env) -> Verdict:
    """SIGKILL the worker whose scheduler holds RQ's lock of the kit's queue."""
    adapter = env.adapter.raw
    assert isinstance(adapter, RqAdapter)
    found: list[str | None] = [None]

    def held() -> bool:
        found[0] = adapter.scheduler_worker()
        return found[0] is not None

    if not env.wait_until(held, 15.0) or found[0] is None:
        return inconclusive("no worker of the kit held RQ's scheduler lock within 15 s")
    fault = faults.kill_worker(env, found[0])
    return passed(f"{fault.label()}: it held RQ's scheduler lock")


KILLER = Check(
    "scalability.sigkill_recovery",
    "Kill the worker holding RQ's scheduler lock",
    kill_the_scheduler_holder,
    requires=(Capability.KILL_WORKER,),
)


def test_killing_rqs_scheduler_lock_holder_never_fails_a_later_check(tmp_path: Path) -> None:
    url = require_service("redis").rsplit("/", 1)[0] + f"/{DB}"
    adapter = make_adapter(url, search=tmp_path)
    try:
        results = Runner(
            adapter, profile="ci", checks=[KILLER, *(registry()[c] for c in LATER)]
        ).run()
    finally:
        adapter.teardown()
    got = {o.check_id: o for o in results.outcomes}
    kill = got[KILLER.check_id]
    assert kill.outcome is Outcome.PASS, kill.evidence  # the holder was found and really died
    assert "held RQ's scheduler lock" in " ".join(kill.evidence)
    for check_id in LATER:
        later = got[check_id]
        text = " | ".join(later.evidence)
        assert later.outcome is not Outcome.FAIL, f"{check_id} failed for the kill: {text}"
        # Restored after the lock expired: unaffected, not even inconclusive.
        assert later.outcome is Outcome.PASS, f"{check_id}: {later.outcome.value}: {text}"
