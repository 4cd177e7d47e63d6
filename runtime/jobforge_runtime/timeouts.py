"""Per-attempt timeouts: interrupt a job that runs past its limit, keep the worker alive."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from jobforge_runtime.errors import JobTimeoutError


def can_preempt() -> bool:
    """Return True where a timer signal can interrupt the job (a process's main thread)."""
    return threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`JobTimeoutError` inside the block once ``seconds`` have passed.

    A real-time interval timer (SIGALRM) interrupts pure-Python work and sleeps. Off the main
    thread no signal can be delivered: the block runs to its end and the caller compares the
    elapsed time itself (:func:`can_preempt`).
    """
    if not can_preempt():
        yield
        return

    def _expired(signum: int, frame: FrameType | None) -> None:
        raise JobTimeoutError(f"job ran past its timeout_s={seconds:g} and was interrupted")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
