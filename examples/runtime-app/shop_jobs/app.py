"""The one App: nothing is opened until it is first used.

The backend is Huey on SQLite unless ``SHOP_JOBS_BACKEND=celery`` (with ``JOBS_BROKER_URL`` set
to a Redis URL): the same jobs run on either.
"""

import os

from jobforge_runtime import App, Catalogue, Schedule

from shop_jobs import tasks
from shop_jobs.settings import SETTINGS

APP = App(
    settings=SETTINGS,
    catalogue=Catalogue.from_modules(tasks),
    schedules=[
        Schedule(
            name="nightly-report",
            job=tasks.nightly_report,
            cron="0 3 * * *",
            timezone="Europe/Paris",
            overlap="skip",
            missed_runs="run_once",
        )
    ],
    backend=os.environ.get("SHOP_JOBS_BACKEND", "huey"),
)
