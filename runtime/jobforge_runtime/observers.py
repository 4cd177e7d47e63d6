"""Observers: packages installed beside the runtime that watch its job events.

Every event the runtime logs (``enqueued``, ``started``, ``completed``, ``failed``, ``retrying``,
``dead``, ``recovered``, ``scheduled`` ...) is also handed, with its fields, to each observer,
whatever the log level: tracing, metrics exporters or a test recorder can follow jobs without
touching the logging configuration. Add one in code with :func:`add`, or install it: a
distribution declares an entry point in the group ``jobforge_runtime.observers``::

    [project.entry-points."jobforge_runtime.observers"]
    tracing = "my_tracing.jobs:observer_for"

naming a factory ``observer_for(app, runtime) -> observer | None``. Whenever an App builds its
runtime in a process, each installed factory is called; it returns an observer
``(event, fields) -> None`` to attach (the same object twice is attached once) or None to stay
off. With no observer, logging an event costs one list check.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

from jobforge_runtime.logs import LOGGER_NAME, OBSERVERS

if TYPE_CHECKING:
    from jobforge_runtime.app import App
    from jobforge_runtime.runtime import Runtime

#: The entry point group installed observers are declared in.
GROUP = "jobforge_runtime.observers"

Observer = Callable[[str, Mapping[str, Any]], None]


class ObserverFactory(Protocol):
    """What an entry point of :data:`GROUP` names."""

    def __call__(self, app: App, runtime: Runtime) -> Observer | None:
        """Return an observer for ``app``'s runtime in this process, or None."""


_installed: tuple[int, list[ObserverFactory]] | None = None  # (pid, factories) loaded once


def add(observer: Observer) -> None:
    """Hand every later event to ``observer`` (once, however often it is added)."""
    if observer not in OBSERVERS:
        OBSERVERS.append(observer)


def remove(observer: Observer) -> None:
    """Stop handing events to ``observer``."""
    if observer in OBSERVERS:
        OBSERVERS.remove(observer)


def installed() -> list[ObserverFactory]:
    """Return the factories installed under :data:`GROUP` (loaded once per process).

    An entry point that cannot be loaded is skipped with a warning: a broken observer package
    must not stop the jobs.
    """
    global _installed
    if _installed is not None and _installed[0] == os.getpid():
        return _installed[1]
    factories: list[ObserverFactory] = []
    for point in entry_points(group=GROUP):
        try:
            factories.append(point.load())
        except Exception as exc:
            logging.getLogger(LOGGER_NAME).warning(
                "observer entry point %s = %s cannot be loaded (%s: %s); uninstall or fix it",
                point.name,
                point.value,
                type(exc).__name__,
                exc,
            )
    _installed = (os.getpid(), factories)
    return factories


def attach(app: App, runtime: Runtime) -> None:
    """Ask each installed factory for an observer of ``app``'s new runtime and add it."""
    for factory in installed():
        observer = factory(app, runtime)
        if observer is not None:
            add(observer)
