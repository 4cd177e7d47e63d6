"""Signals to a worker's process tree, sent by the kit itself, and whether they took effect.

An orchestrator stops a worker with SIGTERM to its main process and, when the grace period runs
out, SIGKILL to everything left; a crash is SIGKILL to everything at once. The kit does the same
to the processes an adapter reports (:class:`~jobforge.conformance.adapter.WorkerProcesses`) and
to all their descendants, found when the signal is sent: a work-horse or pool child started in a
session of its own is still a descendant. The kit's own process and its ancestors are never
signalled. A process that exited but was not reaped yet (a zombie) counts as gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import psutil

#: How long the kit waits for processes to disappear after SIGKILL.
KILL_WAIT_S = 5.0
_POLL_S = 0.02


@dataclass(frozen=True, kw_only=True)
class SignalReport:
    """What happened to one worker's processes."""

    pids: tuple[int, ...]  # every process signalled: the reported ones and their descendants
    survivors: tuple[str, ...]  # processes still alive at the deadline, described
    escalated: bool = False  # a graceful stop ran out of grace and ended with SIGKILL


def _protected() -> set[int]:
    """Return the kit's own process and its ancestors: never signalled, whatever is reported."""
    pids = {os.getpid()}
    with contextlib.suppress(psutil.Error):
        pids.update(p.pid for p in psutil.Process().parents())
    return pids


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def tree(pids: Iterable[int]) -> list[psutil.Process]:
    """Return the processes ``pids`` and all their descendants (running ones, kit excluded).

    A pid of the kit itself (or one of its parents) is skipped with all its descendants: an adapter
    that reports it is mistaken, and the kit's other children must not pay for it.
    """
    protected = _protected()
    found: dict[int, psutil.Process] = {}
    for pid in pids:
        root = _process(int(pid))
        if root is None or root.pid in protected:
            continue
        try:
            family = [root, *root.children(recursive=True)]
        except psutil.Error:
            family = [root]
        for proc in family:
            if proc.pid not in protected:
                found.setdefault(proc.pid, proc)
    return list(found.values())


def alive(proc: psutil.Process) -> bool:
    """Whether ``proc`` (the very process, not a reused pid) still runs; a zombie is gone."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def describe(proc: psutil.Process) -> str:
    """``pid 123 (python -m rq worker)`` for evidence."""
    try:
        name = " ".join(proc.cmdline()[:4]) or proc.name()
    except psutil.Error:
        name = "?"
    return f"pid {proc.pid} ({name})"


def _send(procs: Iterable[psutil.Process], sig: signal.Signals) -> None:
    for proc in procs:
        if alive(proc):
            with contextlib.suppress(psutil.Error):  # gone meanwhile
                proc.send_signal(sig)


def _wait_gone(procs: Sequence[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout_s
    while True:
        left = [p for p in procs if alive(p)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(_POLL_S)


def kill_tree(pids: Iterable[int], *, wait_s: float = KILL_WAIT_S) -> SignalReport:
    """SIGKILL every process of the tree at once; report any still alive ``wait_s`` later."""
    procs = tree(pids)
    _send(procs, signal.SIGKILL)
    left = _wait_gone(procs, wait_s)
    return SignalReport(
        pids=tuple(p.pid for p in procs), survivors=tuple(describe(p) for p in left)
    )


def terminate_tree(
    pids: Sequence[int], *, grace_s: float, wait_s: float = KILL_WAIT_S
) -> SignalReport:
    """SIGTERM the reported roots; after ``grace_s``, SIGKILL whatever of the tree is left.

    Roots are the reported processes that are not descendants of another reported one (the
    worker's main process): what an orchestrator signals first. Descendants left behind after
    the roots exited are killed as a container runtime would.
    """
    procs = tree(pids)
    children = {c.pid for p in procs for c in _children(p)}
    roots = [p for p in procs if p.pid in set(pids) and p.pid not in children] or procs
    _send(roots, signal.SIGTERM)
    _wait_gone(roots, grace_s)
    escalated = any(alive(p) for p in roots)
    _send(procs, signal.SIGKILL)
    left = _wait_gone(procs, wait_s)
    return SignalReport(
        pids=tuple(p.pid for p in procs),
        survivors=tuple(describe(p) for p in left),
        escalated=escalated,
    )


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []
