"""Import the user's app from the reference they give ``--app``: ``module:attr`` or ``module.attr``.

The reference is resolved the way each framework's own CLI resolves it (``celery -A
proj.celery_app:app``, ``huey_consumer proj.tasks.huey``), from the user's project directory.
Every failure is one line naming the reference, what went wrong and the fix.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from jobforge.errors import UsageError

T = TypeVar("T")


class AppRefError(UsageError):
    """``--app`` does not name an importable app object of the expected kind."""


@dataclass(frozen=True, kw_only=True)
class AppRef:
    """A parsed ``--app`` reference."""

    module: str  # dotted module path, e.g. "proj.celery_app"
    attr: str  # attribute of the module holding the app, e.g. "app"

    @classmethod
    def parse(cls, ref: str, *, framework: str) -> AppRef:
        """Parse ``module:attr`` (or ``module.attr``); raise AppRefError naming the fix."""
        text = ref.strip()
        if ":" in text:
            module, _, attr = text.partition(":")
        else:
            module, _, attr = text.rpartition(".")
        if not module or not attr or not attr.isidentifier():
            raise AppRefError(
                f"--app {ref!r} for {framework} is not a reference to an app object; give "
                "module:attr, e.g. proj.celery_app:app (the module importable from your project)"
            )
        return cls(module=module, attr=attr)

    def __str__(self) -> str:
        return f"{self.module}:{self.attr}"


def on_path(search: Path) -> None:
    """Make the user's project directory importable (first on ``sys.path``), once."""
    where = str(search.resolve())
    if where not in sys.path:
        sys.path.insert(0, where)


def load_app(ref: AppRef, *, search: Path, kind: type[T], framework: str) -> T:
    """Import ``ref`` from ``search`` and return the app; raise AppRefError naming the fix."""
    on_path(search)
    try:
        module = importlib.import_module(ref.module)
    except ModuleNotFoundError as exc:
        raise AppRefError(
            f"--app {ref}: module {ref.module!r} is not importable from {search} ({exc}); run "
            "from your project's root or fix the module path"
        ) from exc
    except Exception as exc:  # the user's module failed while importing
        raise AppRefError(
            f"--app {ref}: importing {ref.module!r} failed with {type(exc).__name__}: {exc}; "
            "fix the module so it imports without side effects needing more set-up"
        ) from exc
    try:
        app = getattr(module, ref.attr)
    except AttributeError:
        names = sorted(n for n in vars(module) if not n.startswith("_"))[:8]
        raise AppRefError(
            f"--app {ref}: module {ref.module!r} has no attribute {ref.attr!r} (it has "
            f"{', '.join(names) or 'no public names'}); name the variable holding your "
            f"{framework} app"
        ) from None
    if not isinstance(app, kind):
        raise AppRefError(
            f"--app {ref}: {ref.attr!r} is a {type(app).__name__}, not a "
            f"{kind.__module__}.{kind.__qualname__}; name your {framework} app object"
        )
    return app
