"""Where an RQ app's Redis is, read the way RQ's own CLI reads it.

``--app`` is either a Redis URL (``rq worker --url redis://host:6379/10``) or the name of a
worker settings module (``rq worker -c settings``) holding ``REDIS_URL`` or ``REDIS_HOST``,
``REDIS_PORT``, ``REDIS_DB``, ``REDIS_PASSWORD``, and ``QUEUES``. The module is imported from
the project directory the user scores from.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from jobforge.errors import UsageError

_URL_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass(frozen=True, kw_only=True)
class RqSettings:
    """The user's RQ configuration the adapter uses: its Redis, and its queue names."""

    redis_url: str
    queues: tuple[str, ...] = ("default",)
    source: str = ""  # the --app reference it was read from


def _module(name: str, search: Path) -> ModuleType:
    if str(search) not in sys.path:
        sys.path.insert(0, str(search))
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise UsageError(
            f"--app {name!r}: cannot import RQ settings module ({exc}); give a Redis URL "
            "(redis://host:6379/0) or the module you pass to `rq worker -c`, importable from "
            f"{search}"
        ) from exc


def _url_of(module: ModuleType, name: str) -> str:
    url = getattr(module, "REDIS_URL", None)
    if url:
        return str(url)
    host = getattr(module, "REDIS_HOST", None)
    if host is None:
        raise UsageError(
            f"--app {name!r}: the settings module defines neither REDIS_URL nor REDIS_HOST; "
            "add REDIS_URL = 'redis://host:6379/0' as `rq worker -c` expects"
        )
    password = getattr(module, "REDIS_PASSWORD", None)
    auth = f":{password}@" if password else ""
    port = getattr(module, "REDIS_PORT", 6379)
    db = getattr(module, "REDIS_DB", 0)
    return f"redis://{auth}{host}:{port}/{db}"


def read_settings(app: str, search: Path) -> RqSettings:
    """Read ``--app``: a Redis URL, or an ``rq worker -c`` settings module."""
    if app.startswith(_URL_SCHEMES):
        return RqSettings(redis_url=app, source=app)
    module = _module(app, search)
    queues = getattr(module, "QUEUES", None) or ("default",)
    if isinstance(queues, str) or not all(isinstance(q, str) for q in queues):
        raise UsageError(
            f"--app {app!r}: QUEUES = {queues!r} must be a list of queue names, as "
            "`rq worker -c` expects"
        )
    return RqSettings(redis_url=_url_of(module, app), queues=tuple(queues), source=app)
