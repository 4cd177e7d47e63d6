"""Worker and scheduler processes of a runtime app's run, as the kit starts and stops them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from jobforge.errors import ConformanceError

#: How long a worker or scheduler process may take to say it is ready.
READY_TIMEOUT_S = 60.0


@dataclass
class RunProcess:
    """One worker or scheduler process and the file its output goes to."""

    popen: subprocess.Popen[bytes]
    log: Path

    def wait_for(self, marker: bytes, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait until the process writes ``marker``; raise when it exits or takes too long."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if marker in self.log.read_bytes():
                return
            if self.popen.poll() is not None:
                break
            time.sleep(0.02)
        tail = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        raise ConformanceError(
            f"process {self.popen.pid} did not report {marker.decode()!r} "
            f"(exit code {self.popen.poll()}): {' | '.join(tail) or 'no output'}; see {self.log}"
        )

    def terminate(self, *, graceful: bool, timeout_s: float = 30.0) -> None:
        """Stop it (SIGTERM, or SIGKILL to its process group) and reap it."""
        popen = self.popen
        if popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                if graceful:
                    popen.send_signal(signal.SIGTERM)
                else:
                    os.killpg(popen.pid, signal.SIGKILL)
            try:
                popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(popen.pid, signal.SIGKILL)
                popen.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)  # pool children left by a graceful stop
