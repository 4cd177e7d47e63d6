"""Finding the adapter to score: ``MODULE:ATTR`` or ``[tool.jobforge] adapter`` in pyproject.toml.

Every failure here is the kit's infrastructure failing (nothing was scored), so it raises
:class:`~jobforge.errors.ConformanceError`, which the CLI turns into an inconclusive exit 2.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import tomllib
from pathlib import Path

from jobforge.errors import ConformanceError

from .adapter import Adapter

_METHODS = (
    "describe",
    "setup",
    "reset",
    "teardown",
    "start_workers",
    "stop_worker",
    "kill_worker",
    "submit",
    "inspect",
    "dead_letters",
    "replay",
    "metrics",
    "health",
    "logs",
    "alerts",
    "start_scheduler",
    "stop_scheduler",
)


def _tool_table(directory: Path) -> dict[str, object]:
    """``[tool.jobforge]`` of ``directory/pyproject.toml`` (empty when it has none)."""
    path = directory / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConformanceError(
            f"no adapter given and no {path} found; pass --adapter MODULE:ATTR or --framework "
            "NAME --app REF, or run in a project whose pyproject.toml has [tool.jobforge] "
            'adapter = "module:attr"'
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConformanceError(f"cannot read {path}: {exc}") from exc
    tool = data.get("tool", {})
    table = tool.get("jobforge", {}) if isinstance(tool, dict) else {}
    return table if isinstance(table, dict) else {}


def framework_from_pyproject(directory: Path) -> tuple[str, str] | None:
    """``[tool.jobforge] framework`` and ``app`` when the project names them, else None."""
    table = _tool_table(directory)
    framework, app = table.get("framework"), table.get("app")
    if framework is None:
        return None
    if not isinstance(framework, str) or not isinstance(app, str) or not app:
        raise ConformanceError(
            f"{directory / 'pyproject.toml'}: [tool.jobforge] framework = {framework!r} needs "
            'app = "package.module:attr" (a string naming your app) beside it'
        )
    return framework, app


def adapter_spec_from_pyproject(directory: Path) -> str:
    """Read ``[tool.jobforge] adapter = "module:attr"`` from ``directory/pyproject.toml``."""
    spec = _tool_table(directory).get("adapter")
    if not isinstance(spec, str) or not spec:
        raise ConformanceError(
            f'{directory / "pyproject.toml"} has no [tool.jobforge] adapter = "module:attr" '
            "(or framework and app); add one or pass --adapter or --framework and --app"
        )
    return spec


def load_adapter(spec: str, *, search: Path | None = None) -> Adapter:
    """Import ``module:attr``; call it when it is a class or factory; check it is an Adapter."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConformanceError(
            f"adapter {spec!r} must look like 'package.module:Attribute' (a class, a factory "
            "function or an instance)"
        )
    if search is not None and str(search) not in sys.path:
        sys.path.insert(0, str(search))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConformanceError(
            f"cannot import adapter module {module_name!r} (from {spec!r}): "
            f"{type(exc).__name__}: {exc}; is the project installed in this environment?"
        ) from exc
    try:
        target = getattr(module, attr)
    except AttributeError:
        raise ConformanceError(f"module {module_name!r} has no attribute {attr!r}") from None
    if inspect.isclass(target) or (callable(target) and not isinstance(target, Adapter)):
        try:
            target = target()
        except Exception as exc:
            raise ConformanceError(
                f"cannot construct the adapter {spec!r}: {type(exc).__name__}: {exc}"
            ) from exc
    missing = [name for name in _METHODS if not callable(getattr(target, name, None))]
    if missing:
        raise ConformanceError(
            f"{spec!r} is not an adapter: missing method(s) {', '.join(missing)} "
            "(see jobforge.conformance.adapter.Adapter)"
        )
    return target  # type: ignore[no-any-return]
