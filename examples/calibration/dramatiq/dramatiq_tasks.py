"""A Dramatiq app as Dramatiq's docs set one up: a RedisBroker and an actor (no reliability added).

Start a worker with ``dramatiq dramatiq_tasks``. Redis DB 11 keeps the calibration run apart.
"""

import dramatiq
from dramatiq.brokers.redis import RedisBroker

redis_broker = RedisBroker(url="redis://127.0.0.1:6379/11")
dramatiq.set_broker(redis_broker)


@dramatiq.actor
def count_words(text: str) -> int:
    """Count the words of a text (a plain actor with the default middleware)."""
    return len(text.split())
