"""jobforge runtime: the job engine a jobforge project runs on.

Declare typed jobs with :func:`job`, collect them in a :class:`Catalogue`, and give both to an
:class:`App` with :class:`Settings` and :class:`Schedule` values; ``App.enqueue`` queues a job,
``jobforge_runtime.cli.main(app)`` runs workers, the scheduler, and the DLQ and health commands.
"""

from jobforge_runtime.app import App
from jobforge_runtime.catalogue import Catalogue, JobDef, job
from jobforge_runtime.context import JobContext
from jobforge_runtime.errors import (
    ConfigurationError,
    JobforgeRuntimeError,
    PayloadError,
    PermanentError,
    RateLimitedError,
    SettingsError,
    TransientError,
    UnknownJobTypeError,
)
from jobforge_runtime.records import JobRecord, JobStatus
from jobforge_runtime.runtime import Runtime
from jobforge_runtime.scheduling import Schedule
from jobforge_runtime.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "App",
    "Catalogue",
    "ConfigurationError",
    "JobContext",
    "JobDef",
    "JobRecord",
    "JobStatus",
    "JobforgeRuntimeError",
    "PayloadError",
    "PermanentError",
    "RateLimitedError",
    "Runtime",
    "Schedule",
    "Settings",
    "SettingsError",
    "TransientError",
    "UnknownJobTypeError",
    "job",
]
