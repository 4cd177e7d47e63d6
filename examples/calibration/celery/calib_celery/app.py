"""The app, as in https://docs.celeryq.dev/en/stable/getting-started/first-steps-with-celery.html.

Redis as broker and result backend (DB 8 on the local Redis), nothing else: no acks_late, no
time limits, no retries. The kit's verdicts on it must match calibration.yml.
"""

from __future__ import annotations

from celery import Celery

app = Celery(
    "calib_celery",
    broker="redis://127.0.0.1:6379/8",
    backend="redis://127.0.0.1:6379/8",
)


@app.task
def add(x: int, y: int) -> int:
    """Add two numbers (the guide's example task)."""
    return x + y
