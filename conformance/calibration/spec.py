"""``calibration.yml``: one calibration app and the verdict expected of every check on it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml
from jobforge.rubric.outcomes import Outcome
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobforge.errors import ConformanceError

from ..checks import registry

#: The file each calibration directory holds.
SPEC_FILE = "calibration.yml"
#: Where the calibration apps live, relative to the repository root.
DEFAULT_ROOT = Path("examples") / "calibration"
_JUDGED = (Outcome.PASS, Outcome.FAIL, Outcome.UNSUPPORTED, Outcome.INCONCLUSIVE)


class CalibrationError(ConformanceError):
    """A calibration directory or its ``calibration.yml`` is malformed."""


class Expected(BaseModel):
    """The verdict one check should reach on the app, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: Outcome
    reason: str = Field(min_length=1)  # one line: what the framework did
    documented: str = Field(min_length=1)  # the documented behaviour behind it (section or URL)


class CalibrationSpec(BaseModel):
    """One calibration app: how to score it and what every check should conclude."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    framework: str = Field(min_length=1)  # the --framework name
    app: str = Field(min_length=1)  # the --app reference
    start: str = Field(min_length=1)  # how the framework's docs start a worker for this app
    expected: Mapping[str, Expected]
    directory: Path = Path()  # filled in by load_spec


def _problems(spec: CalibrationSpec) -> list[str]:
    known = set(registry())
    found = []
    missing = sorted(known - set(spec.expected))
    if missing:
        found.append(f"no expectation for {', '.join(missing)}")
    extra = sorted(set(spec.expected) - known)
    if extra:
        found.append(f"unknown check ids {', '.join(extra)} (see jobforge checks)")
    for check_id, expected in spec.expected.items():
        if expected.outcome not in _JUDGED:
            found.append(
                f"{check_id}: outcome {expected.outcome.value!r}; use pass, fail, "
                "unsupported or inconclusive"
            )
    return found


def load_spec(directory: Path) -> CalibrationSpec:
    """Read ``directory/calibration.yml``; raise CalibrationError naming the field and fix."""
    path = directory / SPEC_FILE
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot be read ({exc}); add {SPEC_FILE}") from exc
    except yaml.YAMLError as exc:
        raise CalibrationError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise CalibrationError(f"{path}: expected a mapping with framework, app, start, expected")
    try:
        spec = CalibrationSpec.model_validate({**raw, "directory": directory.resolve()})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CalibrationError(f"{path}: {where}: {first['msg']}") from None
    problems = _problems(spec)
    if problems:
        raise CalibrationError(f"{path}: {'; '.join(problems)}")
    return spec


def discover(root: Path) -> list[Path]:
    """Return every directory under ``root`` holding a ``calibration.yml``, sorted."""
    return sorted(p.parent for p in root.glob(f"*/{SPEC_FILE}"))
