"""Worker processes started the way a framework's CLI starts them, and their process trees.

A bundled adapter builds one :class:`WorkerCommand` per worker (the framework's own command line,
e.g. ``celery -A mod:app worker -Q q``), and a :class:`WorkerSet` runs them: each worker in a
session of its own with its output in a log file, ready once the framework logs its ready line.
The set reports each worker's processes (the main process and every descendant: prefork pool
children, work-horses) so the kit can signal them itself, and reaps what the kit ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from jobforge.errors import ConformanceError

from .. import processes

#: How long a worker may take to log its ready line.
READY_TIMEOUT_S = 60.0
_POLL_S = 0.05
_LOG_TAIL = 600


class WorkerStartError(ConformanceError):
    """A worker process exited or stayed silent before it was ready."""


@dataclass(frozen=True, kw_only=True)
class WorkerCommand:
    """How to start one worker: argv, extra environment, and the line that says it is ready."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    ready_marker: str  # a substring of the log line the framework writes once it consumes
    cwd: Path | None = None


class CommandFactory(Protocol):
    """Builds the command of a new worker from its id (``w1``, ``w2``, ...)."""

    def __call__(self, worker: str) -> WorkerCommand: ...


@dataclass
class WorkerProcess:
    """One running worker: its main process and its log."""

    worker: str
    popen: subprocess.Popen[bytes]
    log: Path

    def log_tail(self) -> str:
        """Return the last lines of the worker's log, on one line, for error messages."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text[-_LOG_TAIL:].strip().splitlines()[-6:]) or "(empty log)"

    def wait_ready(self, marker: str, timeout_s: float) -> None:
        """Wait until the log shows ``marker``; raise WorkerStartError when it exits or hangs."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if marker in self.log.read_text(errors="replace"):
                    return
            if self.popen.poll() is not None:
                raise WorkerStartError(
                    f"worker {self.worker} exited with {self.popen.returncode} before logging "
                    f"{marker!r}: {self.log_tail()}"
                )
            time.sleep(_POLL_S)
        raise WorkerStartError(
            f"worker {self.worker} did not log {marker!r} within {timeout_s:g} s: {self.log_tail()}"
        )

    def pids(self) -> list[int]:
        """Return the main process and all its running descendants."""
        return [p.pid for p in processes.tree([self.popen.pid])]

    def alive(self) -> bool:
        """Whether any process of the worker still runs."""
        return any(processes.alive(p) for p in processes.tree([self.popen.pid]))

    def stop(self, *, graceful: bool, grace_s: float) -> None:
        """End the worker (SIGTERM then SIGKILL after ``grace_s``, or SIGKILL) and reap it."""
        if graceful:
            processes.terminate_tree([self.popen.pid], grace_s=grace_s)
        else:
            processes.kill_tree([self.popen.pid])
        self.reap()

    def reap(self) -> None:
        """Collect the main process's exit status (it is gone or going)."""
        try:
            self.popen.wait(timeout=processes.KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=processes.KILL_WAIT_S)


@dataclass
class WorkerSet:
    """The workers one adapter started, by id."""

    logs: Path  # directory for the workers' logs
    command_for: CommandFactory
    ready_timeout_s: float = READY_TIMEOUT_S
    running: dict[str, WorkerProcess] = field(default_factory=dict)
    _started: int = 0

    def start(self, count: int) -> list[str]:
        """Start ``count`` workers, all at once, and wait until each is ready; return ids."""
        self.logs.mkdir(parents=True, exist_ok=True)
        pending: list[tuple[WorkerProcess, str]] = []
        for _ in range(count):
            self._started += 1
            worker = f"w{self._started}"
            command = self.command_for(worker)
            log = self.logs / f"{worker}.log"
            with log.open("wb") as out:
                popen = subprocess.Popen(
                    command.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, **command.env},
                    cwd=command.cwd,
                    start_new_session=True,  # a terminal's Ctrl-C does not reach it
                )
            process = WorkerProcess(worker=worker, popen=popen, log=log)
            self.running[worker] = process
            pending.append((process, command.ready_marker))
        for process, marker in pending:
            process.wait_ready(marker, self.ready_timeout_s)
        return [process.worker for process, _ in pending]

    def get(self, worker: str) -> WorkerProcess:
        """Return a running worker; raise ConformanceError naming the known ids."""
        try:
            return self.running[worker]
        except KeyError:
            known = ", ".join(self.running) or "none"
            raise ConformanceError(f"unknown worker {worker!r}; running: {known}") from None

    def pids(self, worker: str) -> Sequence[int]:
        """Every process id of ``worker`` (empty once it is gone)."""
        process = self.running.get(worker)
        return process.pids() if process is not None else []

    def alive(self, worker: str) -> bool:
        """Whether any process of ``worker`` still runs."""
        process = self.running.get(worker)
        return process is not None and process.alive()

    def stop(self, worker: str, *, graceful: bool, grace_s: float) -> None:
        """Stop one worker (the kit may have ended its processes already) and forget it."""
        process = self.running.pop(worker, None)
        if process is not None:
            process.stop(graceful=graceful, grace_s=grace_s)

    def stop_all(self, *, grace_s: float) -> None:
        """Stop every worker gracefully."""
        for worker in list(self.running):
            self.stop(worker, graceful=True, grace_s=grace_s)
