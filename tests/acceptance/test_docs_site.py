"""The kit's own documentation site: builds strict, and its reference pages follow the YAML."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from docs_support import REPO, mkdocs_build

pytestmark = pytest.mark.acceptance

GENERATED = ("reference/questions", "reference/rubric", "reference/checks", "reference/adapter")


def _copy_site_sources(dest: Path) -> Path:
    """Copy what the site is built from (config, pages, bank, rubric) to ``dest``."""
    shutil.copy2(REPO / "mkdocs.yml", dest / "mkdocs.yml")
    shutil.copytree(REPO / "docs", dest / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    for folder, names in (
        ("questionnaire", ("questions.yaml", "decision_tree.yaml")),
        ("rubric", ("rubric.yaml",)),
    ):
        (dest / folder).mkdir()
        for name in names:
            shutil.copy2(REPO / folder / name, dest / folder / name)
    return dest / "mkdocs.yml"


def _page(site: Path, page: str) -> str:
    return (site / page / "index.html").read_text(encoding="utf-8")


def test_kit_site_builds_strict_with_every_generated_reference_page(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = mkdocs_build(REPO / "mkdocs.yml", "--site-dir", str(site))
    assert result.returncode == 0, result.stderr
    for page in (*GENERATED, "getting-started", "guides/adapter", "dev/contracts"):
        assert (site / page / "index.html").is_file(), page
    assert "queue_technology" in _page(site, "reference/questions")
    assert "error_handling.max_attempts" in _page(site, "reference/checks")
    assert "start_workers" in _page(site, "reference/adapter")


def test_question_and_rubric_pages_change_when_their_yaml_changes(tmp_path: Path) -> None:
    config = _copy_site_sources(tmp_path)
    questions = tmp_path / "questionnaire" / "questions.yaml"
    bank = yaml.safe_load(questions.read_text(encoding="utf-8"))
    technology = bank["groups"][2]["questions"][0]
    assert technology["key"] == "queue_technology"
    technology["prompt"] = "Which queue, asked in an edited bank (marker-q7)?"
    technology["options"][0]["pros"] = "An edited pro (marker-p3)."
    questions.write_text(yaml.safe_dump(bank, sort_keys=False), encoding="utf-8")

    rubric_path = tmp_path / "rubric" / "rubric.yaml"
    rubric_text = rubric_path.read_text(encoding="utf-8")
    rubric = yaml.safe_load(rubric_text)
    first_check = rubric["dimensions"][0]["checks"][0]
    first_check["verifies"] = "An edited claim of the first check (marker-r5)."
    rubric_path.write_text(yaml.safe_dump(rubric, sort_keys=False), encoding="utf-8")

    result = mkdocs_build(config)
    assert result.returncode == 0, result.stderr
    site = tmp_path / "site"
    page = _page(site, "reference/questions")
    assert "marker-q7" in page and "marker-p3" in page
    assert "marker-r5" in _page(site, "reference/rubric")
    assert "marker-r5" in _page(site, "reference/checks")
    assert not (tmp_path / "docs" / "reference").exists(), "generated pages must not be files"
