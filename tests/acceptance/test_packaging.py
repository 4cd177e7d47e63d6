"""The distribution installs both ways and the wheel carries every data file it needs.

A wheel is built from a copy of the source tree and installed into a fresh virtual environment;
the installed ``jobforge`` then checks an answers file and generates a project from there. An
editable install goes into another fresh environment. Both environments see this environment's
site-packages through a ``.pth`` line (dependencies only: their own ``jobforge`` comes first), so
nothing is downloaded but the build backend.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.acceptance, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
IGNORED = (".git", ".venv", "__pycache__", "build", "dist", "*.egg-info", ".*_cache", ".hypothesis")


def run(*argv: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copy the source tree, so building never writes into the working tree."""
    copy = tmp_path_factory.mktemp("source") / "jobforge"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*IGNORED))
    return copy


def fresh_venv(path: Path) -> Path:
    """Create an environment without jobforge that imports this environment's dependencies."""
    run(sys.executable, "-m", "venv", "--without-pip", path)
    python = path / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip()
    Path(site, "zz_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def pip(python: Path, *args: str | Path) -> None:
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", *args)


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, source)
    [built] = out.glob("jobforge-*.whl")
    return built


def data_files(package_dir: Path, patterns: list[str]) -> set[str]:
    return {
        path.relative_to(package_dir).as_posix()
        for path in package_dir.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and any(fnmatch.fnmatch(path.name, p) for p in patterns)
    }


def test_every_package_directory_is_listed_in_pyproject() -> None:
    mapping: dict[str, str] = SETUPTOOLS["package-dir"]
    listed = set(SETUPTOOLS["packages"])
    found = set()
    for package, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            if init.is_relative_to(ROOT / "templates" / "project"):
                continue  # template content, not a package of jobforge
            relative = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *relative.parts]))
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_wheel_carries_question_bank_rubric_and_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "jobforge/questionnaire/questions.yaml",
        "jobforge/questionnaire/decision_tree.yaml",
        "jobforge/templates/project/{{_copier_conf.answers_file}}.jinja",
    ):
        assert required in names
    data_globs: list[str] = PYPROJECT["tool"]["setuptools"]["package-data"]["*"]
    mapping: dict[str, str] = SETUPTOOLS["package-dir"]
    for package in ("jobforge.questionnaire", "jobforge.rubric", "jobforge.conformance"):
        prefix = package.replace(".", "/")
        for name in data_files(ROOT / mapping[package], data_globs):
            assert f"{prefix}/{name}" in names, f"{prefix}/{name} is missing from the wheel"
    for name in data_files(ROOT / "templates" / "project", ["*"]):
        assert f"jobforge/templates/project/{name}" in names, f"template file {name} missing"


def test_installed_wheel_checks_answers_and_generates_a_project(
    wheel: Path, tmp_path: Path
) -> None:
    python = fresh_venv(tmp_path / "venv")
    pip(python, wheel)
    where = run(python, "-c", "import jobforge.questionnaire as q; print(q.__file__)", cwd=tmp_path)
    assert where.startswith(str(tmp_path / "venv")), where
    jobforge = tmp_path / "venv" / "bin" / "jobforge"
    out = run(jobforge, "answers", "check", ROOT / "examples/answers/sqlite.yml", cwd=tmp_path)
    assert "valid" in out
    run(jobforge, "new", tmp_path / "app", "--answers", ROOT / "examples/answers/sqlite.yml",
        cwd=tmp_path)  # fmt: skip
    answers = tmp_path / "app" / ".copier-answers.jobs.yml"
    assert "queue_technology: sqlite" in answers.read_text()
    run(jobforge, "answers", "check", answers, cwd=tmp_path)


def test_editable_install_imports_from_the_source_tree(source: Path, tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    pip(python, "-e", source)
    code = (
        "import jobforge.questionnaire, jobforge.rubric, jobforge.conformance, jobforge.templates;"
        "print(jobforge.questionnaire.__file__)"
    )
    where = run(python, "-c", code, cwd=tmp_path)
    assert where.startswith(str(source / "questionnaire")), where
    out = run(tmp_path / "venv" / "bin" / "jobforge", "recommend", "--job-type", "batch",
              cwd=tmp_path)  # fmt: skip
    assert "job_types:\n- batch" in out
