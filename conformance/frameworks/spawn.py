"""Worker processes of a bundled adapter: started the way the framework's CLI starts them.

Each worker is one CLI process (``rq worker ...``, ``dramatiq ...``) in a session of its own,
logging to a file of the run's workdir; it is ready once that log shows the framework's own
"ready" line. The kit signals the process tree itself (``worker_pids``); :meth:`reap` then
collects what is left, and :meth:`terminate` stops a worker outside a fault.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from jobforge.errors import ConformanceError

#: How long a worker may take to report itself ready.
READY_TIMEOUT_S = 60.0
_POLL_S = 0.05


class WorkerStartError(ConformanceError):
    """A framework worker process exited or stayed silent instead of reporting ready."""


@dataclass
class CliProcess:
    """One framework CLI process and the log it writes."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def wait_for(self, marker: bytes, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait until the log shows ``marker``; raise naming the log when the process exits."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.log.exists() and marker in self.log.read_bytes():
                return
            if self.popen.poll() is not None:
                break
            time.sleep(_POLL_S)
        tail = self.log.read_bytes()[-600:].decode(errors="replace") if self.log.exists() else ""
        raise WorkerStartError(
            f"worker {self.name} ({' '.join(self.popen.args[:4])}...) did not log "  # type: ignore[index]
            f"{marker.decode()!r} within {timeout_s:g} s (exit code {self.popen.poll()}); "
            f"see {self.log}: {tail.strip()[-300:]}"
        )

    def pids(self) -> list[int]:
        """The main process and every descendant now (work-horses, pool children)."""
        if self.popen.poll() is not None:
            return []
        found = [self.popen.pid]
        with contextlib.suppress(psutil.Error):
            found += [c.pid for c in psutil.Process(self.popen.pid).children(recursive=True)]
        return found

    def reap(self, timeout_s: float = 10.0) -> None:
        """SIGKILL whatever is left of the process group and collect the main process."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        for pid in self.pids()[1:]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=timeout_s)

    def terminate(self, *, graceful: bool, grace_s: float = 30.0) -> None:
        """Stop the worker: SIGTERM and wait ``grace_s`` when graceful, then SIGKILL the rest."""
        if graceful and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace_s)
        self.reap()


@dataclass
class Spawner:
    """Starts framework CLI processes for one run, each named and logging to the workdir."""

    workdir: Path
    env: Mapping[str, str]
    cwd: Path
    processes: dict[str, CliProcess] = field(default_factory=dict)
    _counter: int = 0

    def next_name(self, kind: str) -> str:
        """Return a fresh process name: ``worker-3``."""
        self._counter += 1
        return f"{kind}-{self._counter}"

    def start(self, name: str, args: Sequence[str], *, env: Mapping[str, str] = {}) -> CliProcess:
        """Start ``python -m <args>`` as ``name`` in a session of its own."""
        log = self.workdir / f"{name}.log"
        full_env = {**os.environ, **self.env, **env, "JOBFORGE_WORKER_ID": name}
        with log.open("ab") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", *args],
                cwd=self.cwd,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        process = CliProcess(name=name, popen=popen, log=log)
        self.processes[name] = process
        return process

    def get(self, name: str) -> CliProcess:
        """Return a started process by name, or raise KeyError naming the known ones."""
        try:
            return self.processes[name]
        except KeyError:
            known = ", ".join(sorted(self.processes)) or "none"
            raise KeyError(f"no worker {name!r}; started: {known}") from None

    def forget(self, name: str) -> CliProcess:
        """Remove a process from the run's list and return it."""
        return self.processes.pop(name)

    def stop_all(self) -> None:
        """SIGKILL every process still listed (teardown)."""
        for name in list(self.processes):
            self.forget(name).reap()


def python_path(*extra: Path) -> str:
    """``PYTHONPATH`` with ``extra`` first: the user's code is imported from there."""
    parts = [str(p) for p in extra]
    if os.environ.get("PYTHONPATH"):
        parts.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(parts)
