"""The app, as in https://huey.readthedocs.io/en/latest/guide.html (RedisHuey, a task).

Redis DB 9 on the local Redis, nothing else: no retries, no timeouts. The kit's verdicts on it
must match calibration.yml.
"""

from __future__ import annotations

from huey import RedisHuey

huey = RedisHuey("calib_huey", host="127.0.0.1", port=6379, db=9)


@huey.task()
def add(a: int, b: int) -> int:
    """Add two numbers (the guide's example task)."""
    return a + b
