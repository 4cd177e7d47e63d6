"""Settings of the shop's jobs; each field can be overridden as ``JOBS_<FIELD>``."""

from jobforge_runtime import Settings

SETTINGS = Settings(
    broker_url="sqlite:///var/jobs.sqlite3",  # JOBS_BROKER_URL=redis://... with the celery backend
    max_attempts=3,  # attempts including the first
    backoff_base_s=30,
    backoff_max_s=600,
    timeout_s=60,
    lease_s=30,
    global_concurrency=16,
    dlq_alert_threshold=20,
)
