"""What a jobforge-runtime app is called in the kit's records: its backend label."""

from __future__ import annotations

from jobforge_runtime import Settings


def backend_label(backend: str, settings: Settings) -> str:
    """Return ``<store>+<framework>`` (``sqlite+huey``, ``redis+celery``) of an app's backend."""
    store = settings.broker_url.split(":", 1)[0] or "unknown"
    return f"{store}+{backend}"
