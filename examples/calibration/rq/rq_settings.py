"""RQ worker settings, as RQ's docs write them for `rq worker -c rq_settings`.

Redis DB 10 keeps the calibration run apart from anything else on the shared Redis.
"""

REDIS_URL = "redis://127.0.0.1:6379/10"
QUEUES = ["default"]
