"""The module a bundled-adapter Huey consumer is started on: the kit's Huey and its probes.

``huey_consumer jobforge.conformance.frameworks.huey_worker.huey`` imports the user's Huey named
in :data:`~.settings.SETTINGS_ENV`, builds the kit's Huey beside it (same class and storage,
the kit's own name), registers the probe tasks and connects the job book to Huey's signals.
"""

from __future__ import annotations

from huey import Huey

from .appref import AppRef, load_app
from .huey_probes import connect_book, kit_huey, register_probes
from .settings import KitSettings

settings = KitSettings.from_env()
user_huey = load_app(
    AppRef.parse(settings.app, framework="huey"),
    search=settings.search,
    kind=Huey,
    framework="huey",
)
huey = kit_huey(user_huey, settings)
register_probes(huey, settings)
connect_book(huey, settings)
