"""What a bundled adapter tells the worker processes it starts, through their environment.

A framework's worker is started by the framework's own CLI pointed at a module of the kit
(``celery -A jobforge.conformance.frameworks.celery_worker:app worker``). That module rebuilds the
kit's side from these settings: the user's app to import, the queue or key prefix of the kit's
own, and the run's scaled timings. JSON only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from jobforge.errors import ConformanceError

from ..adapter import Timing

#: Environment variable holding the settings as one JSON object.
SETTINGS_ENV = "JOBFORGE_FRAMEWORK_SETTINGS"


@dataclass(frozen=True, kw_only=True)
class KitSettings:
    """The kit's side of one framework run, shared by the adapter and its workers."""

    framework: str  # the --framework name
    app: str  # the user's --app reference
    search: Path  # the user's project directory (imported from)
    prefix: str  # queue name / key prefix / Huey name of the kit's own, unique per run
    timing: Timing  # the run's scaled timings

    def to_env(self) -> dict[str, str]:
        """Return the environment variables a worker process needs (PYTHONPATH included)."""
        raw = {
            "framework": self.framework,
            "app": self.app,
            "search": str(self.search),
            "prefix": self.prefix,
            "timing": asdict(self.timing),
        }
        path = os.environ.get("PYTHONPATH", "")
        return {
            SETTINGS_ENV: json.dumps(raw),
            "PYTHONPATH": os.pathsep.join(p for p in (str(self.search), path) if p),
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KitSettings:
        """Read the settings a bundled adapter gave this process; raise naming the fix."""
        source = os.environ if environ is None else environ
        text = source.get(SETTINGS_ENV)
        if not text:
            raise ConformanceError(
                f"{SETTINGS_ENV} is not set: this module is started by a bundled adapter "
                "(jobforge score --framework NAME --app REF), not by hand"
            )
        try:
            raw = json.loads(text)
            return cls(
                framework=str(raw["framework"]),
                app=str(raw["app"]),
                search=Path(raw["search"]),
                prefix=str(raw["prefix"]),
                timing=Timing(**raw["timing"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConformanceError(
                f"{SETTINGS_ENV} = {text[:80]!r} is malformed ({exc}); it is written by the "
                "bundled adapter, do not set it by hand"
            ) from exc
