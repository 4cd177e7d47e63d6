"""Helpers for the templates' tests: a template root in a temporary folder, and rendering."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "templates" / "project"
SETTINGS = REPO / "templates" / "copier-settings.yml"
FIXTURES = REPO / "tests" / "fixtures" / "templates"
ANSWERS_FILE = ".copier-answers.jobs.yml"


def answers(name: str) -> dict[str, Any]:
    """Return an answers file: the questionnaire's example when present, else our fixture."""
    example = REPO / "examples" / "answers" / f"{name}.yml"
    path = example if example.is_file() else FIXTURES / f"{name}.yml"
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def answers_path(name: str) -> Path:
    """Return the path of an answers file (the questionnaire's example when present)."""
    example = REPO / "examples" / "answers" / f"{name}.yml"
    return example if example.is_file() else FIXTURES / f"{name}.yml"


def _fallback_questions(sample: dict[str, Any]) -> dict[str, Any]:
    questions: dict[str, Any] = {}
    for key, value in sample.items():
        kind = (
            "bool"
            if isinstance(value, bool)
            else "int"
            if isinstance(value, int)
            else "float"
            if isinstance(value, float)
            else "str"
            if isinstance(value, str)
            else "yaml"
        )
        questions[key] = {"type": kind, "default": value}
    return questions


def _not_yaml(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if not name.endswith(".yaml")]


def template_root(tmp_path: Path) -> Path:
    """Build a template root: the repository's copier.yml (or a stand-in) plus our settings."""
    root = tmp_path / "template"
    shutil.copytree(
        PROJECT,
        root / "templates" / "project",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    # The spec macros include the question bank from the template root, as in a checkout.
    shutil.copytree(REPO / "questionnaire", root / "questionnaire", ignore=_not_yaml)
    top = REPO / "copier.yml"
    config: dict[str, Any]
    if top.is_file():
        config = yaml.safe_load(top.read_text(encoding="utf-8"))
    else:
        config = {
            "_subdirectory": "templates/project",
            "_answers_file": ANSWERS_FILE,
            "_min_copier_version": "9.9.1",
            **_fallback_questions(answers("sqlite")),
        }
    for key, value in yaml.safe_load(SETTINGS.read_text(encoding="utf-8")).items():
        config.setdefault(key, value)
    (root / "copier.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return root


def render(root: Path, dest: Path, data: dict[str, Any]) -> Path:
    """Render the template at ``root`` into ``dest`` with ``data`` as the answers."""
    from copier import run_copy

    run_copy(str(root), dest, data=data, defaults=True, quiet=True, unsafe=False)
    return dest
