"""Running one attempt in a helper thread, under a time limit, with lease renewal.

The worker slot waits for the helper thread in short slices. Between slices it renews the job's
lease and checks whether its worker was killed. When the attempt overruns its time limit the
slot marks it abandoned (the body's next context call raises a ``TimeoutError``) and moves on:
the slot survives a hung job. The abandoned thread is a daemon and ends at that next call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .context import Abandon, AttemptControl
from .records import AttemptResult, ErrorKind
from .retry import Classifier

#: How often a waiting slot renews its lease, as a fraction of the lease.
RENEW_FRACTION = 0.25
#: Longest single wait of a slot on its attempt, so a kill is noticed quickly.
MAX_SLICE_S = 0.05


@dataclass(frozen=True, kw_only=True)
class Supervision:
    """What the slot supervising an attempt must do while it waits."""

    timeout_s: float | None  # the attempt's time limit; None for no limit
    lease_s: float  # the job's lease; renewed every RENEW_FRACTION of it
    renew: Callable[[], bool]  # extend the lease; False when the lease was lost
    killed: Callable[[], bool]  # True once the worker was killed: abandon without a result


def run_attempt(
    body: Callable[[], object],
    *,
    control: AttemptControl,
    supervision: Supervision,
    classify: Classifier,
    thread_name: str,
) -> AttemptResult | None:
    """Run ``body`` in a helper thread; return its result, or None when the worker was killed.

    A body that raises is a failed attempt classified by ``classify``; one that overruns
    ``timeout_s`` is a failed attempt of kind TIMEOUT.
    """
    outcome: list[BaseException | None] = []
    done = threading.Event()

    def target() -> None:
        try:
            body()
        except BaseException as error:  # the attempt's error is its result, whatever it is
            outcome.append(error)
        else:
            outcome.append(None)
        finally:
            done.set()

    started = time.monotonic()
    thread = threading.Thread(target=target, name=thread_name, daemon=True)
    thread.start()
    deadline = None if supervision.timeout_s is None else started + supervision.timeout_s
    renew_every = max(0.01, supervision.lease_s * RENEW_FRACTION)
    next_renew = started + renew_every
    while True:
        now = time.monotonic()
        wait = MAX_SLICE_S if deadline is None else min(MAX_SLICE_S, max(0.0, deadline - now))
        if done.wait(wait):
            break
        if supervision.killed():
            control.abandon(Abandon.KILLED)
            return None
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            control.abandon(Abandon.TIMEOUT)
            return AttemptResult(
                ok=False,
                kind=ErrorKind.TIMEOUT,
                error=f"attempt exceeded its {supervision.timeout_s:g} s time limit",
                duration_s=now - started,
            )
        if now >= next_renew:
            next_renew = now + renew_every
            if not supervision.renew():
                # The lease went to someone else (reset, or recovered): the attempt is void.
                control.abandon(Abandon.RESET)
                return None
    duration = time.monotonic() - started
    if supervision.killed():
        control.abandon(Abandon.KILLED)
        return None
    error = outcome[0] if outcome else None
    if error is None:
        return AttemptResult(ok=True, duration_s=duration)
    return AttemptResult(
        ok=False,
        kind=classify(error),
        error=f"{type(error).__name__}: {error}",
        duration_s=duration,
    )
