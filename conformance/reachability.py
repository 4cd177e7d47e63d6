"""Tell a broker or store that cannot be reached from an implementation that misbehaves.

A run that starts while the implementation's broker is down cannot judge anything: every check
would fail for the same reason, and the score would blame the implementation. The runner asks
:func:`unreachable` about the first failure of the preflight; when it says the failure is a
connection that could not be made, the run ends inconclusive (exit 2) with that cause.

It walks the exception's chain (``__cause__`` and ``__context__``): client libraries wrap the
socket error in their own types (redis-py's ``ConnectionError``, kombu's ``OperationalError``,
psycopg's ``OperationalError``), so the socket error itself or a type named for a connection
failure is looked for, not one library's class.
"""

from __future__ import annotations

#: Class names client libraries use for "the server could not be reached".
_CONNECTION_TYPE_NAMES = frozenset({"ConnectionError", "ConnectionRefusedError", "TimeoutError"})
#: Words in a message that say the same when the type is generic (e.g. an OperationalError).
_CONNECTION_WORDS = (
    "connection refused",
    "could not connect",
    "connecting to",
    "name or service not known",
    "no route to host",
    "timed out",
)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def unreachable(exc: BaseException) -> str | None:
    """Return why ``exc`` means a server could not be reached, or None when it does not."""
    for link in _chain(exc):
        if isinstance(link, ConnectionError | TimeoutError):
            return f"{type(link).__name__}: {link}"
        if type(link).__name__ in _CONNECTION_TYPE_NAMES:
            return f"{type(link).__name__}: {link}"
        generic = isinstance(link, OSError) or "operationalerror" in type(link).__name__.lower()
        if generic and any(word in str(link).lower() for word in _CONNECTION_WORDS):
            return f"{type(link).__name__}: {link}"
    return None
