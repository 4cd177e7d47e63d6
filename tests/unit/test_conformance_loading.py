"""Adapters load from MODULE:ATTR or pyproject.toml; every failure is a clear ConformanceError."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from jobforge.conformance.frameworks import load_framework_adapter
from jobforge.conformance.loading import (
    adapter_spec_from_pyproject,
    framework_from_pyproject,
    load_adapter,
)
from jobforge.conformance.reference import ReferenceAdapter

from jobforge.errors import ConformanceError, UsageError

pytestmark = pytest.mark.unit


def test_class_spec_is_instantiated() -> None:
    adapter = load_adapter("jobforge.conformance.reference:ReferenceAdapter")
    assert isinstance(adapter, ReferenceAdapter)


def test_factory_in_a_project_directory_is_called(tmp_path: Path) -> None:
    (tmp_path / "my_jobs_adapter.py").write_text(
        "from jobforge.conformance.reference import ReferenceAdapter\n"
        "def make():\n    return ReferenceAdapter(['no_tests'])\n"
    )
    try:
        adapter = load_adapter("my_jobs_adapter:make", search=tmp_path)
    finally:
        sys.modules.pop("my_jobs_adapter", None)
        sys.path.remove(str(tmp_path))
    assert isinstance(adapter, ReferenceAdapter) and adapter.flaws == {"no_tests"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon", "must look like"),
        ("nosuch_module_xyz:A", "cannot import adapter module 'nosuch_module_xyz'"),
        ("jobforge.conformance.reference:Missing", "has no attribute 'Missing'"),
        ("jobforge.conformance.probes:ProbeError", "is not an adapter: missing method"),
    ],
)
def test_bad_specs_raise_conformance_errors(spec: str, message: str) -> None:
    with pytest.raises(ConformanceError, match=message):
        load_adapter(spec)


def test_pyproject_names_the_adapter(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.jobforge]\nadapter = "pkg.mod:Adapter"\n')
    assert adapter_spec_from_pyproject(tmp_path) == "pkg.mod:Adapter"


def test_missing_pyproject_or_key_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConformanceError, match="--adapter"):
        adapter_spec_from_pyproject(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.other]\n")
    with pytest.raises(ConformanceError, match=r"\[tool.jobforge\] adapter"):
        adapter_spec_from_pyproject(tmp_path)


def test_pyproject_names_a_framework_and_its_app(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.jobforge]\nframework = "celery"\napp = "proj.celery_app:app"\n'
    )
    assert framework_from_pyproject(tmp_path) == ("celery", "proj.celery_app:app")
    (tmp_path / "pyproject.toml").write_text('[tool.jobforge]\nframework = "celery"\n')
    with pytest.raises(ConformanceError, match="needs app ="):
        framework_from_pyproject(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.jobforge]\nadapter = "pkg.mod:Adapter"\n')
    assert framework_from_pyproject(tmp_path) is None


def test_unknown_framework_lists_the_bundled_ones(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="has no bundled adapter; use one of"):
        load_framework_adapter("no-such-framework", "x:y", search=tmp_path)
