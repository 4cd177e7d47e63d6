"""The calibration app's own job, enqueued the way RQ's docs show (no reliability added)."""

from redis import Redis
from rq import Queue
from rq_settings import REDIS_URL


def count_words(text: str) -> int:
    """Count the words of a text (a plain RQ job function)."""
    return len(text.split())


def enqueue(text: str) -> str:
    """Enqueue one job on the default queue; return its id."""
    queue = Queue("default", connection=Redis.from_url(REDIS_URL))
    return str(queue.enqueue(count_words, text).id)
