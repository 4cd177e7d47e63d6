"""The ledger of a backend whose broker keeps no ledger (RabbitMQ, SQS): chosen by its URL.

``ledger_url`` (``JOBS_LEDGER_URL``) names the store: ``postgresql://`` for the PostgreSQL ledger,
``redis://`` or ``rediss://`` for the Redis one. Each store's module is imported only when chosen,
so an app installs the driver of its own store only.
"""

from __future__ import annotations

from jobforge_runtime.errors import SettingsError
from jobforge_runtime.ledger import Ledger

#: URL scheme -> (module, class, the extra that installs its driver).
STORES = {
    "postgresql": ("jobforge_runtime.ledger.postgres", "PostgresLedger", "postgres"),
    "postgres": ("jobforge_runtime.ledger.postgres", "PostgresLedger", "postgres"),
    "redis": ("jobforge_runtime.ledger.redis", "RedisLedger", "redis"),
    "rediss": ("jobforge_runtime.ledger.redis", "RedisLedger", "redis"),
}


def ledger_for_url(url: str, *, prefix: str, backend: str) -> Ledger:
    """Return the ledger store named by ``url`` (PostgreSQL or Redis)."""
    import importlib

    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in STORES:
        raise SettingsError(
            f"ledger_url={url!r}: the {backend} backend keeps its ledger in PostgreSQL or Redis; "
            "set JOBS_LEDGER_URL=postgresql://user@host/db or redis://host:6379/0"
        )
    module_name, class_name, extra = STORES[scheme]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise SettingsError(
            f"ledger_url={url!r} needs {exc.name!r}; install it with "
            f"pip install 'jobforge-runtime[{extra}]'"
        ) from None
    store: Ledger = getattr(module, class_name)(url, prefix=prefix)
    return store
