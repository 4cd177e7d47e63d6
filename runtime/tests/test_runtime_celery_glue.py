"""The Celery glue's own mapping to its Redis transport."""

from __future__ import annotations

import pytest


def test_a_higher_priority_goes_first_on_celerys_redis_transport() -> None:
    pytest.importorskip("celery")
    from jobforge_runtime.glue.celery import redis_priority

    # kombu's Redis transport serves 0 first: the runtime's higher priorities must map lower.
    assert [redis_priority(p) for p in (-5, 0, 5, 9, 10, 99)] == [9, 9, 4, 0, 0, 0]
