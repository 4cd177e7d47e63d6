"""One glue module per queue framework; each builds a runtime and runs a worker.

A glue module exposes ``build_runtime(settings, catalogue) -> Runtime`` and
``run_worker(runtime, *, queue, concurrency) -> None`` (see :class:`Glue`); :func:`load` imports
one by name and says which extra to install when its framework is missing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol, cast

from jobforge_runtime.errors import SettingsError

if TYPE_CHECKING:
    from jobforge_runtime.catalogue import Catalogue
    from jobforge_runtime.runtime import Runtime
    from jobforge_runtime.settings import Settings

#: Backend name -> (glue module, the extra that installs its framework).
BACKENDS = {
    "huey": ("jobforge_runtime.glue.huey", "huey"),
    "celery": ("jobforge_runtime.glue.celery", "celery"),
    "celery_amqp": ("jobforge_runtime.glue.celery_amqp", "amqp"),
    "sqs": ("jobforge_runtime.glue.sqs", "sqs"),
    "rq": ("jobforge_runtime.glue.rq", "rq"),
    "procrastinate": ("jobforge_runtime.glue.procrastinate", "procrastinate"),
}


class Glue(Protocol):
    """What a glue module provides."""

    def build_runtime(self, settings: Settings, catalogue: Catalogue) -> Runtime:
        """Return a runtime whose dispatcher is this framework."""

    def run_worker(self, runtime: Runtime, *, queue: str, concurrency: int) -> None:
        """Consume ``queue`` until SIGTERM (finish running jobs) or SIGINT."""


def load(backend: str) -> Glue:
    """Import the glue of ``backend``; a missing framework names the extra to install."""
    if backend not in BACKENDS:
        raise SettingsError(
            f"backend={backend!r} has no glue in this runtime; use one of {sorted(BACKENDS)}"
        )
    module_name, extra = BACKENDS[backend]
    try:
        return cast("Glue", importlib.import_module(module_name))
    except ModuleNotFoundError as exc:
        raise SettingsError(
            f"backend={backend!r} needs {exc.name!r}; install it with "
            f"pip install 'jobforge-runtime[{extra}]'"
        ) from None
