"""Helpers for the docs tests: render the copier template for an answers file, build sites.

The template root is assembled in a temporary directory from the repository's own files (the
top-level copier.yml and templates/project, as ``jobforge new`` does), so copier never sees a
dirty git checkout and the tests run the same template a user runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import copier
from jobforge.questionnaire.validation import answer_errors, load_answers

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "answers"
#: The generated documents whose sections the question bank's ``fills`` name.
SPEC_DOCS = (
    "docs/specs/technical_design_spec.md",
    "docs/specs/codebase_spec.md",
    "docs/specs/implementation_options_spec.md",
    "docs/patterns/background_jobs.md",
)
MINIMAL_COPIER_YML = (
    "_subdirectory: templates/project\n_answers_file: .copier-answers.jobs.yml\n_exclude: ['~*']\n"
)


def valid_examples() -> list[Path]:
    """Every example answers file the answers model accepts, sorted by name."""
    return [p for p in sorted(EXAMPLES.glob("*.yml")) if not answer_errors(_yaml(p))]


def _yaml(path: Path) -> object:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def answers_of(path: Path) -> dict[str, Any]:
    """Return the complete answers (defaults filled in) of an example file as JSON data."""
    return load_answers(path).model_dump(mode="json", exclude_none=True)


def template_root(tmp: Path) -> Path:
    """Assemble a copier template root in ``tmp``: copier.yml, templates/project, the bank."""
    root = tmp / "template"
    shutil.copytree(
        REPO / "templates" / "project",
        root / "templates" / "project",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    # The spec macros include the question bank from the template root, as in a checkout.
    (root / "questionnaire").mkdir()
    for bank_file in (REPO / "questionnaire").glob("*.yaml"):
        shutil.copy2(bank_file, root / "questionnaire" / bank_file.name)
    copier_yml = REPO / "copier.yml"
    if copier_yml.exists():
        shutil.copy2(copier_yml, root / "copier.yml")
    else:
        (root / "copier.yml").write_text(MINIMAL_COPIER_YML, encoding="utf-8")
    return root


def render(root: Path, answers: dict[str, Any], dest: Path) -> Path:
    """Render the template at ``root`` with ``answers`` into ``dest`` (no prompts)."""
    copier.run_copy(str(root), str(dest), data=answers, defaults=True, quiet=True, unsafe=False)
    return dest


def mkdocs_build(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``mkdocs build --strict`` on ``config``; return the finished process."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), *extra],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sections(markdown: str) -> dict[str, str]:
    """Split a Markdown document into its level-2 sections: heading -> text (code included)."""
    found: dict[str, str] = {}
    current: str | None = None
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            current = line[3:].strip()
            found[current] = ""
            continue
        if current is not None:
            found[current] += line + "\n"
    return found


#: Text that would mean a template left something unfilled.
PLACEHOLDER = re.compile(
    r"\{\{|\}\}|\{%|%\}|\{#|#\}|TODO|TBD|FIXME|_{3,}|Placeholder|Your Content Goes Here"
    r"|(?<!-> )\bNone\b"
)
