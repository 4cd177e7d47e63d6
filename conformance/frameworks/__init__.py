"""Bundled adapters: score an existing app by naming its framework and app, with no adapter code.

``jobforge score --framework celery --app proj.celery_app:app`` (or ``[tool.jobforge] framework``
and ``app`` in pyproject.toml) loads the bundled adapter for that framework. Each bundled adapter
is one module of this package exposing ``make_adapter(app, *, search)``, where ``app`` is the
user's reference to their app (its meaning is the framework's: an app object for Celery, Huey,
Dramatiq and jobforge-runtime; connection and queue settings for RQ) and ``search`` the directory
the user's code is imported from. The kit registers its probe jobs beside the user's on a queue
and key prefix of its own, so nothing of the user's is touched.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

from jobforge.errors import ConformanceError, UsageError

from ..adapter import Adapter

# framework name -> module of this package implementing it
FRAMEWORKS: dict[str, str] = {
    "celery": "celery",
    "dramatiq": "dramatiq",
    "huey": "huey",
    "jobforge-runtime": "runtime",
    "rq": "rq",
}


class AdapterFactory(Protocol):
    """What each bundled framework module exposes as ``make_adapter``."""

    def __call__(self, app: str, *, search: Path) -> Adapter: ...


def known() -> tuple[str, ...]:
    """Return the framework names ``--framework`` accepts, sorted."""
    return tuple(sorted(FRAMEWORKS))


def load_framework_adapter(framework: str, app: str, *, search: Path) -> Adapter:
    """Build the bundled adapter of ``framework`` for the user's ``app``."""
    module_name = FRAMEWORKS.get(framework)
    if module_name is None:
        raise UsageError(
            f"--framework {framework!r} has no bundled adapter; use one of "
            f"{', '.join(known()) or '(none installed)'} or write an adapter and pass --adapter"
        )
    if not app:
        raise UsageError(
            f"--framework {framework} needs --app naming your app (e.g. proj.module:app), "
            'or [tool.jobforge] app = "..." in pyproject.toml'
        )
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except ImportError as exc:
        raise ConformanceError(
            f"the bundled {framework} adapter cannot be imported ({exc}); install the framework "
            f"in this environment (pip install {framework})"
        ) from exc
    factory: AdapterFactory = module.make_adapter
    return factory(app, search=search)
