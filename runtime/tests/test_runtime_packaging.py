"""The runtime's distribution lists every package and keeps its dependencies lean."""

from __future__ import annotations

import tomllib

import pytest
from runtime_support import HERE

pytestmark = pytest.mark.unit
ROOT = HERE.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_runtime_package_directory_is_listed_in_pyproject() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "jobforge_runtime").rglob("__init__.py")
    }
    assert found == listed


def test_the_runtime_depends_only_on_pydantic_prometheus_client_and_cronsim() -> None:
    names = {
        dep.split(">")[0].split("=")[0].strip() for dep in PYPROJECT["project"]["dependencies"]
    }
    assert names == {"pydantic", "prometheus-client", "cronsim"}
    assert {"huey", "celery"} <= set(PYPROJECT["project"]["optional-dependencies"])
