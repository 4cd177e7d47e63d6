"""The one App: nothing is opened until it is first used."""

from jobforge_runtime import App, Catalogue, Schedule
from myapp.jobs import tasks
from myapp.jobs.settings import SETTINGS

app = App(
    settings=SETTINGS,
    catalogue=Catalogue.from_modules(tasks),
    schedules=[
        Schedule(
            name="purge_old_uploads",
            job=tasks.purge_old_uploads,
            cron="30 2 * * 0",
            timezone="Europe/Berlin",
        )
    ],
    backend="huey",
)
