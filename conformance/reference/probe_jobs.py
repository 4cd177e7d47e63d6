"""Glue between the kit's probe jobs and the reference job system.

The reference registers one body for every probe job type: it calls
:func:`jobforge.conformance.probes.run_probe` with the attempt's context, the run's ledger and
the worker's name. Errors are classified by the probe's own classes. A body whose worker was
killed writes nothing more to the ledger (:class:`SeveredLedger`), as a SIGKILLed process could
not; its attempt shows as crashed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .. import history, probes
from ..adapter import JSONObject
from .context import JobContext
from .engine import Handler
from .retry import ByType, ConfigurationJobError, PermanentJobError


class SeveredLedger(history.Ledger):
    """A ledger whose probe writes are dropped once ``severed()`` turns true."""

    def __init__(self, path: Path | str, *, run_id: str, severed: Callable[[], bool]) -> None:
        """Open (lazily) the ledger at ``path`` for one attempt."""
        super().__init__(path, run_id=run_id)
        self._severed = severed

    def attempt_started(
        self,
        *,
        scope: str,
        probe_id: str,
        job_id: str,
        job_type: str,
        attempt: int,
        worker: str,
        at: float | None = None,
    ) -> int:
        """Record the start unless severed (then return row 0)."""
        if self._severed():
            return 0
        return super().attempt_started(
            scope=scope,
            probe_id=probe_id,
            job_id=job_id,
            job_type=job_type,
            attempt=attempt,
            worker=worker,
            at=at,
        )

    def attempt_ended(
        self, row: int, *, outcome: str, error: str | None = None, at: float | None = None
    ) -> None:
        """Record the end unless severed."""
        if not self._severed():
            super().attempt_ended(row, outcome=outcome, error=error, at=at)

    def record_effect(
        self, *, scope: str, probe_id: str, job_id: str, attempt: int, key: str
    ) -> None:
        """Record an effect unless severed."""
        if not self._severed():
            super().record_effect(
                scope=scope, probe_id=probe_id, job_id=job_id, attempt=attempt, key=key
            )

    def record_checkpoint(
        self, *, scope: str, probe_id: str, job_id: str, attempt: int, action: str, step: int
    ) -> None:
        """Record a checkpoint unless severed."""
        if not self._severed():
            super().record_checkpoint(
                scope=scope,
                probe_id=probe_id,
                job_id=job_id,
                attempt=attempt,
                action=action,
                step=step,
            )

    def record_progress(
        self, *, scope: str, probe_id: str, job_id: str, attempt: int, fraction: float
    ) -> None:
        """Record progress unless severed."""
        if not self._severed():
            super().record_progress(
                scope=scope,
                probe_id=probe_id,
                job_id=job_id,
                attempt=attempt,
                fraction=fraction,
            )


#: How the reference classifies errors escaping a probe body.
PROBE_CLASSIFIER = ByType(
    permanent=(PermanentJobError, probes.ProbePermanentError, probes.ProbePayloadError),
    configuration=(ConfigurationJobError, history.LedgerError),
)


def probe_handler(ledger: history.Ledger) -> Handler:
    """Return the body of every probe job type, writing to ``ledger``."""

    def run(payload: JSONObject, ctx: JobContext) -> object:
        book = SeveredLedger(ledger.path, run_id=ledger.run_id, severed=lambda: ctx.severed)
        try:
            return probes.run_probe(
                payload, ctx, ledger=book, job_type=ctx.job_type, worker=ctx.worker_id
            )
        finally:
            book.close()

    return run
