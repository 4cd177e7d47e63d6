"""The module a bundled-adapter Celery worker is started on: the user's app plus the probes.

``celery -A jobforge.conformance.frameworks.celery_worker:app worker -Q <prefix>`` imports the
user's app named in :data:`~.settings.SETTINGS_ENV`, registers the kit's probe tasks on it and
connects the job book to Celery's task signals. The worker itself is the user's Celery, run by
Celery's own CLI with the app's own configuration.
"""

from __future__ import annotations

from celery import Celery

from .appref import AppRef, load_app
from .celery_probes import connect_book, register_probes
from .settings import KitSettings

settings = KitSettings.from_env()
app = load_app(
    AppRef.parse(settings.app, framework="celery"),
    search=settings.search,
    kind=Celery,
    framework="celery",
)
register_probes(app, settings)
connect_book(app, settings)
