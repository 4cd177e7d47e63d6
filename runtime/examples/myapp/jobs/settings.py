"""Settings from the answers; each field can be overridden as ``JOBS_<FIELD>``."""

from jobforge_runtime import Settings

SETTINGS = Settings(
    broker_url="sqlite:///var/jobs.sqlite3",
    max_attempts=4,  # attempts including the first
    backoff_base_s=60,
    backoff_max_s=900,
    timeout_s=120,
    lease_s=30,
    overlap_policy="skip",
    missed_run_policy="run_once",
    timezone="Europe/Berlin",
)
